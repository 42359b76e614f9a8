"""`rlaif run PIPELINE.yaml`: the whole chain (sft -> sample -> label -> rm -> rl -> eval) from one file.

Every stage already skips itself when its folder is complete for the same config and resumes what
it had written when it is not, so the pipeline is just those stages in order: kill it anywhere and
run the same command again to continue.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .core.config import Config, ConfigError, load_config


def run_pipeline(cfg: Config, stages: list[str] | None = None, force: bool = False) -> dict[str, Path]:
    """Run `stages` (default: cfg.pipeline.stages) in order; returns each stage's folder."""
    from .stages import STAGES, run_stage

    stages = list(stages or cfg.pipeline.stages)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"pipeline.stages: unknown stage(s) {unknown}; available: {', '.join(STAGES)}")
    out = {}
    for i, name in enumerate(stages, 1):
        t0 = time.time()
        print(f"[rlaif] === stage {i}/{len(stages)}: {name} ===", flush=True)
        out[name] = run_stage(name, cfg, force=force)
        print(f"[rlaif] {name} finished in {time.time() - t0:.0f}s -> {out[name]}", flush=True)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="rlaif run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any option of any stage can be overridden: --sft.epochs=2 --label.backend=fake ...\n"
        "`rlaif STAGE --help` lists a stage's options.",
    )
    ap.add_argument("config", nargs="?", help="pipeline YAML (e.g. configs/demo.yaml)")
    ap.add_argument("--config", dest="config_flag", help="the same, as a flag")
    ap.add_argument("--stages", help="comma-separated subset, e.g. sft,sample (default: pipeline.stages)")
    ap.add_argument("--force", action="store_true", help="recompute stages even if complete")
    args, rest = ap.parse_known_args(argv)
    from .core.config import parse_stage_args

    try:
        _, _, overrides = parse_stage_args(rest)
        cfg = load_config(args.config or args.config_flag, overrides)
        stages = args.stages.split(",") if args.stages else None
        dirs = run_pipeline(cfg, stages, args.force)
    except ConfigError as e:
        print(f"rlaif run: config error: {e}", file=sys.stderr)
        return 2
    print("[rlaif] pipeline complete:\n" + "\n".join(f"  {k:<8} {v}" for k, v in dirs.items()))
    return 0
