"""Built-in tasks: each owns its data splits, prompt format, oracle and evaluation.

A task is looked up by a spec string (`get_task("text2sql")`, `get_task("spider:/data/spider")`,
`get_task("summarize:source=docstrings")`) and imported lazily, so a task's heavy dependencies
load only when it is used. Spec grammar: `NAME[:ARG][,KEY=VALUE...]`; a bare first ARG is the
task's `path`. Built-in names: text2sql, spider, bird (text2sql over a Spider/BIRD folder),
summarize; a user package adds its own with `register_task` or the `rlaif.tasks` entry-point
group. The interface (`base.Task`, a typing.Protocol) every stage relies on:

    task.name, task.splits                  # splits: "sft", "preference", "rl", "test"
    task.records(split) -> list[dict]       # sft records: {prompt, output, ...}; others: {prompt, ...}
    task.reward(prompts, completions, **kw) -> list[float]   # oracle reward (TRL's reward-fn shape)
    task.capabilities                       # the optional methods below that this task has

Optional capabilities (`base.CAPABILITIES`; callers ask `supports(task, "prefer")`):

    task.prefer(prompt, a, b, **kw) -> float | None  # oracle P(a better than b); None: tie/unknown
    task.evaluate(records, completions) -> dict   # one completion per record: accuracy / ROUGE, by group
    task.check(prompt, completion, **meta)         # text2sql: the oracle's Verdict (status, detail)
    task.execution_summary(record, response) -> str  # text2sql: what the query returns, for labelers
    task.harmless(prompts, outputs, **kw)          # P(harmless) per output (eval's harmless rate)

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
from .base import CAPABILITIES, REGISTRY, Task, check_task, entry_point_tasks, register_task, supports

__all__ = [
    "CAPABILITIES",
    "REGISTRY",
    "Task",
    "TaskError",
    "check_task",
    "get_task",
    "parse_spec",
    "register_task",
    "resolve_records",
    "supports",
    "task_kind",
]


class TaskError(UserError, KeyError):
    """An unknown task or a malformed task spec."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


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
    factory = _factory_spec(name)
    if factory is None:
        return name
    try:
        return str(getattr(_load_factory(name, factory), "name", name))
    except (ImportError, AttributeError, TaskError):
        return name


def _factory_spec(name: str):
    """The registered factory for a task name: REGISTRY first, then installed entry points."""
    if name in REGISTRY:
        return REGISTRY[name]
    return entry_point_tasks().get(name)


def _load_factory(name: str, factory):
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            raise TaskError(f"task {name!r} is registered but its module {module} is not available") from None
        raise
    return getattr(mod, attr)


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
    factory = _factory_spec(name)
    if factory is None:
        raise TaskError(f"unknown task {name!r}; built-in tasks: {', '.join(sorted(REGISTRY))}")
    return check_task(_load_factory(name, factory)(**kwargs), name)


def resolve_records(
    source: str, kind: str, task_name: str, default_split: str, limit: int = 0
) -> tuple[list[dict], str]:
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
