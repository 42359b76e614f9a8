"""Pipeline stages, and the table that describes them.

Each stage module holds only orchestration: `run(cfg, force=False) -> Path` reads its inputs,
declares them (`Run.add_input`/`add_model`, before `Run.open`), calls the library and writes its
output folder. What `rlaif --help` and `rlaif STAGE --help` show (the help line, the config sections
read, subcommands) lives here in `STAGES`, so the CLI never imports a stage module (nor torch) to
print help, and stage modules import what they need at the top. Commands that are not config-driven
stages (`data`, `annotate`, ...) are in `cli.COMMANDS` instead."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.config import Config
from ..core.runs import StageDone


def _rl_sections(cfg: Config) -> tuple[str, ...]:
    """d-RLAIF's reward is the `label` section's labeler."""
    from ..rl.rewards import uses_labeler

    return ("model", "rl") + (("label",) if uses_labeler(cfg.rl.rewards) else ())


def _eval_sections(cfg: Config) -> tuple[str, ...]:
    """`label` only when the labeler judges."""
    return ("model", "eval") + (("label",) if "labeler" in cfg.eval.judges else ())


@dataclass(frozen=True)
class Stage:
    module: str  # the module with run(cfg, force)
    help: str  # one line for `rlaif --help`
    sections: tuple[str, ...]  # every config section it may read (`rlaif STAGE --help` lists these)
    data_parallel: bool = False  # under `accelerate launch` every process runs it on a share of each batch
    sections_for: Callable[[Config], tuple[str, ...]] | None = None  # the sections one config reads
    subcommands: dict[str, str] = field(
        default_factory=dict
    )  # `rlaif STAGE SUB ...` -> module with main(argv)


# name -> stage; order is the pipeline order shown in `rlaif --help`
STAGES: dict[str, Stage] = {
    "sft": Stage(
        "rlaif.stages.sft",
        "supervised fine-tuning on {prompt, output} records (loss on output tokens only)",
        ("model", "sft"),
        data_parallel=True,
    ),
    "sample": Stage(
        "rlaif.stages.sample",
        "sample N completions per prompt from the policy (default: the sft checkpoint)",
        ("model", "sample"),
    ),
    "label": Stage(
        "rlaif.stages.label",
        "label pairs with an AI labeler: soft labels from P('1')/P('2'), both orders averaged",
        ("model", "label"),
    ),
    "rm": Stage(
        "rlaif.stages.rm",
        "train a reward model on soft/hard preferences or SALMON principle scores; "
        "`rlaif rm serve` serves one",
        ("model", "rm"),
        data_parallel=True,
        subcommands={"serve": "rlaif.serving.rm_server"},
    ),
    "rl": Stage(
        "rlaif.stages.rl",
        "RL with a KL penalty to the SFT policy (a2c, ppo, rloo) against any reward source",
        ("model", "rl"),
        sections_for=_rl_sections,
    ),
    "eval": Stage(
        "rlaif.stages.eval",
        "evaluate policies: win rates (oracle, labeler), lengths, labeler quality; HTML report",
        ("model", "eval", "label"),
        sections_for=_eval_sections,
    ),
    "dpo": Stage(
        "rlaif.stages.dpo",
        "direct preference optimisation (TRL's DPOTrainer) from soft-labeled comparisons or preferences",
        ("model", "dpo"),
        data_parallel=True,
    ),
}


def stage_module(name: str):
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name].module)


def stage_sections(name: str, cfg: Config) -> tuple[str, ...]:
    """The config sections stage `name` reads for this config (its run's config hash covers these)."""
    st = STAGES[name]
    return tuple(st.sections_for(cfg)) if st.sections_for else st.sections


def run_stage(name: str, cfg: Config, force: bool = False) -> Path:
    """Run one stage; a stage already complete for this config is skipped, not recomputed.

    Under `accelerate launch` / torchrun (WORLD_SIZE > 1) a stage marked `data_parallel` (sft, rm,
    dpo) runs in every process, each on a share of the batch; any other
    stage runs in the main process while the others wait for its manifest to say complete. Every
    process leaves only when the stage's output is on disk, so the next stage can read it."""
    from ..core.runs import process_rank

    mod = stage_module(name)
    rank, world = process_rank()
    if world > 1:
        import time

        from ..core.training import init_processes

        init_processes(cfg.model)
        t_start = time.time()  # before the main process can decide anything about the folder
        _barrier()
        if rank != 0 and not STAGES[name].data_parallel:
            out = _wait_for_main(name, cfg, t_start)
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


def _wait_for_main(name: str, cfg: Config, since: float, poll: float = 2.0) -> Path:
    """Poll the stage's manifest until the main process has completed it or found it up to date
    (`started` or `last_checked` after `since`): only the main process compares the inputs.

    A file poll rather than a collective: a long stage (RL) would outlast a barrier's timeout, and
    torchrun stops every process when the main one fails, so this never waits on a dead run."""
    import time

    from ..core.runs import Run

    r = Run(cfg, name, stage_sections(name, cfg))
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
