"""The CLI end to end through subprocesses, as a user runs it."""

import json
import os
import subprocess
import sys

import pytest
from conftest import FULL, write_jsonl


def rlaif(*args, check=True, env=None):
    r = subprocess.run(
        [sys.executable, "-m", "rlaif", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    if check and r.returncode != 0:
        raise AssertionError(f"rlaif {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}")
    return r


def test_help_lists_stages_and_every_option():
    out = rlaif("--help").stdout
    assert "sft" in out and "sample" in out
    out = rlaif("sample", "--help").stdout
    for key in ("sample.n", "sample.temperature", "model.name", "model.lora.r", "--force"):
        assert key in out
    assert "[default: 2]" in out  # sample.n's default is shown


def test_bad_config_and_unknown_stage_are_clear_errors(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("sampel:\n  n: 2\n")
    r = rlaif("sample", "--config", f, check=False)
    assert r.returncode == 2 and "unknown key 'sampel'" in r.stderr and "c.yaml" in r.stderr
    r = rlaif("nonsense", check=False)
    assert r.returncode == 2 and "unknown command" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n')
    r = rlaif("sft", f"--out={tmp_path}", f"--sft.data={bad}", check=False)
    assert r.returncode == 1 and "bad.jsonl:1: field 'output' is missing" in r.stderr


def test_sft_then_sample_through_the_cli(tiny_model, sft_file, tmp_path):
    cfg = tmp_path / "pipe.yaml"
    cfg.write_text(
        f"out: {tmp_path / 'run'}\nmodel:\n  name: {tiny_model}\n"
        f"sft:\n  data: {sft_file}\n  max_steps: 2\n  batch_size: 4\n"
        f"sample:\n  prompts: {sft_file}\n  n: 2\n  max_new_tokens: 6\n"
    )
    rlaif("sft", "--config", cfg)
    assert (tmp_path / "run" / "sft" / "checkpoint" / "config.json").exists()
    r = rlaif("sample", "--config", cfg, "--sample.limit", "5")
    rows = [json.loads(x) for x in (tmp_path / "run" / "sample" / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and all(len(x["completions"]) == 2 for x in rows)
    man = json.loads((tmp_path / "run" / "sample" / "manifest.json").read_text())
    assert man["inputs"]["model"]["path"].endswith("sft/checkpoint")  # read the previous stage
    r = rlaif("sample", "--config", cfg, "--sample.limit", "5")
    assert "already complete" in r.stdout
    r = rlaif("sample", "--config", cfg, "--sample.limit", "6", check=False)
    assert r.returncode == 1 and "--force" in r.stderr
    rlaif("sample", "--config", cfg, "--sample.limit", "6", "--force")


@pytest.mark.slow
def test_bundled_smollm2_sft_and_sample(tmp_path):
    """The real bundled model end to end (short form unless RLAIF_FULL=1)."""
    n = 64 if FULL else 8
    rows = [
        {"prompt": f"How many legs do {k} cats have?", "output": f"{k} cats have {4 * k} legs."}
        for k in range(2, 2 + n)
    ]
    data = write_jsonl(tmp_path / "sft.jsonl", rows)
    rlaif(
        "sft",
        f"--out={tmp_path}",
        f"--sft.data={data}",
        f"--sft.max_steps={16 if FULL else 2}",
        "--sft.batch_size=4",
        "--sft.lr=1e-4",
    )
    rlaif(
        "sample",
        f"--out={tmp_path}",
        f"--sample.prompts={data}",
        f"--sample.limit={n if FULL else 4}",
        "--sample.n=2",
        f"--sample.max_new_tokens={32 if FULL else 8}",
    )
    sft = json.loads((tmp_path / "sft" / "manifest.json").read_text())["results"]
    assert sft["model"]["parameters"] > 100e6
    out = [json.loads(x) for x in (tmp_path / "sample" / "samples.jsonl").read_text().splitlines()]
    assert all(len(r["completions"]) == 2 and all(c.strip() for c in r["completions"]) for r in out)
    if FULL:
        assert sft["last_loss"] < sft["first_loss"]
