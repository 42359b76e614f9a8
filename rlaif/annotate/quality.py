"""Quality of human feedback (METHOD.md §8): agreement between annotators, gold accuracy, flags.

Pure functions over plain lists and dicts, so that each figure can be checked by hand.

1. Agreement on the overlap items is reported three ways: Krippendorff's α (any number of
   annotators per item, missing labels allowed; nominal for choices, interval for 1-10 scores),
   Fleiss' κ (items that received the full overlap count), and the raw share of agreeing pairs,
   which is the figure the RLAIF paper quotes for humans (73-77% on TL;DR).
2. Per annotator: agreement with the other annotators' answers on the same items (all such pairs
   pooled), gold accuracy, median seconds per item, and the share of their most frequent answer.
   The most frequent answer to "compare" items is counted by the *displayed* side, because the
   display order is random: someone who always presses 1 is not reading.
   For "compare", κ corrects for the agreement of someone who does not read (`blind_kappa`): the
   display order is random, so such a person answers a and b equally often whatever they press.
   Plain Cohen's κ would punish careful annotators when most pairs have the same better slot (the
   "κ paradox": a rater who rightly answers a every time gets κ = 0).
3. Flags need a minimum amount of evidence (`min_labels`, `min_gold`) so that a new annotator is
   not flagged after two unlucky items.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any, Hashable, Iterable, Sequence

# --------------------------------------------------------------------------- agreement statistics


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's κ for (rater 1, rater 2) pairs; None when chance agreement is total (undefined)."""
    n = len(pairs)
    if n == 0:
        return None
    p_o = sum(a == b for a, b in pairs) / n
    left, right = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    p_e = sum(left[c] * right[c] for c in left) / (n * n)
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def blind_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Agreement on compare items, corrected for the agreement of an annotator who ignores the
    content: with the display order random, such a person says a and b equally often, and ties at
    their own tie rate t. Chance = (1 - t)/2 * (share of a + b among the others) + t * (others' ties)."""
    n = len(pairs)
    if n == 0:
        return None
    p_o = sum(a == b for a, b in pairs) / n
    t = sum(a == "tie" for a, _ in pairs) / n
    o_tie = sum(b == "tie" for _, b in pairs) / n
    p_e = (1 - t) / 2 * (1 - o_tie) + t * o_tie
    if p_e >= 1.0:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' κ from an items x categories table of counts; every row must sum to the same n."""
    rows = [list(r) for r in counts if sum(r) > 0]
    if not rows:
        return None
    n = sum(rows[0])
    if n < 2 or any(sum(r) != n for r in rows):
        raise ValueError("fleiss_kappa needs the same number (>= 2) of ratings for every item")
    n_items = len(rows)
    p_j = [sum(r[j] for r in rows) / (n_items * n) for j in range(len(rows[0]))]
    p_i = [(sum(c * c for c in r) - n) / (n * (n - 1)) for r in rows]
    p_bar, p_e = sum(p_i) / n_items, sum(p * p for p in p_j)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def _delta(metric: str):
    if metric == "nominal":
        return lambda a, b: 0.0 if a == b else 1.0
    if metric == "interval":
        return lambda a, b: (float(a) - float(b)) ** 2
    raise ValueError(f"unknown metric {metric!r} (nominal, interval)")


def krippendorff_alpha(units: Iterable[Sequence[Any]], metric: str = "nominal") -> float | None:
    """Krippendorff's α; `units` holds the values given to each item (missing ones left out).

    α = 1 - D_o / D_e over the pairable values (units with at least two values), computed from the
    coincidence matrix; None when every value is the same (D_e = 0, α undefined)."""
    delta = _delta(metric)
    units = [list(u) for u in units if len(u) >= 2]
    coinc: dict[tuple, float] = defaultdict(float)  # o_ck
    for u in units:
        m = len(u)
        for i, a in enumerate(u):
            for j, b in enumerate(u):
                if i != j:
                    coinc[(a, b)] += 1.0 / (m - 1)
    n_c: dict[Any, float] = defaultdict(float)
    for (a, _), w in coinc.items():
        n_c[a] += w
    n = sum(n_c.values())
    if n <= 1:
        return None
    d_o = sum(w * delta(a, b) for (a, b), w in coinc.items()) / n
    d_e = sum(n_c[a] * n_c[b] * delta(a, b) for a in n_c for b in n_c) / (n * (n - 1))
    if d_e == 0:
        return None
    return 1.0 - d_o / d_e


def pairwise_agreement(units: Iterable[Sequence[Any]], close=lambda a, b: a == b) -> float | None:
    """Share of agreeing pairs among all pairs of labels given to the same item."""
    agree = total = 0
    for u in units:
        for i in range(len(u)):
            for j in range(i + 1, len(u)):
                total += 1
                agree += bool(close(u[i], u[j]))
    return agree / total if total else None


# --------------------------------------------------------------------------- session report

CATEGORIES = {"compare": ["a", "b", "tie"], "harmless": ["yes", "no"], "rate": [str(i) for i in range(1, 11)]}


def is_correct(task: str, answer: str, gold: str) -> bool:
    """Gold check: compare and harmless must match; a 1-10 score may be off by one point."""
    if task == "rate":
        return abs(int(answer) - int(gold)) <= 1
    return answer == gold


def _close(task: str):
    if task == "rate":
        return lambda a, b: abs(int(a) - int(b)) <= 1
    return lambda a, b: a == b


def agreement_report(task: str, labels: list[dict]) -> dict:
    """Session-wide agreement on non-gold items labeled by two or more annotators.

    `labels`: dicts with item, annotator, answer, gold (None for regular items)."""
    by_item: dict[int, list[str]] = defaultdict(list)
    for lab in labels:
        if lab.get("gold") is None:
            by_item[lab["item"]].append(lab["answer"])
    units = [v for v in by_item.values() if len(v) >= 2]
    alpha = krippendorff_alpha(
        [[int(x) for x in u] for u in units] if task == "rate" else units,
        "interval" if task == "rate" else "nominal",
    )
    fleiss = None
    if units:
        k = max(len(u) for u in units)
        full = [u for u in units if len(u) == k]
        cats = CATEGORIES[task]
        fleiss = fleiss_kappa([[u.count(c) for c in cats] for u in full])
    return {
        "items_with_overlap": len(units),
        "krippendorff_alpha": alpha,
        "fleiss_kappa": fleiss,
        "pairwise_agreement": pairwise_agreement(units, _close(task)),
    }


def annotator_stats(task: str, labels: list[dict], settings: dict) -> dict[int, dict]:
    """Per-annotator figures and flags. `labels`: dicts with item, annotator, answer, shown,
    seconds, gold. Returns {annotator id: {labels, gold_n, gold_accuracy, median_seconds,
    same_answer, kappa, agreement, shared, flags: [reasons]}}.

    Two passes: agreement is measured against the annotators that gold, speed and same-answer
    checks did not flag, so one careless person does not drag the careful ones under the bar."""
    by_item: dict[int, list[dict]] = defaultdict(list)
    mine: dict[int, list[dict]] = defaultdict(list)
    for lab in labels:
        mine[lab["annotator"]].append(lab)
        if lab.get("gold") is None:
            by_item[lab["item"]].append(lab)
    first = {
        who: _one_annotator(task, who, labs, by_item, settings, frozenset(), False)
        for who, labs in mine.items()
    }
    suspects = frozenset(who for who, st in first.items() if st["flags"])
    return {
        who: _one_annotator(task, who, labs, by_item, settings, suspects, True) for who, labs in mine.items()
    }


def _one_annotator(
    task: str, who: int, labs: list[dict], by_item: dict, s: dict, ignore: frozenset, check_kappa: bool
) -> dict:
    gold = [lab for lab in labs if lab.get("gold") is not None]
    correct = sum(is_correct(task, lab["answer"], lab["gold"]) for lab in gold)
    pairs = [
        (lab["answer"], other["answer"])
        for lab in labs
        if lab.get("gold") is None
        for other in by_item[lab["item"]]
        if other["annotator"] not in ignore | {who}
    ]
    close = _close(task)
    shown = Counter(lab["shown"] for lab in labs)
    st = {
        "labels": len(labs),
        "gold_n": len(gold),
        "gold_accuracy": correct / len(gold) if gold else None,
        "median_seconds": statistics.median(lab["seconds"] for lab in labs) if labs else None,
        "same_answer": max(shown.values()) / len(labs) if labs else None,
        "shared": len(pairs),
        "agreement": sum(close(a, b) for a, b in pairs) / len(pairs) if pairs else None,
        "kappa": {"compare": blind_kappa, "harmless": cohen_kappa}.get(task, lambda _: None)(pairs),
    }
    st["flags"] = flags_for(task, st, s, check_kappa)
    return st


def flags_for(task: str, st: dict, s: dict, check_kappa: bool = True) -> list[str]:
    """Reasons to distrust an annotator, each needing enough evidence before it fires."""
    flags = []
    if st["gold_n"] >= s["min_gold"] and st["gold_accuracy"] < s["min_gold_accuracy"]:
        flags.append(f"gold accuracy {st['gold_accuracy']:.0%} < {s['min_gold_accuracy']:.0%}")
    if st["labels"] >= s["min_labels"] and st["median_seconds"] < s["min_seconds"]:
        flags.append(f"too fast: median {st['median_seconds']:.1f}s per item < {s['min_seconds']}s")
    # harmless: most outputs are harmless, so always answering "yes" is no sign of carelessness
    if task != "harmless" and st["labels"] >= s["min_labels"] and st["same_answer"] >= s["max_same_answer"]:
        what = "the same side" if task == "compare" else "the same score"
        flags.append(f"{what} {st['same_answer']:.0%} of the time")
    # compare only: for harmless, plain κ is 0 for a careful rater when nearly everything is harmless
    if (
        check_kappa
        and task == "compare"
        and st["kappa"] is not None
        and st["shared"] >= s["min_labels"]
        and st["kappa"] < s["min_kappa"]
    ):
        flags.append(f"agreement with others κ={st['kappa']:.2f} < {s['min_kappa']}")
    return flags
