"""The rl stage on a tiny model: learning for each algorithm, resume, guard rails, LoRA reference."""

import json
import math

import pytest
import torch

from rlaif.core.config import load_config
from rlaif.rl import trainer as rl_mod
from rlaif.stages import run_stage


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
    f.write_text(
        "".join(
            json.dumps({"prompt": f"Question {i}: the cat" + " sat" * (i % 3), "id": i}) + "\n"
            for i in range(16)
        )
    )
    return str(f)


def _cfg(out, model, prompts, reward=vowel_count, **rl):
    # threads=1: tiny matmuls are far faster single-threaded, above all on a loaded 2-core machine
    rl = {
        "prompts": prompts,
        "steps": 20,
        "batch_size": 4,
        "lr": 1e-2,
        "max_new_tokens": 12,
        "save_every": 0,
        "rewards": [{"source": "python", "function": reward}],
    } | rl
    return load_config(
        None, {"out": str(out), "model": {"name": model, "dtype": "fp32", "threads": 1}, "rl": rl}
    )


def _metrics(out):
    return [json.loads(x) for x in (out / "rl" / "metrics.jsonl").read_text().splitlines()]


def _mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


@pytest.mark.parametrize("algo", ["a2c", "ppo", "rloo"])
def test_reward_rises_with_bounded_kl(tiny_model, prompts, tmp_path, algo):
    # a2c's baseline is a critic that starts at V = 0, so it gets as many samples per step as rloo's
    # 4 prompts x 4 (16 prompts x 1). With 4 samples it passed only while log-probs were scored at
    # T = 1 for rollouts sampled at 0.9: that bias sharpened the policy whatever the reward (issue 13)
    extra = {"ppo": {"epochs": 2, "mini_batches": 2}, "a2c": {"batch_size": 16}}.get(algo, {})
    out = run_stage("rl", _cfg(tmp_path, tiny_model, prompts, algo=algo, **extra))
    rows = _metrics(tmp_path)
    assert len(rows) == 20 and rows[0]["kl/mean"] == 0.0  # the reference is exactly the initial policy
    assert _mean(rows[-5:], "reward/mean") > 2 * _mean(rows[:5], "reward/mean")
    # the KL-penalised objective rises too: reward is not bought with an unbounded KL
    assert _mean(rows[-5:], "objective/mean") > _mean(rows[:5], "objective/mean") + 1.0
    assert all(math.isfinite(r["kl/mean"]) for r in rows)
    assert ("policy/clipfrac" in rows[-1]) == (algo == "ppo") and ("loss/value" in rows[-1]) == (
        algo != "rloo"
    )
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
    assert (
        len(_metrics(tmp_path / "b")) == 3
        and rl_mod.checkpoints(tmp_path / "b" / "rl")[-1].name == "step-000002"
    )
    monkeypatch.setattr(rl_mod.Trainer, "step", real_step)
    run_stage("rl", _cfg(tmp_path / "b", tiny_model, prompts, **kw))
    a, b = _metrics(tmp_path / "a"), _metrics(tmp_path / "b")
    strip = (
        [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in a],
        [{k: v for k, v in r.items() if not k.startswith("perf/")} for r in b],
    )
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

    run_stage(
        "rl",
        _cfg(
            tmp_path,
            tiny_model,
            prompts,
            zero,
            steps=3,
            missing_eos_penalty=1.0,
            max_new_tokens=4,
            kl_target=0.01,
            kl_horizon=10,
        ),
    )
    rows = _metrics(tmp_path)
    assert all(math.isclose(r["reward/mean"], -r["response/no_eos"], abs_tol=1e-6) for r in rows)
    assert rows[0]["response/no_eos"] > 0
    assert rows[0]["kl/coef"] == 0.05 and rows[-1]["kl/coef"] != 0.05  # the controller moved beta


def _trainer(cfg, model):
    from rlaif.core.models import load_tokenizer
    from rlaif.core.training import accelerator
    from rlaif.rl.rewards import build_rewards
    from rlaif.tasks import resolve_records

    records, _ = resolve_records(cfg.rl.prompts, "prompt", cfg.task, "rl")
    tok = load_tokenizer(model)
    return rl_mod.Trainer(
        cfg, model, records, build_rewards(cfg.rl.rewards, cfg), accelerator(0, cfg.model), tok
    ), records


@pytest.mark.parametrize("critic", ["separate", "shared"])
def test_one_step_changes_every_trainable_parameter(tiny_model, prompts, tmp_path, critic):
    from rlaif.core.models import render_prompt

    cfg = _cfg(tmp_path, tiny_model, prompts, algo="a2c", critic=critic, steps=1)
    tr, records = _trainer(cfg, tiny_model)
    before = {
        n: p.detach().clone()
        for n, p in list(tr.policy.named_parameters())
        + [("head." + k, v) for k, v in tr.value_head.named_parameters()]
    }
    texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
    metrics, samples = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3], texts, 0)
    after = dict(
        list(tr.policy.named_parameters()) + [("head." + k, v) for k, v in tr.value_head.named_parameters()]
    )
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
        "lora_" in n for n, p in tr.policy.named_parameters() if p.requires_grad
    )
    out = run_stage("rl", cfg)
    rows = _metrics(tmp_path)
    assert rows[0]["kl/mean"] == 0.0 and rows[-1]["kl/mean"] != 0.0
    assert (out / "checkpoint" / "config.json").exists()  # merged: loadable without peft
    w0, w1 = _weights(__import__("pathlib").Path(tiny_model)), _weights(out / "checkpoint")
    assert any(not torch.equal(w0[k], w1[k]) for k in w0 if k in w1)


def test_cli_rl_with_a_module_reward(tiny_model, prompts, tmp_path, monkeypatch, capsys):
    from rlaif.cli import main

    (tmp_path / "my_reward.py").write_text(
        "def short(prompts, completions, **kw):\n    return [-len(c) / 10 for c in completions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["rl", "--help"]) == 0
    assert "rl.algo" in capsys.readouterr().out
    rc = main(
        [
            "rl",
            f"--out={tmp_path}/run",
            f"--model.name={tiny_model}",
            "--model.threads=1",
            "--model.dtype=fp32",
            f"--rl.prompts={prompts}",
            "--rl.steps=2",
            "--rl.batch_size=2",
            "--rl.max_new_tokens=6",
            "--rl.algo=rloo",
            "--rl.rewards=[{source: python, function: 'my_reward:short', weight: 2}]",
        ]
    )
    assert rc == 0
    rows = [json.loads(x) for x in (tmp_path / "run" / "rl" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and math.isclose(rows[0]["reward/mean"], 2 * rows[0]["reward/python"], rel_tol=1e-5)


@pytest.mark.parametrize("algo", ["a2c", "rloo"])
def test_fused_pass_gives_the_same_update_as_a_separate_scoring_pass(tiny_model, prompts, tmp_path, algo):
    from rlaif.core.models import render_prompt

    weights, logs = [], []
    for fused in (True, False):
        cfg = _cfg(
            tmp_path / str(fused), tiny_model, prompts, algo=algo, fused=fused, steps=1, micro_batch_size=4
        )
        tr, records = _trainer(cfg, tiny_model)
        assert tr.fused == fused
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        m, _ = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3], texts, 0)
        weights.append({n: p.detach().clone() for n, p in tr.policy.named_parameters()})
        logs.append(m)
    assert all(torch.allclose(weights[0][k], weights[1][k], atol=1e-6, rtol=1e-5) for k in weights[0])
    assert math.isclose(logs[0]["loss/policy"], logs[1]["loss/policy"], rel_tol=1e-4, abs_tol=1e-7)
    assert logs[0]["reward/mean"] == logs[1]["reward/mean"] and logs[0]["kl/mean"] == logs[1]["kl/mean"]


# --------------------------------------------------------------------------- learning signals


def _scale_logits(model, factor):
    """Every logit times `factor`: the final norm's gain multiplies the hidden state the head reads.
    A random tiny model's logits are ~0.2; scaled, temperature and precision start to matter."""
    with torch.no_grad():
        model.get_decoder().norm.weight.mul_(factor)


def _one_token_rows(tr, prompt_text, tokens):
    """(ids, attn, resp) for the prompt followed by each of `tokens` as a one-token response."""
    from rlaif.core.models import encode_prompt

    p = torch.tensor(encode_prompt(tr.tok, prompt_text))
    resp = torch.as_tensor(tokens).view(-1, 1)
    ids = torch.cat([p.expand(len(resp), -1), resp], 1)
    return ids, torch.ones_like(ids), resp


def test_kl_under_rollouts_is_the_kl_at_the_sampling_temperature(tiny_model, prompts, tmp_path):
    """Monte-Carlo k1 over rollouts sampled at T estimates KL(pi_T || ref_T), the exact value."""
    from rlaif.core.models import render_prompt

    T, N = 0.9, 4000
    cfg = _cfg(
        tmp_path, tiny_model, prompts, algo="rloo", n=2, temperature=T, max_new_tokens=1, micro_batch_size=N
    )
    tr, records = _trainer(cfg, tiny_model)
    _scale_logits(tr.policy, 6 * 0.9)  # the policy's logits are 0.9x the reference's
    _scale_logits(tr.ref, 6)
    text = render_prompt(tr.tok, records[0]["prompt"])
    ro = rl_mod.make_engine(cfg, tr, tiny_model).generate([text], N, seed=0)
    ids = torch.cat([ro.prompt_ids, ro.response_ids[:, :1]], 1)
    old, ref, _ = tr.score(ids, torch.ones_like(ids), ro.response_ids[:, :1], 1)
    k1 = (old - ref)[:, 0]
    mc, se = float(k1.mean()), float(k1.std()) / math.sqrt(N)
    with torch.no_grad():  # the next-token distributions generate() sampled from, at temperature T
        logp = (tr.policy(ro.prompt_ids[:1]).logits[0, -1] / T).log_softmax(-1)
        logq = (tr.ref(ro.prompt_ids[:1]).logits[0, -1] / T).log_softmax(-1)
    exact = float((logp.exp() * (logp - logq)).sum())
    # (scored at T = 1 instead, the estimate is about -0.03 for an exact +0.04: a bonus, not a penalty)
    assert exact > 0.01 and abs(mc - exact) < 4 * se, (mc, exact, se)


def _grad_of(tr, ids, attn, resp, adv):
    """The policy gradient the trainer's update computes for advantages `adv` (no step taken)."""
    grads = []

    def capture(step):
        grads.append(torch.cat([p.grad.flatten() for p in tr.policy_params() if p.grad is not None]))
        tr.opt.zero_grad(set_to_none=True)
        return {}

    tr._opt_step = capture
    old = tr.score(ids, attn, resp, 1)[0]
    mask = torch.ones_like(old)
    tr.update(ids, attn, resp, mask, old, None, adv, None, step=0)
    return grads[0]


def test_a_constant_advantage_has_zero_expected_policy_gradient(tiny_model, prompts, tmp_path):
    """E_{a ~ pi_T}[c * grad log pi(a)] = 0 exactly when pi is scored where it was sampled: computed
    over the whole vocabulary for one step instead of by sampling."""
    from rlaif.core.models import render_prompt

    T = 0.9
    cfg = _cfg(tmp_path, tiny_model, prompts, algo="rloo", n=2, temperature=T, micro_batch_size=1024)
    tr, records = _trainer(cfg, tiny_model)
    _scale_logits(tr.policy, 6)
    V = tr.policy.config.vocab_size
    ids, attn, resp = _one_token_rows(tr, render_prompt(tr.tok, records[0]["prompt"]), range(V))
    with torch.no_grad():  # what generate() samples from at temperature T
        p = (tr.policy(ids[:1, :-1]).logits[0, -1] / T).softmax(-1)
    # update() averages over rows: advantage V * p(a) makes the average the expectation under pi_T
    g = _grad_of(tr, ids, attn, resp, (V * p)[:, None])
    one = torch.zeros(V)
    one[int(p.argmax())] = V
    g_token = _grad_of(tr, ids, attn, resp, one[:, None])  # the gradient of one token's log-prob
    assert float(g.norm()) < 1e-4 * float(g_token.norm()), float(g.norm() / g_token.norm())


def test_rl_logprobs_use_an_fp32_head_under_bf16_autocast(tiny_model, prompts, tmp_path):
    from rlaif.algos.losses import token_logprobs
    from rlaif.core.models import render_prompt

    cfg = _cfg(tmp_path, tiny_model, prompts, algo="rloo", n=2, temperature=1.0)
    cfg.model.dtype = "bf16"
    tr, records = _trainer(cfg, tiny_model)
    _scale_logits(tr.policy, 30)  # the largest logits ~16-32, where bf16's spacing is 0.125
    ids, attn, resp = _one_token_rows(tr, render_prompt(tr.tok, records[1]["prompt"]), range(40))
    old, _, _ = tr.score(ids, attn, resp, 1)
    with tr.autocast():
        h = rl_mod.trunk_hidden(tr.policy, ids, attn, 1, tr.share)  # the same bf16 trunk
    W = tr.policy.get_output_embeddings().weight
    exact = token_logprobs(h.float() @ W.float().T, resp)
    rounded = token_logprobs((h.float() @ W.float().T).bfloat16(), resp)
    assert float((rounded - exact).abs().max()) > 1e-3  # bf16 logits would be visibly off
    assert torch.allclose(old, exact, atol=1e-5), float((old - exact).abs().max())


def test_step0_kl_is_exactly_zero_when_micro_batches_split_groups(tiny_model, prompts, tmp_path, monkeypatch):
    """The fused update rounds micro-batches down to whole prompt groups; the reference must be
    scored in the same chunks: another batch shape may round differently (on this CPU it happens
    not to, on GPUs it does), and step 0's KL would then be near 0 instead of exactly 0."""
    from rlaif.core.models import render_prompt

    real = rl_mod.forward
    for mbs, chunks in ((3, [2, 2, 2, 2, 2]), (5, [4, 4, 2])):  # 10 rows; mbs not a multiple of n = 2
        cfg = _cfg(tmp_path / str(mbs), tiny_model, prompts, algo="rloo", n=2, steps=1, micro_batch_size=mbs)
        tr, records = _trainer(cfg, tiny_model)
        assert tr.fused
        rows = {"ref": [], "policy": []}

        def spy(model, ids, *a, **k):
            rows["ref" if model is tr.ref else "policy"].append(ids.size(0))
            return real(model, ids, *a, **k)

        monkeypatch.setattr(rl_mod, "forward", spy)
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        m, _ = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3, 4], texts, 0)
        assert rows["ref"] == rows["policy"] == chunks
        assert m["kl/mean"] == 0.0 and m["kl/k3"] == 0.0


def test_fp16_loss_scale_is_undone_before_clipping_and_stepping(tiny_model, prompts, tmp_path):
    """accelerate's fp16 GradScaler multiplies the loss; the logged norm, the clipping and the step
    must see the true gradients (a real GradScaler on CPU stands in for a GPU's)."""
    from rlaif.core.models import render_prompt

    out = []
    for scaled in (False, True):
        cfg = _cfg(tmp_path / str(scaled), tiny_model, prompts, algo="rloo", n=2, steps=1, grad_clip=1.0)
        tr, records = _trainer(cfg, tiny_model)
        if scaled:
            tr.acc.scaler = torch.amp.GradScaler("cpu", init_scale=65536.0)
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        m, _ = tr.step(rl_mod.make_engine(cfg, tr, tiny_model), [0, 1, 2, 3], texts, 0)
        out.append((m, {n: p.detach().clone() for n, p in tr.policy.named_parameters()}))
    (m0, w0), (m1, w1) = out
    assert m1["policy/grad_norm"] == pytest.approx(m0["policy/grad_norm"], rel=1e-3)
    assert m1["perf/skipped_step"] == 0.0
    assert all(torch.allclose(w0[k], w1[k], atol=1e-6) for k in w0)


def test_rl_logits_keep_the_models_final_logit_processing(tiny_model):
    """RL applies the LM head itself (in fp32): Gemma-2's soft-capping must still be there."""
    import transformers

    from rlaif.core.models import load_tokenizer

    tok = load_tokenizer(tiny_model)
    torch.manual_seed(0)
    model = transformers.Gemma2ForCausalLM(
        transformers.Gemma2Config(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            final_logit_softcapping=0.5,
        )
    ).eval()
    ids = torch.tensor([tok("the cat sat on the mat")["input_ids"]])
    with torch.no_grad():
        logits, _ = rl_mod.forward(model, ids, torch.ones_like(ids), 3, temperature=0.9)
        own = model(input_ids=ids).logits[:, -4:-1] / 0.9
    assert torch.allclose(logits, own, atol=1e-5)


def test_greedy_or_nucleus_rollouts_are_refused_at_the_start(tiny_model, prompts, tmp_path):
    for bad, match in (({"top_p": 0.9}, "rl.top_p"), ({"temperature": 0.0}, "rl.temperature")):
        with pytest.raises(ValueError, match=match):
            run_stage("rl", _cfg(tmp_path / match, tiny_model, prompts, steps=1, **bad))
    assert not (tmp_path / "rl.temperature" / "rl" / "checkpoint").exists()


# --------------------------------------------------------------------------- prefix sharing


def _padded_rows(tok, prompts, responses, pad):
    """(ids, attn, R): left-padded prompts, then right-padded responses, as rollouts build them."""
    from rlaif.generation import left_pad

    R = max(len(r) for r in responses)
    ids, attn = left_pad(prompts, pad)
    resp = torch.tensor([r + [pad] * (R - len(r)) for r in responses])
    rmask = torch.tensor([[1] * len(r) + [0] * (R - len(r)) for r in responses])
    return torch.cat([ids, resp], 1), torch.cat([attn, rmask], 1), R


def _step_and_grads(tr, cfg, model, texts):
    """(metrics, {name: gradient}) of one step on prompts 0-3, the gradients as the optimizer saw them."""
    seen = {}
    step = tr.opt.step

    def spy(*a, **k):
        seen.update({n: p.grad.clone() for n, p in tr.policy.named_parameters() if p.grad is not None})
        return step(*a, **k)

    tr.opt.step = spy
    m, _ = tr.step(rl_mod.make_engine(cfg, tr, model), [0, 1, 2, 3], texts, 0)
    return m, seen


def test_packed_trunk_matches_padded_rows_values_and_gradients(tiny_model):
    """The n samples of a prompt, and prompts that share a long prefix, packed into one row: hidden
    states at every response position and every parameter gradient as with separate padded rows."""
    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(tiny_model)
    model = load_causal_lm(ModelConfig(name=tiny_model, dtype="fp32"), tiny_model).requires_grad_(True)
    g = torch.Generator().manual_seed(0)
    schema = torch.randint(5, 200, (40,), generator=g).tolist()
    prompts = [schema + [7, 8, 9]] * 3 + [schema + [11, 12]] * 2 + [[30, 31, 32, 33]]  # 2 share 40 tokens
    responses = [torch.randint(5, 200, (k,), generator=g).tolist() for k in (5, 3, 6, 1, 4, 6)]
    ids, attn, R = _padded_rows(tok, prompts, responses, tok.pad_token_id)
    mask = torch.tensor([[1.0] * len(r) + [0.0] * (R - len(r)) for r in responses])
    weight = torch.randn(R, model.config.hidden_size, generator=g)
    out, grads = [], []
    for share in (0, 16):
        model.zero_grad()
        h = rl_mod.trunk_hidden(model, ids, attn, R, share)
        ((h * weight).sum(-1) * mask).sum().backward()
        out.append(h.detach() * mask[..., None])
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert torch.allclose(out[0], out[1], atol=1e-4)
    with torch.no_grad():  # rows capped at 60 tokens: the schema group is cut into several rows
        capped = rl_mod.packed_trunk_hidden(model, ids, attn, R, 16, max_tokens=60) * mask[..., None]
    assert torch.allclose(out[0], capped, atol=1e-4)
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], atol=1e-4), n


@pytest.mark.parametrize("algo", ["rloo", "a2c"])
def test_an_rl_step_with_prefix_sharing_matches_separate_rows(tiny_model, prompts, tmp_path, algo):
    """One whole step (rollouts, reference and policy passes, values, update) with and without
    prompt sharing: the same rewards, KL, loss and gradients. (Weights after one AdamW step are not
    compared: it moves every parameter by ~lr, whatever the size of its gradient, so a gradient of
    1e-9 in one run and -1e-9 in the other ends 2 lr apart.)"""
    from rlaif.core.models import render_prompt

    grads, logs = [], []
    for share in (True, False):
        cfg = _cfg(
            tmp_path / str(share),
            tiny_model,
            prompts,
            algo=algo,
            n=3,
            steps=1,
            share_prefix=share,
            critic="shared",
            micro_batch_size=6,
            min_prefix=4,
        )
        tr, records = _trainer(cfg, tiny_model)
        assert tr.share == (4 if share else 0)
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        m, seen = _step_and_grads(tr, cfg, tiny_model, texts)
        grads.append(seen)
        logs.append(m)
    assert logs[0]["reward/mean"] == logs[1]["reward/mean"]
    assert math.isclose(logs[0]["loss/policy"], logs[1]["loss/policy"], rel_tol=1e-4, abs_tol=1e-6)
    assert math.isclose(logs[0]["kl/mean"], logs[1]["kl/mean"], abs_tol=1e-5)
    assert grads[0] and grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], atol=1e-4), n


def test_activation_checkpointing_saves_less_and_keeps_gradients_and_dropout_off(
    tiny_model, prompts, tmp_path
):
    """rl.gradient_checkpointing: the policy's forward keeps a fraction of the activations for the
    backward pass, the step's gradients are those without it, and the policy stays in eval mode
    (dropout off) apart from the decoder layers' own flag."""
    from rlaif.core.models import render_prompt

    grads, saved = [], []
    for ckpt in (True, False):
        cfg = _cfg(
            tmp_path / str(ckpt), tiny_model, prompts, algo="rloo", n=2, steps=1, gradient_checkpointing=ckpt
        )
        tr, records = _trainer(cfg, tiny_model)
        layer = tr.policy.get_decoder().layers[0]
        assert layer.training == ckpt and not layer.self_attn.training and not tr.policy.training
        texts = [render_prompt(tr.tok, r["prompt"]) for r in records]
        ids = torch.tensor([tr.tok(texts[0])["input_ids"] + [5, 6, 7]] * 2)
        n = [0]

        def keep(t, n=n):
            n[0] += t.numel()
            return t

        with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
            rl_mod.forward(tr.policy, ids, torch.ones_like(ids), 3, share_prefix=tr.share)
        saved.append(n[0])
        grads.append(_step_and_grads(tr, cfg, tiny_model, texts)[1])
    assert saved[0] < saved[1] / 2
    assert grads[0] and grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], atol=1e-5), n


def test_rl_steps_draw_their_prompts_from_one_database_where_the_data_allows():
    from rlaif.rl.trainer import prompt_batches

    # three "databases" (a long shared prefix each) with 5, 4 and 3 questions, and two loose prompts
    prompts = [[7] * 10 + [100 + d] * 60 + [1000 + q] for d, n in enumerate((5, 4, 3)) for q in range(n)]
    prompts += [[2000 + q] * 5 for q in range(2)]
    db = [p[40] if len(p) > 40 else -i for i, p in enumerate(prompts)]  # a loose prompt is its own
    batches = prompt_batches(prompts, 2, 30, seed=3, min_prefix=16)
    assert len(batches) == 30 and all(len(b) == 2 for b in batches)
    # a pass has 2 + 2 + 1 one-database batches and pools the remainders (1 + 0 + 1 + 2 loose prompts)
    same = sum(db[a] == db[b] for a, b in batches)
    assert same >= 30 * 5 // 7 - 2
    # every prompt is drawn, each about as often as the others; the same seed gives the same steps
    counts = [sum(i in b for b in batches) for i in range(len(prompts))]
    assert min(counts) >= 1 and max(counts) - min(counts) <= 4
    assert batches == prompt_batches(prompts, 2, 30, seed=3, min_prefix=16)
    plain = prompt_batches(prompts, 2, 30, seed=3)  # sharing off: plain shuffled passes
    assert sum(db[a] == db[b] for a, b in plain) < same


def test_the_task_oracle_is_logged_beside_a_learned_reward_never_instead_of_it(tmp_path):
    """monitor/oracle: the rollouts' true accuracy where RL trains on something else (an RM): the
    curve that shows reward hacking. Not when the reward already is the oracle; a failing monitor
    switches itself off instead of stopping training."""
    from types import SimpleNamespace

    from rlaif.rl.rewards import oracle_monitor
    from rlaif.tasks import get_task

    cfg = load_config(None, {"out": str(tmp_path), "task": "text2sql"})
    assert oracle_monitor([{"source": "oracle"}], cfg) is None
    fn = oracle_monitor([{"source": "rm"}], cfg)
    assert fn is not None
    recs = get_task("text2sql").records("rl")[:2]
    prompts = [r["prompt"] for r in recs]
    kw = {k: [r.get(k) for r in recs] for k in sorted({k for r in recs for k in r if k != "prompt"})}
    me = SimpleNamespace(monitor=fn)
    got = rl_mod.Trainer._monitor(me, prompts, [recs[0]["gold_sql"], "SELECT nothing FROM nowhere"], kw)
    assert got == 0.5

    def broken(prompts, completions, **kw):
        raise KeyError("gold_sql")

    me.monitor = broken
    assert rl_mod.Trainer._monitor(me, prompts, ["x", "y"], kw) is None and me.monitor is None
