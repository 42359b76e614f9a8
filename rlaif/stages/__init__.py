"""Pipeline stages. Each is a module with `SECTIONS` (the config sections it reads; a function
`sections(cfg)` where that depends on the config), `HELP` and `run(cfg, force=False) -> Path` (its
output folder). Commands that are not config-driven stages
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


def stage_sections(mod, cfg: Config) -> tuple[str, ...]:
    """The config sections a stage module reads for this config."""
    return tuple(mod.sections(cfg)) if hasattr(mod, "sections") else tuple(mod.SECTIONS)


def run_stage(name: str, cfg: Config, force: bool = False) -> Path:
    """Run one stage; a stage already complete for this config is skipped, not recomputed.

    Under `accelerate launch` / torchrun (WORLD_SIZE > 1) a stage whose module sets
    `DATA_PARALLEL = True` (sft, rm) runs in every process, each on a share of the batch; any other
    stage runs in the main process while the others wait for its manifest to say complete. Every
    process leaves only when the stage's output is on disk, so the next stage can read it."""
    from ..runs import process_rank

    mod = stage_module(name)
    rank, world = process_rank()
    if world > 1:
        from ..runs import Run
        from ..training import init_processes

        import time

        init_processes(cfg.model)
        t_start = time.time()  # before the main process can decide anything about the folder
        _barrier()
        if rank != 0 and not getattr(mod, "DATA_PARALLEL", False):
            out = _wait_for_main(name, mod, cfg, t_start)
            _barrier()
            return out
    try:
        out = mod.run(cfg, force=force)
    except StageDone as done:
        print(f"[rlaif] {name}: already complete in {done.args[0]} (use --force to redo)", flush=True)
        out = Path(done.args[0])
    if world > 1:
        _barrier()
    return out


def _wait_for_main(name: str, mod, cfg: Config, since: float, poll: float = 2.0) -> Path:
    """Poll the stage's manifest until the main process has completed it or found it up to date
    (`started` or `last_checked` after `since`): only the main process compares the inputs.

    A file poll rather than a collective: a long stage (RL) would outlast a barrier's timeout, and
    torchrun stops every process when the main one fails, so this never waits on a dead run."""
    import time

    from ..runs import Run

    r = Run(cfg, name, stage_sections(mod, cfg))
    while True:
        m = r.manifest() or {}
        fresh = max(m.get("started") or 0, r.last_checked()) >= since
        if m.get("status") == "complete" and m.get("config_hash") == r.config_hash and fresh:
            return r.dir
        time.sleep(poll)


def _barrier() -> None:
    """All processes meet here when torch.distributed is up (looked up, never imported here)."""
    import sys

    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.barrier()
