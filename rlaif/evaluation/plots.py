"""The report's figures: matplotlib (Agg) drawn to inline SVG strings, so the HTML needs no files.

Every function takes plain data from `results.json` and returns an `<svg>` element (or "" when
there is nothing to draw). Text stays text (svg.fonttype none): small files, crisp at any zoom.
"""

from __future__ import annotations

import io
import math
import re

PALETTE = ["#3867d6", "#eb3b5a", "#20bf6b", "#fa8231", "#8854d0", "#0fb9b1", "#4b6584", "#f7b731"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.25,
            "font.family": "sans-serif",
        }
    )
    return plt


def to_svg(fig) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: it is inlined in HTML
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)  # creator, date: noise
    # keep the natural width (shrinking on narrow screens); the height follows from the viewBox
    return re.sub(
        r'<svg ([^>]*?)width="([^"]*)" height="[^"]*"', r'<svg class="plot" style="width:\2" \1', svg, count=1
    )


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def win_rates(comparisons: list[dict]) -> str:
    """Win rate of A over B per comparison and judge, with its interval; length-controlled beside."""
    rows = [c for c in comparisons if _finite(c.get("win_rate"))]
    if not rows:
        return ""
    plt = _plt()
    judges = list(dict.fromkeys(c["judge"] for c in rows))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2))
    for k, c in enumerate(rows):
        y, color = len(rows) - 1 - k, PALETTE[judges.index(c["judge"]) % len(PALETTE)]
        ax.errorbar(
            100 * c["win_rate"],
            y,
            xerr=[[100 * (c["win_rate"] - c["lo"])], [100 * (c["hi"] - c["win_rate"])]],
            fmt="o",
            color=color,
            capsize=4,
            label=c["judge"],
        )
        lc = c.get("length_controlled") or {}
        if _finite(lc.get("rate")):
            ax.plot(100 * lc["rate"], y, marker="D", mfc="white", color=color, ms=6)
    ax.axvline(50, color="#888", ls="--", lw=1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{c['a']} vs {c['b']} ({c['judge']})" for c in reversed(rows)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("win rate of A over B, % (● raw with 95% CI, ◇ length-controlled)")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    if len(uniq) > 1:
        ax.legend(uniq.values(), uniq.keys(), loc="lower right", fontsize=8)
    return to_svg(fig)


def matrix(names: list[str], rates: list[list], judge: str) -> str:
    """Head-to-head heatmap: row policy's win rate over the column policy."""
    if len(names) < 2:
        return ""
    import numpy as np

    plt = _plt()
    m = np.array([[np.nan if v is None else v for v in row] for row in rates], dtype=float)
    fig, ax = plt.subplots(figsize=(0.8 * len(names) + 2.2, 0.7 * len(names) + 1.2))
    im = ax.imshow(100 * m, cmap="RdYlGn", vmin=0, vmax=100)
    ax.grid(False)
    for i in range(len(names)):
        for j in range(len(names)):
            if math.isfinite(m[i, j]):
                ax.text(j, i, f"{100 * m[i, j]:.0f}%", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("B (opponent)")
    ax.set_ylabel("A")
    ax.set_title(f"win rate of row over column, judge: {judge}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return to_svg(fig)


def lengths(policies: list[dict]) -> str:
    """Distribution of output lengths (characters) per policy."""
    rows = [p for p in policies if p.get("lengths")]
    if not rows:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) + 1.2))
    import matplotlib

    horizontal = (
        {"orientation": "horizontal"}
        if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10)
        else {"vert": False}
    )
    parts = ax.boxplot(
        [p["lengths"] for p in rows][::-1],
        **horizontal,
        patch_artist=True,
        widths=0.5,
        showmeans=True,
        meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 5},
    )
    for k, box in enumerate(parts["boxes"][::-1]):
        box.set_facecolor(PALETTE[k % len(PALETTE)])
        box.set_alpha(0.6)
    ax.set_yticks(range(1, len(rows) + 1), [p["name"] for p in rows][::-1])
    ax.set_xlabel("output length, characters (◇ mean)")
    return to_svg(fig)


def scores(policies: list[dict], key: str, label: str) -> str:
    """A per-policy rate (oracle score, harmless rate) as bars with 95% intervals."""
    rows = [p for p in policies if isinstance(p.get(key), dict) and _finite(p[key].get("mean"))]
    if not rows:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) + 1.2))
    for k, p in enumerate(rows):
        s, y = p[key], len(rows) - 1 - k
        ax.barh(y, 100 * s["mean"], color=PALETTE[k % len(PALETTE)], alpha=0.75, height=0.55)
        if _finite(s.get("lo")):
            ax.errorbar(
                100 * s["mean"],
                y,
                xerr=[[100 * (s["mean"] - s["lo"])], [100 * (s["hi"] - s["mean"])]],
                fmt="none",
                color="black",
                capsize=4,
            )
    ax.set_yticks(range(len(rows)), [p["name"] for p in reversed(rows)])
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"{label}, % (95% CI)")
    return to_svg(fig)


def reliability(bins: list[dict], title: str) -> str:
    """Reliability diagram: predicted P(a) against how often a was preferred, dot size = count."""
    if not bins:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], ls="--", color="#888", lw=1, label="perfect calibration")
    total = sum(b["count"] for b in bins)
    ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], color=PALETTE[0], lw=1.5)
    ax.scatter(
        [b["predicted"] for b in bins],
        [b["observed"] for b in bins],
        color=PALETTE[0],
        zorder=3,
        s=[20 + 400 * b["count"] / total for b in bins],
        label="labeler",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(a preferred)")
    ax.set_ylabel("observed share a preferred")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return to_svg(fig)


def curves(runs: list[dict], series: str, label: str) -> str:
    """One metric over RL steps, a line per run (smoothed when long, raw values faint behind)."""
    rows = [r for r in runs if r.get("series", {}).get(series)]
    if not rows:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    for k, r in enumerate(rows):
        xs, ys, color = r["steps"][: len(r["series"][series])], r["series"][series], PALETTE[k % len(PALETTE)]
        ax.plot(xs, ys, color=color, alpha=0.3 if len(ys) > 20 else 1.0, lw=1)
        if len(ys) > 20:
            w = max(2, len(ys) // 20)
            sm = [
                sum(ys[max(0, i - w + 1) : i + 1]) / len(ys[max(0, i - w + 1) : i + 1])
                for i in range(len(ys))
            ]
            ax.plot(xs, sm, color=color, lw=2, label=r["name"])
        else:
            ax.lines[-1].set_label(r["name"])
    ax.set_xlabel("RL step")
    ax.set_ylabel(label)
    ax.legend(fontsize=8)
    return to_svg(fig)
