"""Position debiasing: the one place where pairs are shown in both orders and mapped back.

Every pairwise judge in the project (soft labels, SALMON principle scores, win-rate judges) goes
through `score_pairs`; no backend and no caller swaps responses itself. (allenai/open-instruct
shipped an un-shuffle whose condition could never be true, so `chosen` was always slot 1; TRL's
judges copied the swap per backend. Here it exists once and is tested against a fake judge with a
deliberate position bias.)

1. A judge scores *presentations* (`Shown`: the pair in one order) and returns, per presentation, a
   score for the response shown FIRST: a probability (centre 0.5) or a logit difference (centre 0).
2. `orders="both"` (the paper): each pair is shown as (a, b) and (b, a) in the same judge call (so
   the hf backend puts both in one batch); the second is mapped back to a's side (`1 - p` or `-s`)
   and the two are averaged. "Same position" = both orders picked the same slot.
3. `orders="one"` shows one order per pair, chosen from a hash of the content (AlpacaFarm): the
   choice is reproducible and cacheable, and a slot bias cannot line up with a's side everywhere.
   `orders="ab"` always shows a first; it exists to measure position bias, not to label with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


@dataclass
class Pair:
    """Two responses to one prompt. `gold`: reference P(a better) if known (human/oracle labels)."""

    prompt: Any
    a: str
    b: str
    gold: float | None = None
    results: tuple[str, str] | None = None  # e.g. each SQL query's execution result, shown under it
    extra: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        return hashlib.sha256(
            json.dumps([self.prompt, self.a, self.b], ensure_ascii=False).encode()
        ).hexdigest()


@dataclass
class Shown:
    """A pair as the judge sees it: `swapped` puts b in slot 1."""

    pair: Pair
    swapped: bool

    @property
    def prompt(self) -> Any:
        return self.pair.prompt

    @property
    def first(self) -> str:
        return self.pair.b if self.swapped else self.pair.a

    @property
    def second(self) -> str:
        return self.pair.a if self.swapped else self.pair.b

    @property
    def results(self) -> tuple[str, str] | None:
        r = self.pair.results
        return (r[1], r[0]) if r and self.swapped else r

    @property
    def gold_first(self) -> float | None:
        """Reference P(first better) in this presentation."""
        g = self.pair.gold
        return None if g is None else (1.0 - g if self.swapped else g)


@dataclass
class Scored:
    """A judge's verdict on one presentation: `score` favours the FIRST response (None: no verdict)."""

    score: float | None
    mass: float = 1.0
    problem: str | None = None
    rationales: list[str] | None = None


Judge = Callable[[list[Shown]], list[Scored]]


def presentations(pair: Pair, orders: str) -> list[bool]:
    """The `swapped` flags to show a pair with."""
    if orders == "both":
        return [False, True]
    if orders == "ab":
        return [False]
    if orders == "one":
        return [int(pair.content_hash()[:8], 16) % 2 == 1]
    raise ValueError(f"label.orders: unknown {orders!r}; use both, one or ab")


def score_pairs(judge: Judge, pairs: Sequence[Pair], orders: str = "both", kind: str = "prob") -> list[dict]:
    """Score pairs through `judge` in the configured orders and map every score back to a's side.

    kind="prob": scores are P(first better), mapped back as 1 - p; kind="logit": logit differences
    (SALMON), mapped back as -s. Returns per pair: `score` (a's side, averaged over orders),
    `ab` / `ba` (raw, per order), `same_position`, `mass`, `problem`, `rationales`."""
    flip, centre = (lambda x: 1.0 - x, 0.5) if kind == "prob" else (lambda x: -x, 0.0)
    owner = [i for i, p in enumerate(pairs) for _ in presentations(p, orders)]
    shown = [Shown(p, s) for p in pairs for s in presentations(p, orders)]
    verdicts = judge(shown) if shown else []
    if len(verdicts) != len(shown):
        raise RuntimeError(f"judge returned {len(verdicts)} verdicts for {len(shown)} presentations")
    by_pair: dict[int, list[tuple[Shown, Scored]]] = {}
    for i, sh, v in zip(owner, shown, verdicts):
        by_pair.setdefault(i, []).append((sh, v))
    out = []
    for i in range(len(pairs)):
        got = by_pair[i]
        raw = {("ba" if sh.swapped else "ab"): v.score for sh, v in got}
        problems = [v.problem for _, v in got if v.problem]
        rats = [r for _, v in got for r in (v.rationales or [])]
        mass = sum(v.mass for _, v in got) / len(got)
        if any(v.score is None for _, v in got):
            out.append(
                {
                    "score": None,
                    **raw,
                    "same_position": None,
                    "mass": mass,
                    "problem": "; ".join(problems) or "no verdict",
                    "rationales": rats,
                }
            )
            continue
        a_side = [flip(v.score) if sh.swapped else v.score for sh, v in got]
        same = None
        if len(got) == 2:  # slot 1 picked in both orders, or slot 2 in both
            same = (raw["ab"] > centre) == (raw["ba"] > centre)
        out.append(
            {
                "score": sum(a_side) / len(a_side),
                **raw,
                "same_position": same,
                "mass": mass,
                "problem": "; ".join(problems) or None,
                "rationales": rats,
            }
        )
    return out
