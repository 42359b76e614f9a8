"""Stage `label`: AI preference labels for pairs of responses (METHOD.md 2; SALMON 7).

Inputs, outputs (OUT/label/comparisons.jsonl, unlabeled.jsonl, report.json/.md) and the rules for
slotting and reference labels are described in `labelers/pairs.py`, which does the work: reading,
slotting, reference labels and resumable labeling.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..core.config import Config
from ..core.records import write_jsonl
from ..core.runs import Run
from ..labelers import build_labeler
from ..labelers.pairs import (
    attach_gold,
    attach_results,
    backend_counters,
    label_rows,
    label_stats,
    postprocess_labels,
    read_pairs,
    score_principles,
)
from ..labelers.report import quality_report, write_report
from . import stage_sections


def declare_labeler_inputs(cfg: Config, r: Run) -> None:
    """Besides the pairs: the labeler's model and every file the label section names."""
    lc = cfg.label
    if lc.backend == "hf":
        r.add_model("labeler", lc.model or cfg.model.name)
    for key in ("labels", "calibration", "exemplars", "principles", "template", "preamble"):
        value = getattr(lc, key)
        if value and Path(value).exists():  # a file or folder, not a built-in name
            r.add_input(f"label.{key}", value)


def run(cfg: Config, force: bool = False) -> Path:
    lc = cfg.label
    if lc.mode not in ("pairwise", "principles"):
        raise ValueError(f"label.mode: unknown {lc.mode!r}; use pairwise or principles")
    rows, src = read_pairs(cfg)
    r = Run(cfg, "label", stage_sections("label", cfg))
    r.add_input("pairs", src if Path(src).exists() else None, source=src, pairs=len(rows))
    declare_labeler_inputs(cfg, r)
    r.open(force)
    gold_src = attach_gold(cfg, rows)
    if lc.execution_results:
        attach_results(cfg, rows)
    t0 = time.time()
    if lc.mode == "principles":
        return run_principles(r, cfg, rows, t0)
    labeler = build_labeler(cfg)
    before = backend_counters(labeler.backend)
    labs = label_rows(cfg, rows, r.dir / "comparisons.partial.jsonl", labeler.label)
    elapsed = time.time() - t0
    r.time("label_s", elapsed)
    stats = label_stats(cfg, labeler.backend, labs, elapsed, before) | {
        "reference_labels": gold_src,
        "labeler_fingerprint": labeler.fingerprint,
    }
    labeled, unlabeled, stats = postprocess_labels(cfg, rows, labs, stats)
    write_jsonl(r.dir / "comparisons.jsonl", labeled)
    write_jsonl(r.dir / "unlabeled.jsonl", unlabeled)
    rep = quality_report(labeled, unlabeled, stats)
    write_report(rep, r.dir)
    for line in rep["verdict"]:
        print(f"[rlaif] label: {line}", flush=True)
    out = r.finish(
        **{
            k: rep[k]
            for k in (
                "pairs",
                "labeled",
                "unlabeled",
                "alignment",
                "same_position",
                "ece",
                "pairs_per_s",
                "tokens_per_pair",
            )
        }
    )
    (r.dir / "comparisons.partial.jsonl").unlink(missing_ok=True)
    return out


def run_principles(r: Run, cfg: Config, rows: list[dict], t0: float) -> Path:
    out, scorer = score_principles(cfg, rows, r.dir / "principles.partial.jsonl")
    write_jsonl(r.dir / "principles.jsonl", out)
    (r.dir / "principles.partial.jsonl").unlink(missing_ok=True)
    elapsed = time.time() - t0
    r.time("label_s", elapsed)
    agree = [(s[0] > 0) != (s[1] > 0) for o in out for s in o["principle_scores"].values() if s]
    return r.finish(
        pairs=len(out),
        principles=[p.name for p in scorer.principles],
        orders_agree=(sum(agree) / len(agree)) if agree else None,
        degenerate=scorer.degenerate,
        pairs_per_s=round(len(out) / elapsed, 3) if elapsed else None,
    )
