"""Evaluation metrics as pure numpy functions (METHOD.md §2 and §6). No torch, no I/O.

1. A judgment is P(A better than B) for one prompt, already averaged over both orders by the
   judge. `outcomes` turns it into a win (1), tie (1/2) or loss (0); a win rate is their mean, so
   ties count as halves and A-vs-B and B-vs-A always add up to exactly 1. A judge failure (None or
   NaN: no verdict) is neither: it stays NaN, is counted apart and left out of every rate, since
   counting it as a tie would pull win rates toward 50% and hide that the judge failed.
2. Intervals are percentile bootstraps over prompts (resampling prompts, not judgments, because
   prompts are the unit that was sampled), vectorised: thousands of resamples take milliseconds.
3. Length control follows the paper: a logistic regression of "A preferred" on the length ratio
   of the two outputs, read where the lengths are equal. Ties enter as y = 1/2 (the likelihood is
   fine with fractional targets). The default feature is the log ratio so A-vs-B and B-vs-A are
   mirror images; `feature="ratio"` regresses on the plain ratio as the paper states it.
4. Labeler metrics take P(a) from the labeler and the human (or oracle) choice: alignment is the
   share where the argmax agrees; "% same position" is the share of pairs where the labeler picks
   the same slot in both presentation orders; calibration bins P(a) and compares it with how often
   a was in fact preferred (expected calibration error + the points of a reliability diagram).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..algos import calibration as calibration_


def outcomes(p_a: Sequence[float], tie_margin: float = 0.0) -> np.ndarray:
    """Per-prompt result of A against B: 1 win, 0.5 tie, 0 loss, NaN where the judge failed.

    A judgment within `tie_margin` of 0.5 is a tie (0.5 itself always is). None or NaN is a judge
    failure, not a tie: it stays NaN so callers can count it (`failures`) and leave it out."""
    p = np.array([np.nan if x is None else x for x in p_a], dtype=float)
    out = np.full(p.shape, 0.5)
    out[p > 0.5 + tie_margin] = 1.0
    out[p < 0.5 - tie_margin] = 0.0
    out[np.isnan(p)] = np.nan
    return out


def failures(o: np.ndarray) -> np.ndarray:
    """Boolean mask of the outcomes where the judge gave no verdict."""
    return np.isnan(np.asarray(o, dtype=float))


def win_rate(p_a: Sequence[float], tie_margin: float = 0.0) -> float:
    """Share of judged prompts where A beats B, ties counted as halves, failures left out."""
    o = outcomes(p_a, tie_margin)
    o = o[~failures(o)]
    return float(o.mean()) if o.size else float("nan")


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[np.ndarray], np.ndarray] | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `stat` (default: the mean) over the rows of `values`.

    `stat` gets a (n_boot, n, ...) array of resamples and returns n_boot statistics."""
    v = np.asarray(values, dtype=float)
    if v.shape[0] == 0:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, v.shape[0], size=(n_boot, v.shape[0]))
    boots = v[idx].mean(axis=1) if stat is None else np.asarray(stat(v[idx]), dtype=float)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.nanpercentile(boots, [tail, 100 - tail])
    return float(lo), float(hi)


def rate_with_ci(values: Sequence[float], n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """{"mean", "lo", "hi", "n"} for per-prompt scores in [0, 1]."""
    v = np.asarray(values, dtype=float)
    lo, hi = bootstrap_ci(v, n_boot=n_boot, level=level, seed=seed)
    return {"mean": float(v.mean()) if v.size else float("nan"), "lo": lo, "hi": hi, "n": int(v.size)}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (b: only A right, c: only B right):
    under H0 each discordant prompt goes either way with probability 1/2."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def paired_difference(
    a: Sequence[float], b: Sequence[float], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> dict:
    """mean(a) - mean(b) over the same prompts, with a paired bootstrap interval (prompts resampled
    together, so the shared difficulty of a prompt cancels) and, for 0/1 scores such as execution
    accuracy, the discordant counts and the exact McNemar p-value."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(
            f"paired_difference: {x.size} scores against {y.size}; they must be the same prompts"
        )
    lo, hi = bootstrap_ci(x - y, n_boot=n_boot, level=level, seed=seed)
    out = {"delta": float((x - y).mean()) if x.size else float("nan"), "lo": lo, "hi": hi, "n": int(x.size)}
    if x.size and np.isin(x, (0.0, 1.0)).all() and np.isin(y, (0.0, 1.0)).all():
        only_a, only_b = int(((x == 1) & (y == 0)).sum()), int(((x == 0) & (y == 1)).sum())
        out |= {"only_a": only_a, "only_b": only_b, "p_mcnemar": mcnemar_exact(only_a, only_b)}
    return out


# --------------------------------------------------------------------------- head to head


def head_to_head(results: dict[tuple[str, str], Sequence[float]], names: Sequence[str]) -> np.ndarray:
    """Matrix M[i, j] = win rate of names[i] over names[j] from per-prompt outcomes of judged pairs
    (judge failures, None or NaN, left out).

    Each pair needs judging once: M[j, i] = 1 - M[i, j]. Unjudged cells and the diagonal are NaN."""
    pos = {n: i for i, n in enumerate(names)}
    m = np.full((len(names), len(names)), np.nan)
    for (a, b), o in results.items():
        v = np.array([np.nan if x is None else x for x in o], dtype=float)  # None: a judge failure
        v = v[~np.isnan(v)]
        rate = float(np.mean(v)) if v.size else np.nan
        m[pos[a], pos[b]], m[pos[b], pos[a]] = rate, 1.0 - rate
    return m


# --------------------------------------------------------------------------- length control


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-4, iters: int = 50) -> tuple[float, float]:
    """(intercept, slope) of P(y=1) = sigmoid(b0 + b1·x) by Newton's method; y may be fractional.

    A small ridge on the slope keeps the fit finite when the data are perfectly separated."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    X = np.stack([np.ones_like(x), x], axis=1)  # (n, 2)
    beta = np.zeros(2)
    penalty = np.diag([0.0, ridge]) * len(x)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        grad = X.T @ (y - p) - penalty @ beta
        hess = (X * (p * (1 - p))[:, None]).T @ X + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def length_feature(len_a: Sequence[float], len_b: Sequence[float], feature: str = "log_ratio") -> np.ndarray:
    """The regressor, zero where the two outputs have the same length (+1 char avoids log 0)."""
    r = (np.asarray(len_a, dtype=float) + 1.0) / (np.asarray(len_b, dtype=float) + 1.0)
    if feature == "log_ratio":
        return np.log(r)
    if feature == "ratio":
        return r - 1.0
    raise ValueError(f"unknown length feature {feature!r}; use log_ratio or ratio")


def length_controlled_win_rate(
    y: Sequence[float], len_a: Sequence[float], len_b: Sequence[float], feature: str = "log_ratio"
) -> dict:
    """The win rate predicted at equal lengths, with the fitted slope (how much length buys)."""
    x = length_feature(len_a, len_b, feature)
    b0, b1 = fit_logistic(x, np.asarray(y, dtype=float))
    return {"rate": float(1.0 / (1.0 + np.exp(-b0))), "intercept": b0, "slope": b1}


def length_controlled_ci(
    y: Sequence[float],
    len_a: Sequence[float],
    len_b: Sequence[float],
    feature: str = "log_ratio",
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval of the length-controlled win rate (the regression refitted per resample)."""
    y = np.asarray(y, dtype=float)
    x = length_feature(len_a, len_b, feature)
    if y.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    rates = np.empty(n_boot)
    for k in range(n_boot):
        i = rng.integers(0, y.size, y.size)
        rates[k] = 1.0 / (1.0 + np.exp(-fit_logistic(x[i], y[i], iters=25)[0]))
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(rates, [tail, 100 - tail])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- single outputs


def mean_length(texts: Sequence[str]) -> float:
    return float(np.mean([len(t) for t in texts])) if len(texts) else float("nan")


# --------------------------------------------------------------------------- labeler quality


def alignment(p_a: Sequence[float], human_a: Sequence[float]) -> float:
    """Share of pairs where the labeler's argmax equals the human choice (human_a: 1 if a was
    preferred, 0 if b). Human ties (0.5) and labeler ties are left out: neither has an argmax."""
    share = calibration_.alignment([float(x) for x in p_a], [float(x) for x in human_a])
    return float("nan") if share is None else share


def same_position_rate(slot1_first: Sequence[float], slot1_second: Sequence[float]) -> float:
    """Share of pairs where the labeler prefers the same slot in both presentation orders.

    slot1_first: P(slot 1) when shown (a, b); slot1_second: P(slot 1) when shown (b, a). A labeler
    that reads the content flips slots between orders; one that only reads the position does not."""
    x, y = np.asarray(slot1_first, dtype=float), np.asarray(slot1_second, dtype=float)
    return float(((x > 0.5) == (y > 0.5)).mean()) if x.size else float("nan")


def calibration(p_a: Sequence[float], human_a: Sequence[float], bins: int = 10) -> dict:
    """Expected calibration error of P(a) against the human choice, and reliability-diagram data.

    Each bin of predicted P(a) gives (mean prediction, observed share of a preferred, count);
    ECE = sum over bins of count/N * |observed - predicted|. Human ties count as 1/2."""
    ece, rows = calibration_.reliability(p_a, human_a, bins)
    return {"ece": ece, "bins": rows}


def labeler_metrics(
    p_a: Sequence[float],
    human_a: Sequence[float],
    slot1_first: Sequence[float] | None = None,
    slot1_second: Sequence[float] | None = None,
    bins: int = 10,
) -> dict:
    """Alignment, % same position (when both orders are known) and calibration, in one dict."""
    out = {"n": len(p_a), "alignment": alignment(p_a, human_a)}
    if slot1_first is not None and slot1_second is not None and len(slot1_first):
        out["same_position"] = same_position_rate(slot1_first, slot1_second)
    cal = calibration(p_a, human_a, bins)
    out["ece"], out["reliability"] = cal["ece"], cal["bins"]
    return out
