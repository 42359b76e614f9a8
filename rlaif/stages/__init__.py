"""Pipeline stages. Each is a module with `SECTIONS` (the config sections it reads), `HELP` and
`run(cfg, force=False) -> Path` (its output folder). Commands that are not config-driven stages
(`data`, `annotate`, ...) instead define `main(argv) -> int`.

Modules are imported lazily by name, so `rlaif --help` does not import torch."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..config import Config
from ..runs import StageDone

# name -> module; order is the pipeline order shown in `rlaif --help`
STAGES: dict[str, str] = {
    "sft": "rlaif.stages.sft",
    "sample": "rlaif.stages.sample",
    "label": "rlaif.stages.label",
    "rm": "rlaif.stages.rm",
    "rl": "rlaif.stages.rl",
    "eval": "rlaif.stages.eval",
    "dpo": "rlaif.stages.dpo",
}


def stage_module(name: str):
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name])


def run_stage(name: str, cfg: Config, force: bool = False) -> Path:
    """Run one stage; a stage already complete for this config is skipped, not recomputed."""
    mod = stage_module(name)
    try:
        return mod.run(cfg, force=force)
    except StageDone as done:
        print(f"[rlaif] {name}: already complete in {done.args[0]} (use --force to redo)", flush=True)
        return Path(done.args[0])
