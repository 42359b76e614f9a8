"""The rl stage on a tiny model: learning for each algorithm, resume, guard rails, LoRA reference."""

import json
import math

import pytest
import torch

from rlaif.config import load_config
from rlaif.stages import run_stage
from rlaif.stages import rl as rl_mod


def vowel_count(prompts, completions, **kw):
    """'Prefer token X': more vowel characters, more reward (a random tiny model emits ~3 in 12 tokens)."""
    return [float(sum(ch in "aeiou" for ch in c)) for c in completions]


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)  # model.threads=1 below is process-wide: give the other tests theirs back


@pytest.fixture
def prompts(tmp_path):
    f = tmp_path / "prompts.jsonl"
    f.write_text("".join(json.dumps({"prompt": f"Question {i}: the cat" + " sat" * (i % 3), "id": i}) + "\n"
                         for i in range(16)))
    return str(f)


def _cfg(out, model, prompts, reward=vowel_count, **rl):
    # threads=1: tiny matmuls are far faster single-threaded, above all on a loaded 2-core machine
    rl = {"prompts": prompts, "steps": 20, "batch_size": 4, "lr": 1e-2, "max_new_tokens": 12,
          "save_every": 0, "rewards": [{"source": "python", "function": reward}]} | rl
    return load_config(None, {"out": str(out), "model": {"name": model, "dtype": "fp32", "threads": 1}, "rl": rl})


def _metrics(out):
    return [json.loads(x) for x in (out / "rl" / "metrics.jsonl").read_text().splitlines()]


def _mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


@pytest.mark.parametrize("algo", ["a2c", "ppo", "rloo"])
def test_reward_rises_with_bounded_kl(tiny_model, prompts, tmp_path, algo):
    extra = {"epochs": 2, "mini_batches": 2} if algo == "ppo" else {}
    out = run_stage("rl", _cfg(tmp_path, tiny_model, prompts, algo=algo, **extra))
    rows = _metrics(tmp_path)
    assert len(rows) == 20 and rows[0]["kl/mean"] == 0.0  # the reference is exactly the initial policy
    assert _mean(rows[-5:], "reward/mean") > 2 * _mean(rows[:5], "reward/mean")
    # the KL-penalised objective rises too: reward is not bought with an unbounded KL
    assert _mean(rows[-5:], "objective/mean") > _mean(rows[:5], "objective/mean") + 1.0
    assert all(math.isfinite(r["kl/mean"]) for r in rows)
    assert ("policy/clipfrac" in rows[-1]) == (algo == "ppo") and ("loss/value" in rows[-1]) == (algo != "rloo")
    assert (out / "checkpoint" / "config.json").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(next(folder.glob("*.safetensors"))))


def test_resume_gives_the_same_steps_as_an_unbroken_run(tiny_model, prompts, tmp_path, monkeypatch):
    kw = dict(algo="a2c", steps=4, save_every=2)
    run_stage("rl", _cfg(tmp_path / "a", tiny_model, prompts, **kw))
    real_step = rl_mod.Trainer.step

    def dying_step(self, engine, idx, texts, step):
        if step == 3:
            raise KeyboardInterrupt  # killed after step 3 ran but before its checkpoint
        return real_step(self, engine, idx, texts, step)

    monkeypatch.setattr(rl_mod.Trainer, "step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run_stage("rl", _cfg(tmp_path / "b", tiny_model, prompts, **kw))
    assert len(_metrics(tmp_path / "b")) == 3 and rl_mod.checkpoints(tmp_path / "b" / "rl")[-1].name == "step-000002"
    monkeypatch.setattr(rl_mod.Trainer, "step", real_step)
    run_stage("rl", _cfg(tmp_path / "b", tiny_model, prompts, **kw))
    a, b = _metrics(tmp_path / "a"), _metrics(tmp_path / "b")
    strip = [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in a], \
            [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in b]
    assert strip[0] == strip[1]  # steps 3 and 4 identical, number for number
    wa, wb = _weights(tmp_path / "a" / "rl" / "checkpoint"), _weights(tmp_path / "b" / "rl" / "checkpoint")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert json.loads((tmp_path / "b" / "rl" / "manifest.json").read_text())["results"]["resumed_from"] == 2


def test_nan_reward_stops_and_keeps_the_last_good_checkpoint(tiny_model, prompts, tmp_path):
    calls = []

    def flaky(prompts, completions, **kw):
        calls.append(1)
        return [float("nan") if len(calls) == 3 else 1.0 for _ in completions]

    with pytest.raises(rl_mod.NonFiniteError, match="step 2: reward source 'python' returned nan"):
        run_stage("rl", _cfg(tmp_path, tiny_model, prompts, flaky, steps=5, save_every=1))
    assert [p.name for p in rl_mod.checkpoints(tmp_path / "rl")] == ["step-000002"]


def test_missing_eos_penalty_and_adaptive_kl(tiny_model, prompts, tmp_path):
    def zero(prompts, completions, **kw):
        return [0.0] * len(completions)

    run_stage("rl", _cfg(tmp_path, tiny_model, prompts, zero, steps=3, missing_eos_penalty=1.0,
                         max_new_tokens=4, kl_target=0.01, kl_horizon=10))
    rows = _metrics(tmp_path)
    assert all(math.isclose(r["reward/mean"], -r["response/no_eos"], abs_tol=1e-6) for r in rows)
    assert rows[0]["response/no_eos"] > 0
    assert rows[0]["kl/coef"] == 0.05 and rows[-1]["kl/coef"] != 0.05  # the controller moved beta


def _trainer(cfg, model):
    from rlaif.models import load_tokenizer
    from rlaif.rewards import build_rewards
    from rlaif.tasks import resolve_records
    from rlaif.training import accelerator

    records, _ = resolve_records(cfg.rl.prompts, "prompt", cfg.task, "rl")
    tok = load_tokenizer(model)
    return rl_mod.Trainer(cfg, model, records, build_rewards(cfg.rl.rewards, cfg), accelerator(0, cfg.model), tok), records


@pytest.mark.parametrize("critic", ["separate", "shared"])
def test_one_step_changes_every_trainable_parameter(tiny_model, prompts, tmp_path, critic):
    from rlaif.models import render_prompt

    cfg = _cfg(tmp_path, tiny_model, prompts, algo="a2c", critic=critic, steps=1)
    tr, records = _trainer(cfg, tiny_model)
    before = {n: p.detach().clone() for n, p in
              list(tr.policy.named_parameters()) + [("head." + k, v) for k, v in tr.value_head.named_parameters()]}
    texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
    metrics, samples = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3], texts, 0)
    after = dict(list(tr.policy.named_parameters()) + [("head." + k, v) for k, v in tr.value_head.named_parameters()])
    unchanged = [n for n in before if torch.equal(before[n], after[n])]
    assert unchanged == []
    assert (tr.critic_lm is None) == (critic == "shared")
    assert len(samples) == 2 and metrics["loss/value"] > 0 and metrics["policy/entropy"] > 0


def test_lora_reference_is_the_policy_with_adapters_off(tiny_model, prompts, tmp_path):
    cfg = _cfg(tmp_path, tiny_model, prompts, algo="rloo", n=2, steps=3, lr=5e-3)
    cfg.model.lora.enabled, cfg.model.lora.target_modules = True, ["q_proj", "v_proj"]
    tr, _ = _trainer(cfg, tiny_model)
    assert tr.ref is None  # no second copy of the weights
    assert {n for n, p in tr.policy.named_parameters() if p.requires_grad} and all(
        "lora_" in n for n, p in tr.policy.named_parameters() if p.requires_grad)
    out = run_stage("rl", cfg)
    rows = _metrics(tmp_path)
    assert rows[0]["kl/mean"] == 0.0 and rows[-1]["kl/mean"] != 0.0
    assert (out / "checkpoint" / "config.json").exists()  # merged: loadable without peft
    w0, w1 = _weights(__import__("pathlib").Path(tiny_model)), _weights(out / "checkpoint")
    assert any(not torch.equal(w0[k], w1[k]) for k in w0 if k in w1)


def test_cli_rl_with_a_module_reward(tiny_model, prompts, tmp_path, monkeypatch, capsys):
    from rlaif.cli import main

    (tmp_path / "my_reward.py").write_text("def short(prompts, completions, **kw):\n"
                                           "    return [-len(c) / 10 for c in completions]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["rl", "--help"]) == 0
    assert "rl.algo" in capsys.readouterr().out
    rc = main(["rl", f"--out={tmp_path}/run", f"--model.name={tiny_model}", "--model.threads=1", "--model.dtype=fp32",
               f"--rl.prompts={prompts}", "--rl.steps=2", "--rl.batch_size=2", "--rl.max_new_tokens=6",
               "--rl.algo=rloo", "--rl.rewards=[{source: python, function: 'my_reward:short', weight: 2}]"])
    assert rc == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and math.isclose(rows[0]["reward/mean"], 2 * rows[0]["reward/python"], rel_tol=1e-5)


@pytest.mark.parametrize("algo", ["a2c", "rloo"])
def test_fused_pass_gives_the_same_update_as_a_separate_scoring_pass(tiny_model, prompts, tmp_path, algo):
    from rlaif.models import render_prompt

    weights, logs = [], []
    for fused in (True, False):
        cfg = _cfg(tmp_path / str(fused), tiny_model, prompts, algo=algo, fused=fused, steps=1, micro_batch_size=4)
        tr, records = _trainer(cfg, tiny_model)
        assert tr.fused == fused
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        m, _ = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3], texts, 0)
        weights.append({n: p.detach().clone() for n, p in tr.policy.named_parameters()})
        logs.append(m)
    assert all(torch.allclose(weights[0][k], weights[1][k], atol=1e-6, rtol=1e-5) for k in weights[0])
    assert math.isclose(logs[0]["loss/policy"], logs[1]["loss/policy"], rel_tol=1e-4, abs_tol=1e-7)
    assert logs[0]["reward/mean"] == logs[1]["reward/mean"] and logs[0]["kl/mean"] == logs[1]["kl/mean"]
