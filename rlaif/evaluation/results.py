"""From judged outputs to the numbers in `results.json`: pure functions over plain lists.

The `eval` stage gathers outputs and judgments (I/O, models); everything it reports is computed
here, so it can be tested on synthetic data and reused on judgments made elsewhere.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import metrics


def _clean(x):
    """JSON-safe floats: NaN and inf become None."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def policy_summary(
    name: str,
    outputs: Sequence[str],
    oracle: Sequence[float] | None = None,
    harmless: Sequence[float] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    **info,
) -> dict:
    """Per-policy numbers: output lengths, oracle score and harmless rate with intervals."""
    lengths = [len(t) for t in outputs]
    out = {
        "name": name,
        **info,
        "n": len(outputs),
        "mean_chars": metrics.mean_length(outputs),
        "median_chars": float(np.median(lengths)) if lengths else None,
        "lengths": lengths,
    }
    if oracle is not None:
        out["oracle"] = metrics.rate_with_ci(oracle, n_boot=n_boot, seed=seed)
        out["oracle_scores"] = [float(x) for x in oracle]
    if harmless is not None:
        harmless01 = (np.asarray(harmless, dtype=float) > 0.5).astype(float)
        out["harmless"] = metrics.rate_with_ci(harmless01, n_boot=n_boot, seed=seed)
    return _clean(out)


def paired_vs_baseline(
    summaries: Sequence[dict], baseline: str, n_boot: int = 2000, seed: int = 0
) -> list[dict]:
    """Each policy's oracle score minus the baseline's on the same prompts: paired bootstrap interval
    and exact McNemar p-value (`metrics.paired_difference`); empty without oracle scores."""
    scores = {s["name"]: s.get("oracle_scores") for s in summaries}
    base = scores.get(baseline)
    if not base:
        return []
    return [
        _clean(
            {"policy": name, "baseline": baseline, **metrics.paired_difference(sc, base, n_boot, seed=seed)}
        )
        for name, sc in scores.items()
        if name != baseline and sc and len(sc) == len(base)
    ]


def comparison(
    a: str,
    b: str,
    judge: str,
    p_a: Sequence[float | None],
    out_a: Sequence[str],
    out_b: Sequence[str],
    tie_margin: float = 0.0,
    n_boot: int = 2000,
    lc_boot: int = 500,
    length_feature: str = "log_ratio",
    seed: int = 0,
) -> dict:
    """Win rate of `a` over `b` by one judge, its interval, W/T/L and the length-controlled rate.

    Prompts the judge failed on (p_a None or NaN) are counted in `failed` and left out of every
    rate and interval; `n` is the number of judged prompts. `outcomes` keeps one entry per prompt
    (None for a failure) so it stays aligned with the prompts."""
    every = metrics.outcomes(p_a, tie_margin)
    ok = ~metrics.failures(every)
    o = every[ok]
    lo, hi = metrics.bootstrap_ci(o, n_boot=n_boot, seed=seed)
    la = [len(t) for t, k in zip(out_a, ok) if k]
    lb = [len(t) for t, k in zip(out_b, ok) if k]
    res = {
        "a": a,
        "b": b,
        "judge": judge,
        "n": int(o.size),
        "win_rate": float(o.mean()) if o.size else None,
        "lo": lo,
        "hi": hi,
        "wins": int((o == 1).sum()),
        "ties": int((o == 0.5).sum()),
        "losses": int((o == 0).sum()),
        "failed": int((~ok).sum()),
        "mean_chars_a": float(np.mean(la)) if la else None,
        "mean_chars_b": float(np.mean(lb)) if lb else None,
        "outcomes": every.tolist(),
    }
    if o.size >= 5 and lc_boot > 0:
        lc = metrics.length_controlled_win_rate(o, la, lb, length_feature)
        lc["lo"], lc["hi"] = metrics.length_controlled_ci(
            o, la, lb, length_feature, n_boot=lc_boot, seed=seed
        )
        # read at equal length, the fit extrapolates when A is longer (or shorter) almost everywhere
        a_longer = float(np.mean(np.asarray(la) > np.asarray(lb)))
        lc["a_longer"], lc["extrapolated"] = a_longer, not 0.1 <= a_longer <= 0.9
        res["length_controlled"] = {**lc, "feature": length_feature}
    return _clean(res)


def matrices(comparisons: list[dict], names: Sequence[str]) -> dict:
    """Per judge: the head-to-head matrix of win rates and each policy's mean win rate over the others."""
    out = {}
    for judge in dict.fromkeys(c["judge"] for c in comparisons):
        pairs = {(c["a"], c["b"]): c["outcomes"] for c in comparisons if c["judge"] == judge}
        m = metrics.head_to_head(pairs, list(names))
        with np.errstate(invalid="ignore"):
            mean_win = [float(np.nanmean(row)) if np.isfinite(row).any() else None for row in m]
        out[judge] = _clean({"names": list(names), "rates": m.tolist(), "mean_win": mean_win})
    return out


def labeler_vs_reference(
    p_a: Sequence[float | None],
    reference: Sequence[float | None],
    slot1_first: Sequence[float] | None = None,
    slot1_second: Sequence[float] | None = None,
    bins: int = 10,
) -> dict | None:
    """Labeler metrics on pairs where both the labeler and the reference (oracle, humans) decided.

    A pair either side could not decide (None) is left out; reference ties given as 0.5 are kept for
    calibration (as 1/2) and left out of alignment."""
    keep = [i for i, (p, h) in enumerate(zip(p_a, reference)) if p is not None and h is not None]
    if not keep:
        return None
    pick = lambda xs: None if xs is None else [xs[i] for i in keep]
    s1, s2 = pick(slot1_first), pick(slot1_second)
    if s1 is not None and any(v is None for v in s1 + s2):
        s1 = s2 = None
    return _clean(metrics.labeler_metrics(pick(p_a), pick(reference), s1, s2, bins))
