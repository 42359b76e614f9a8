import json

import pytest

from rlaif import generation as sample_mod
from rlaif.core.config import load_config
from rlaif.stages import run_stage


@pytest.fixture
def prompts_file(tmp_path):
    f = tmp_path / "prompts.jsonl"
    f.write_text(
        "".join(
            json.dumps({"prompt": f"Question {i}: the cat" + " sat" * (i % 5), "id": i}) + "\n"
            for i in range(11)
        )
    )
    return f


def _cfg(tmp, model, prompts, *extra):
    return load_config(
        None,
        [
            f"out={tmp}",
            f"model.name={model}",
            f"sample.prompts={prompts}",
            "sample.n=3",
            "sample.batch_size=4",
            "sample.max_new_tokens=8",
            *extra,
        ],
    )


def _read(path):
    return [json.loads(x) for x in (path / "samples.jsonl").read_text().splitlines()]


def test_n_completions_per_prompt_in_input_order(tiny_model, prompts_file, tmp_path):
    out = run_stage("sample", _cfg(tmp_path, tiny_model, prompts_file))
    rows = _read(out)
    assert [r["id"] for r in rows] == list(range(11))  # extra fields kept, input order
    assert all(len(r["completions"]) == 3 for r in rows)
    assert any(len(set(r["completions"])) > 1 for r in rows)  # sampling, not copies


def test_deterministic_for_seed(tiny_model, prompts_file, tmp_path):
    a = _read(run_stage("sample", _cfg(tmp_path / "a", tiny_model, prompts_file)))
    b = _read(run_stage("sample", _cfg(tmp_path / "b", tiny_model, prompts_file)))
    c = _read(run_stage("sample", _cfg(tmp_path / "c", tiny_model, prompts_file, "seed=1")))
    assert a == b and a != c


def test_resume_after_crash_gives_same_file(tiny_model, prompts_file, tmp_path, monkeypatch):
    ref = _read(run_stage("sample", _cfg(tmp_path / "ref", tiny_model, prompts_file)))
    real, calls = sample_mod.generate_texts, []

    def crashing(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed during the second batch
        return real(*a, **k)

    monkeypatch.setattr(sample_mod, "generate_texts", crashing)
    cfg = _cfg(tmp_path / "run", tiny_model, prompts_file)
    with pytest.raises(KeyboardInterrupt):
        run_stage("sample", cfg)
    partial = tmp_path / "run" / "sample" / "samples.partial.jsonl"
    assert len(partial.read_text().splitlines()) == 4  # the first batch survived
    monkeypatch.setattr(sample_mod, "generate_texts", real)
    seen = []
    monkeypatch.setattr(sample_mod, "generate_texts", lambda *a, **k: seen.append(len(a[2])) or real(*a, **k))
    assert _read(run_stage("sample", cfg)) == ref
    assert sum(seen) == 11 - 4  # nothing recomputed


def test_greedy_chat_messages_and_no_template(tiny_model_nochat, tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"prompt": "the cat"}) + "\n")
    cfg = _cfg(tmp_path, tiny_model_nochat, f, "sample.temperature=0", "sample.n=2")
    rows = _read(run_stage("sample", cfg))
    assert rows[0]["completions"][0] == rows[0]["completions"][1]  # greedy
    f.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(ValueError, match="no chat template"):
        run_stage("sample", _cfg(tmp_path / "x", tiny_model_nochat, f))


@pytest.mark.parametrize("n,temperature", [(1, 0.0), (3, 1.0)])
def test_shared_prefill_gives_the_same_samples_as_plain_generate(tiny_model, n, temperature):
    """The common prefix computed once and each prompt once for its n samples: the same tokens as
    `generate` on left-padded rows (fp32), and the prompts come back left-padded either way."""
    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(tiny_model)
    model = load_causal_lm(ModelConfig(name=tiny_model, dtype="fp32"), tiny_model)
    schema = "CREATE TABLE t (a INTEGER, b TEXT, c REAL); CREATE TABLE u (d INTEGER REFERENCES t(a)); " * 2
    texts = [schema + q for q in ("how many rows?", "list b where a > 3 ordered by c", "max c")]
    assert (
        sample_mod.shared_prefill(model, [tok(t)["input_ids"] for t in texts], n, tok.pad_token_id)
        is not None
    )
    runs = []
    for share in (0, 16):
        torch.manual_seed(0)
        runs.append(
            sample_mod.generate_texts(
                model, tok, texts, n, temperature, 1.0, 10, seed=1, return_ids=True, share_prefix=share
            )
        )
    (t0, ids0, w0), (t1, ids1, w1) = runs
    assert t0 == t1 and w0 == w1 and torch.equal(ids0, ids1)
    assert len(t0) == 3 and all(len(g) == n for g in t0)


def test_a_model_whose_cache_cannot_be_shared_falls_back_to_plain_generate(tiny_model, monkeypatch, capsys):
    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer

    tok = load_tokenizer(tiny_model)
    model = load_causal_lm(ModelConfig(name=tiny_model, dtype="fp32"), tiny_model)
    texts = ["the same long prefix " * 8 + q for q in ("a?", "b?")]
    want = sample_mod.generate_texts(model, tok, texts, 2, 1.0, 1.0, 6, seed=3, share_prefix=0)

    def broken(*a, **k):
        raise NotImplementedError("this cache cannot be repeated")

    monkeypatch.setattr(sample_mod, "shared_prefill", broken)
    monkeypatch.setattr(sample_mod, "_PREFILL_FAILED", set())
    assert sample_mod.generate_texts(model, tok, texts, 2, 1.0, 1.0, 6, seed=3) == want
    assert "no shared prefill" in capsys.readouterr().out
