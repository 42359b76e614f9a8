"""Reward models on a tiny model: packing, learning a synthetic preference, ties, SALMON principle
following, scoring APIs, HTTP serving, the CLI, LoRA. Every test trains or scores for real."""

import json
import random
import threading
from pathlib import Path

import pytest

from rlaif.core.config import load_config
from rlaif.core.records import RecordError

WORDS = "the quick brown fox jumps over lazy dog cat sat on mat and ate a fish yes no maybe".split()


def length_pairs(n: int, seed: int, p_a=None) -> list[dict]:
    """Prefer the shorter answer: p_a = 1 when response_a has fewer words (or a fixed p_a)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        la, lb = rng.sample(range(1, 10), 2)
        a, b = (" ".join(rng.choice(WORDS) for _ in range(k)) for k in (la, lb))
        out.append(
            {
                "prompt": "Say something about " + " ".join(rng.sample(WORDS, 3)),
                "response_a": a,
                "response_b": b,
                "p_a": p_a if p_a is not None else float(la < lb),
            }
        )
    return out


def write(path: Path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def rm_config(tmp_path, model, **rm) -> object:
    base = {
        "batch_size": 16,
        "lr": 1e-3,
        "epochs": 2,
        "gradient_checkpointing": False,
        "log_every": 5,
        "eval_batch_size": 64,
    }
    return load_config(
        None, {"out": str(tmp_path / "out"), "model": {"name": model, "dtype": "fp32"}, "rm": base | rm}
    )


@pytest.fixture(scope="module")
def shorter_rm(tmp_path_factory, tiny_model):
    """An RM trained to prefer shorter answers, and its run folder."""
    from rlaif.stages.rm import run

    tmp = tmp_path_factory.mktemp("shorter")
    cfg = rm_config(
        tmp,
        tiny_model,
        data=write(tmp / "train.jsonl", length_pairs(480, 0)),
        lr=2e-3,
        # reference labels that say the opposite of the training labels: eval_vs_reference must see it
        eval_data=write(tmp / "eval.jsonl", [r | {"gold_p_a": 1 - r["p_a"]} for r in length_pairs(200, 1)]),
    )
    return run(cfg)


# --------------------------------------------------------------------------- packing


def test_shared_prompt_rows_equal_separate_rows_and_hf_forward(tiny_model):
    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_tokenizer, render_prompt
    from rlaif.rm.model import batch_rewards, encode_group, load_rm_for_training, pack_groups, pooled

    tok = load_tokenizer(tiny_model)
    hf = load_rm_for_training(tiny_model, ModelConfig(dtype="fp32"), tok.pad_token_id)
    model = pooled(hf).eval()
    groups = [
        encode_group(tok, render_prompt(tok, "hello there"), ["SELECT name", "the cat sat on the mat"], 64),
        encode_group(tok, "quick brown fox", ["", "yes", "no maybe"], 64),
        encode_group(tok, "the lazy dog " * 30, ["ate a fish " * 30, "no"], 48),
    ]  # truncated
    assert all(len(p) + len(r) <= 48 for p, rs in groups[2:] for r in rs)
    with torch.no_grad():
        shared = batch_rewards(model, pack_groups(groups, tok.pad_token_id, True))
        plain = batch_rewards(model, pack_groups(groups, tok.pad_token_id, False))
        alone = [hf(input_ids=torch.tensor([p + r])).logits[0, 0].item() for p, rs in groups for r in rs]
    assert shared.shape == (7,)
    assert torch.allclose(shared, plain, atol=1e-5)
    assert torch.allclose(shared, torch.tensor(alone), atol=1e-5)
    assert shared.unique().numel() == 7  # not all the same pooled position


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_block_mask_is_exact_under_every_attention_implementation(tiny_model, attn):
    """Eager attention adds the mask to the scores: a boolean block mask there would add 0/1 and let
    each response see the other. The mask must mean the same under eager and SDPA."""
    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_tokenizer, render_prompt
    from rlaif.rm.model import batch_rewards, encode_group, load_rm_for_training, pack_groups, pooled

    tok = load_tokenizer(tiny_model)
    hf = load_rm_for_training(tiny_model, ModelConfig(dtype="fp32"), tok.pad_token_id)
    hf.set_attn_implementation(attn)
    assert hf.config._attn_implementation == attn
    model = pooled(hf).eval()
    groups = [
        encode_group(tok, render_prompt(tok, "hello there"), ["SELECT name", "the cat sat on the mat"], 64),
        encode_group(tok, "quick brown fox", ["yes", "no maybe", "ate a fish"], 64),
    ]
    with torch.no_grad():
        shared = batch_rewards(model, pack_groups(groups, tok.pad_token_id, True))
        alone = torch.tensor(
            [hf(input_ids=torch.tensor([p + r])).logits[0, 0].item() for p, rs in groups for r in rs]
        )
        with torch.autocast("cpu", dtype=torch.bfloat16):  # as in training: bf16 scores, fp32 mask
            shared_bf16 = batch_rewards(model, pack_groups(groups, tok.pad_token_id, True))
            alone_bf16 = torch.cat(
                [
                    batch_rewards(model, pack_groups([(p, [r])], tok.pad_token_id, False))
                    for p, rs in groups
                    for r in rs
                ]
            )
    assert torch.allclose(shared, alone, atol=1e-5), (shared, alone)
    assert torch.allclose(shared_bf16, alone_bf16, atol=5e-3), (shared_bf16, alone_bf16)  # bf16 noise only


# --------------------------------------------------------------------------- learning


def test_learns_prefer_shorter_on_held_out_pairs(shorter_rm):
    m = json.loads((shorter_rm / "manifest.json").read_text())
    res = m["results"]
    assert m["status"] == "complete" and res["eval_on"] == "held-out pairs"
    assert res["eval"]["accuracy"] > 0.85 and res["eval"]["pairs"] == 200
    ref = res["eval_vs_reference"]
    assert ref["pairs"] == 200 and abs(ref["accuracy"] - (1 - res["eval"]["accuracy"])) < 1e-6
    assert res["last_loss"] < res["first_loss"]
    assert res["eval"]["reward_chosen_mean"] > res["eval"]["reward_rejected_mean"]
    assert 0 <= res["eval"]["ece"] <= 1 and res["eval"]["table"]
    for f in (
        "rewards.png",
        "eval_scores.jsonl",
        "metrics.jsonl",
        "checkpoint/rlaif_rm.json",
        "checkpoint/config.json",
    ):
        assert (shorter_rm / f).exists(), f
    assert (shorter_rm / "rewards.png").read_bytes()[:4] == b"\x89PNG"


def test_ties_everywhere_learn_no_preference(tmp_path, tiny_model):
    from rlaif.stages.rm import run

    cfg = rm_config(
        tmp_path,
        tiny_model,
        data=write(tmp_path / "t.jsonl", length_pairs(240, 0, p_a=0.5)),
        eval_data=write(tmp_path / "e.jsonl", length_pairs(200, 1)),
        epochs=2,
    )
    res = json.loads((run(cfg) / "manifest.json").read_text())["results"]["eval"]
    scores = [json.loads(x) for x in (tmp_path / "out/rm/eval_scores.jsonl").read_text().splitlines()]
    gap = sum(abs(s["r_a"] - s["r_b"]) for s in scores) / len(scores)
    assert gap < 0.05, gap  # sigma(r_a - r_b) -> 0.5: the labels' indifference, distilled
    assert 0.3 < res["accuracy"] < 0.7


# --------------------------------------------------------------------------- scoring APIs


def test_reward_model_score_and_reward_fn(shorter_rm):
    from rlaif.rm.model import RewardModel, reward_fn

    rm = RewardModel.load(shorter_rm, dtype="fp32")
    prompts = ["Say something about the cat"] * 3 + ["Say something about a fox"]
    comps = ["yes", "the quick brown fox jumps over the lazy dog and the cat", "no maybe", "fish"]
    s = rm.score(prompts, comps)
    assert len(s) == 4 and all(isinstance(x, float) for x in s)
    assert s[0] > s[1] and s[2] > s[1]  # shorter is better
    alone = [rm.score([p], [c])[0] for p, c in zip(prompts, comps)]  # batch-independent
    assert s == pytest.approx(alone, abs=1e-4)
    fn = reward_fn(shorter_rm / "checkpoint", dtype="fp32")
    assert fn(prompts=prompts, completions=comps, completion_ids=None) == pytest.approx(s, abs=1e-4)
    chat = [[{"role": "user", "content": "Say something about the cat"}]]
    assert rm.score(chat, [[{"role": "assistant", "content": "yes"}]])[0] == pytest.approx(s[0], abs=1e-4)
    p = rm.compare(prompts[:1], ["yes"], ["the quick brown fox jumps over the lazy dog"])
    assert 0.5 < p[0] <= 1.0
    with pytest.raises(ValueError, match="prompts but"):
        rm.score(prompts, comps[:2])


def test_http_serve_matches_local_scores(shorter_rm):
    import urllib.error
    import urllib.request

    from rlaif.rm.model import RewardModel, reward_fn
    from rlaif.serving.rm_server import make_server

    rm = RewardModel.load(shorter_rm, dtype="fp32")
    server = make_server(rm, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        prompts, comps = ["Say something about the cat"] * 2, ["yes", "the quick brown fox jumps over"]
        remote = reward_fn(url)
        assert remote(prompts, comps) == pytest.approx(rm.score(prompts, comps), abs=1e-6)
        health = json.loads(urllib.request.urlopen(url + "/health").read())
        assert health["ok"] and health["meta"]["max_length"] == 1024
        req = urllib.request.Request(url + "/score", data=b'{"prompts": ["x"]}')
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 400
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- SALMON


def test_negating_the_principle_flips_the_learned_preference(tmp_path, tiny_model):
    from rlaif.rm.model import RewardModel
    from rlaif.stages.rm import run

    pfile = tmp_path / "p.yaml"
    pfile.write_text(
        "principles:\n  - {name: Short, definition: fewer words, negation: 'Long: more words'}\n"
    )
    rows = [
        {k: v for k, v in r.items() if k != "p_a"}
        | {"principle_scores": {"Short": [r["p_a"] * 2 - 1, 1 - r["p_a"] * 2]}}
        for r in length_pairs(1200, 0)
    ]
    cfg = rm_config(
        tmp_path,
        tiny_model,
        data=write(tmp_path / "s.jsonl", rows),
        salmon=True,
        principles=str(pfile),
        principles_per_example=1,
        negate_prob=0.5,
        label_noise=0.0,
        eval_fraction=0.15,
        epochs=3,
    )
    out = run(cfg)
    res = json.loads((out / "manifest.json").read_text())["results"]
    assert res["eval"]["accuracy"] > 0.8, res["eval"]  # held-out synthetic pairs, both polarities
    rm = RewardModel.load(out, dtype="fp32")
    assert rm.meta["salmon"] and rm.pset.principles[0].name == "Short"
    ev = length_pairs(150, 7)
    shorter_first = [r["p_a"] == 1.0 for r in ev]
    args = ([r["prompt"] for r in ev], [r["response_a"] for r in ev], [r["response_b"] for r in ev])
    acc = lambda ps: sum((p > 0.5) == s for p, s in zip(ps, shorter_first)) / len(ev)  # noqa: E731
    assert acc(rm.compare(*args, principles=["Short: fewer words"])) > 0.8
    assert acc(rm.compare(*args, principles=["Long: more words"])) < 0.2


def test_salmon_records_need_salmon_flag(tmp_path, tiny_model):
    from rlaif.stages.rm import run

    rows = [{"prompt": "p", "response_a": "a", "response_b": "b", "principle_scores": {"Concise": 1.0}}]
    with pytest.raises(ValueError, match="rm.salmon=true"):
        run(rm_config(tmp_path, tiny_model, data=write(tmp_path / "s.jsonl", rows)))


# --------------------------------------------------------------------------- CLI, inputs, LoRA


def test_cli_on_preferences_then_skip(tmp_path, tiny_model, capsys):
    from rlaif.cli import main

    rows = [
        {
            "prompt": r["prompt"],
            "chosen": r["response_a"] if r["p_a"] else r["response_b"],
            "rejected": r["response_b"] if r["p_a"] else r["response_a"],
        }
        for r in length_pairs(60, 0)
    ]
    args = [
        "rm",
        f"--out={tmp_path}/out",
        f"--model.name={tiny_model}",
        "--model.dtype=fp32",
        f"--rm.data={write(tmp_path / 'prefs.jsonl', rows)}",
        "--rm.max_steps=3",
        "--rm.batch_size=4",
        "--rm.eval_fraction=0.3",
        "--rm.loss=hard",
    ]
    assert main(args) == 0
    m = json.loads((tmp_path / "out/rm/manifest.json").read_text())
    assert m["results"]["sources"]["kind"] == "preference" and m["results"]["steps"] == 3
    assert m["results"]["eval_on"] == "held-out pairs" and m["inputs"]["data"]["sha256"]
    assert main(args) == 0 and "already complete" in capsys.readouterr().out


def test_default_input_is_the_label_stage_output(tmp_path, tiny_model):
    from rlaif.stages.rm import run

    cfg = rm_config(tmp_path, tiny_model, max_steps=1)
    with pytest.raises(FileNotFoundError, match="label/comparisons.jsonl"):
        run(cfg)
    (tmp_path / "out/label").mkdir(parents=True)
    write(tmp_path / "out/label/comparisons.jsonl", length_pairs(40, 0))
    assert json.loads((run(cfg, force=True) / "manifest.json").read_text())["status"] == "complete"


def test_bad_records_name_file_and_line(tmp_path, tiny_model, capsys):
    from rlaif.cli import main
    from rlaif.rm.train import read_pairs

    rows = length_pairs(3, 0)
    rows[2]["p_a"] = 1.5
    f = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(RecordError, match=r"bad.jsonl:3: field 'p_a'"):
        read_pairs(f)
    write(tmp_path / "odd.jsonl", [{"prompt": "x", "answer": "y"}])
    with pytest.raises(RecordError, match="expected comparisons"):
        read_pairs(str(tmp_path / "odd.jsonl"))
    assert main(["rm", f"--out={tmp_path}/o", f"--model.name={tiny_model}", f"--rm.data={f}"]) == 1
    assert "bad.jsonl:3: field 'p_a'" in capsys.readouterr().err


def test_every_parameter_changes_and_lora_trains_head_and_adapters(tmp_path, tiny_model):
    import torch
    from safetensors.torch import load_file

    from rlaif.stages.rm import run

    before = load_file(str(Path(tiny_model) / "model.safetensors"))
    data = write(tmp_path / "d.jsonl", length_pairs(40, 0))
    full = run(rm_config(tmp_path / "full", tiny_model, data=data, max_steps=2, lr=1e-2))
    after = load_file(str(full / "checkpoint/model.safetensors"))
    assert "score.weight" in after
    same = [k for k, v in before.items() if k in after and torch.equal(v, after[k])]
    assert not same, same
    lora = run(rm_config(tmp_path / "lora", tiny_model, data=data, max_steps=2, lr=1e-2, lora=True))
    merged = load_file(str(lora / "checkpoint/model.safetensors"))
    assert set(merged) == set(after)  # a plain merged model
    changed = [k for k, v in before.items() if k in merged and not torch.equal(v, merged[k])]
    assert any("q_proj" in k for k in changed) and not any("mlp" in k for k in changed)
    fresh = run(rm_config(tmp_path / "fresh", tiny_model, data=data, max_steps=1, lr=1e-12))
    head0 = load_file(str(fresh / "checkpoint/model.safetensors"))["score.weight"]
    assert not torch.allclose(merged["score.weight"], head0)  # the head trained too


def test_pairs_on_one_schema_share_a_row_with_the_same_rewards_and_gradients(tiny_model):
    """rm.min_prefix: the pairs of a batch whose prompts share a schema are packed into one row
    [schema, question_1 + a_1, question_1 + b_1, question_2 + a_2, ...]: rewards and every gradient
    as with one row per pair, in the input's order, with fewer tokens computed."""
    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_tokenizer, render_prompt
    from rlaif.rm.model import batch_rewards, encode_group, load_rm_for_training, pack_groups, pooled

    tok = load_tokenizer(tiny_model)
    hf = load_rm_for_training(tiny_model, ModelConfig(dtype="fp32"), tok.pad_token_id)
    model = pooled(hf).eval()
    schema = "CREATE TABLE singer (singer_id INT PRIMARY KEY, name TEXT, country TEXT, age INT);\n" * 3
    other = "CREATE TABLE album (album_id INT PRIMARY KEY, title TEXT, year INT);\n" * 3
    groups = [
        encode_group(tok, render_prompt(tok, schema + q), rs, 256)
        for q, rs in [
            ("How many singers are there?", ["SELECT count(*) FROM singer", "SELECT name FROM singer"]),
            ("Oldest singer?", ["SELECT name FROM singer ORDER BY age DESC LIMIT 1", "SELECT max(age)"]),
        ]
    ]
    groups.insert(
        1, encode_group(tok, render_prompt(tok, other + "Albums of 2001?"), ["SELECT 1", "no"], 256)
    )
    groups.append(
        encode_group(tok, render_prompt(tok, schema + "Names from France?"), ["x", "SELECT name"], 256)
    )

    def run(min_prefix):
        model.zero_grad()
        batch = pack_groups(groups, tok.pad_token_id, True, min_prefix)
        r = batch_rewards(model, batch)
        (r * torch.arange(1.0, len(r) + 1)).sum().backward()  # a different weight per response
        return r.detach(), [p.grad.clone() for p in model.parameters()], batch

    per_pair, g_pair, b_pair = run(0)
    shared, g_shared, b_shared = run(16)
    assert shared.shape == (8,) and torch.allclose(shared, per_pair, atol=1e-4)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(g_pair, g_shared))
    assert (
        b_shared.input_ids.shape[0] == 2
    )  # the singer schema's three pairs in one row, the album pair alone
    assert b_shared.tokens < b_pair.tokens - len(groups[0][0]) // 2


def test_merge_groups_keeps_track_of_every_continuation():
    from rlaif.algos.packing import merge_groups

    merged, order, offsets = merge_groups(
        [([1] * 20 + [5], [[7], [8]]), ([2] * 20, [[9]]), ([1] * 20 + [6, 6], [[3], [4]])], min_prefix=16
    )
    # the two prompts on the "1" prefix form one group; each continuation is its prompt's rest + itself
    assert len(merged) == 2 and sorted(order) == [0, 1, 2, 3, 4]
    by_source = {o: (g, c) for o, (g, c) in zip(order, [(g, c) for g in merged for c in g[1]])}
    assert by_source[0][1] == [5, 7] and by_source[4][1] == [6, 6, 4] and by_source[2][1] == [9]
    assert [offsets[order.index(k)] for k in range(5)] == [1, 1, 0, 2, 2]
    # the row cap counts the continuations too: 4 questions x 2 responses of 10 on a 40-token schema
    many = [([9] * 40 + [q], [[q] * 10, [q + 1] * 10]) for q in range(4)]
    assert len(merge_groups(many, min_prefix=16)[0]) == 1  # 40 + 4 * 22 = 128 tokens in one row
    capped, order, _ = merge_groups(many, min_prefix=16, max_tokens=100)
    assert [len(prefix) + sum(map(len, conts)) for prefix, conts in capped] == [84, 84]
    assert sorted(order) == list(range(8))
    # pack_groups puts each reward position back in the input's order (order here is no involution)
    from rlaif.rm.model import pack_groups

    groups = [([1] * 20 + [5], [[7], [8]]), ([2] * 20, [[9]]), ([1] * 20 + [6, 6], [[3], [4]])]
    batch = pack_groups(groups, 0, True, 16)
    assert batch.input_ids.reshape(-1)[batch.ends].tolist() == [7, 8, 9, 3, 4]
    assert batch.input_ids.shape[0] == 2
