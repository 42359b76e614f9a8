"""The task interface and registry (rlaif/tasks/base.py): a user task added by name, declared
capabilities instead of probing, a task checked when it is built."""

import pytest

import rlaif.tasks
from rlaif.tasks import REGISTRY, Task, base, get_task, register_task, supports, task_kind


class Echo:
    """A user's task: two records, reward 1 for echoing the prompt, an oracle preference."""

    name, splits = "echo", ("rl", "test")
    capabilities = frozenset({"prefer"})

    def __init__(self, n: str = "2"):
        self.rows = [{"prompt": f"say {i}"} for i in range(int(n))]

    def records(self, split):
        return list(self.rows)

    def reward(self, prompts, completions, /, **kw):
        return [float(p == c) for p, c in zip(prompts, completions)]

    def prefer(self, prompt, a, b, /, **kw):
        return 1.0 if a == prompt else 0.0 if b == prompt else None


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(base, "REGISTRY", dict(REGISTRY))
    monkeypatch.setattr(rlaif.tasks, "REGISTRY", base.REGISTRY)
    monkeypatch.setattr(rlaif.tasks, "_CACHE", {})
    return base.REGISTRY


def test_register_task_by_class_and_by_import_path(registry):
    register_task("echo", Echo)
    t = get_task("echo:n=3")
    assert isinstance(t, Task) and len(t.records("rl")) == 3 and t.reward(["a"], ["a"]) == [1.0]
    assert supports(t, "prefer") and not supports(t, "evaluate") and not supports(None, "prefer")
    register_task("echo2", f"{__name__}:Echo")
    assert task_kind("echo2") == "echo" and get_task("echo2").records("test") == [
        {"prompt": "say 0"},
        {"prompt": "say 1"},
    ]


def test_entry_point_tasks_are_found(registry, monkeypatch):
    monkeypatch.setattr(rlaif.tasks, "entry_point_tasks", lambda: {"plugged": f"{__name__}:Echo"})
    assert get_task("plugged").name == "echo"
    with pytest.raises(rlaif.tasks.TaskError, match="unknown task 'nope'"):
        get_task("nope")


def test_a_task_is_checked_when_built(registry):
    class NoReward:
        name, splits, capabilities = "x", (), frozenset()

        def records(self, split):
            return []

    class Claims(Echo):
        capabilities = frozenset({"prefer", "evaluate"})  # evaluate is not there

    class Unknown(Echo):
        capabilities = frozenset({"telepathy"})

    for cls, msg in (
        (NoReward, "missing required reward"),
        (Claims, "declares evaluate without it"),
        (Unknown, "unknown capabilities telepathy"),
    ):
        register_task("bad", cls)
        rlaif.tasks._CACHE.clear()
        with pytest.raises(TypeError, match=msg):
            get_task("bad")
    with pytest.raises(KeyError, match="unknown task capability"):
        supports(Echo(), "telepathy")


def test_builtin_tasks_declare_what_they_have():
    for name in ("summarize:source=docstrings",):
        t = get_task(name)
        assert base.check_task(t, name) is t and supports(t, "prefer") and supports(t, "evaluate")
    from rlaif.tasks.text2sql import Text2SQL

    for cap in Text2SQL.capabilities:
        assert cap in base.CAPABILITIES and (cap == "oracle" or callable(getattr(Text2SQL, cap)))
