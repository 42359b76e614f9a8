"""SALMON's principle-following reward model (Sun et al. 2023; METHOD.md 7): principles and the
synthetic preferences built from per-principle scores. Pure functions, no torch.

1. Input records come from the labeler (the labeling stage computes the scores; it is not done
   here): `{"prompt", "response_a", "response_b", "principle_scores": {NAME: SCORE}}` where SCORE is
   - a number: logit("a") - logit("b") already averaged over both orders (positive: a is more NAME);
     null when the two orders disagreed, or
   - a pair [s_ab, s_ba]: s_ab = logit("a") - logit("b") with response_a shown as Output (a), s_ba
     the same with the pair swapped (response_b shown as Output (a)). The principle counts only
     when both orders agree (s_ab > 0 > s_ba or s_ab < 0 < s_ba); its score is (s_ab - s_ba) / 2.
2. Each principle's scores are divided by their standard deviation over the data set, so that a
   principle with a loud labeler does not dominate every label.
3. Per example: sample k principles, negate each with probability 1/2 (its text becomes the
   `negation` and its score flips sign), label by the principle with the largest |score|, flip the
   label with probability `label_noise`, then shuffle the order of the two responses. The RM sees
   the principle texts in its prompt (`with_principles`), so it learns to follow them.
4. At use time (`use_time_principles`) the RM prompt carries the file's fixed anti-reward-hacking
   principles plus a few sampled by weight, keyed on the prompt text (reproducible).
5. Training and use prompts list their principles through one function, `rm_principles`: the fixed
   ones first, then the sampled ones. SALMON trains with the fixed set present too; an RM that never
   saw them in training would meet an unfamiliar prompt at RL time, exactly where it must not drift.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.hashing import hash_int
from ..core.records import combine_orders

DEFAULT_FILE = Path(__file__).parent.parent / "principles" / "default.yaml"
HEADER = "Judge the assistant's response by these principles:"


@dataclass(frozen=True)
class Principle:
    name: str
    definition: str
    negation: str = ""
    weight: float = 1.0

    def text(self, negated: bool = False) -> str:
        if not negated:
            return f"{self.name}: {self.definition}"
        return self.negation or f"Not {self.name}: the opposite of this: {self.definition}"


@dataclass
class PrincipleSet:
    principles: list[Principle]
    fixed: list[Principle] = field(default_factory=list)

    def get(self, name: str) -> Principle | None:
        return next((p for p in self.principles if p.name == name), None)


def _principle(d: Any, where: str) -> Principle:
    if (
        not isinstance(d, dict)
        or not isinstance(d.get("name"), str)
        or not isinstance(d.get("definition"), str)
    ):
        raise ValueError(f"{where}: each principle needs a string `name` and `definition`, got {d!r}")
    unknown = set(d) - {"name", "definition", "negation", "weight"}
    if unknown:
        raise ValueError(f"{where}: unknown principle field(s) {sorted(unknown)}")
    return Principle(
        d["name"],
        " ".join(d["definition"].split()),
        " ".join(str(d.get("negation", "")).split()),
        float(d.get("weight", 1.0)),
    )


def load_principles(path: str | Path = "") -> PrincipleSet:
    """A principle file: `principles:` (name, definition, negation, weight) and optional `fixed:`."""
    import yaml

    path = Path(path) if path else DEFAULT_FILE
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("principles"), list):
        raise ValueError(f"{path}: expected a mapping with a `principles:` list")
    ps = [_principle(d, f"{path}: principles[{i}]") for i, d in enumerate(data["principles"])]
    fixed = [_principle(d, f"{path}: fixed[{i}]") for i, d in enumerate(data.get("fixed") or [])]
    return PrincipleSet(ps, fixed)


# --------------------------------------------------------------------------- the RM prompt


def with_principles(prompt: str | list, principles: list[str]) -> str | list:
    """The prompt the RM sees: the principle texts first, then the original prompt. Chat prompts get
    them as (or appended to) the system message."""
    if not principles:
        return prompt
    guide = HEADER + "\n" + "\n".join(f"- {p}" for p in principles)
    if isinstance(prompt, str):
        return f"{guide}\n\n{prompt}"
    if prompt and prompt[0]["role"] == "system":
        return [{"role": "system", "content": prompt[0]["content"] + "\n\n" + guide}] + list(prompt[1:])
    return [{"role": "system", "content": guide}] + list(prompt)


def _key_rng(*parts: Any) -> random.Random:
    return random.Random(hash_int("\x1f".join(map(str, parts)), 16))


def rm_principles(pset: PrincipleSet, sampled: list[str]) -> list[str]:
    """The principle texts of an RM prompt, at training and at use time alike: the fixed
    principles, then the sampled ones (a sampled text equal to a fixed one is not repeated)."""
    fixed = [p.text() for p in pset.fixed]
    return fixed + [t for t in sampled if t not in fixed]


def use_time_principles(pset: PrincipleSet, prompt: str | list, k: int, seed: int = 0) -> list[str]:
    """Fixed principles plus k drawn by weight without replacement, reproducibly for this prompt."""
    rng = _key_rng(seed, prompt if isinstance(prompt, str) else repr(prompt))
    pool, picked = list(pset.principles), []
    for _ in range(min(k, len(pool))):
        x = rng.random() * sum(p.weight for p in pool)
        for j, p in enumerate(pool):
            x -= p.weight
            if x <= 0 or j == len(pool) - 1:
                picked.append(pool.pop(j))
                break
    return rm_principles(pset, [p.text() for p in picked])


# --------------------------------------------------------------------------- synthetic preferences


def normalised_scores(records: list[dict]) -> list[dict[str, float]]:
    """Per record {principle: score / std(principle's scores)} with disagreeing orders dropped."""
    raw = [
        {k: s for k, v in r["principle_scores"].items() if (s := combine_orders(v)) is not None}
        for r in records
    ]
    by_name: dict[str, list[float]] = {}
    for row in raw:
        for k, s in row.items():
            by_name.setdefault(k, []).append(s)
    std = {}
    for k, xs in by_name.items():
        m = sum(xs) / len(xs)
        var = sum((x - m) ** 2 for x in xs) / len(xs)
        std[k] = math.sqrt(var) if var > 0 else (abs(m) or 1.0)
    return [{k: s / std[k] for k, s in row.items()} for row in raw]


def synthetic_preferences(
    records: list[dict],
    pset: PrincipleSet,
    k: int = 3,
    negate_prob: float = 0.5,
    label_noise: float = 0.0,
    seed: int = 0,
) -> list[dict]:
    """Training comparisons for a principle-following RM (METHOD.md 7), one per usable record:
    {prompt, response_a, response_b, p_a (0 or 1), principles: [texts], dominant, negated, index}.
    Principle names not in `pset` are an error; records with no agreeing principle are skipped."""
    scores = normalised_scores(records)
    out = []
    for i, (rec, sc) in enumerate(zip(records, scores)):
        unknown = [n for n in sc if pset.get(n) is None]
        if unknown:
            raise ValueError(
                f"record {i}: principle {unknown[0]!r} is not in the principle file "
                f"(known: {', '.join(p.name for p in pset.principles)})"
            )
        rng = _key_rng(seed, i)
        names = sorted(sc)
        if not names:
            continue
        chosen = rng.sample(names, min(k, len(names)))
        signed = []  # (name, negated, signed score)
        for n in chosen:
            neg = rng.random() < negate_prob
            signed.append((n, neg, -sc[n] if neg else sc[n]))
        name, neg, s = max(signed, key=lambda t: abs(t[2]))
        if s == 0:
            continue
        a_wins = (s > 0) != (rng.random() < label_noise)
        a, b = rec["response_a"], rec["response_b"]
        if rng.random() < 0.5:
            a, b, a_wins = b, a, not a_wins
        out.append(
            {
                "prompt": rec["prompt"],
                "response_a": a,
                "response_b": b,
                "p_a": 1.0 if a_wins else 0.0,
                "principles": [pset.get(n).text(ng) for n, ng, _ in signed],
                "dominant": name,
                "negated": [n for n, ng, _ in signed if ng],
                "index": i,
            }
        )
    return out
