"""SALMON principles and synthetic preferences (rlaif/rm/salmon.py): pure functions, no model."""

import json
import math

import pytest

from rlaif.core.records import RecordError, read_records
from rlaif.rm.salmon import (
    Principle,
    PrincipleSet,
    combine_orders,
    load_principles,
    normalised_scores,
    synthetic_preferences,
    use_time_principles,
    with_principles,
)

PSET = PrincipleSet(
    [
        Principle("Concise", "prefer short answers", "Verbose: prefer long answers", 1.0),
        Principle("Honest", "no made-up facts", "Dishonest: make things up", 1.0),
    ],
    [Principle("No Self-Praise", "do not praise yourself")],
)


def rec(i, concise, honest=None):
    scores = {"Concise": concise} | ({"Honest": honest} if honest is not None else {})
    return {
        "prompt": f"q{i}",
        "response_a": f"short{i}",
        "response_b": f"long{i}",
        "principle_scores": scores,
    }


def test_default_principle_file():
    ps = load_principles()
    assert len(ps.principles) == 8 and len(ps.fixed) == 3
    assert all(p.negation and p.weight > 0 for p in ps.principles)
    assert ps.get("Concise").text(negated=True).startswith("Verbose:")


def test_bad_principle_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("principles:\n  - name: X\n")
    with pytest.raises(ValueError, match="definition"):
        load_principles(f)
    f.write_text("principles:\n  - {name: X, definition: y, colour: red}\n")
    with pytest.raises(ValueError, match="colour"):
        load_principles(f)


def test_combine_orders():
    assert combine_orders(2.5) == 2.5
    assert combine_orders(None) is None
    assert combine_orders([2.0, -1.0]) == 1.5  # both orders prefer response_a
    assert combine_orders([-2.0, 1.0]) == -1.5  # both prefer response_b
    assert combine_orders([2.0, 1.0]) is None  # the slot, not the response, won: position bias
    with pytest.raises(ValueError):
        combine_orders("big")


def test_scores_are_divided_by_their_standard_deviation():
    rows = normalised_scores([rec(0, 1.0, 10.0), rec(1, -1.0, -10.0), rec(2, 3.0, [4.0, 4.0])])
    std_c = math.sqrt(((1 - 1) ** 2 + (-1 - 1) ** 2 + (3 - 1) ** 2) / 3)
    assert rows[0]["Concise"] == pytest.approx(1 / std_c) and rows[2]["Concise"] == pytest.approx(3 / std_c)
    assert rows[0]["Honest"] == pytest.approx(1.0) and "Honest" not in rows[2]  # disagreeing orders dropped


def preferred(out: dict) -> str:
    return out["response_a"] if out["p_a"] == 1.0 else out["response_b"]


def test_label_follows_the_principle_and_order_is_shuffled():
    recs = [rec(i, 1.0 + i % 3) for i in range(40)]
    out = synthetic_preferences(recs, PSET, k=1, negate_prob=0.0)
    assert len(out) == 40 and all(preferred(o).startswith("short") for o in out)
    assert {o["response_a"].startswith("short") for o in out} == {True, False}  # both slots used
    assert all(o["principles"] == ["Concise: prefer short answers"] for o in out)


def test_negation_flips_label_and_text():
    out = synthetic_preferences([rec(i, 2.0) for i in range(20)], PSET, k=1, negate_prob=1.0)
    assert all(preferred(o).startswith("long") for o in out)
    assert all(
        o["principles"] == ["Verbose: prefer long answers"] and o["negated"] == ["Concise"] for o in out
    )


def test_dominant_principle_decides():
    # after normalisation Honest's |score| is larger on these records and it points the other way
    recs = [rec(i, 0.1 * (1 + i % 2), -5.0 * (1 + i % 2)) for i in range(30)]
    recs += [rec(100, 1.0, 0.01)]  # variance anchors
    out = synthetic_preferences(recs, PSET, k=2, negate_prob=0.0)
    for o in out[:30]:
        assert o["dominant"] == "Honest" and preferred(o).startswith("long")


def test_label_noise_and_mixed_negation_are_consistent():
    recs = [rec(i, 1.0 + i % 4) for i in range(200)]
    noisy = synthetic_preferences(recs, PSET, k=1, negate_prob=0.0, label_noise=1.0)
    assert all(preferred(o).startswith("long") for o in noisy)
    mixed = synthetic_preferences(recs, PSET, k=1, negate_prob=0.5, seed=3)
    neg = [o for o in mixed if o["negated"]]
    assert 60 < len(neg) < 140
    assert all(preferred(o).startswith("long") == bool(o["negated"]) for o in mixed)
    assert synthetic_preferences(recs, PSET, k=1, seed=3) == synthetic_preferences(recs, PSET, k=1, seed=3)


def test_unknown_principle_and_empty_records():
    with pytest.raises(ValueError, match="Funny"):
        synthetic_preferences([{**rec(0, 1.0), "principle_scores": {"Funny": 1.0}}], PSET)
    assert synthetic_preferences([rec(0, [1.0, 1.0])], PSET) == []  # no agreeing principle: skipped


def test_with_principles():
    assert with_principles("Hi?", ["A: a", "B: b"]) == (
        "Judge the assistant's response by these principles:\n- A: a\n- B: b\n\nHi?"
    )
    assert with_principles("Hi?", []) == "Hi?"
    msgs = with_principles([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi?"}], ["A: a"])
    assert (
        msgs[0]["role"] == "system"
        and msgs[0]["content"].startswith("S\n\nJudge")
        and msgs[1]["content"] == "Hi?"
    )
    assert with_principles([{"role": "user", "content": "Hi?"}], ["A: a"])[0]["role"] == "system"


def test_use_time_principles():
    heavy = PrincipleSet(
        [
            Principle("A", "a", weight=1000.0),
            Principle("B", "b", weight=1e-6),
            Principle("C", "c", weight=1.0),
        ],
        [Principle("F", "f")],
    )
    got = use_time_principles(heavy, "prompt 1", k=1)
    assert got == ["F: f", "A: a"]
    assert use_time_principles(heavy, "prompt 1", k=1) == got  # reproducible per prompt
    two = use_time_principles(heavy, "p", k=2)
    assert two[0] == "F: f" and len(set(two)) == 3 and "B: b" not in two
    assert len(use_time_principles(heavy, "p", k=10)) == 4  # no more than there are


def test_salmon_records_are_validated_with_file_and_line(tmp_path):
    f = tmp_path / "s.jsonl"
    rows = [rec(0, 1.0), rec(1, [1.0, -1.0]), {**rec(2, 1.0), "principle_scores": {"Concise": "big"}}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(RecordError, match=r"s.jsonl:3: field 'principle_scores.Concise'"):
        read_records(f, "salmon")
    f.write_text(json.dumps({**rec(0, 1.0), "principle_scores": {}}) + "\n")
    with pytest.raises(RecordError, match=r"s.jsonl:1: field 'principle_scores'"):
        read_records(f, "salmon")


def test_training_and_use_time_prompts_list_principles_through_one_function(tmp_path, monkeypatch):
    from rlaif.core.config import load_config
    from rlaif.rm import salmon
    from rlaif.rm.model import RewardModel
    from rlaif.rm.train import prepare_pairs

    pfile = tmp_path / "p.yaml"
    pfile.write_text(
        "principles:\n  - {name: Concise, definition: prefer short answers}\n"
        "  - {name: Honest, definition: no made-up facts}\n"
        "fixed:\n  - {name: No Self-Praise, definition: do not praise yourself}\n"
    )
    data = tmp_path / "s.jsonl"
    data.write_text("".join(json.dumps(rec(i, 1.0 + i % 3, -1.0 - i % 2)) + "\n" for i in range(40)))
    cfg = load_config(
        None,
        {
            "out": str(tmp_path / "out"),
            "rm": {
                "data": str(data),
                "salmon": True,
                "principles": str(pfile),
                "principles_per_example": 1,
                "rl_sampled": 1,
                "eval_fraction": 0.25,
            },
        },
    )
    meta = {
        "salmon": True,
        "rl_sampled": 1,
        "principle_set": {
            "principles": [
                {"name": "Concise", "definition": "prefer short answers"},
                {"name": "Honest", "definition": "no made-up facts"},
            ],
            "fixed": [{"name": "No Self-Praise", "definition": "do not praise yourself"}],
        },
    }
    use = RewardModel(None, None, meta)  # scoring prompts; no model needed to list their principles

    train, evals, _ = prepare_pairs(cfg)
    fixed = ["No Self-Praise: do not praise yourself"]
    # the RM trains with the fixed principles in its prompt, as it will see them during RL
    assert (
        train
        and evals
        and all(r["principles"][:1] == fixed and len(r["principles"]) == 2 for r in train + evals)
    )
    assert use.principles_for("q0")[:1] == fixed and len(use.principles_for("q0")) == 2
    # one function builds both lists: changing it changes training and use alike
    monkeypatch.setattr(salmon, "rm_principles", lambda pset, sampled: ["MARK"] + list(sampled))
    train, evals, _ = prepare_pairs(cfg)
    assert all(r["principles"][0] == "MARK" for r in train + evals) and use.principles_for("q0")[0] == "MARK"
