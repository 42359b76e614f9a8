"""Reward sources: registry, weights, errors; the text2sql oracle through the same interface."""

import math

import pytest

from rlaif.rl.rewards import SOURCES, RewardError, build_rewards, build_source, register


def length(prompts, completions, **kw):
    return [float(len(c)) for c in completions]


def test_weighted_sum_and_per_source_parts():
    r = build_rewards(
        [
            {"source": "python", "function": length, "weight": 2.0, "name": "len"},
            {"source": "python", "function": "math:copysign", "name": "sign"},
        ]
    )
    # math:copysign(prompts, completions) is not a reward fn; wrap a real one for the second source
    r.sources[1].fn = lambda p, c, **kw: [1.0 if "!" in x else -1.0 for x in c]
    totals, parts = r(["p", "p"], ["ab!", "abcd"])
    assert parts == {"len": [3.0, 4.0], "sign": [1.0, -1.0]}
    assert totals == [2 * 3 + 1, 2 * 4 - 1]


def test_python_source_passes_record_fields_and_options():
    seen = {}

    def fn(prompts, completions, scale=1.0, **kw):
        seen.update(kw)
        return [scale * len(c) for c in completions]

    s = build_source({"source": "python", "function": fn, "scale": 0.5})
    assert s.fn(["p"], ["abcd"], gold=["x"]) == [2.0] and seen == {"gold": ["x"]}


def test_errors_name_the_source():
    with pytest.raises(RewardError, match="unknown reward source 'nope'; known: oracle, python"):
        build_source({"source": "nope"})
    with pytest.raises(RewardError, match="'source' key"):
        build_source({"weight": 1})
    with pytest.raises(RewardError, match="cannot import 'no_such_module_xyz'"):
        build_source({"source": "python", "function": "no_such_module_xyz:f"})
    with pytest.raises(RewardError, match="package.module:function"):
        build_source({"source": "python", "function": "nocolon"})
    with pytest.raises(RewardError, match="distinct names"):
        build_rewards([{"source": "python", "function": length}] * 2)
    bad = build_rewards([{"source": "python", "function": lambda p, c, **k: [1.0, math.inf]}])
    with pytest.raises(RewardError, match="returned inf for completion 1"):
        bad(["a", "b"], ["x", "y"])
    short = build_rewards([{"source": "python", "function": lambda p, c, **k: [1.0]}])
    with pytest.raises(RewardError, match="returned 1 rewards for 2 completions"):
        short(["a", "b"], ["x", "y"])
    none = build_rewards([{"source": "python", "function": lambda p, c, **k: [None, 1.0]}])
    with pytest.raises(RewardError, match="returned nan for completion 0"):
        none(["a", "b"], ["x", "y"])


def test_rm_source_without_a_model_says_what_to_do(tmp_path):
    from rlaif.core.config import load_config

    cfg = load_config(None, [f"out={tmp_path}"])
    with pytest.raises(RewardError, match="run `rlaif rm` first"):
        build_source({"source": "rm"}, cfg)


def test_register_a_new_source():
    @register("constant_test")
    def constant(cfg=None, value: float = 0.0):
        return lambda p, c, **kw: [value] * len(c)

    try:
        totals, _ = build_rewards([{"source": "constant_test", "value": 3.0, "weight": 0.5}])(["p"], ["c"])
        assert totals == [1.5]
        with pytest.raises(RewardError, match="bad options"):
            build_source({"source": "constant_test", "valu": 3.0})
    finally:
        SOURCES.pop("constant_test")


def test_text2sql_oracle_source():
    from rlaif.tasks import get_task

    rec = get_task("text2sql").records("rl")[0]
    fn = build_source({"source": "oracle", "task": "text2sql"}).fn
    got = fn(
        [rec["prompt"]] * 2,
        [rec["gold_sql"], "SELECT 1"],
        db_id=[rec["db_id"]] * 2,
        gold_sql=[rec["gold_sql"]] * 2,
    )
    assert got == [1.0, 0.0]


def test_direct_source_uses_the_labeler(tiny_model):
    fn = build_source({"source": "direct", "backend": "hf", "model": tiny_model, "template": "text2sql"}).fn
    got = fn(["Write SQL for: all artists"] * 2, ["SELECT name FROM artists", "the cat sat"])
    assert len(got) == 2 and all(-1.0 <= x <= 1.0 for x in got) and got[0] != got[1]
    with pytest.raises(RewardError, match="label-section fields"):
        build_source({"source": "direct", "no_such_field": 1})
