"""From next-token log-probabilities to labels: pure functions, no torch, no backend.

1. A choice ("1", "2", "10", "a") is a *string*, not a token id: every backend reports, for the next
   position, the log-probability of each token whose text (whitespace stripped) equals a prefix of
   a choice. "1" and " 1" are the same answer, so their probabilities are summed.
2. Choices that span several tokens (SmolLM2 writes "10" as "1" + "0") are followed token by token:
   P("10") = P("1") * P("0" | "1"), the second factor read after the plain spelling of "1" (the
   backends append text, not one token id per spelling: exact for the usual case). A choice that is
   a prefix of another ("1" of "10") keeps only the mass that does not continue into the longer
   one: P(exactly "1") = P("1") - P("10").
3. The soft label is the softmax over the choices' log-probabilities (METHOD.md 2). The mass the
   choices get in total is kept: a labeler that puts almost none on them is degenerate, and is
   reported instead of being turned into a label.
4. A server that reports only its top-K tokens cannot give the log-probability of a choice outside
   them; it is at most the lowest one reported. Backends return that bound as a `Bounded` float
   rather than -inf (which would turn a soft label into a hard 0/1), and a choice log-prob computed
   from a bound is `Bounded` too, so the judge can flag the pair.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from ..algos.calibration import alignment, confidence_reliability

NEG_INF = float("-inf")


class Bounded(float):
    """A log-probability that is only an upper bound (a choice outside a server's top-K), or a
    value computed from one. Arithmetic on it gives plain floats; only the marker matters."""


def is_bounded(logps: Sequence[float]) -> bool:
    return any(isinstance(x, Bounded) for x in logps)


# (texts, continuations, targets) -> per text, {target string: log P(next token's stripped text == target)}
NextLogprobs = Callable[[list[str], list[str], list[str]], list[dict[str, float]]]


def logsumexp(xs: Sequence[float]) -> float:
    m = max(xs, default=NEG_INF)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(x - m) for x in xs))


def softmax(logps: Sequence[float]) -> list[float]:
    z = logsumexp(logps)
    if z == NEG_INF:
        return [1.0 / len(logps)] * len(logps)
    return [math.exp(x - z) for x in logps]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def logit(p: float, eps: float = 1e-6) -> float:
    p = min(max(p, eps), 1 - eps)
    return math.log(p / (1 - p))


def choice_logprobs(next_logprobs: NextLogprobs, texts: list[str], choices: list[str]) -> list[list[float]]:
    """log P(the answer is exactly choice c) for each text and choice, following multi-token choices.

    Works level by level: level 0 asks every text for the single-token prefixes of all choices; a
    choice not finished by one token asks again with the consumed prefix appended (one batched call
    per level, so "1".."10" on a digit-splitting tokenizer costs two calls, not eleven)."""
    reach: dict[tuple[int, str], float] = {}  # P(output reaches a token boundary right after s)
    onward: dict[tuple[int, str], float] = {}  # of that, the mass continuing towards a longer choice
    bounded: set[int] = set()  # texts where some log-prob was only a bound
    frontier = [(i, "") for i in range(len(texts))]
    while frontier:
        targets = sorted(
            {
                c[len(d) : k]
                for _, d in frontier
                for c in choices
                if c.startswith(d)
                for k in range(len(d) + 1, len(c) + 1)
            }
        )
        dists = next_logprobs([texts[i] for i, _ in frontier], [d for _, d in frontier], targets)
        nxt = set()
        for (i, done), dist in zip(frontier, dists):
            base = reach.get((i, done), 1.0) if done else 1.0
            for t, lp in dist.items():
                s = done + t
                if lp == NEG_INF or not t or not any(c.startswith(s) for c in choices):
                    continue
                if isinstance(lp, Bounded):
                    bounded.add(i)
                p = base * math.exp(lp)
                reach[(i, s)] = reach.get((i, s), 0.0) + p
                if done:
                    onward[(i, done)] = onward.get((i, done), 0.0) + p
                if any(c.startswith(s) and c != s for c in choices):
                    nxt.add((i, s))
        frontier = sorted(nxt)
    out = []
    for i in range(len(texts)):
        ps = [reach.get((i, c), 0.0) - onward.get((i, c), 0.0) for c in choices]
        mark = Bounded if i in bounded else float
        out.append([mark(math.log(p)) if p > 1e-30 else NEG_INF for p in ps])
    return out


def soft_label(logps: Sequence[float]) -> tuple[list[float], float]:
    """(softmax over the choices, total probability mass of the choices)."""
    mass = sum(math.exp(x) for x in logps if x != NEG_INF)
    return softmax(logps), mass


def expected_score(logps: Sequence[float], scores: Sequence[float]) -> float:
    """d-RLAIF: s = sum_i score_i * P(i) over the normalised score distribution (METHOD.md 5)."""
    return sum(s * p for s, p in zip(scores, softmax(logps)))


# --------------------------------------------------------------------------- post-processing


def fit_temperature(p_a: Sequence[float], gold: Sequence[float]) -> float:
    """The temperature T minimising the NLL of gold labels under sigmoid(logit(p_a) / T).

    T < 1 sharpens the nearly flat labels of small labelers. Golden-section search on log T."""
    pairs = [(logit(p), g) for p, g in zip(p_a, gold) if g is not None]
    if not pairs:
        raise ValueError("fitting a temperature needs gold-labeled pairs")

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        out = 0.0
        for z, g in pairs:
            q = min(max(sigmoid(z / t), 1e-12), 1 - 1e-12)
            out -= g * math.log(q) + (1 - g) * math.log(1 - q)
        return out

    lo, hi = math.log(1e-3), math.log(1e2)
    r = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        m1, m2 = hi - r * (hi - lo), lo + r * (hi - lo)
        if nll(m1) < nll(m2):
            hi = m2
        else:
            lo = m1
    return math.exp((lo + hi) / 2)


def postprocess(p_a: float, how: str, threshold: float = 0.0, temperature: float = 1.0) -> float | None:
    """Apply the configured post-processing to one soft label; None means: drop the pair."""
    if how == "none":
        return p_a
    if how == "temperature":
        return sigmoid(logit(p_a) / temperature)
    if how == "threshold":
        return p_a if abs(p_a - 0.5) >= threshold else None
    if how == "hard":
        return 1.0 if p_a > 0.5 else 0.0 if p_a < 0.5 else None
    raise ValueError(f"label.postprocess: unknown {how!r}; use none, temperature, threshold or hard")


# --------------------------------------------------------------------------- quality metrics


def expected_calibration_error(
    p: Sequence[float], gold: Sequence[float | None], bins: int = 10
) -> float | None:
    """ECE of the argmax choice: |accuracy - confidence| per confidence bin, weighted by bin size
    (`algos.calibration.confidence_reliability`); None without a pair to score."""
    ece, table = confidence_reliability(p, gold, bins)
    return ece if table else None


def alignment_by_confidence(
    p: Sequence[float], gold: Sequence[float | None], shares: Sequence[float] = (0.25, 0.5, 1.0)
) -> dict[str, float | None]:
    """Alignment of the most confident share of pairs: small labelers are flat but ranked usefully."""
    rows = sorted(
        ((abs(x - 0.5), x, g) for x, g in zip(p, gold) if g is not None and g != 0.5), key=lambda r: -r[0]
    )
    out = {}
    for s in shares:
        k = max(1, round(len(rows) * s)) if rows else 0
        top = rows[:k]
        out[f"top_{int(s * 100)}%"] = alignment([x for _, x, _ in top], [g for _, _, g in top])
    return out
