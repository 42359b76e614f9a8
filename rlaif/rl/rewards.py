"""Reward sources behind one interface: RL never knows where its reward comes from.

A reward function is TRL's shape, `fn(prompts, completions, **kw) -> list[float]`: `prompts` are
the records' prompts (string or message list), `completions` the generated texts, and `kw` the
records' other fields as lists (gold SQL, database ids, ...), one entry per completion.

1. Sources are built by name from config entries `{source: NAME, weight: W, name: LABEL, ...}`;
   the remaining keys are the source's options. Several entries are combined as sum_i w_i r_i and
   each is logged on its own (`reward/LABEL`).
2. Built-in sources (`SOURCES`; add yours with `@register("name")`):
   - `oracle`: the task's ground-truth reward (text2sql: execution match).        opts: task
   - `python`: any function `package.module:function`, called as above.          opts: function, +kwargs
   - `rm`:     a trained reward model (`rlaif rm`), a folder or `http://` URL.     opts: path, normalize,
                                                                                  batch_size
   - `salmon`: the principle-following RM with its RL-time principles (METHOD §7). opts: path, principles
   - `direct`: d-RLAIF, the labeler's 1-10 score rescaled to [-1, 1] (METHOD §5). opts: label.* fields
   Heavy sources import their code only when built, so a config naming `oracle` never loads an RM.
3. A reward that is None, NaN or inf is an error naming the source and the completion: a silent NaN
   would poison every weight of the policy within one step.
4. `oracle_monitor`: where the reward is something else than the task's own (an RM, the labeler's
   score), the task's reward is computed beside it and logged as `monitor/oracle`, never trained
   on: the true accuracy of the rollouts, step by step, shows reward hacking as it happens (the
   learned reward rising while the oracle falls).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.errors import UserError

RewardFn = Callable[..., list]
SOURCES: dict[str, Callable[..., RewardFn]] = {}


class RewardError(UserError, ValueError):
    """A reward source is misconfigured or returned something that is not a finite number."""


def register(name: str):
    def deco(factory):
        SOURCES[name] = factory
        return factory

    return deco


def import_object(spec: str):
    """`package.module:attr` -> the object."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise RewardError(f"expected 'package.module:function', got {spec!r}")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise RewardError(f"cannot import {module!r} for reward function {spec!r}: {e}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RewardError(f"{module!r} has no attribute {attr!r} (reward function {spec!r})")
        obj = getattr(obj, part)
    return obj


def _default_rm_path(cfg) -> str:
    p = Path(cfg.out) / "rm" if cfg is not None else Path("rm")
    if not p.exists():
        raise RewardError(
            f"reward source needs a reward model: none at {p} (run `rlaif rm` first, "
            f"or give the source a `path:` to an RM folder or an http:// URL)"
        )
    return str(p)


def _lazy(module: str, attr: str, what: str):
    """An optional colleague module's entry point, or a clear error saying what is missing."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ModuleNotFoundError, AttributeError) as e:
        raise RewardError(
            f"reward source {what!r} needs {module}.{attr}, which is not available in this installation ({e})"
        ) from None


@register("oracle")
def oracle_source(cfg=None, task: str = "") -> RewardFn:
    from ..tasks import get_task

    name = task or (cfg.task if cfg is not None else "")
    if not name:
        raise RewardError("reward source 'oracle' needs a task (set `task:` or the source's `task:`)")
    return get_task(name).reward  # every task has one (tasks.base.Task; checked when it is built)


@register("python")
def python_source(cfg=None, function: Any = "", **kwargs: Any) -> RewardFn:
    fn = import_object(function) if isinstance(function, str) else function
    if not callable(fn):
        raise RewardError(f"reward source 'python': {function!r} is not callable")
    if not kwargs:
        return fn
    return lambda prompts, completions, **kw: fn(prompts, completions, **kwargs, **kw)


@register("rm")
def rm_source(cfg=None, path: str = "", **kwargs: Any) -> RewardFn:
    reward_fn = _lazy("rlaif.rm.model", "reward_fn", "rm")
    return reward_fn(path or _default_rm_path(cfg), **kwargs)


@register("salmon")
def salmon_source(cfg=None, path: str = "", principles: str = "", **kwargs: Any) -> RewardFn:
    """A principle-following RM; `principles` (a YAML file) replaces the set it was trained with,
    which is how a discovered reward hack is fixed without new labels (METHOD §7)."""
    reward_fn = _lazy("rlaif.rm.model", "reward_fn", "salmon")
    return reward_fn(
        path or _default_rm_path(cfg), **({"principles": principles} if principles else {}), **kwargs
    )


@register("direct")
def direct_source(cfg=None, **label: Any) -> RewardFn:
    """d-RLAIF: the labeler scores each completion 1-10; reward = (sum_i i P(i) - 5.5) / 4.5.
    Options are `label` section fields (backend, model, template, ...) overriding the config's."""
    import dataclasses

    from ..core.config import Config

    factory = _lazy("rlaif.labelers.direct", "direct_reward_fn", "direct")
    cfg = cfg if cfg is not None else Config()
    try:
        cfg = dataclasses.replace(cfg, label=dataclasses.replace(cfg.label, **label)) if label else cfg
    except TypeError as e:
        raise RewardError(f"reward source 'direct': options must be label-section fields: {e}") from None
    return factory(cfg)


def source_options(name: str) -> set[str] | None:
    """The options a source accepts besides source/weight/name (None: any, e.g. a python function's
    keyword arguments), read from the signatures so that the check cannot drift from the code."""
    import dataclasses
    import inspect

    def params(*fns) -> set[str]:
        return {
            p
            for f in fns
            for p, v in inspect.signature(f).parameters.items()
            if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)
        } - {"self", "cls", "cfg", "model", "tokenizer", "meta", "source"}

    if name in ("rm", "salmon"):
        from ..rm.model import RemoteRewardModel, RewardModel

        return params(SOURCES[name], RewardModel.load, RewardModel.__init__, RemoteRewardModel.__init__)
    if name == "direct":
        from ..core.config import LabelConfig

        return {f.name for f in dataclasses.fields(LabelConfig)}
    if name == "python":
        return None
    return params(SOURCES[name]) if name in SOURCES else set()


def check_spec(spec: Any, where: str) -> None:
    """A reward entry's source, weight and option names, checked before anything is built."""
    if not isinstance(spec, dict) or "source" not in spec:
        raise RewardError(
            f"{where}: a reward entry must be a mapping with a 'source' key, got {spec!r} "
            f"(sources: {', '.join(SOURCES)})"
        )
    name = spec["source"]
    if name not in SOURCES:
        raise RewardError(f"{where}: unknown reward source {name!r}; known: {', '.join(SOURCES)}")
    weight = spec.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise RewardError(f"{where}: reward source {name!r}: weight must be a number, got {weight!r}")
    allowed = source_options(name)
    extra = sorted(set(spec) - {"source", "weight", "name"} - (allowed or set()))
    if allowed is not None and extra:
        raise RewardError(
            f"{where}: reward source {name!r} has no option {extra[0]!r}; its options: "
            f"{', '.join(sorted(allowed))}"
        )
    if name == "python" and not (
        isinstance(spec.get("function"), str) and ":" in spec["function"] or callable(spec.get("function"))
    ):
        raise RewardError(f"{where}: reward source 'python' needs function: 'package.module:function'")


@dataclass
class Source:
    label: str
    weight: float
    fn: RewardFn


def build_source(spec: dict, cfg=None) -> Source:
    if not isinstance(spec, dict) or "source" not in spec:
        raise RewardError(
            f"a reward entry must be a mapping with a 'source' key, got {spec!r} "
            f"(sources: {', '.join(SOURCES)})"
        )
    opts = dict(spec)
    name, weight, label = opts.pop("source"), opts.pop("weight", 1.0), opts.pop("name", None)
    if name not in SOURCES:
        raise RewardError(f"unknown reward source {name!r}; known: {', '.join(SOURCES)}")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise RewardError(f"reward source {name!r}: weight must be a number, got {weight!r}")
    try:
        fn = SOURCES[name](cfg, **opts)
    except TypeError as e:  # an unknown option: say which source and what it accepts
        raise RewardError(f"reward source {name!r}: bad options {sorted(opts)}: {e}") from None
    return Source(label or name, float(weight), fn)


class CombinedReward:
    """sum_i w_i r_i over sources; `__call__` returns (totals, {label: per-source list})."""

    def __init__(self, sources: list[Source]):
        if not sources:
            raise RewardError("no reward sources configured (rl.rewards is empty)")
        labels = [s.label for s in sources]
        if len(set(labels)) != len(labels):
            raise RewardError(f"reward sources need distinct names, got {labels}; add `name:` to each")
        self.sources = sources

    def __call__(
        self, prompts: list, completions: list[str], **kw: list
    ) -> tuple[list[float], dict[str, list[float]]]:
        parts = {
            s.label: check_rewards(s.label, s.fn(prompts, completions, **kw), completions)
            for s in self.sources
        }
        totals = [sum(s.weight * parts[s.label][i] for s in self.sources) for i in range(len(completions))]
        return totals, parts


def check_rewards(label: str, values: Any, completions: list[str]) -> list[float]:
    values = list(values)
    if len(values) != len(completions):
        raise RewardError(
            f"reward source {label!r} returned {len(values)} rewards for {len(completions)} completions"
        )
    out = []
    for i, v in enumerate(values):
        v = float("nan") if v is None else float(v)
        if not math.isfinite(v):
            raise RewardError(
                f"reward source {label!r} returned {v} for completion {i} "
                f"({completions[i][:80]!r}); stopping before it reaches the policy"
            )
        out.append(v)
    return out


def reward_inputs(specs: list, cfg) -> list[tuple[str, str, str]]:
    """What the sources read besides the config, as (input name, 'path' or 'model', where): reward
    models, principle files, the labeler model of `direct`, the module of a `python` function. The rl
    stage fingerprints them so that a retrained RM makes it redo its run."""
    import importlib.util

    out = []
    for spec in specs:
        if not isinstance(spec, dict):
            continue
        src, opts = spec.get("source"), spec
        key = f"reward:{spec.get('name') or src}"
        if src in ("rm", "salmon"):
            path = str(opts.get("path") or Path(cfg.out) / "rm")
            if not path.startswith(("http://", "https://")):
                ckpt = Path(path) / "checkpoint"
                out.append((key, "path", str(ckpt) if ckpt.is_dir() else path))
            if opts.get("principles"):
                out.append((key + ":principles", "path", str(opts["principles"])))
        elif src == "direct":
            backend = opts.get("backend", cfg.label.backend)
            if backend == "hf":
                out.append(
                    (key + ":labeler", "model", opts.get("model") or cfg.label.model or cfg.model.name)
                )
        elif src == "python" and isinstance(opts.get("function"), str):
            module = opts["function"].partition(":")[0]
            try:
                spec_ = importlib.util.find_spec(module) if module else None
            except (ImportError, ValueError):
                spec_ = None
            if spec_ is not None and spec_.origin and Path(spec_.origin).exists():
                out.append((key, "path", spec_.origin))
    return out


def uses_labeler(specs: list) -> bool:
    """Whether a source reads the `label` section (d-RLAIF's labeler)."""
    return any(isinstance(s, dict) and s.get("source") == "direct" for s in specs)


def oracle_monitor(specs: list, cfg=None) -> RewardFn | None:
    """The task's own reward (text2sql: execution match) to log beside a learned one; None where a
    source already is the oracle or the task cannot be built here."""
    if cfg is None or any(isinstance(s, dict) and s.get("source") == "oracle" for s in specs):
        return None
    try:
        return oracle_source(cfg)
    except Exception:  # a task that cannot be built here: nothing to monitor with
        return None


def build_rewards(specs: list[dict], cfg=None) -> CombinedReward:
    """The combined reward for config entries `[{source, weight, ...}, ...]`."""
    return CombinedReward([build_source(s, cfg) for s in specs])
