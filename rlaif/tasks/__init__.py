"""Built-in tasks: each owns its data splits, prompt format, oracle and evaluation.

A task is looked up by a spec string (`get_task("text2sql")`, `get_task("spider:/data/spider")`,
`get_task("summarize:source=docstrings")`) and imported lazily, so a task's heavy dependencies
load only when it is used. Spec grammar: `NAME[:ARG][,KEY=VALUE...]`; a bare first ARG is the
task's `path`. Built-in names: text2sql, spider, bird (text2sql over a Spider/BIRD folder),
summarize. The interface every stage relies on:

    task.records(split) -> list[dict]       # splits: "sft", "preference", "rl", "test"
                                            # sft records: {prompt, output, ...}; others: {prompt, ...}
    task.reward(prompts, completions, **kw) -> list[float]   # oracle reward (TRL's reward-fn shape)
    task.prefer(prompt, a, b, **kw) -> float | None          # oracle P(a better than b); None: tie/unknown

Added by the built-in tasks (optional for other tasks):

    task.evaluate(records, completions) -> dict   # one completion per record: accuracy / ROUGE, by group
    task.check(prompt, completion, **meta)         # text2sql: the oracle's Verdict (status, detail)
    task.execution_summary(record, response) -> str  # text2sql: what the query returns, for labelers

Record fields passed through every stage, and accepted by reward/prefer as keyword arguments
(lists for `reward`, as TRL passes dataset columns; single values for `prefer`):
    text2sql: id, db_id, question, gold_sql (sft: output == gold_sql), kind, template, evidence (BIRD)
    summarize: id, text (the document), reference (the ground-truth summary), source
Without them the oracle finds the question by its prompt text.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..core.errors import UserError
from ..core.records import read_records


class TaskError(UserError, KeyError):
    """An unknown task or a malformed task spec."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""

REGISTRY: dict[str, str] = {
    "text2sql": "rlaif.tasks.text2sql:Text2SQL",
    "spider": "rlaif.tasks.text2sql:Text2SQL",
    "bird": "rlaif.tasks.text2sql:Text2SQL",
    "summarize": "rlaif.tasks.summarize:Summarize",
}
_CACHE: dict[str, Any] = {}


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`spider:/data/spider,format=chat` -> ("spider", {"path": "/data/spider", "format": "chat"})."""
    name, _, rest = spec.partition(":")
    kwargs: dict[str, str] = {}
    for i, part in enumerate(p for p in rest.split(",") if p) if rest else []:
        key, eq, value = part.partition("=")
        if not eq and i == 0:
            kwargs["path"] = part
        elif not eq:
            raise TaskError(f"task spec {spec!r}: expected KEY=VALUE, got {part!r}")
        else:
            kwargs[key.strip()] = value.strip()
    return name, kwargs


def task_kind(spec: str) -> str:
    """The kind of task a spec names, without building it: its class's `name` (`spider:/d` and
    `bird:/d` are text2sql tasks, so they get text2sql's labeler template and report wording)."""
    name = parse_spec(spec)[0]
    if name not in REGISTRY:
        return name
    module, _, cls = REGISTRY[name].partition(":")
    try:
        return str(getattr(getattr(importlib.import_module(module), cls), "name", name))
    except (ImportError, AttributeError):
        return name


def get_task(name: str, **kwargs: Any):
    """The task for a spec string; built once per spec, arguments and cache folder, then shared."""
    from ..core.models import cache_dir

    key = f"{cache_dir()}|{name}|{sorted(kwargs.items())!r}"
    if key not in _CACHE:
        _CACHE[key] = _build_task(name, **kwargs)
    return _CACHE[key]


def _build_task(spec: str, **kwargs: Any):
    name, spec_kwargs = parse_spec(spec)
    kwargs = spec_kwargs | kwargs
    if name in ("spider", "bird") and not kwargs.get("path"):
        raise TaskError(f"task {name!r} needs a folder: {name}:PATH")
    if name not in REGISTRY:
        raise TaskError(f"unknown task {name!r}; built-in tasks: {', '.join(sorted(REGISTRY))}")
    module, _, cls = REGISTRY[name].partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise TaskError(f"task {name!r} is registered but its module {module} is not available") from None
        raise
    return getattr(mod, cls)(**kwargs)


def resolve_records(source: str, kind: str, task_name: str, default_split: str, limit: int = 0) -> tuple[list[dict], str]:
    """Records for a stage, and a description of where they came from.

    `source` is a file or `hf:NAME[:SPLIT]` (read and validated), `task:SPLIT` (that split of the
    configured task) or empty (the task's `default_split`)."""
    if source and not source.startswith("task:"):
        return read_records(source, kind, limit), source
    split = source[5:] if source else default_split
    from ..core.records import validate

    rows = get_task(task_name).records(split)
    where = f"task:{task_name}/{split}"
    rows = [validate(r, kind, f"{where}[{i}]") for i, r in enumerate(rows[:limit] if limit else rows)]
    if not rows:
        raise ValueError(f"{where}: the split is empty")
    return rows, where
