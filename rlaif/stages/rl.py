"""Stage `rl`: RL with a KL penalty to the SFT policy against the configured reward sources.
The algorithm (rollouts, rewards, KL shaping, advantages, updates) is `rl/trainer.py`; this module
declares the inputs (prompts, the policy, every reward source's model or file) and runs it."""

from __future__ import annotations

from pathlib import Path

from ..core.config import Config
from ..core.runs import Run
from ..generation import policy_path
from ..rl.rewards import reward_inputs
from ..rl.trainer import train
from ..tasks import resolve_records
from . import stage_sections


def add_reward_inputs(cfg: Config, r: Run) -> None:
    for name, kind, where in reward_inputs(cfg.rl.rewards, cfg):
        if kind == "model":
            r.add_model(name, where)
        else:
            r.add_input(name, where)


def run(cfg: Config, force: bool = False) -> Path:
    records, source = resolve_records(cfg.rl.prompts, "prompt", cfg.task, "rl", cfg.rl.limit)
    model_path = policy_path(cfg, cfg.rl.policy)
    r = Run(cfg, "rl", stage_sections("rl", cfg))
    r.add_input("prompts", source if Path(source).exists() else None, records=records, source=source)
    r.add_model("policy", model_path)
    add_reward_inputs(cfg, r)
    r.open(force)
    results = train(cfg, records, r.dir, model_path, r)
    return r.finish(**results)
