"""Stage `eval`: did alignment work? Generates each policy's outputs, judges them, writes
OUT/eval/results.json and the report (report.html, summary.md). Policies, outputs, judges and the
results dict are `evaluation/evaluate.py`; the report is rendered from results.json alone
(`evaluation/report.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import Config
from ..core.runs import Run
from ..evaluation.evaluate import default_policies, eval_records, evaluate, labeler_config, resolve_policy
from ..evaluation.report import write_report
from . import stage_sections


def declare_inputs(cfg: Config, run: Run) -> None:
    """The held-out prompts, every policy's weights or outputs, and the labeler judge's model."""
    e = cfg.eval
    records, source = eval_records(cfg)
    run.add_input("prompts", source if Path(source).exists() else None, records=records, source=source)
    for name, spec in (e.policies or default_policies(cfg)).items():
        p = resolve_policy(name, str(spec))
        if p.model and Path(p.model).exists() or p.outputs_file:
            run.add_input(
                f"policy:{p.name}",
                p.model if p.model and Path(p.model).exists() else p.outputs_file,
                spec=p.spec,
            )
        else:
            run.add_model(f"policy:{p.name}", p.model or p.spec)
    if "labeler" in e.judges:
        lc = labeler_config(cfg)
        if lc.backend == "hf":
            run.add_model("labeler", lc.model or cfg.model.name)


def run(cfg: Config, force: bool = False) -> Path:
    r = Run(cfg, "eval", stage_sections("eval", cfg))
    declare_inputs(cfg, r)
    r.open(force)
    results = evaluate(cfg, r.dir, r)
    (r.dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    if cfg.eval.report:
        html, md = write_report(results, r.dir)
        print(f"[rlaif] eval: report {html} (summary {md})", flush=True)
    headline = {f"{c['a']}_vs_{c['b']}/{c['judge']}": c["win_rate"] for c in results["comparisons"]}
    return r.finish(
        policies=[p["name"] for p in results["policies"]], prompts=results["prompts"]["n"], win_rates=headline
    )
