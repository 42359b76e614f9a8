"""Direct preference optimisation (`rlaif dpo`) from AI (or human) preferences, through TRL.

The RL-free alternative users compare RLAIF against: no reward model, no rollouts. TRL's
`DPOTrainer` does exactly this, so it is used as is (its config inherits `TrainingArguments`; only
the few knobs below are exposed). What rlaif adds:
1. Soft labels become hard pairs: p_a > 0.5 makes a chosen, p_a < 0.5 makes b chosen, and pairs
   closer to 0.5 than `min_confidence` are dropped (a flat labeler's noise is not a preference).
2. Prompts are rendered with the same chat template as every other stage (models.render_prompt),
   so the DPO policy is trained on exactly the text SFT and sampling used.
"""

from __future__ import annotations

import time
from pathlib import Path

from .core.config import Config
from .core.runs import Run


def hard_pairs(records: list[dict], min_confidence: float) -> list[dict]:
    """{prompt, chosen, rejected} from comparisons: the side with p_a's majority is chosen."""
    out = []
    for r in records:
        p = r["p_a"]
        if abs(p - 0.5) < max(min_confidence, 1e-9) or r["response_a"] == r["response_b"]:
            continue
        a_wins = p > 0.5
        out.append(
            {
                "prompt": r["prompt"],
                "chosen": r["response_a"] if a_wins else r["response_b"],
                "rejected": r["response_b"] if a_wins else r["response_a"],
            }
        )
    return out


def load_pairs(source: str, limit: int = 0) -> list[dict]:
    """Comparisons or preferences from a file, as comparisons."""
    from .core.records import iter_jsonl, preference_to_comparison, read_records

    first = next(iter_jsonl(source), (0, {}))[1] if Path(source).suffix == ".jsonl" else {}
    if isinstance(first, dict) and "chosen" in first:
        return [preference_to_comparison(r) for r in read_records(source, "preference", limit)]
    return read_records(source, "comparison", limit)


def train(cfg: Config, pairs: list[dict], policy: str, out_dir: Path, run: Run | None = None):
    """TRL's DPOTrainer on hard pairs from `policy` (LoRA: adapters merged after); returns
    (model, tokenizer, TRL's TrainOutput, loss history rows, whether this is the main process)."""
    import datasets
    from trl import DPOConfig, DPOTrainer

    from .core.models import load_causal_lm, load_tokenizer, mixed_precision, render_prompt

    d = cfg.dpo
    tok = load_tokenizer(policy, cfg.model.trust_remote_code)
    tok.padding_side = "right"
    rows = [
        {
            "prompt": render_prompt(tok, p["prompt"], cfg.model.chat_template),
            "chosen": p["chosen"],
            "rejected": p["rejected"],
        }
        for p in pairs
    ]
    model = load_causal_lm(cfg.model, policy, trainable=True)
    ref = load_causal_lm(cfg.model, policy) if not cfg.model.lora.enabled else None  # LoRA: adapters off
    mp = mixed_precision(cfg.model)
    args = DPOConfig(
        output_dir=str(out_dir / "trainer"),
        per_device_train_batch_size=d.batch_size,
        gradient_accumulation_steps=d.grad_accum,
        num_train_epochs=d.epochs,
        max_steps=d.max_steps or -1,
        learning_rate=d.lr,
        beta=d.beta,
        max_length=d.max_length,
        logging_steps=d.log_every,
        save_strategy="no",
        report_to=[],
        bf16=mp == "bf16",
        fp16=mp == "fp16",
        seed=cfg.seed,
        use_cpu=str(next(model.parameters()).device) == "cpu",
        disable_tqdm=False,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=ref,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tok,
    )
    t0 = time.time()
    out = trainer.train()
    if run:
        run.time("train_s", time.time() - t0)
    model = trainer.accelerator.unwrap_model(trainer.model)
    if cfg.model.lora.enabled:
        model = model.merge_and_unload()
    tok.padding_side = "left"
    history = [
        {
            "step": h.get("step"),
            "loss/dpo": h["loss"],
            "reward/margin": h.get("rewards/margins"),
            "reward/accuracy": h.get("rewards/accuracies"),
        }
        for h in trainer.state.log_history
        if "loss" in h
    ]
    return model, tok, out, history, trainer.accelerator.is_main_process
