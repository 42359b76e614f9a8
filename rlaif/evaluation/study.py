"""The study's summary (`rlaif demo` writes it last): one row per arm, from files the stages wrote.

Reads, for a demo run root OUT:
- OUT/eval/results.json and OUT/heldout/eval/results.json: each arm's execution accuracy minus SFT's
  on the same questions, paired bootstrap interval and exact McNemar p (`results.paired_vs_baseline`);
- OUT/arms/ARM/label/report.json: the labeler's alignment with the oracle on the arm's own pairs;
- OUT/arms/ARM/rm/manifest.json: the RM's held-out accuracy against the oracle (`eval_vs_reference`);
and writes OUT/study.json, OUT/study.md and OUT/labeler_curve.png: Δ accuracy against labeler
alignment (the paper's Figure-style curve: simulated labelers as the curve, RLHF at the oracle's
100%, real labelers placed by their measured alignment, RLVR as the line no preference can beat);
and OUT/rl_curves.png from OUT/arms/ARM/rl/metrics.jsonl: the rollouts' oracle accuracy step by step
(RLVR's reward; `monitor/oracle` for a learned reward), moving averages, every arm on one axis. The
arms draw the same prompts at each step (one seed), so the curves compare step for step.
Pure reading and arithmetic: nothing here runs a model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _paired(results: dict | None) -> dict[str, dict]:
    return {d["policy"]: d for d in (results or {}).get("paired") or []}


def _accuracy(results: dict | None) -> dict[str, dict]:
    return {p["name"]: p.get("oracle") or {} for p in (results or {}).get("policies") or []}


def arm_rows(out: Path, arms: list[str]) -> list[dict]:
    """Per arm: labeler alignment, RM accuracy vs the oracle, Δ accuracy in-distribution and held out."""
    test, held = _read(out / "eval" / "results.json"), _read(out / "heldout" / "eval" / "results.json")
    rows = []
    for arm in arms:
        label = _read(out / "arms" / arm / "label" / "report.json") or {}
        rm = (_read(out / "arms" / arm / "rm" / "manifest.json") or {}).get("results") or {}
        rows.append(
            {
                "arm": arm,
                "labeler": label.get("labeler"),
                "alignment": 1.0 if arm == "rlvr" else label.get("alignment"),
                "pairs": label.get("labeled"),
                "pairs_with_reference": label.get("with_reference"),
                "rm_accuracy_vs_oracle": (rm.get("eval_vs_reference") or {}).get("accuracy"),
                "rm_accuracy_vs_own_labels": (rm.get("eval") or {}).get("accuracy"),
                "test": _paired(test).get(arm),
                "heldout": _paired(held).get(arm),
                "accuracy_test": _accuracy(test).get(arm),
                "accuracy_heldout": _accuracy(held).get(arm),
            }
        )
    return rows


def _pct(x, signed: bool = False) -> str:
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return "-"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}%"


def _delta(d: dict | None) -> str:
    if not d:
        return "-"
    p = d.get("p_mcnemar")
    ptxt = "" if p is None else (", p < 0.001" if p < 0.001 else f", p = {p:.3f}")
    return f"{_pct(d.get('delta'), True)} [{_pct(d.get('lo'), True)}, {_pct(d.get('hi'), True)}]{ptxt}"


def markdown(rows: list[dict], sft: dict) -> str:
    out = [
        "# Study: each arm against SFT\n",
        f"SFT execution accuracy: {_pct(sft.get('test', {}).get('mean'))} on unseen questions of the "
        f"training databases, {_pct(sft.get('heldout', {}).get('mean'))} on held-out databases. "
        "Δ in points, paired 95% bootstrap interval over the same questions, exact McNemar p.\n",
        "| arm | labeler | alignment with oracle | RM accuracy vs oracle (held-out pairs) "
        "| Δ unseen questions | Δ held-out databases |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['arm']} | {r['labeler'] or ('oracle reward' if r['arm'] == 'rlvr' else '-')} "
            f"| {_pct(r['alignment'])} | {_pct(r['rm_accuracy_vs_oracle'])} "
            f"| {_delta(r['test'])} | {_delta(r['heldout'])} |"
        )
    return "\n".join(out) + "\n"


def curve(rows: list[dict], path: Path) -> Path | None:
    """Δ accuracy (unseen questions) against labeler alignment, with 95% intervals."""
    pts = [r for r in rows if r["test"] and isinstance(r["alignment"], (int, float))]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    sims = sorted((r for r in pts if r["labeler"] == "fake"), key=lambda r: r["alignment"])

    def err(r):
        d = r["test"]
        return [[100 * (d["delta"] - d["lo"])], [100 * (d["hi"] - d["delta"])]]

    if sims:
        ax.plot(
            [100 * r["alignment"] for r in sims], [100 * r["test"]["delta"] for r in sims], "-", color="C0"
        )
    for r in pts:
        if r["arm"] == "rlvr":
            d = r["test"]
            ax.axhline(100 * d["delta"], color="C3", ls="--", lw=1, label="RLVR (oracle reward), 95% CI")
            ax.axhspan(100 * d["lo"], 100 * d["hi"], color="C3", alpha=0.08, lw=0)
            continue
        kind = "C0" if r["labeler"] == "fake" else ("C2" if r["arm"] == "rlhf" else "C1")
        ax.errorbar(
            100 * r["alignment"], 100 * r["test"]["delta"], yerr=err(r), fmt="o", color=kind, capsize=3
        )
        ax.annotate(
            r["arm"],
            (100 * r["alignment"], 100 * r["test"]["delta"]),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlim(45, 103)  # chance to perfect: the same axis whichever arms ran
    ax.set_xlabel("labeler alignment with the execution oracle (%)")
    ax.set_ylabel("Δ execution accuracy vs SFT (points)")
    ax.set_title("How good must the labeler be? (unseen questions)")
    if any(r["arm"] == "rlvr" for r in pts):
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def oracle_per_step(metrics: Path) -> list[tuple[int, float]]:
    """(step, oracle accuracy of the rollouts) from an RL run's metrics: `reward/oracle` where the
    oracle was the reward, `monitor/oracle` where it was only logged."""
    from .collect import read_metric_rows

    out = []
    for row in read_metric_rows(metrics) or []:
        v = row.get("monitor/oracle", row.get("reward/oracle"))
        if isinstance(v, (int, float)) and "step" in row:
            out.append((int(row["step"]), float(v)))
    return out


def moving_average(xs: list[float], k: int) -> list[float]:
    """Trailing mean over the last <= k values (the first ones average what there is)."""
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x - (xs[i - k] if i >= k else 0.0)
        out.append(acc / min(i + 1, k))
    return out


def rl_curves(out: Path, arms: list[str], path: Path, window: int = 10) -> Path | None:
    """The rollouts' oracle accuracy per RL step, one line per arm (moving average over `window`)."""
    series = {a: oracle_per_step(out / "arms" / a / "rl" / "metrics.jsonl") for a in arms}
    series = {a: s for a, s in series.items() if s}
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for a, s in series.items():
        steps, ys = zip(*s)
        ax.plot(
            steps,
            [100 * y for y in moving_average(list(ys), window)],
            label=a,
            lw=1.6 if a == "rlvr" else 1.2,
        )
    ax.set_xlabel("RL step")
    ax.set_ylabel(f"rollouts the oracle accepts (%, mean of {window} steps)")
    ax.set_title("What each arm's RL did to the true accuracy (training prompts)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_study(out: Path, arms: list[str]) -> Path:
    """OUT/study.json, OUT/study.md and OUT/labeler_curve.png; returns the markdown file."""
    out = Path(out)
    rows = arm_rows(out, arms)
    test, held = _read(out / "eval" / "results.json"), _read(out / "heldout" / "eval" / "results.json")
    sft = {"test": _accuracy(test).get("sft", {}), "heldout": _accuracy(held).get("sft", {})}
    (out / "study.json").write_text(json.dumps({"sft": sft, "arms": rows}, indent=2))
    md = markdown(rows, sft)
    if curve(rows, out / "labeler_curve.png"):
        md += "\n![Δ accuracy against labeler alignment](labeler_curve.png)\n"
    if rl_curves(out, arms, out / "rl_curves.png"):
        md += "\n![the rollouts' oracle accuracy per RL step](rl_curves.png)\n"
    (out / "study.md").write_text(md)
    return out / "study.md"
