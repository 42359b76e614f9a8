"""End to end on the bundled SmolLM2: SFT, then RL with the text2sql execution oracle.

Short form (default, CI): a few SFT and RL steps on a handful of prompts; the whole path runs on the
real model and task (oracle reward, checkpoints, export) and execution accuracy is measured before
and after. Full form (RLAIF_FULL=1): SFT on the sft split, RL on the rl split, and execution accuracy
on the test split must rise."""

import json

import pytest
from conftest import FULL

pytestmark = pytest.mark.slow


def execution_accuracy(model_path: str, records: list[dict], max_new_tokens: int) -> float:
    """Greedy outputs of `model_path` on `records`, scored by the task oracle."""
    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer, render_prompt
    from rlaif.generation import generate_texts
    from rlaif.tasks import get_task

    tok = load_tokenizer(model_path)
    # fp32 weights under bf16 autocast: on this CPU much faster than bf16 weights for generate()
    model = load_causal_lm(ModelConfig(name=model_path, dtype="fp32"))
    texts = [render_prompt(tok, r["prompt"]) for r in records]
    outs = []
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for k in range(0, len(texts), 8):
            outs += [g[0] for g in generate_texts(model, tok, texts[k : k + 8], 1, 0.0, 1.0, max_new_tokens)]
    return get_task("text2sql").evaluate(records, outs)["execution_accuracy"]


def test_text2sql_sft_then_rl_raises_execution_accuracy(tmp_path):
    from rlaif.core.config import load_config
    from rlaif.stages import run_stage
    from rlaif.tasks import get_task

    if FULL:
        sft = {"epochs": 1, "batch_size": 8, "lr": 1e-4, "max_length": 640}
        rl = {
            "steps": 60,
            "batch_size": 8,
            "algo": "rloo",
            "n": 4,
            "lr": 2e-6,
            "max_new_tokens": 64,
            "micro_batch_size": 16,
            "save_every": 20,
        }
        test = get_task("text2sql").records("test")
    else:
        # a few hundred tokens per sequence (the schema is in the prompt): keep the short form tiny
        sft = {"limit": 4, "max_steps": 1, "batch_size": 2, "lr": 1e-4, "max_length": 640}
        rl = {
            "steps": 2,
            "batch_size": 1,
            "algo": "rloo",
            "n": 2,
            "lr": 1e-6,
            "max_new_tokens": 16,
            "limit": 4,
        }
        test = get_task("text2sql").records("test")[:2]
    cfg = load_config(
        None,
        {
            "out": str(tmp_path),
            "task": "text2sql",
            "sft": sft,
            "rl": rl | {"rewards": [{"source": "oracle"}]},
        },
    )
    sft_dir = run_stage("sft", cfg)
    rl_dir = run_stage("rl", cfg)
    rows = [json.loads(x) for x in (rl_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == cfg.rl.steps and all(0.0 <= r["reward/oracle"] <= 1.0 for r in rows)
    before = execution_accuracy(str(sft_dir / "checkpoint"), test, cfg.rl.max_new_tokens)
    after = execution_accuracy(str(rl_dir / "checkpoint"), test, cfg.rl.max_new_tokens)
    summary = {
        "n_test": len(test),
        "sft_accuracy": before,
        "rl_accuracy": after,
        "reward_first": rows[0]["reward/mean"],
        "reward_last": rows[-1]["reward/mean"],
        "rl": json.loads((rl_dir / "manifest.json").read_text())["results"],
    }
    print("E2E", json.dumps(summary, default=str))
    (tmp_path / "e2e.json").write_text(json.dumps(summary, indent=2, default=str))
    if FULL:
        assert after > before, summary
