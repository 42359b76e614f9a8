"""`rlaif run` (the whole chain from one YAML) and `rlaif demo` on tiny models, through the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _pipeline_yaml(tmp_path, tiny_model) -> Path:
    cfg = tmp_path / "pipe.yaml"
    cfg.write_text(f"""
out: {tmp_path / "run"}
task: text2sql
model: {{name: {tiny_model}, dtype: fp32}}
sft: {{limit: 8, batch_size: 4}}
sample: {{limit: 8, n: 2, max_new_tokens: 8}}
label: {{backend: fake, fake: {{accuracy: 0.8, position_bias: 1.0}}}}
rm: {{batch_size: 4, max_length: 2048}}
rl: {{steps: 2, batch_size: 2, max_new_tokens: 8, rewards: [{{source: rm}}]}}
eval: {{limit: 4, max_new_tokens: 8, judges: [oracle]}}
""")
    return cfg


def _manifest(folder: Path) -> dict:
    f = folder / "manifest.json"
    return json.loads(f.read_text()) if f.exists() else {}


def test_run_whole_pipeline_resumes_after_kill(tiny_model, tmp_path):
    cfg = _pipeline_yaml(tmp_path, tiny_model)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "rlaif", "run", str(cfg)]
    # 1. start, and kill it (SIGKILL: no clean-up) as soon as the sample stage is complete
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while (
        _manifest(run / "sample").get("status") != "complete"
        and proc.poll() is None
        and time.time() < deadline
    ):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _manifest(run / "sft").get("status") == "complete"
    sample_time = (run / "sample" / "manifest.json").stat().st_mtime
    # 2. the same command again continues: finished stages are skipped, the rest run
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sft: already complete" in r.stdout and "sample: already complete" in r.stdout
    assert (run / "sample" / "manifest.json").stat().st_mtime == sample_time  # not recomputed
    for stage in ("sft", "sample", "label", "rm", "rl", "eval"):
        assert _manifest(run / stage).get("status") == "complete", stage
    comps = [json.loads(x) for x in (run / "label" / "comparisons.jsonl").read_text().splitlines()]
    assert len(comps) == 8 and all(0 <= c["p_a"] <= 1 for c in comps)
    assert (run / "eval" / "report.html").read_text().count("<section") >= 5
    # 3. and once more: nothing to do
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0 and r.stdout.count("already complete") == 6


def _jsonl(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_demo_quick_on_a_tiny_model(tiny_model, tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlaif",
            "demo",
            "--quick",
            "--out",
            str(out),
            "--arms",
            "rlvr,rlaif-sim78",
            f"--model.name={tiny_model}",
            "--model.dtype=fp32",
            "--sft.limit=8",
            "--sample.limit=8",
            "--rl.steps=1",
            "--rl.batch_size=2",
            "--eval.limit=4",
            "--sample.max_new_tokens=8",
            "--rl.max_new_tokens=8",
            "--eval.max_new_tokens=8",
            "--rm.max_length=2048",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    for folder, n in ((out / "eval", 4), (out / "heldout" / "eval", 4)):  # unseen questions; unseen databases
        results = json.loads((folder / "results.json").read_text())
        assert [p["name"] for p in results["policies"]] == ["sft", "rlvr", "rlaif-sim78"]
        assert [d["policy"] for d in results["paired"]] == ["rlvr", "rlaif-sim78"]
        assert results["prompts"]["n"] == n
    db = lambda r: r["prompt"].split("Database ", 1)[1].split(" ", 1)[0]  # noqa: E731
    heldout_dbs = {db(r) for r in _jsonl(out / "heldout" / "eval" / "outputs" / "sft.jsonl")}
    test_dbs = {db(r) for r in _jsonl(out / "eval" / "outputs" / "sft.jsonl")}
    assert heldout_dbs and test_dbs and not heldout_dbs & test_dbs
    assert _manifest(out / "arms" / "rlaif-sim78" / "rl")["status"] == "complete"
    assert _manifest(out / "arms" / "rlvr" / "rl")["config"]["rl"]["rewards"] == [{"source": "oracle"}]
    study = json.loads((out / "study.json").read_text())
    assert [r["arm"] for r in study["arms"]] == ["rlvr", "rlaif-sim78"]
    sim = study["arms"][1]
    assert sim["labeler"] == "fake" and sim["test"]["n"] == 4 and sim["heldout"]["n"] == 4
    assert "| rlaif-sim78 | fake |" in (out / "study.md").read_text()
    assert _manifest(out / "arms" / "rlaif-sim78" / "label")["config"]["label"]["fake"]["accuracy"] == 0.78


def test_reruns_follow_the_inputs_downstream_only(tiny_model, tmp_path, capsys):
    """Change nothing: everything skips. Change an unrelated section: nothing reruns. Change an upstream
    output (the labels): exactly the stages downstream of it rerun, each saying why."""
    from rlaif.core.config import load_config
    from rlaif.pipeline import run_pipeline

    yaml_file = _pipeline_yaml(tmp_path, tiny_model)
    run = tmp_path / "run"
    stages = ("sft", "sample", "label", "rm", "rl", "eval")
    run_pipeline(load_config(yaml_file))

    def started():
        return {s: _manifest(run / s)["started"] for s in stages}

    first = started()
    capsys.readouterr()
    run_pipeline(load_config(yaml_file))
    assert started() == first and capsys.readouterr().out.count("already complete") == 6
    run_pipeline(load_config(yaml_file, ["dpo.lr=0.5"]))  # a section no stage here reads
    assert started() == first and capsys.readouterr().out.count("already complete") == 6
    # flip every label: the RM, the policy trained on it and its evaluation are stale, nothing else
    comps = run / "label" / "comparisons.jsonl"
    rows = [json.loads(x) for x in comps.read_text().splitlines()]
    comps.write_text("".join(json.dumps(r | {"p_a": 1 - r["p_a"]}) + "\n" for r in rows))
    capsys.readouterr()
    run_pipeline(load_config(yaml_file))
    out = capsys.readouterr().out
    now = started()
    assert [s for s in stages if now[s] != first[s]] == ["rm", "rl", "eval"], out
    assert "rm: input data (comparisons.jsonl) changed since the last run; redoing" in out
    assert "rl: input reward:rm (checkpoint) changed" in out
    assert out.count("already complete") == 3


def test_every_stage_runs_on_a_spider_folder_without_extra_flags(tiny_model, tmp_path):
    """`task: spider:PATH` takes the text2sql template, oracle and report wording from the task's kind."""
    from rlaif.core.config import load_config
    from rlaif.pipeline import run_pipeline
    from rlaif.tasks import get_task

    spider = get_task("text2sql").write_spider(tmp_path / "spider")
    cfg = load_config(
        None,
        [
            f"out={tmp_path / 'run'}",
            f"task=spider:{spider}",
            f"model.name={tiny_model}",
            "model.dtype=fp32",
            "sft.limit=4",
            "sft.batch_size=4",
            "sample.limit=4",
            "sample.max_new_tokens=6",
            "label.backend=hf",
            "label.max_length=4096",
            "rm.batch_size=4",
            "rm.max_length=4096",
            "rl.steps=1",
            "rl.batch_size=2",
            "rl.max_new_tokens=6",
            "eval.limit=3",
            "eval.max_new_tokens=6",
            "eval.judges=[oracle, labeler]",
        ],
    )
    dirs = run_pipeline(cfg)
    assert all(_manifest(d).get("status") == "complete" for d in dirs.values())
    report = json.loads((dirs["label"] / "report.json").read_text())
    assert report["pairs"] == 4 and report["template"] == f"spider:{spider}"
    results = json.loads((dirs["eval"] / "results.json").read_text())
    assert results["oracle_name"] == "execution accuracy"
