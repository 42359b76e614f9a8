"""Agreement and calibration of preference probabilities: the one implementation behind the label
stage's quality report (labelers/scoring.py), the reward model's evaluation (algos/preference.py)
and the eval report's labeler metrics (evaluation/metrics.py).

1. `alignment`: share of pairs where the argmax of P(a) equals the reference choice; pairs where
   either side is a tie (0.5) or unknown (None, NaN) have no argmax and are left out.
2. `reliability`: the reliability diagram and its expected calibration error (Guo et al. 2017,
   arXiv 1706.04599 §2): predictions binned in equal-width bins over [lo, hi]; per bin the mean
   prediction, the mean outcome and the count; ECE = sum over bins of count / N * |outcome - prediction|.
   Two views use it: P(a) against the reference choice over [0, 1] (ties count 1/2; the eval report),
   and the confidence in the argmax, max(p, 1 - p), against whether it was right over [0.5, 1]
   (the label stage and the RM).
Plain floats in, plain floats out: no torch or numpy needed to call these.
"""

from __future__ import annotations

import math
from typing import Sequence


def _known(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def alignment(p: Sequence[float], gold: Sequence[float | None]) -> float | None:
    """Share of pairs where P(a)'s argmax equals the gold choice; None when no pair has both."""
    hits = [
        (x > 0.5) == (g > 0.5) for x, g in zip(p, gold) if _known(g) and _known(x) and g != 0.5 and x != 0.5
    ]
    return sum(hits) / len(hits) if hits else None


def reliability(
    pred: Sequence[float], outcome: Sequence[float], bins: int = 10, lo: float = 0.0, hi: float = 1.0
) -> tuple[float, list[dict]]:
    """(ECE, bins) of predictions against outcomes; each bin {lo, hi, predicted, observed, count}.
    NaN when there is nothing to bin."""
    rows = [(float(p), float(o)) for p, o in zip(pred, outcome)]
    if not rows:
        return float("nan"), []
    which = [min(max(int((p - lo) * bins / (hi - lo)), 0), bins - 1) for p, _ in rows]
    table, ece = [], 0.0
    for k in range(bins):
        sel = [r for r, w in zip(rows, which) if w == k]
        if not sel:
            continue
        predicted, observed = sum(p for p, _ in sel) / len(sel), sum(o for _, o in sel) / len(sel)
        table.append(
            {
                "lo": lo + (hi - lo) * k / bins,
                "hi": lo + (hi - lo) * (k + 1) / bins,
                "predicted": predicted,
                "observed": observed,
                "count": len(sel),
            }
        )
        ece += len(sel) / len(rows) * abs(observed - predicted)
    return ece, table


def confidence_reliability(
    p: Sequence[float], gold: Sequence[float | None], bins: int = 10
) -> tuple[float, list[dict]]:
    """`reliability` of the confidence in the argmax, max(p, 1 - p), against whether the argmax
    matched the gold choice, over [0.5, 1]; pairs with a tied or unknown gold are left out."""
    rows = [(max(x, 1 - x), float((x > 0.5) == (g > 0.5))) for x, g in zip(p, gold) if _known(g) and g != 0.5]
    return reliability([c for c, _ in rows], [r for _, r in rows], bins, 0.5, 1.0)
