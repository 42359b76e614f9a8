"""The demo's study summary (evaluation/study.py) on files laid out as the stages write them."""

import json

from rlaif.evaluation.study import write_study


def _results(path, sft, arms):
    """An eval results.json with oracle scores per policy; `paired` as the eval stage computes it."""
    from rlaif.evaluation.results import paired_vs_baseline, policy_summary

    summaries = [policy_summary("sft", ["q"] * len(sft), oracle=sft)] + [
        policy_summary(name, ["q"] * len(s), oracle=s) for name, s in arms.items()
    ]
    path.mkdir(parents=True)
    (path / "results.json").write_text(
        json.dumps({"policies": summaries, "paired": paired_vs_baseline(summaries, "sft", 200)})
    )


def test_study_puts_each_arm_beside_its_labeler_and_rm(tmp_path):
    sft = [1.0] * 50 + [0.0] * 50
    better = [1.0] * 70 + [0.0] * 30  # 20 questions fixed, none broken
    _results(tmp_path / "eval", sft, {"rlvr": better, "rlaif-sim70": sft})
    _results(tmp_path / "heldout" / "eval", sft[:40], {"rlvr": sft[:40], "rlaif-sim70": sft[:40]})
    label = tmp_path / "arms" / "rlaif-sim70" / "label"
    label.mkdir(parents=True)
    (label / "report.json").write_text(json.dumps({"labeler": "fake", "alignment": 0.71, "labeled": 90}))
    rm = tmp_path / "arms" / "rlaif-sim70" / "rm"
    rm.mkdir(parents=True)
    (rm / "manifest.json").write_text(
        json.dumps(
            {"results": {"eval": {"accuracy": 0.8}, "eval_vs_reference": {"accuracy": 0.64, "pairs": 30}}}
        )
    )
    md = write_study(tmp_path, ["rlvr", "rlaif-sim70"]).read_text()
    study = json.loads((tmp_path / "study.json").read_text())
    rlvr, sim = study["arms"]
    assert rlvr["test"]["delta"] == 0.2 and rlvr["test"]["only_a"] == 20 and rlvr["test"]["p_mcnemar"] < 1e-5
    assert rlvr["heldout"]["delta"] == 0.0 and rlvr["alignment"] == 1.0
    assert sim["alignment"] == 0.71 and sim["rm_accuracy_vs_oracle"] == 0.64 and sim["pairs"] == 90
    assert study["sft"]["test"]["mean"] == 0.5
    assert (
        "| rlvr | oracle reward | 100.0% | - | +20.0 [" in md
        and "| rlaif-sim70 | fake | 71.0% | 64.0% |" in md
    )
    assert (tmp_path / "labeler_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_study_of_a_run_without_evaluations_says_so_without_failing(tmp_path):
    md = write_study(tmp_path, ["rlhf"]).read_text()
    assert "| rlhf | - | - | - | - | - |" in md and not (tmp_path / "labeler_curve.png").exists()


def test_demo_until_stops_every_arm_after_that_stage_and_keeps_earlier_arms_in_the_study(tmp_path):
    from rlaif.demo import _other_arms, _until, arm_plan

    assert _until(arm_plan("rlaif-sim78", False, "x")[1], "rm") == ["label", "rm"]
    assert _until(arm_plan("rlhf", False, "x")[1], "label") == ["label"]
    assert _until(arm_plan("rlvr", False, "x")[1], "rm") == []  # no preferences to measure
    assert _until(arm_plan("d-rlaif", False, "x")[1], "") == ["rl"]
    for arm in ("rlvr", "rlhf", "notes"):
        (tmp_path / "arms" / arm).mkdir(parents=True)
    assert _other_arms(tmp_path, ["rlaif-sim62"]) == ["rlhf", "rlvr"]  # not the unknown folder
    assert _other_arms(tmp_path, ["rlhf"]) == ["rlvr"]


def test_rl_curves_read_the_oracle_whether_it_was_the_reward_or_only_logged(tmp_path):
    from rlaif.evaluation.study import moving_average, oracle_per_step

    assert moving_average([1.0, 0.0, 1.0, 1.0], 2) == [1.0, 0.5, 0.5, 1.0]
    for arm, key in (("rlvr", "reward/oracle"), ("rlhf", "monitor/oracle")):
        d = tmp_path / "arms" / arm / "rl"
        d.mkdir(parents=True)
        rows = [{"step": i + 1, key: i / 10, "reward/mean": 5.0} for i in range(12)]
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    assert oracle_per_step(tmp_path / "arms" / "rlhf" / "rl" / "metrics.jsonl")[:2] == [(1, 0.0), (2, 0.1)]
    assert oracle_per_step(tmp_path / "nowhere.jsonl") == []
    md = write_study(tmp_path, ["rlvr", "rlhf", "rlaif-sim70"]).read_text()  # sim70: no RL run, no line
    assert "rl_curves.png" in md and (tmp_path / "rl_curves.png").read_bytes()[:4] == b"\x89PNG"
