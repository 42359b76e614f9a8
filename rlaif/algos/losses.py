"""Losses and masked statistics over response tokens. Inputs are (B, T) with a 0/1 `mask`."""

from __future__ import annotations


def masked_mean(x, mask, dim=None):
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(x, mask, unbiased: bool = True):
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    n = mask.sum()
    if unbiased and n > 1:
        var = var * n / (n - 1)
    return var


def masked_whiten(x, mask, shift_mean: bool = True, eps: float = 1e-8):
    """(x - mean) / std over the masked entries (lm-human-preferences' `whiten`)."""
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * (var + eps).rsqrt()
    if not shift_mean:
        out = out + mean
    return out * mask


def token_logprobs(logits, tokens):
    """log pi(token) from (B, T, V) logits for (B, T) tokens, in fp32."""
    logp = logits.float().log_softmax(-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits):
    """Per-position entropy of softmax(logits): (B, T, V) -> (B, T), in fp32."""
    logits = logits.float()
    p = logits.softmax(-1)
    return logits.logsumexp(-1) - (p * logits).sum(-1)


def policy_loss(logp, old_logp, advantages, mask, clip_range: float | None = None):
    """Policy-gradient loss -A * ratio, masked mean over tokens; returns (loss, stats).

    Without clipping the gradient at ratio 1 is REINFORCE's -A * grad log pi (A2C, RLOO); with
    `clip_range` it is PPO's pessimistic clipped surrogate (Schulman et al. 2017, eq. 7)."""
    import torch

    log_ratio = logp - old_logp
    ratio = log_ratio.exp()
    loss = -advantages * ratio
    stats = {"approx_kl": masked_mean(0.5 * log_ratio**2, mask).detach()}
    if clip_range:
        clipped = -advantages * ratio.clamp(1.0 - clip_range, 1.0 + clip_range)
        stats["clipfrac"] = masked_mean((clipped > loss).float(), mask).detach()
        loss = torch.maximum(loss, clipped)
    return masked_mean(loss, mask), stats


def value_loss(values, old_values, returns, mask, clip_range: float | None = None):
    """0.5 * (V - G)^2, masked mean; PPO's clipped variant keeps V within clip_range of old V."""
    import torch

    loss = (values - returns) ** 2
    stats = {}
    if clip_range:
        v_clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
        clipped = (v_clipped - returns) ** 2
        stats["clipfrac"] = masked_mean((clipped > loss).float(), mask).detach()
        loss = torch.maximum(loss, clipped)
    return 0.5 * masked_mean(loss, mask), stats
