"""Read what earlier stages left in a run folder, for the report: defensively.

A stage that has not run, or wrote something unexpected, gives `{"missing": "why"}` for its section
instead of an exception: the report of a half-finished pipeline is still worth reading.

- label: the labeler quality report (alignment, % same position, calibration) from the label
  stage's JSON files or manifest; recomputed from its comparisons when they carry reference labels.
- rm:    the reward model's held-out evaluation (manifest results / JSON files) and its PNG plots.
- rl:    per-step metrics JSONL; the reward and KL series are found by name (`reward/mean`, `kl`, ...).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

from .results import labeler_vs_reference

REWARD_KEYS = ("reward/mean", "rewards/mean", "reward_mean", "reward", "objective/scores", "env/reward_mean")
KL_KEYS = ("kl/mean", "kl", "objective/kl", "kl_mean", "kl/k1", "kl/k3")
REFERENCE_FIELDS = ("human_p_a", "reference_p_a", "oracle_p_a", "gold_p_a", "human_a", "reference")
MAX_POINTS = 400  # curves are downsampled to this many points in results.json


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _manifest_results(folder: Path) -> dict:
    m = _read_json(folder / "manifest.json") or {}
    return m.get("results") if isinstance(m.get("results"), dict) else {}


def _json_reports(folder: Path) -> dict:
    """Every top-level JSON object in `folder` except the manifest, merged (file order)."""
    out: dict = {}
    for p in sorted(folder.glob("*.json")):
        data = _read_json(p)
        if p.name != "manifest.json" and isinstance(data, dict):
            out.update(data)
    return out


def _scalars(d: dict, prefix: str = "") -> dict:
    """Flatten nested dicts to their numeric/string leaves (`eval/accuracy`), dropping long lists."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_scalars(v, f"{prefix}{k}/"))
        elif isinstance(v, (int, float, str, bool)) and not (isinstance(v, float) and not math.isfinite(v)):
            out[prefix + k] = v
    return out


# --------------------------------------------------------------------------- label


def _reliability_bins(x: Any) -> list[dict] | None:
    if (
        isinstance(x, list)
        and x
        and all(isinstance(b, dict) and {"predicted", "observed", "count"} <= set(b) for b in x)
    ):
        return x
    return None


def _label_from_comparisons(folder: Path) -> tuple[dict | None, str]:
    """Recompute labeler metrics from comparisons that carry a reference label, if any do."""
    for path in sorted(folder.glob("*.jsonl")):
        rows = []
        try:
            with path.open() as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            continue
        field = next((k for k in REFERENCE_FIELDS if any(r.get(k) is not None for r in rows)), None)
        if field is None or not any("p_a" in r for r in rows):
            continue
        ref = [None if r.get(field) is None else float(r[field]) for r in rows]
        p = [r.get("p_a_raw", r.get("p_a")) for r in rows]  # before any post-processing
        # p_ab / p_ba: raw P(slot 1) in each presentation order (labelers.debias)
        s1 = [r.get("p_ab") for r in rows] if "p_ab" in rows[0] and "p_ba" in rows[0] else None
        s2 = [r.get("p_ba") for r in rows] if s1 else None
        return labeler_vs_reference(p, ref, s1, s2), f"{path.name}:{field}"
    return None, ""


def collect_label(root: Path) -> dict:
    folder = root / "label"
    if not folder.is_dir():
        return {"missing": f"no {folder} folder: the label stage has not run in this experiment"}
    report = {**_manifest_results(folder), **_json_reports(folder)}
    quality = report.get("quality") if isinstance(report.get("quality"), dict) else report
    metrics = {k: v for k, v in _scalars(quality).items() if not k.startswith("config")}
    bins = _reliability_bins(quality.get("reliability")) or _reliability_bins(
        (quality.get("calibration") or {}).get("bins")
        if isinstance(quality.get("calibration"), dict)
        else None
    )
    out = {"path": str(folder)}
    if isinstance(quality.get("verdict"), list):
        out["verdict"] = [str(v) for v in quality["verdict"]]
    recomputed, where = _label_from_comparisons(folder)
    if metrics.get("alignment") is not None:
        bins = bins or (recomputed or {}).get("reliability") or []
        out["metrics"] = {**metrics, "reliability": bins}
        out["reference"] = "the label stage's quality report" + (
            f"; calibration from {where}" if where else ""
        )
    elif recomputed:
        out["metrics"], out["reference"] = recomputed, f"recomputed from {where}"
    else:
        out["missing"] = (
            f"{folder} has no labeler quality report with reference labels (run `rlaif "
            f"label` with human/oracle labels, label.gold, to measure alignment)"
        )
    return out


# --------------------------------------------------------------------------- rm


def collect_rm(root: Path, max_images: int = 4) -> dict:
    folder = root / "rm"
    if not folder.is_dir():
        return {"missing": f"no {folder} folder: no reward model was trained in this experiment"}
    metrics = _scalars({**_manifest_results(folder), **_json_reports(folder)})
    images = {
        p.name: base64.b64encode(p.read_bytes()).decode()
        for p in sorted(folder.glob("*.png"))[:max_images]
        if p.stat().st_size < 2_000_000
    }
    out = {"path": str(folder), "metrics": metrics, "images": images}
    if not metrics and not images:
        out["missing"] = f"{folder} holds no evaluation results yet"
    return out


# --------------------------------------------------------------------------- rl


def _pick_key(rows: list[dict], preferred: tuple[str, ...], word: str) -> str | None:
    keys = [
        k
        for k in dict.fromkeys(k for r in rows for k in r)
        if any(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)
    ]
    for k in preferred:
        if k in keys:
            return k
    bad = ("std", "coef", "beta", "min", "max", "target")
    return next((k for k in keys if word in k.lower() and not any(b in k.lower() for b in bad)), None)


def _downsample(xs: list, n: int = MAX_POINTS) -> list:
    if len(xs) <= n:
        return xs
    step = len(xs) / n
    return [xs[int(i * step)] for i in range(n)] + [xs[-1]]


def read_metric_rows(path: Path) -> list[dict] | None:
    """The rows of a per-step metrics JSONL, lines that do not parse skipped (None if unreadable)."""
    rows = []
    try:
        with path.open() as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # a torn last line of a running or killed job
                if isinstance(r, dict):
                    rows.append(r)
    except OSError:
        return None
    return rows


def read_rl_metrics(path: Path, name: str) -> dict | None:
    """Steps with the reward and KL series from a per-step metrics JSONL (None if unreadable)."""
    rows = read_metric_rows(path)
    if not rows:
        return None
    keys = {s: _pick_key(rows, pref, s) for s, pref in (("reward", REWARD_KEYS), ("kl", KL_KEYS))}
    keys = {s: k for s, k in keys.items() if k}
    used = [r for r in rows if any(isinstance(r.get(k), (int, float)) for k in keys.values())]
    steps = [r.get("step", i) for i, r in enumerate(used)]
    series = {
        s: [float(r[k]) if isinstance(r.get(k), (int, float)) else None for r in used]
        for s, k in keys.items()
    }
    return {
        "name": name,
        "path": str(path),
        "steps": _downsample(steps),
        "series": {s: _downsample(v) for s, v in series.items()},
        "keys": keys,
    }


def rl_metric_files(folder: Path) -> list[Path]:
    """The per-step metrics files in an RL stage folder (top level first, then one level down)."""
    found = [p for p in sorted(folder.glob("*.jsonl")) if "metric" in p.name or "log" in p.name]
    return found or [p for p in sorted(folder.glob("*/*.jsonl")) if "metric" in p.name]


def collect_rl(stage_dirs: dict[str, Path]) -> dict:
    """RL curves for each named RL stage folder (one per arm)."""
    runs, absent = [], []
    for name, folder in stage_dirs.items():
        files = rl_metric_files(folder) if folder.is_dir() else []
        got = [read_rl_metrics(p, name if len(files) == 1 else f"{name}/{p.stem}") for p in files]
        got = [g for g in got if g and g["series"]]
        runs += got
        if not got:
            absent.append(str(folder))
    if not runs:
        where = ", ".join(absent) or "no RL folder"
        return {"missing": f"no RL metrics found ({where}): no RL stage has run in this experiment"}
    return {"runs": runs, "path": ", ".join(str(p) for p in stage_dirs.values())}
