"""Pairwise judges: callables `judge(list[Shown]) -> list[Scored]`, P(first response better).

- `LMJudge`: template + backend (hf or openai) + the soft-label parser (METHOD.md 2): direct
  scoring, or two-step chain of thought, optionally with self-consistency.
- `FakeJudge`: deterministic, with a set accuracy, confidence and position bias, for tests and for
  simulating labelers of known quality.
- `OracleJudge`: the reference label itself (task ground truth or human labels): the RLHF arm.

All three are debiased by the same wrapper (`debias.score_pairs`); none of them swaps anything.
"""

from __future__ import annotations

from ..core.hashing import hash_unit
from ..core.records import prompt_text
from .debias import Scored, Shown
from .prompts import PairTemplate
from .scoring import choice_logprobs, is_bounded, logit, sigmoid, soft_label

BOUNDED = "a choice was outside the labeler's top-K log-probs: its log-prob is an upper bound"


class LMJudge:
    def __init__(
        self,
        template: PairTemplate,
        backend,
        cot: bool = False,
        cot_max_tokens: int = 512,
        self_consistency: int = 1,
        sc_temperature: float = 1.0,
        min_choice_mass: float = 1e-4,
        seed: int = 0,
    ):
        self.t, self.backend = template, backend
        self.cot, self.cot_max_tokens = cot, cot_max_tokens
        self.k, self.sc_temperature = max(1, self_consistency), sc_temperature
        self.min_mass, self.seed = min_choice_mass, seed
        self.counts = {"degenerate": 0, "empty_rationale": 0, "bounded": 0}

    def user(self, s: Shown) -> str:
        return self.t.user(prompt_text(s.prompt), s.first, s.second, s.results, cot=self.cot)

    def __call__(self, shown: list[Shown]) -> list[Scored]:
        users = [self.user(s) for s in shown]
        if not self.cot:
            return [self._verdict([lp], None) for lp in self._logprobs([(u, self.t.ending) for u in users])]
        # 1. rationales: greedy (T=0) or, for self-consistency, k samples at T>0
        temp = 0.0 if self.k == 1 else self.sc_temperature
        rats = self.backend.generate(
            [(u, self.t.cot) for u in users], self.cot_max_tokens, temp, self.k, self.seed
        )
        # 2. the rationale and the ending appended, then the "1"/"2" log-probabilities
        prompts = [(u, self.t.ending_for(r)) for u, rs in zip(users, rats) for r in rs]
        lps = self._logprobs(prompts)
        return [self._verdict(lps[i * self.k : (i + 1) * self.k], rats[i]) for i in range(len(users))]

    def _logprobs(self, prompts: list[tuple[str, str]]) -> list[list[float]]:
        return choice_logprobs(self.backend.next_logprobs, prompts, list(self.t.choices))

    def _verdict(self, lps: list[list[float]], rationales: list[str] | None) -> Scored:
        """Average the soft labels over rationales; too little mass on the choices is no verdict."""
        labels = [soft_label(lp) for lp in lps]
        mass = sum(m for _, m in labels) / len(labels)
        problem = None
        if rationales is not None and not any(r.strip() for r in rationales):
            self.counts["empty_rationale"] += 1
            problem = "empty rationale"
        if mass < self.min_mass:
            self.counts["degenerate"] += 1
            return Scored(None, mass, f"degenerate: choice tokens got probability {mass:.2g}", rationales)
        p1 = sum(dist[0] for dist, _ in labels) / len(labels)
        if self.t.invert:  # the ending asked for the worse response (harmless)
            p1 = 1.0 - p1
        if any(is_bounded(lp) for lp in lps):  # the label is softer or harder than the truth: say so
            self.counts["bounded"] += 1
            problem = "; ".join(x for x in (problem, BOUNDED) if x)
        return Scored(p1, mass, problem, rationales)


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from text."""
    return hash_unit("\x1f".join(parts))


class FakeJudge:
    """A labeler of known quality: right on `accuracy` of the pairs, with `confidence`, and
    `position_bias` added to slot 1's logit. Which pairs it gets right depends on the pair's content
    only (not the order), so the two orders of a pair agree except for the bias.

    Truth is the pair's gold label; without one, a content hash decides (consistently in both orders)."""

    def __init__(
        self, accuracy: float = 0.8, confidence: float = 0.75, position_bias: float = 0.0, seed: int = 0
    ):
        self.accuracy, self.confidence, self.bias, self.seed = accuracy, confidence, position_bias, seed

    def __call__(self, shown: list[Shown]) -> list[Scored]:
        out = []
        for s in shown:
            p, a, b = prompt_text(s.prompt), s.pair.a, s.pair.b
            gold = s.gold_first
            first_better = (
                gold > 0.5
                if gold is not None and gold != 0.5
                else _unit("truth", p, s.first) > _unit("truth", p, s.second)
            )
            right = _unit("right", str(self.seed), p, *sorted((a, b))) < self.accuracy
            says_first = first_better == right
            z = logit(self.confidence) * (1 if says_first else -1) + self.bias
            out.append(Scored(sigmoid(z)))
        return out


class OracleJudge:
    """The reference label as the verdict: the RLHF arm. A pair without one gets no label."""

    def __call__(self, shown: list[Shown]) -> list[Scored]:
        return [
            Scored(s.gold_first)
            if s.gold_first is not None
            else Scored(None, problem="no oracle or human label for this pair")
            for s in shown
        ]
