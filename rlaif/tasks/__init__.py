"""Built-in tasks: each owns its data splits, prompt format, oracle and evaluation.

A task is looked up by name (`get_task("text2sql")`) and imported lazily, so a task's heavy
dependencies load only when it is used. The interface every stage relies on:

    task.records(split) -> list[dict]       # splits: "sft", "preference", "rl", "test"
                                            # sft records: {prompt, output, ...}; others: {prompt, ...}
    task.reward(prompts, completions, **kw) -> list[float]   # oracle reward (TRL's reward-fn shape)
    task.prefer(prompt, a, b, **kw) -> float | None          # oracle P(a better than b); None: tie/unknown
"""

from __future__ import annotations

import importlib
from typing import Any

from ..records import read_records

REGISTRY: dict[str, str] = {
    "text2sql": "rlaif.tasks.text2sql:Text2SQL",
    "summarize": "rlaif.tasks.summarize:Summarize",
}


def get_task(name: str, **kwargs: Any):
    if name not in REGISTRY:
        raise KeyError(f"unknown task {name!r}; built-in tasks: {', '.join(sorted(REGISTRY))}")
    module, _, cls = REGISTRY[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise KeyError(f"task {name!r} is registered but its module {module} is not available") from None
        raise
    return getattr(mod, cls)(**kwargs)


def resolve_records(source: str, kind: str, task_name: str, default_split: str, limit: int = 0) -> tuple[list[dict], str]:
    """Records for a stage, and a description of where they came from.

    `source` is a file or `hf:NAME[:SPLIT]` (read and validated), `task:SPLIT` (that split of the
    configured task) or empty (the task's `default_split`)."""
    if source and not source.startswith("task:"):
        return read_records(source, kind, limit), source
    split = source[5:] if source else default_split
    from ..records import validate

    rows = get_task(task_name).records(split)
    where = f"task:{task_name}/{split}"
    rows = [validate(r, kind, f"{where}[{i}]") for i, r in enumerate(rows[:limit] if limit else rows)]
    if not rows:
        raise ValueError(f"{where}: the split is empty")
    return rows, where
