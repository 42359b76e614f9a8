"""SALMON principle scores (METHOD.md 7): for each principle, logit("a") - logit("b") in both orders.

The labeler sees the instruction, Output (a), Output (b), "one aspect to consider: {name}:
{definition}" and the ending "... the more {name} output is Output (", and we read the next token.
logit("a") - logit("b") equals log P("a") - log P("b") (same normaliser), so every backend that
reports log-probabilities can produce it.

Output per pair (what the SALMON reward model consumes, see rlaif/rm/salmon.py):
    {"prompt", "response_a", "response_b", "principle_scores": {name: [s_ab, s_ba]}}
s_ab: response_a shown as Output (a); s_ba: the pair swapped (response_b shown as Output (a)).
A principle counts only when the orders agree (s_ab > 0 > s_ba or s_ab < 0 < s_ba); the RM side
combines them as (s_ab - s_ba) / 2 and normalises each principle by its standard deviation.
All (pair, principle) presentations go through the one debiasing wrapper in a single judge call.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.records import prompt_text
from .debias import Pair, Scored, Shown, score_pairs
from .judges import BOUNDED
from .prompts import Principle, PrincipleTemplate
from .scoring import NEG_INF, choice_logprobs, is_bounded, soft_label


class PrincipleScorer:
    def __init__(
        self, template: PrincipleTemplate, backend, principles: list[Principle], min_choice_mass: float = 1e-4
    ):
        self.t, self.backend, self.principles, self.min_mass = template, backend, principles, min_choice_mass
        self.degenerate = 0

    def _judge(self, shown: list[Shown]) -> list[Scored]:
        prompts = [
            (
                self.t.user(prompt_text(s.prompt), s.first, s.second, s.pair.extra["principle"]),
                self.t.ending_for(s.pair.extra["principle"]),
            )
            for s in shown
        ]
        out = []
        for lp in choice_logprobs(self.backend.next_logprobs, prompts, list(self.t.choices)):
            _, mass = soft_label(lp)
            if mass < self.min_mass or NEG_INF in lp:
                self.degenerate += 1
                out.append(Scored(None, mass, f"degenerate: choice tokens got probability {mass:.2g}"))
            else:
                out.append(Scored(lp[0] - lp[1], mass, BOUNDED if is_bounded(lp) else None))
        return out

    def score(self, pairs: list[Pair]) -> list[dict]:
        """Per pair: {name: [s_ab, s_ba]} (None for a principle whose scoring was degenerate)."""
        expanded = [replace(p, extra={"principle": pr}) for p in pairs for pr in self.principles]
        res = score_pairs(self._judge, expanded, "both", kind="logit")
        n = len(self.principles)
        out = []
        for i in range(len(pairs)):
            row = res[i * n : (i + 1) * n]
            out.append(
                {
                    pr.name: ([r["ab"], r["ba"]] if r["score"] is not None else None)
                    for pr, r in zip(self.principles, row)
                }
            )
        return out


def build_principle_scorer(cfg, backend=None) -> PrincipleScorer:
    from .labeler import build_backend
    from .prompts import load_principle_template, load_principles

    lc = cfg.label
    if lc.backend not in ("hf", "openai"):
        raise ValueError(
            f"label.mode=principles needs a language-model labeler (hf or openai), got {lc.backend!r}"
        )
    return PrincipleScorer(
        load_principle_template(),
        backend or build_backend(cfg),
        load_principles(lc.principles),
        lc.min_choice_mass,
    )
