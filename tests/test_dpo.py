import json

import torch

from rlaif.core.config import load_config
from rlaif.dpo import hard_pairs
from rlaif.stages import run_stage


def test_hard_pairs_follow_p_a_not_slot_order():
    recs = [
        {"prompt": "p", "response_a": "A", "response_b": "B", "p_a": 0.9},
        {"prompt": "p", "response_a": "A", "response_b": "B", "p_a": 0.2},
        {"prompt": "p", "response_a": "A", "response_b": "B", "p_a": 0.52},
        {"prompt": "p", "response_a": "A", "response_b": "B", "p_a": 0.5},
        {"prompt": "p", "response_a": "C", "response_b": "C", "p_a": 0.9},
    ]
    out = hard_pairs(recs, min_confidence=0.05)
    assert [(r["chosen"], r["rejected"]) for r in out] == [("A", "B"), ("B", "A")]
    assert len(hard_pairs(recs, 0.0)) == 3  # exact ties and identical responses always dropped


def _logratio(model_dir, tok_dir, prompt, good, bad):
    from transformers import AutoModelForCausalLM

    from rlaif.core.models import encode_prompt, load_tokenizer, render_prompt

    tok = load_tokenizer(tok_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    p = encode_prompt(tok, render_prompt(tok, prompt))

    def lp(resp):
        r = tok(resp, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + r])
        with torch.no_grad():
            logits = model(ids).logits[0, len(p) - 1 : -1].float().log_softmax(-1)
        return logits.gather(1, torch.tensor(r)[:, None]).sum().item()

    return lp(good) - lp(bad)


def test_dpo_moves_policy_toward_chosen(tiny_model, tmp_path):
    rows = [
        {
            "prompt": f"Q{i}: the cat",
            "response_a": "sat on the mat",
            "response_b": "jumps over the dog",
            "p_a": 0.9,
        }
        if i % 2
        else {
            "prompt": f"Q{i}: the cat",
            "response_a": "jumps over the dog",
            "response_b": "sat on the mat",
            "p_a": 0.1,
        }
        for i in range(8)
    ]
    data = tmp_path / "c.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = load_config(
        None,
        [
            f"out={tmp_path}",
            f"model.name={tiny_model}",
            f"dpo.data={data}",
            "dpo.max_steps=6",
            "dpo.lr=3e-3",
            "dpo.batch_size=4",
            "model.dtype=fp32",
        ],
    )
    out = run_stage("dpo", cfg)
    before = _logratio(tiny_model, tiny_model, "Q9: the cat", "sat on the mat", "jumps over the dog")
    after = _logratio(out / "checkpoint", tiny_model, "Q9: the cat", "sat on the mat", "jumps over the dog")
    assert after > before + 1.0, (before, after)
