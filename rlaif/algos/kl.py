"""Per-token KL estimators and the KL coefficient (fixed or adaptive).

Estimators of KL(pi || ref) from a sample x ~ pi, given logp = log pi(x) and ref = log ref(x)
(Schulman, "Approximating KL divergence", http://joschu.net/blog/kl-approx.html):
- k1 = logp - ref                       unbiased, high variance, can be negative per token
- k2 = (logp - ref)^2 / 2               biased, low variance, >= 0
- k3 = (r - 1) - log r, r = exp(ref - logp)   unbiased, low variance, >= 0

The adaptive controller is Ziegler et al. (2019), arXiv 1909.08593 §2.2, as in
openai/lm-human-preferences: beta <- beta * (1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon).
"""

from __future__ import annotations

from dataclasses import dataclass


def k1(logp, ref):
    return logp - ref


def k2(logp, ref):
    return 0.5 * (logp - ref) ** 2


def k3(logp, ref):
    log_ratio = (ref - logp).clamp(-20.0, 20.0)  # exp() of a huge gap would overflow to inf
    return log_ratio.exp() - 1.0 - log_ratio


KL_ESTIMATORS = {"k1": k1, "k2": k2, "k3": k3}


def kl_estimator(name: str):
    if name not in KL_ESTIMATORS:
        raise KeyError(f"unknown KL estimator {name!r}; known: {', '.join(KL_ESTIMATORS)}")
    return KL_ESTIMATORS[name]


@dataclass
class KLController:
    """The KL coefficient beta. `target` 0 keeps it fixed; otherwise it tracks the target KL."""

    value: float
    target: float = 0.0
    horizon: int = 10000

    def update(self, current_kl: float, n_samples: int) -> float:
        if self.target > 0:
            error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
            self.value *= 1.0 + error * n_samples / self.horizon
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value, "target": self.target, "horizon": self.horizon}

    def load_state_dict(self, state: dict) -> None:
        self.value, self.target, self.horizon = state["value"], state["target"], state["horizon"]
