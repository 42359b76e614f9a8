"""The labeler quality report: alignment with reference labels, position bias, calibration, cost.

Numbers to compare with (METHOD.md 2, Lee et al.): alignment with human labels 78.0% (PaLM 2 L,
summarization, Detailed + CoT), 62.7% (XS); "% same position preferred" 18% (L) to 56% (XS);
human-human agreement 73-77%. The report says in words when a labeler is at chance or mostly
position-driven, because a flat, biased small labeler still writes a plausible-looking file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .scoring import alignment, alignment_by_confidence, expected_calibration_error


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def chance_band(n: int) -> float:
    """Half-width of a 95% interval around 50% for n coin flips."""
    return 1.96 * math.sqrt(0.25 / n) if n else 1.0


def quality_report(rows: list[dict], unlabeled: list[dict], stats: dict) -> dict:
    """`rows`: labeled records (p_a_raw, p_ab, p_ba, same_position, gold_p_a?, mass, tie)."""
    scored = [r for r in rows if not r.get("tie")]
    gold_rows = [r for r in scored if r.get("gold_p_a") is not None]
    gold = [r["gold_p_a"] for r in gold_rows]
    p = [r["p_a_raw"] for r in gold_rows]
    both = [r for r in scored if r.get("same_position") is not None]
    rep = {
        "pairs": len(rows) + len(unlabeled),
        "labeled": len(rows),
        "ties": len(rows) - len(scored),
        "unlabeled": len(unlabeled),
        "cached": sum(1 for r in rows if r.get("cached")),
        "problems": _count([u.get("problem") or "unknown" for u in unlabeled]),
        "with_reference": len(gold_rows),
        "alignment": alignment(p, gold),
        "alignment_one_order": alignment(
            [r["p_ab"] for r in gold_rows if r.get("p_ab") is not None],
            [r["gold_p_a"] for r in gold_rows if r.get("p_ab") is not None],
        ),
        "alignment_by_confidence": alignment_by_confidence(p, gold) if gold_rows else {},
        "ece": expected_calibration_error(p, gold),
        "same_position": (sum(r["same_position"] for r in both) / len(both)) if both else None,
        "mean_confidence": (sum(abs(r["p_a_raw"] - 0.5) for r in scored) / len(scored)) if scored else None,
        "p_a_range": [min(r["p_a_raw"] for r in scored), max(r["p_a_raw"] for r in scored)]
        if scored
        else None,
        "mean_choice_mass": _mean([r["mass"] for r in scored if r.get("mass") is not None]),
        "chance_band": chance_band(len(gold_rows)),
    } | stats
    rep["verdict"] = verdict(rep)
    return rep


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _count(xs: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in xs:
        key = x.split(":")[0]
        out[key] = out.get(key, 0) + 1
    return out


def verdict(rep: dict) -> list[str]:
    """Plain-language findings, most important first."""
    out = []
    a, n = rep.get("alignment"), rep.get("with_reference", 0)
    if a is not None:
        if abs(a - 0.5) <= rep["chance_band"]:
            out.append(
                f"Alignment {_pct(a)} on {n} pairs is within chance (50% +/- {_pct(rep['chance_band'])}): "
                f"these labels carry no measurable signal. Use a stronger labeler, the execution "
                f"results (text2sql), or the oracle."
            )
        elif a < 0.5:
            out.append(f"Alignment {_pct(a)} is below chance: check the template (is the label inverted?).")
        else:
            out.append(
                f"Alignment {_pct(a)} on {n} pairs (paper: 78.0% PaLM 2 L, 62.7% XS; humans agree "
                f"73-77% with each other)."
            )
    sp = rep.get("same_position")
    if sp is not None and sp > 0.5:
        out.append(
            f"The labeler picked the same slot in both orders for {_pct(sp)} of pairs (paper: 18% L, "
            f"56% XS): most of its one-order preference is position, which the two-order average "
            f"cancels; do not label with orders=one."
        )
    mc = rep.get("mean_confidence")
    if mc is not None and mc < 0.1:
        out.append(
            f"Labels are nearly flat (mean |p_a - 0.5| = {mc:.3f}); a reward model trained on them "
            f"learns little. Consider label.postprocess=temperature (fitted on reference labels) "
            f"or threshold."
        )
    if rep.get("unlabeled"):
        out.append(f"{rep['unlabeled']} pairs got no label ({rep['problems']}); they are in unlabeled.jsonl.")
    return out


def write_report(rep: dict, folder: Path) -> None:
    (folder / "report.json").write_text(json.dumps(rep, indent=2, default=str))
    (folder / "report.md").write_text(markdown(rep))


def markdown(rep: dict) -> str:
    conf = rep.get("alignment_by_confidence") or {}
    lines = [
        "# Labeler quality report",
        "",
        f"Labeler: `{rep.get('labeler', '?')}`, orders: {rep.get('orders', '?')}, "
        f"CoT: {rep.get('cot', False)}",
        "",
        *[f"- {v}" for v in rep["verdict"]],
        "",
        "| metric | value | paper (Lee et al.) |",
        "|---|---|---|",
        f"| pairs labeled / total | {rep['labeled']} / {rep['pairs']} (ties {rep['ties']}, cached "
        f"{rep['cached']}) | |",
        f"| alignment with reference labels ({rep['with_reference']} pairs) | {_pct(rep['alignment'])} | "
        f"78.0% L, 73.8% S, 62.7% XS |",
        f"| alignment, one order only | {_pct(rep['alignment_one_order'])} | |",
        *[f"| alignment, most confident {k[4:]} | {_pct(v)} | |" for k, v in conf.items() if k != "top_100%"],
        f"| % same position preferred | {_pct(rep['same_position'])} | 18% L, 21% S, 56% XS |",
        f"| expected calibration error | {_num(rep['ece'])} | |",
        f"| mean confidence \\|p_a - 0.5\\| | {_num(rep['mean_confidence'])} | |",
        f"| tokens per pair | {rep.get('tokens_per_pair') or 'n/a'} | |",
        f"| pairs/s | {rep.get('pairs_per_s', 'n/a')} | |",
    ]
    return "\n".join(lines) + "\n"
