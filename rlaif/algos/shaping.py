"""Reward shaping for RL from a sequence-level score (Lee et al. 2023 §4; Ziegler et al. 2019 §2.2).

1. `penalize_missing_eos`: a response cut off by the token budget (no EOS) loses a fixed penalty,
   so the policy cannot hide a bad ending behind truncation (TRL's `missing_eos_penalty`).
2. `token_rewards`: the per-token reward the advantage estimators see: -beta * KL_t on every response
   token and (1 - beta) * score added on the last one; with gamma = 1 the return of the first token
   is then the objective (1 - beta) r - beta KL(pi || ref) of the whole response.

Tensors are (N, R) over response tokens with a 0/1 `mask`; `scores` and `ended` are (N,).
"""

from __future__ import annotations


def penalize_missing_eos(scores, ended, penalty: float):
    """scores - penalty where the response has no EOS: (N,)."""
    return scores - penalty * (~ended.to(scores.device)).float()


def token_rewards(scores, kl, mask, beta: float):
    """(N, R) rewards: -beta * kl on every real token (padding gets 0), plus (1 - beta) * score on
    each row's last real token."""
    import torch

    rewards = -beta * (kl * mask)
    last = mask.sum(-1).long() - 1
    rewards[torch.arange(len(last)), last] += (1.0 - beta) * scores
    return rewards
