"""Stage `dpo`: direct preference optimisation from AI (or human) preferences, through TRL's
DPOTrainer (`rlaif/dpo.py`); writes OUT/dpo/checkpoint and metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import Config
from ..core.models import describe_model, save_model
from ..core.runs import Run
from ..dpo import hard_pairs, load_pairs, train
from ..generation import policy_path
from . import stage_sections


def run(cfg: Config, force: bool = False) -> Path:
    d = cfg.dpo
    source = d.data or str(Path(cfg.out) / "label" / "comparisons.jsonl")
    pairs = hard_pairs(load_pairs(source, d.limit), d.min_confidence)
    if not pairs:
        raise ValueError(f"{source}: no pair is confident enough for DPO (min_confidence={d.min_confidence})")
    policy = policy_path(cfg, d.policy)
    r = Run(cfg, "dpo", stage_sections("dpo", cfg))
    r.add_input("data", source, pairs=len(pairs))
    r.add_model("policy", policy)
    r.open(force)
    model, tok, out, history, main = train(cfg, pairs, policy, r.dir, r)
    if not main:
        return r.dir  # the main process saves and writes the manifest
    save_model(model, tok, r.dir / "checkpoint")
    (r.dir / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    return r.finish(
        pairs=len(pairs), steps=out.global_step, train_loss=out.training_loss, model=describe_model(model)
    )
