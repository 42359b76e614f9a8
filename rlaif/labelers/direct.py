"""d-RLAIF (direct RLAIF, METHOD.md 5): the labeler rates one response 1-10; no reward model.

The reward is the expected score under the labeler's normalised distribution over the score tokens,
s = sum_i i * P(i), rescaled to [-1, 1] as (s - 5.5) / 4.5. "10" is followed token by token on
tokenizers that split it ("1" then "0"), and P(exactly "1") excludes the mass that goes on to "10"
(see scoring.choice_logprobs).

For RL, `direct_reward_fn(cfg)` returns TRL's reward-function shape, `fn(prompts, completions, **kw)
-> list[float]`; prompts and completions may be strings or chat message lists.
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.config import Config
from ..core.records import prompt_text, response_text
from .prompts import DirectTemplate, load_direct_template
from .scoring import choice_logprobs, expected_score, soft_label


class DirectScorer:
    def __init__(self, template: DirectTemplate, backend, min_choice_mass: float = 1e-4):
        self.t, self.backend, self.min_mass = template, backend, min_choice_mass
        self.scores = [float(c) for c in template.choices]
        self.degenerate = 0

    def expected(self, prompts: list[Any], responses: list[Any]) -> list[float | None]:
        """Expected 1-10 score per response (None: the labeler put no mass on the score tokens)."""
        ps = [
            (self.t.user(prompt_text(p), response_text(r)), self.t.ending) for p, r in zip(prompts, responses)
        ]
        out = []
        for lp in choice_logprobs(self.backend.next_logprobs, ps, list(self.t.choices)):
            _, mass = soft_label(lp)
            if mass < self.min_mass:
                self.degenerate += 1
                out.append(None)
            else:
                out.append(expected_score(lp, self.scores))
        return out

    def rewards(self, prompts: list[Any], responses: list[Any]) -> list[float]:
        """Rewards in [-1, 1]; a degenerate rating gives 0 (the midpoint) and is counted."""
        lo, hi = min(self.scores), max(self.scores)
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        return [0.0 if s is None else (s - mid) / half for s in self.expected(prompts, responses)]


def build_direct_scorer(cfg: Config, backend=None) -> DirectScorer:
    from .labeler import build_backend

    lc = cfg.label
    if lc.backend not in ("hf", "openai"):
        raise ValueError(
            f"d-RLAIF needs a language-model labeler (label.backend hf or openai), got {lc.backend!r}"
        )
    return DirectScorer(
        load_direct_template(lc.template, cfg.task), backend or build_backend(cfg), lc.min_choice_mass
    )


def direct_reward_fn(cfg: Config | None = None, backend=None, **label: Any) -> Callable[..., list[float]]:
    """`fn(prompts, completions, **kw) -> list[float]` in [-1, 1] from the labeler of `cfg.label`;
    keyword arguments override `label` fields (e.g. model="qwen2.5-coder-0.5b", template="text2sql")."""
    from dataclasses import replace

    cfg = cfg or Config()
    if label:
        cfg = replace(cfg, label=replace(cfg.label, **label))
    scorer = build_direct_scorer(cfg, backend)

    def reward(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float]:
        return scorer.rewards(prompts, completions)

    reward.scorer = scorer  # type: ignore[attr-defined]
    return reward
