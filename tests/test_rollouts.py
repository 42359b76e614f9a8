"""Rollouts: the response mask, the in-process engine against generate, an OpenAI-compatible server."""

from types import SimpleNamespace

import torch

from rlaif.rl.rollouts import HFRollout, OpenAIRollout, response_mask


def test_response_mask_ends_at_the_first_stop_token():
    ids = torch.tensor([[5, 6, 2, 2, 2], [5, 2, 7, 2, 0], [5, 6, 7, 8, 9]])
    mask, ended = response_mask(ids, [2, 3])
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]
    assert ended.tolist() == [True, True, False]


def test_hf_rollout_matches_its_prompts_and_groups(tiny_model):
    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer, render_prompt, stop_token_ids

    tok = load_tokenizer(tiny_model)
    model = load_causal_lm(ModelConfig(name=tiny_model, dtype="fp32"))
    texts = [render_prompt(tok, "the cat"), render_prompt(tok, "SELECT name FROM artists WHERE id = 1")]
    ro = HFRollout(model, tok, 1.0, 1.0, 8).generate(texts, 3, seed=0)
    assert len(ro.texts) == 6 and ro.response_ids.shape[0] == 6
    lens = ro.prompt_mask.sum(-1)
    assert lens[0] == lens[2] and lens[3] == lens[5] and lens[0] != lens[3]  # rows grouped by prompt
    # decoded texts are exactly the masked response tokens
    stops = stop_token_ids(tok, model)
    for i in range(6):
        toks = ro.response_ids[i][ro.response_mask[i].bool()].tolist()
        assert (
            tok.decode([t for t in toks if t not in stops], skip_special_tokens=True).strip() == ro.texts[i]
        )
    again = HFRollout(model, tok, 1.0, 1.0, 8).generate(texts, 3, seed=0)
    assert again.texts == ro.texts  # seeded


class FakeCompletions:
    """One request per sample (what rlaif.serving.endpoints.complete sends); text says which prompt it was."""

    def __init__(self):
        self.calls = []

    def create(self, **kw):
        self.calls.append(kw)
        k = len(self.calls) - 1
        return SimpleNamespace(
            choices=[
                SimpleNamespace(index=0, text=f" the cat {k}", finish_reason="stop" if k % 2 else "length")
            ]
        )


def test_openai_rollout_with_a_fake_server(tiny_model):
    from rlaif.core.models import load_tokenizer

    tok = load_tokenizer(tiny_model)
    client = SimpleNamespace(completions=FakeCompletions())
    synced = []
    eng = OpenAIRollout(tok, "", "policy", 0.9, 1.0, 16, client=client, sync_fn=synced.append, concurrency=1)
    ro = eng.generate(["hello there", "the cat"], 2, seed=7)
    calls = client.completions.calls
    assert len(calls) == 4 and all(c["max_tokens"] == 16 and c["temperature"] == 0.9 for c in calls)
    assert [c["prompt"] for c in calls] == ["hello there"] * 2 + ["the cat"] * 2  # row = prompt * n + sample
    assert len({c["seed"] for c in calls}) == 4  # every sample its own seed
    assert ro.texts == [f"the cat {i}" for i in range(4)]
    assert ro.ended.tolist() == [False, True, False, True]
    want = [len(tok(f" the cat {i}", add_special_tokens=False)["input_ids"]) + i % 2 for i in range(4)]
    assert ro.response_mask.sum(-1).tolist() == want  # + EOS where the server stopped
    assert ro.prompt_ids.shape[0] == 4 and ro.prompt_mask[0].sum() == len(tok("hello there")["input_ids"])
    eng.sync("model")
    assert synced == ["model"]


def test_a_checkpoints_generation_settings_do_not_reach_the_samples(tiny_model, tmp_path):
    """Rollouts (and samples for labeling) come from the model's distribution at the configured
    temperature, whatever the checkpoint's generation_config.json says."""
    import shutil

    from transformers import GenerationConfig

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer, render_prompt
    from rlaif.generation import generate_texts

    shutil.copytree(tiny_model, tmp_path / "m")
    gc = GenerationConfig.from_pretrained(tmp_path / "m")
    gc.do_sample, gc.repetition_penalty, gc.no_repeat_ngram_size, gc.top_k, gc.top_p = True, 20.0, 1, 3, 0.5
    gc.save_pretrained(tmp_path / "m")
    tok = load_tokenizer(tiny_model)
    plain = load_causal_lm(ModelConfig(name=tiny_model, dtype="fp32"))
    tweaked = load_causal_lm(ModelConfig(name=str(tmp_path / "m"), dtype="fp32"))
    assert tweaked.generation_config.repetition_penalty == 20.0  # the settings are really there
    texts = [render_prompt(tok, "the cat"), render_prompt(tok, "SELECT name FROM artists")]
    a = HFRollout(plain, tok, 0.9, 1.0, 16).generate(texts, 4, seed=0)
    b = HFRollout(tweaked, tok, 0.9, 1.0, 16).generate(texts, 4, seed=0)
    assert torch.equal(a.response_ids, b.response_ids) and a.texts == b.texts
    # greedy decoding (the labeler's chain of thought) too
    greedy = [generate_texts(m, tok, texts, 1, 0.0, 1.0, 16) for m in (plain, tweaked)]
    assert greedy[0] == greedy[1]
    assert tweaked.generation_config.repetition_penalty == 20.0  # left as it was
