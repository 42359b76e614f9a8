"""Stage `sample`: N completions per prompt from the policy (`generation.sample_records`), written
as they are made and resumable; the final file is samples.jsonl in input order."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.config import Config
from ..core.records import write_jsonl
from ..core.runs import Run
from ..generation import policy_path, sample_records
from ..tasks import resolve_records
from . import stage_sections


def run(cfg: Config, force: bool = False) -> Path:
    records, source = resolve_records(cfg.sample.prompts, "prompt", cfg.task, "preference", cfg.sample.limit)
    model_path = policy_path(cfg, cfg.sample.model)
    r = Run(cfg, "sample", stage_sections("sample", cfg))
    r.add_input("prompts", source if Path(source).exists() else None, records=records, source=source)
    r.add_model("model", model_path)
    r.open(force)
    t0 = time.time()
    rows = sample_records(cfg, records, r.dir / "samples.partial.jsonl", model_path)
    r.time("sample_s", time.time() - t0)
    write_jsonl(r.dir / "samples.jsonl", rows)
    (r.dir / "samples.partial.jsonl").unlink()
    chars = sum(len(c) for row in rows for c in row["completions"])
    return r.finish(
        prompts=len(rows),
        completions=sum(len(x["completions"]) for x in rows),
        completion_chars=chars,
        model=model_path,
    )
