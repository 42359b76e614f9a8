"""Advantage estimators, one per algorithm name, and what each algorithm needs.

All take per-token rewards (B, T) — the KL penalty on every response token plus the score on the
last one — and the response `mask`; they return (advantages, returns), both (B, T) and zero where
masked. Rows of one prompt are contiguous (`group_size` rows each), as `generate` returns them.

- `a2c`  (Lee et al. 2023 §4, the paper's RL): Monte-Carlo return G_t = sum_k gamma^(k-t) r_k and
  A_t = G_t - V(s_t) with a learned critic; no clipping, one pass over each batch.
- `ppo`  (Schulman et al. 2017; GAE: Schulman et al. 2016, arXiv 1506.02438): delta_t = r_t +
  gamma V_{t+1} - V_t, A_t = delta_t + gamma lambda A_{t+1}; returns = A + V. Clipped objectives.
- `rloo` (Ahmadian et al. 2024, arXiv 2402.14740): no critic; the sequence return R_i minus the
  mean return of the other k-1 samples of the same prompt, broadcast to every token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def discounted_returns(rewards, mask, gamma: float = 1.0):
    """G_t = r_t + gamma * G_{t+1} over each row's response tokens."""
    import torch

    rewards = rewards * mask
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.size(1))):
        running = rewards[:, t] + gamma * running * mask[:, t]
        out[:, t] = running
    return out * mask


def a2c_advantages(rewards, mask, values=None, group_size: int = 1, gamma: float = 1.0, lam: float = 1.0):
    if values is None:
        raise ValueError("a2c needs critic values")
    returns = discounted_returns(rewards, mask, gamma)
    return (returns - values) * mask, returns


def gae_advantages(rewards, mask, values=None, group_size: int = 1, gamma: float = 1.0, lam: float = 0.95):
    """Generalised advantage estimation; the value after the last response token is 0."""
    import torch

    if values is None:
        raise ValueError("ppo (GAE) needs critic values")
    rewards, values = rewards * mask, values * mask
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    T = rewards.size(1)
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * mask[:, t]
        adv[:, t] = last
    return adv, (adv + values) * mask


def rloo_advantages(rewards, mask, values=None, group_size: int = 2, gamma: float = 1.0, lam: float = 1.0):
    if group_size < 2:
        raise ValueError("rloo needs at least 2 samples per prompt (rl.n >= 2)")
    seq = (rewards * mask).sum(-1)  # (B,) sequence returns, gamma = 1
    groups = seq.view(-1, group_size)  # (B/k, k)
    baseline = (groups.sum(-1, keepdim=True) - groups) / (group_size - 1)
    adv = (groups - baseline).reshape(-1)  # (B,)
    return adv[:, None] * mask, seq[:, None] * mask


@dataclass(frozen=True)
class Algo:
    """What an algorithm name means for the trainer."""

    advantage: Callable
    critic: bool  # learns a value function
    clip: bool  # PPO's clipped policy and value objectives
    whiten: bool  # whiten advantages over the batch
    default_samples: int  # completions per prompt when rl.n is 0


ALGOS: dict[str, Algo] = {
    "a2c": Algo(a2c_advantages, critic=True, clip=False, whiten=False, default_samples=1),
    "ppo": Algo(gae_advantages, critic=True, clip=True, whiten=True, default_samples=1),
    "rloo": Algo(rloo_advantages, critic=False, clip=False, whiten=False, default_samples=4),
}


def get_algo(name: str) -> Algo:
    if name not in ALGOS:
        raise KeyError(f"unknown RL algorithm {name!r}; known: {', '.join(ALGOS)}")
    return ALGOS[name]
