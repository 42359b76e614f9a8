"""The `eval` stage end to end on a tiny model: outputs, judges, resume, collected stages, report."""

import json
import re
import shutil

import pytest

from rlaif import cli
from rlaif.core.config import load_config
from rlaif.evaluation import evaluate as eval_mod
from rlaif.evaluation import judges as judges_mod
from rlaif.evaluation.report import SECTIONS
from rlaif.stages import run_stage

N = 16


class ToyTask:
    """An oracle that knows the answer: an output is right when it contains the record's `answer`."""

    name, splits = "toy", ("test",)
    capabilities = frozenset({"prefer", "harmless"})  # declared, as every task does (tasks.base)

    oracle_name = "answer found"

    def reward(self, prompts, completions, answer, **kw):
        return [float(str(a) in c) for c, a in zip(completions, answer)]

    def prefer(self, prompt, a, b, answer, **kw):
        ra, rb = str(answer) in a, str(answer) in b
        return None if ra == rb else float(ra)

    def harmless(self, prompts, outputs, **kw):
        return [0.0 if "rude" in o else 1.0 for o in outputs]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    import rlaif.tasks

    monkeypatch.setattr(rlaif.tasks, "get_task", lambda name, **kw: ToyTask())
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(
            json.dumps(
                {"prompt": f"Question {i}: the cat sat" + " on the mat" * (i % 3), "answer": f"zq{i}x"}
            )
            + "\n"
            for i in range(N)
        )
    )
    # a policy whose outputs were made elsewhere: right on 12 of 16 prompts, rude on 2
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": f"Question {i}: the cat sat" + " on the mat" * (i % 3),
                    "completion": (f"It is zq{i}x." if i < 12 else "no idea")
                    + (" rude" if i in (0, 13) else ""),
                }
            )
            + "\n"
            for i in range(N)
        )
    )
    return prompts, gold


def _cfg(tmp, prompts, *extra):
    return load_config(
        None,
        [
            f"out={tmp}",
            "task=toy",
            f"eval.prompts={prompts}",
            "eval.max_new_tokens=6",
            "eval.batch_size=8",
            "eval.bootstrap=300",
            "eval.judge_batch_size=5",
            "label.cache=off",
            "label.progress=false",
            *extra,
        ],
    )


def _results(out):
    return json.loads((out / "results.json").read_text())


def _comp(res, a, b, judge):
    return next(c for c in res["comparisons"] if (c["a"], c["b"], c["judge"]) == (a, b, judge))


def test_policy_against_itself_is_half_and_a_position_bias_is_removed(toy, tiny_model, tmp_path):
    prompts, _ = toy
    common = [
        f"eval.policies={{a: {tiny_model}, b: {tiny_model}}}",
        "eval.temperature=1.0",
        "eval.judges=[labeler]",
        "label.backend=fake",
        "label.fake.position_bias=3.0",
    ]
    res = _results(run_stage("eval", _cfg(tmp_path / "both", prompts, *common)))
    outs = [
        json.loads(x)["completions"][0]
        for x in (tmp_path / "both/eval/outputs/a.jsonl").read_text().splitlines()
    ]
    outs_b = [
        json.loads(x)["completions"][0]
        for x in (tmp_path / "both/eval/outputs/b.jsonl").read_text().splitlines()
    ]
    assert outs != outs_b  # two independent samples of the same policy
    c = _comp(res, "b", "a", "labeler")
    assert c["n"] == N and c["lo"] <= 0.5 <= c["hi"] and abs(c["win_rate"] - 0.5) < 0.25
    # the same labeler in one order only: its slot-1 bias hands every pair to A
    one = _results(run_stage("eval", _cfg(tmp_path / "one", prompts, *common, "label.orders=ab")))
    assert _comp(one, "b", "a", "labeler")["win_rate"] > 0.9


def test_oracle_and_labeler_judges_resume_and_report(toy, tiny_model, tmp_path, monkeypatch):
    prompts, gold = toy
    cfg = _cfg(
        tmp_path,
        prompts,
        f"eval.policies={{tiny: {tiny_model}, gold: {gold}}}",
        "eval.judges=[oracle, labeler]",
        "label.backend=fake",
        "label.fake.accuracy=0.9",
        "label.fake.position_bias=1.0",
        "eval.harmless=task",
    )
    real, calls = judges_mod.judge_pairs, []

    def crashing(judge, prompts, *a, **k):
        calls.append(len(prompts))
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed while judging
        return real(judge, prompts, *a, **k)

    monkeypatch.setattr(judges_mod, "judge_pairs", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_stage("eval", cfg)
    partial = tmp_path / "eval/judgments/oracle/gold__tiny.jsonl"
    assert len(partial.read_text().splitlines()) == 10  # two batches of 5 survived
    calls.clear()
    monkeypatch.setattr(
        judges_mod,
        "judge_pairs",
        lambda judge, prompts, *a, **k: calls.append(len(prompts)) or real(judge, prompts, *a, **k),
    )
    out = run_stage("eval", cfg)
    assert calls[:2] == [5, 1]  # only the remaining 6 oracle judgments were asked for
    res = _results(out)

    pol = {p["name"]: p for p in res["policies"]}
    assert pol["gold"]["oracle"]["mean"] == 0.75 and pol["tiny"]["oracle"]["mean"] == 0.0
    assert pol["gold"]["harmless"]["mean"] == 14 / 16
    oracle = _comp(res, "gold", "tiny", "oracle")
    assert (oracle["wins"], oracle["ties"], oracle["losses"]) == (12, 4, 0) and oracle["win_rate"] == 0.875
    lab = res["labeler_on_eval"]["labeler"]
    assert lab["n"] == 12 and lab["alignment"] >= 0.75  # a 90% fake labeler, on the pairs the oracle decides
    assert "same_position" in lab
    assert res["stages"]["rm"]["this run"]["missing"] and res["stages"]["rl"]["missing"]
    html = (out / "report.html").read_text()
    assert re.findall(r'<section id="([^"]+)"', html) == [s for s, _ in SECTIONS]
    assert "could not be rendered" not in html and "answer found" in html
    assert "gold vs tiny" in (out / "summary.md").read_text()
    assert run_stage("eval", cfg) == out  # complete: skipped, not recomputed


def test_default_policies_from_the_run_folder_through_the_cli(toy, tiny_model, tmp_path, capsys):
    prompts, _ = toy
    shutil.copytree(tiny_model, tmp_path / "sft" / "checkpoint")
    (tmp_path / "sft" / "manifest.json").write_text(json.dumps({"stage": "sft", "status": "complete"}))
    rl = tmp_path / "rl"
    shutil.copytree(tiny_model, rl / "checkpoint")
    (rl / "manifest.json").write_text(json.dumps({"stage": "rl", "status": "complete"}))
    (rl / "metrics.jsonl").write_text(
        "".join(json.dumps({"step": s, "reward/mean": s / 10, "kl/mean": s / 50}) + "\n" for s in range(1, 6))
    )
    argv = [
        "eval",
        f"--out={tmp_path}",
        "--task=toy",
        f"--eval.prompts={prompts}",
        "--eval.max_new_tokens=4",
        "--eval.bootstrap=200",
        "--eval.title=CLI run",
    ]
    assert cli.main(argv) == 0
    res = _results(tmp_path / "eval")
    assert [p["name"] for p in res["policies"]] == ["sft", "rl"] and res["baseline"] == "sft"
    assert _comp(res, "rl", "sft", "oracle")["win_rate"] == 0.5  # same weights, greedy: all ties
    run = res["stages"]["rl"]["runs"][0]
    assert run["name"] == "rl" and run["series"]["reward"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert "CLI run" in (tmp_path / "eval" / "report.html").read_text()


def test_policy_specs_resolve(tmp_path, tiny_model):
    stage = tmp_path / "runA" / "rl"
    shutil.copytree(tiny_model, stage / "checkpoint-40")
    shutil.copytree(tiny_model, stage / "checkpoint-120")
    (stage / "manifest.json").write_text("{}")
    p = eval_mod.resolve_policy("x", str(tmp_path / "runA"))
    assert p.model.endswith("checkpoint-120") and p.stage_dir == stage and p.root == tmp_path / "runA"
    assert eval_mod.resolve_policy("h", "HuggingFaceTB/SmolLM2-135M").model == "HuggingFaceTB/SmolLM2-135M"
    with pytest.raises(FileNotFoundError):
        eval_mod.resolve_policy("bad", str(tmp_path))
    assert eval_mod.pairs_to_judge(["s", "a", "b"], "s", True) == [("a", "s"), ("b", "s"), ("a", "b")]
    assert eval_mod.pairs_to_judge(["s", "a", "b"], "s", False) == [("a", "s"), ("b", "s")]


def test_eval_stride_takes_an_even_spread_then_the_limit(tmp_path):
    from rlaif.core.config import load_config
    from rlaif.evaluation.evaluate import eval_records

    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps({"prompt": f"q{i}"}) + "\n" for i in range(10)))
    cfg = load_config(None, {"out": str(tmp_path), "eval": {"prompts": str(f), "stride": 3}})
    assert [r["prompt"] for r in eval_records(cfg)[0]] == ["q0", "q3", "q6", "q9"]
    cfg.eval.limit = 2
    assert [r["prompt"] for r in eval_records(cfg)[0]] == ["q0", "q3"]
    cfg.eval.stride = 1
    assert [r["prompt"] for r in eval_records(cfg)[0]] == ["q0", "q1"]
