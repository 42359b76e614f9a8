"""Stage `sft`: supervised fine-tuning on {prompt, output} records (`rlaif/sft.py`); writes
OUT/sft/checkpoint (full weights, or adapters with LoRA), metrics.jsonl, manifest.json."""

from __future__ import annotations

from pathlib import Path

from ..core.config import Config
from ..core.runs import Run
from ..sft import train
from ..tasks import resolve_records
from . import stage_sections


def run(cfg: Config, force: bool = False) -> Path:
    records, source = resolve_records(cfg.sft.data, "sft", cfg.task, "sft", cfg.sft.limit)
    r = Run(cfg, "sft", stage_sections("sft", cfg))
    r.add_input("data", source if Path(source).exists() else None, records=records, source=source)
    r.add_model("model", cfg.model.name)
    r.open(force)
    results = train(cfg, records, r.dir, r)
    return r.finish(**results)
