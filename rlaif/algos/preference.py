"""Reward-model losses and metrics on pairs of scalar rewards: pure tensor functions.

1. `soft_preference_loss` is RLAIF's distillation loss (METHOD.md 3, Lee et al. 2023 eq. 1):
   the cross-entropy between the labeler's soft label p = P(a preferred) and the RM's own
   two-way softmax over (r_a, r_b), i.e. sigmoid(r_a - r_b):
       L = -[p log sigma(r_a - r_b) + (1 - p) log sigma(r_b - r_a)]
   With p in {0, 1} it is exactly Bradley-Terry, -log sigma(r_chosen - r_rejected).
2. An optional margin m is subtracted inside both log-sigmoids (Llama 2's margin loss, per pair
   when the records carry one), and reward centering adds c * mean((r_a + r_b)^2) (Eisenstein et
   al. 2023, TRL's `center_rewards_coefficient`): rewards are otherwise only defined up to a shift.
3. Metrics skip ties (p = 0.5): they carry no preference to be right or wrong about.
All inputs are 1-D tensors of shape (B,); losses are computed in fp32 whatever the model's dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .calibration import confidence_reliability


def soft_preference_loss(
    r_a: torch.Tensor, r_b: torch.Tensor, p_a: torch.Tensor, margin: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Per-pair cross-entropy between the soft label p_a and sigmoid(r_a - r_b): shape (B,)."""
    d = r_a.float() - r_b.float()
    p = p_a.float()
    return -(p * F.logsigmoid(d - margin) + (1 - p) * F.logsigmoid(-d - margin))


def bradley_terry_loss(
    r_chosen: torch.Tensor, r_rejected: torch.Tensor, margin: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Per-pair -log sigma(r_chosen - r_rejected - margin): shape (B,)."""
    return -F.logsigmoid(r_chosen.float() - r_rejected.float() - margin)


def hard_labels(p_a: torch.Tensor) -> torch.Tensor:
    """Argmax labels: 1.0 where a is preferred, 0.0 where b is; ties (0.5) stay 0.5 (callers drop them)."""
    p = p_a.float()
    return torch.where(p > 0.5, 1.0, torch.where(p < 0.5, 0.0, 0.5))


def center_penalty(r_a: torch.Tensor, r_b: torch.Tensor) -> torch.Tensor:
    """mean((r_a + r_b)^2): pulls the reward scale's zero to the middle of each pair."""
    return ((r_a.float() + r_b.float()) ** 2).mean()


def preference_loss(
    r_a: torch.Tensor,
    r_b: torch.Tensor,
    p_a: torch.Tensor,
    kind: str = "soft",
    margin: torch.Tensor | float = 0.0,
    center_coef: float = 0.0,
) -> torch.Tensor:
    """The RM training objective, a scalar: `kind` soft (p_a as is) or hard (argmax of p_a, ties
    contribute nothing), plus optional centering."""
    if kind not in LOSSES:
        raise ValueError(f"unknown RM loss {kind!r}; known: {sorted(LOSSES)}")
    per_pair, weight = LOSSES[kind](r_a, r_b, p_a, margin)
    loss = (per_pair * weight).sum() / weight.sum().clamp(min=1.0)
    if center_coef:
        loss = loss + center_coef * center_penalty(r_a, r_b)
    return loss


def _soft(r_a, r_b, p_a, margin):
    return soft_preference_loss(r_a, r_b, p_a, margin), torch.ones_like(r_a, dtype=torch.float32)


def _hard(r_a, r_b, p_a, margin):
    y = hard_labels(p_a)
    return soft_preference_loss(r_a, r_b, y, margin), (y != 0.5).float()


LOSSES = {"soft": _soft, "hard": _hard}


# --------------------------------------------------------------------------- metrics


def pairwise_accuracy(r_a: torch.Tensor, r_b: torch.Tensor, p_a: torch.Tensor) -> tuple[float, int]:
    """(share of non-tied pairs where the higher reward is on the preferred side, number of such pairs).
    A reward tie counts as half right."""
    keep = p_a != 0.5
    if not keep.any():
        return float("nan"), 0
    d = (r_a - r_b)[keep].float()
    right = torch.where(p_a[keep] > 0.5, (d > 0).float(), (d < 0).float()) + 0.5 * (d == 0).float()
    return float(right.mean()), int(keep.sum())


def calibration(r_a: torch.Tensor, r_b: torch.Tensor, p_a: torch.Tensor, bins: int = 10) -> dict:
    """How well P_rm(a) = sigmoid(r_a - r_b) matches the labels.

    ece: expected calibration error of the RM's confidence in its own pick against the hard label
    (non-tied pairs), over `bins` equal-width confidence bins from 0.5 to 1; brier: mean squared
    error of P_rm(a) against p_a; soft_mae: mean |P_rm(a) - p_a| (how well the labeler was distilled);
    table: (mean confidence, accuracy, count) per non-empty bin, for reliability plots."""
    prob = torch.sigmoid(r_a.float() - r_b.float())
    p = p_a.float()
    out = {"brier": float(((prob - p) ** 2).mean()), "soft_mae": float((prob - p).abs().mean())}
    keep = p != 0.5
    ece, rows = confidence_reliability(prob[keep].tolist(), p[keep].tolist(), bins)
    table = [(round(r["predicted"], 4), round(r["observed"], 4), r["count"]) for r in rows]
    return out | {"ece": ece, "table": table}
