"""Bad input a new user would give: each answered by one clear line and a non-zero exit, never a
traceback, and nothing already computed is touched.

The CLI is called in-process (`rlaif.cli.main`), so an uncaught exception fails the test outright
instead of hiding in a subprocess's stderr; one subprocess case checks the real entry point."""

import json
import socket
import subprocess
import sys
import time

import pytest
from conftest import write_jsonl

from rlaif.cli import main


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_model):
    d = tmp_path_factory.mktemp("bad")
    files = {"dir": d, "model": tiny_model}
    files["prefs"] = write_jsonl(d / "prefs.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}] * 3)
    (d / "malformed.jsonl").write_text('{"prompt": "p", "output": "o"}\n{"prompt": "p", "output": \n')
    (d / "empty.jsonl").write_text("")
    write_jsonl(d / "nooutput.jsonl", [{"prompt": "p"}])
    (d / "bad.yaml").write_text("sft: [unclosed\n")
    (d / "notmodel.txt").write_text("just text\n")
    # a finished stage that no bad command may disturb
    done = d / "run" / "sft"
    done.mkdir(parents=True)
    (done / "manifest.json").write_text(json.dumps({"stage": "sft", "status": "complete"}))
    files["out"] = d / "run"
    return files


def _listening_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# (what the user did, argv from the env fixture, a phrase the one-line answer must contain)
CASES = [
    ("rl.algo typo", lambda e: ["rl", "--rl.algo=foo"], "'rl.algo' must be one of a2c, ppo, rloo"),
    ("rl.critic typo", lambda e: ["rl", "--rl.critic=both"], "'rl.critic' must be one of separate, shared"),
    ("rl.rollout typo", lambda e: ["rl", "--rl.rollout=vllm"], "'rl.rollout' must be one of hf, openai"),
    ("rl.kl_estimator typo", lambda e: ["rl", "--rl.kl_estimator=k4"], "'rl.kl_estimator' must be one of"),
    (
        "rl.weight_sync typo",
        lambda e: ["rl", "--rl.weight_sync=nccl"],
        "'rl.weight_sync' must be one of none, vllm",
    ),
    ("label.backend typo", lambda e: ["label", "--label.backend=gpt"], "'label.backend' must be one of hf"),
    ("label.mode typo", lambda e: ["label", "--label.mode=pairs"], "'label.mode' must be one of pairwise"),
    ("label.orders typo", lambda e: ["label", "--label.orders=two"], "'label.orders' must be one of both"),
    (
        "label.postprocess typo",
        lambda e: ["label", "--label.postprocess=typo"],
        "'label.postprocess' must be one of none, temperature, threshold, hard",
    ),
    (
        "label.preamble neither name nor file",
        lambda e: ["label", "--label.preamble=fancy"],
        "'label.preamble' must be one of base, detailed, openai, or an existing file",
    ),
    ("rm.loss typo", lambda e: ["rm", "--rm.loss=bt"], "'rm.loss' must be one of soft, hard"),
    ("eval.judges typo", lambda e: ["eval", "--eval.judges=[oracle, gpt4]"], "'eval.judges' must be one of"),
    ("model.dtype typo", lambda e: ["sft", "--model.dtype=fp8"], "'model.dtype' must be one of auto, bf16"),
    ("greedy RL rollouts", lambda e: ["rl", "--rl.temperature=0"], "RL needs sampled rollouts"),
    ("RLOO with one sample", lambda e: ["rl", "--rl.algo=rloo", "--rl.n=1"], "rloo needs rl.n >= 2"),
    (
        "unknown reward source",
        lambda e: ["rl", "--rl.rewards=[{source: rmm}]"],
        "unknown reward source 'rmm'",
    ),
    (
        "unknown reward option",
        lambda e: ["rl", "--rl.rewards=[{source: rm, pathh: x}]"],
        "reward source 'rm' has no option 'pathh'",
    ),
    (
        "bad d-RLAIF labeler option",
        lambda e: ["rl", "--rl.rewards=[{source: direct, backend: gpt}]"],
        "'rl.rewards[0].backend' must be one of",
    ),
    (
        "eval.labeler unknown key",
        lambda e: ["eval", "--eval.labeler={backendd: openai}"],
        "unknown key 'eval.labeler.backendd'",
    ),
    ("unknown key", lambda e: ["sft", "--sft.lrr=1e-4"], "unknown key 'sft.lrr'"),
    ("wrong type", lambda e: ["sft", "--sft.epochs=many"], "'sft.epochs' must be float"),
    (
        "missing config file",
        lambda e: ["sft", "--config", str(e["dir"] / "nope.yaml")],
        "config file not found",
    ),
    ("malformed YAML", lambda e: ["sft", "--config", str(e["dir"] / "bad.yaml")], "not valid YAML"),
    (
        "missing data file",
        lambda e: [
            "sft",
            f"--out={e['out']}-x",
            f"--model.name={e['model']}",
            f"--sft.data={e['dir'] / 'nope.jsonl'}",
        ],
        "nope.jsonl",
    ),
    (
        "malformed JSONL",
        lambda e: [
            "sft",
            f"--out={e['out']}-x",
            f"--model.name={e['model']}",
            f"--sft.data={e['dir'] / 'malformed.jsonl'}",
        ],
        "malformed.jsonl:2",
    ),
    (
        "empty record file",
        lambda e: [
            "sft",
            f"--out={e['out']}-x",
            f"--model.name={e['model']}",
            f"--sft.data={e['dir'] / 'empty.jsonl'}",
        ],
        "empty.jsonl",
    ),
    (
        "missing field",
        lambda e: [
            "sft",
            f"--out={e['out']}-x",
            f"--model.name={e['model']}",
            f"--sft.data={e['dir'] / 'nooutput.jsonl'}",
        ],
        "field 'output' is missing",
    ),
    (
        "spider folder that does not exist",
        lambda e: [
            "sft",
            f"--out={e['out']}-x",
            f"--model.name={e['model']}",
            f"--task=spider:{e['dir'] / 'nospider'}",
        ],
        "nospider",
    ),
    ("unknown task", lambda e: ["sft", f"--out={e['out']}-x", "--task=sql2text"], "unknown task 'sql2text'"),
    (
        "policy folder that does not exist",
        lambda e: ["rl", f"--out={e['out']}-x", f"--rl.policy={e['dir'] / 'no' / 'policy'}"],
        "no such folder",
    ),
    (
        "eval policy that is not a model",
        lambda e: [
            "eval",
            f"--out={e['out']}-x",
            "--eval.limit=2",
            f"--eval.policies={{a: {e['dir'] / 'notmodel.txt'}}}",
        ],
        "notmodel.txt",
    ),
    (
        "label with no samples yet",
        lambda e: ["label", f"--out={e['out']}-x", "--label.backend=fake"],
        "run `rlaif sample` first",
    ),
    (
        "rm with no labels yet",
        lambda e: ["rm", f"--out={e['out']}-x", f"--model.name={e['model']}"],
        "comparisons.jsonl",
    ),
    (
        "labeler server not running",
        lambda e: [
            "label",
            f"--out={e['out']}-x",
            f"--label.input={e['prefs']}",
            "--label.backend=openai",
            "--label.model=m",
            "--label.cache=off",
            "--label.openai.api_key_env=none",
            f"--label.openai.base_url=http://127.0.0.1:{_closed_port()}/v1",
        ],
        "refused the connection: is it running?",
    ),
    (
        "rm serve without a model",
        lambda e: ["rm", "serve", f"--out={e['out']}-x", "--rm.port=0"],
        "no reward model to serve",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, env, capsys):
    _, argv, phrase = case
    before = (env["out"] / "sft" / "manifest.json").read_text()
    t0 = time.time()
    code = main(argv(env))
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert phrase in err, err
    assert (env["out"] / "sft" / "manifest.json").read_text() == before
    assert time.time() - t0 < 60  # fails fast: no minutes of retries


def test_ports_in_use_for_both_servers(env, capsys):
    s, port = _listening_port()
    try:
        ckpt = env["dir"] / "rm_ckpt"
        ckpt.mkdir(exist_ok=True)
        assert main(["rm", "serve", f"--rm.port={port}", f"--rm.serve_model={ckpt}"]) == 1
        assert f"127.0.0.1:{port} is already in use" in capsys.readouterr().err
        assert main(["annotate", "serve", "--db", str(env["dir"] / "x.db"), "--port", str(port)]) == 1
        err = capsys.readouterr().err
        assert f"127.0.0.1:{port} is already in use" in err and len(err.strip().splitlines()) == 1
    finally:
        s.close()


def test_the_installed_entry_point_answers_in_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "rlaif", "rl", "--rl.algo=foo"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "rlaif rl: config error: command-line flags: 'rl.algo' must be one of a2c, ppo, rloo; got 'foo'"
    )
