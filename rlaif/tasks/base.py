"""The task interface (`Task`) and the task registry.

1. Required of every task: `name`, `splits`, `records(split)` and `reward(prompts, completions, **kw)`
   (the oracle reward, TRL's reward-function shape). `Task` is a `typing.Protocol`: a task is any
   class with these, no base class to inherit.
2. Optional capabilities are declared, not discovered: a task lists the ones it implements in
   `capabilities` (a set of names from `CAPABILITIES`), callers ask `supports(task, "prefer")`, and a
   task is checked once when it is built (`check_task`): a declared capability without its method,
   or a missing required method, is an error then rather than a silent skip later.
3. Tasks are found by name in `REGISTRY` (`"module:Class"` or a callable). A user package adds its
   own with `register_task("mytask", "mypkg.tasks:MyTask")`, or without any code running first
   through an entry point in the `rlaif.tasks` group:

       [project.entry-points."rlaif.tasks"]
       mytask = "mypkg.tasks:MyTask"
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

ENTRY_POINT_GROUP = "rlaif.tasks"

# optional capability -> what the method does (the method has the capability's name)
CAPABILITIES: dict[str, str] = {
    "prefer": "prefer(prompt, a, b, **kw) -> float | None: oracle P(a better than b); None: tie/unknown",
    "evaluate": "evaluate(records, completions) -> dict: accuracy / ROUGE, by group",
    "check": "check(prompt, completion, **meta) -> Verdict: the oracle's verdict on one response",
    "execution_summary": "execution_summary(record, response) -> str: what a query returns, for labelers",
    "harmless": "harmless(prompts, outputs, **kw) -> list[float]: P(harmless) of each output, one at a time",
    "write_spider": "write_spider(folder) -> Path: the task's data in the Spider layout",
    "oracle": "oracle: the task's SQL execution oracle (test suites are built on it)",
}


@runtime_checkable
class Task(Protocol):
    """What every stage may rely on; see the module docstring for the optional capabilities."""

    name: ClassVar[str]
    splits: ClassVar[tuple[str, ...]]
    capabilities: ClassVar[frozenset[str]]

    def records(self, split: str) -> list[dict]:
        """Records of a split ("sft", "preference", "rl", "test"): sft {prompt, output, ...}, the
        others {prompt, ...}."""
        ...

    def reward(self, prompts: list, completions: list, /, **kw: Any) -> list[float]:
        """The oracle reward of each completion; record fields arrive as keyword lists."""
        ...


def supports(task: Any, capability: str) -> bool:
    """Whether `task` declares `capability` (False for no task)."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown task capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    return task is not None and capability in getattr(task, "capabilities", frozenset())


def check_task(task: Any, name: str) -> Any:
    """`task` if it has the required methods and every capability it declares; else a TypeError."""
    missing = [m for m in ("records", "reward") if not callable(getattr(task, m, None))]
    declared = set(getattr(task, "capabilities", frozenset()))
    unknown = sorted(declared - set(CAPABILITIES))
    absent = sorted(c for c in declared - set(unknown) if getattr(task, c, None) is None)
    if missing or unknown or absent:
        raise TypeError(
            f"task {name!r} ({type(task).__name__}): "
            + "; ".join(
                filter(
                    None,
                    [
                        missing and f"missing required {', '.join(missing)}",
                        unknown and f"unknown capabilities {', '.join(unknown)}",
                        absent and f"declares {', '.join(absent)} without it",
                    ],
                )
            )
        )
    return task


REGISTRY: dict[str, str | Callable[..., Any]] = {
    "text2sql": "rlaif.tasks.text2sql:Text2SQL",
    "spider": "rlaif.tasks.text2sql:Text2SQL",
    "bird": "rlaif.tasks.text2sql:Text2SQL",
    "summarize": "rlaif.tasks.summarize:Summarize",
}


def register_task(name: str, factory: str | Callable[..., Any]) -> None:
    """Make `get_task(name)` (and `task: name` in a config) build `factory(**kwargs)`; `factory` is a
    class or function, or "package.module:Name" imported when first used."""
    REGISTRY[name] = factory


def entry_point_tasks() -> dict[str, str]:
    """Tasks other installed packages declare in the `rlaif.tasks` entry-point group."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
