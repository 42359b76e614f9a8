"""Supervised fine-tuning (`rlaif sft`) on {prompt, output} records, loss on output tokens only.

1. A compact loop rather than TRL's SFTTrainer: the loss masking, chat-template rendering and
   run-folder conventions are the ones every other stage uses (models.render_prompt), and the loop
   runs unchanged under `accelerate launch`.
2. Prompt and output are tokenized separately and concatenated, so the boundary between "what the
   model is given" and "what it must learn" is exact even when a tokenizer would merge across it.
3. Over-long examples lose prompt tokens from the left, never output tokens: the target survives.
4. Prefix sharing (`sft.share_prefix`, on by default): Text-to-SQL prompts are mostly the database
   schema. Batches are drawn from examples that share a prompt prefix (algos.packing.prefix_batches)
   and each batch is one packed sequence, the prefix once, then every example's prompt remainder and
   output under a block mask (`packed_output_loss`): the same loss and gradients as padded rows
   (tests/test_sft.py), for a fraction of the tokens. Only positions that predict an output token
   reach the LM head (`logits_to_keep` as indices).
5. Output: OUT/sft/checkpoint (full weights, or adapters with LoRA), metrics.jsonl, manifest.json.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .core.config import Config
from .core.runs import Run


def tokenize_example(
    tokenizer, prompt_text: str, output: str, max_length: int
) -> tuple[list[int], list[int]]:
    """(input ids, labels) with prompt positions masked to -100 and EOS appended to the output."""
    from .core.models import encode_prompt

    p = encode_prompt(tokenizer, prompt_text)
    o = tokenizer(output, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    o = o[:max_length]
    p = p[-(max_length - len(o)) :] if max_length > len(o) else []
    return p + o, [-100] * len(p) + o


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int):
    """Right-padded (B, T) tensors: input_ids, attention_mask, labels."""
    import torch

    T = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), T), -100, dtype=torch.long)
    mask = torch.zeros((len(examples), T), dtype=torch.long)
    for i, (x, y) in enumerate(examples):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return ids, mask, labels


def output_loss(model, ids, mask, labels, reduction: str = "mean"):
    """Next-token cross-entropy over output tokens, in fp32 (mean, or sum for exact data parallel)."""
    import torch.nn.functional as F

    # The LM head and the (B, T, V) logits dominate memory and a fifth of the compute, yet only the
    # output positions are scored: keep the logits from the first output position on (in any row).
    target = labels[:, 1:]  # position p predicts token p + 1
    scored = (target != -100).any(0).nonzero()
    p0 = int(scored[0]) if len(scored) else target.size(1) - 1
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=ids.size(1) - p0).logits
    logits = logits[:, :-1].float()  # (B, T-1-p0, V)
    target = target[:, p0:]
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=-100, reduction=reduction
    )


def packed_output_loss(
    model, examples: list[tuple[list[int], list[int]]], pad_id: int, device, min_prefix: int = 16
):
    """(sum of next-token cross-entropy over the output tokens of `examples`, number of those tokens):
    the value `output_loss(..., "sum")` gives on padded rows, with the prompts' shared prefix packed
    once (module notes, 4)."""
    import torch
    import torch.nn.functional as F

    from .algos.packing import additive_mask, merge_groups, pack

    plen = [labels.count(-100) for _, labels in examples]
    groups, _, offsets = merge_groups(
        [(ids[:n], [ids[n:]]) for (ids, _), n in zip(examples, plen)], min_prefix=min_prefix
    )
    p = pack(groups, pad_id)
    pred, target, _ = p.targets(offsets)
    rows, cols = pred // p.width, pred % p.width
    keep = torch.unique(cols)  # sorted positions any row needs: the LM head runs there only
    dtype = next(model.parameters()).dtype
    logits = model(
        input_ids=p.input_ids.to(device),
        position_ids=p.position_ids.to(device),
        attention_mask=additive_mask(p.attention_mask.to(device), dtype),
        logits_to_keep=keep.to(device),
    ).logits  # (R, K, V)
    picked = logits[rows.to(device), torch.searchsorted(keep, cols).to(device)].float()
    return F.cross_entropy(picked, target.to(device), reduction="sum"), len(target)


def train(cfg: Config, records: list[dict], out_dir: Path, run: Run | None = None) -> dict:
    """Fine-tune `cfg.model` on `records`; save to out_dir/checkpoint. Returns summary metrics."""
    import torch

    from .core.models import (
        checkpoint_activations,
        describe_model,
        load_causal_lm,
        load_tokenizer,
        render_prompt,
        save_model,
    )
    from .core.training import (
        MetricLog,
        Progress,
        accelerator,
        count_batches,
        epoch_batches,
        full_state_dict,
        make_optimizer,
        plain_mean,
        prepare,
        train_loop,
    )

    s = cfg.sft
    acc = accelerator(cfg.seed, cfg.model)
    tok = load_tokenizer(cfg.model.name, cfg.model.trust_remote_code)
    model = load_causal_lm(cfg.model, trainable=True)
    model.config.use_cache = False
    if s.gradient_checkpointing:
        checkpoint_activations(model)
    examples = [
        tokenize_example(
            tok, render_prompt(tok, r["prompt"], cfg.model.chat_template), r["output"], s.max_length
        )
        for r in records
    ]
    if s.share_prefix:  # batches of examples whose prompts share a prefix (module notes, 4)
        from .algos.packing import batches_per_epoch, prefix_batches, prefix_clusters

        clusters = prefix_clusters([ids[: labels.count(-100)] for ids, labels in examples], s.min_prefix)
        micro = math.ceil(batches_per_epoch(clusters, s.batch_size, acc.num_processes) * s.epochs)
    else:
        micro = count_batches(len(examples), s.batch_size, s.epochs)
    steps = s.max_steps or max(1, micro // s.grad_accum)
    opt, sched = make_optimizer(model, s.lr, s.weight_decay, steps, s.warmup_ratio)
    if s.batch_size < acc.num_processes:
        raise ValueError(f"sft.batch_size={s.batch_size} is smaller than the {acc.num_processes} processes")
    model, opt = prepare(acc, model, opt, -(-s.batch_size // acc.num_processes), s.grad_accum)

    def loss_fn(idx: list[int]):
        if s.share_prefix:
            total, n = packed_output_loss(
                model, [examples[j] for j in idx], tok.pad_token_id, acc.device, s.min_prefix
            )
            n_local, tokens = torch.tensor(n, device=acc.device), sum(len(examples[j][0]) for j in idx)
        else:
            ids, mask, labels = (
                t.to(acc.device) for t in collate([examples[j] for j in idx], tok.pad_token_id)
            )
            n_local, tokens = (labels[:, 1:] != -100).sum(), int(mask.sum())
            total = output_loss(model, ids, mask, labels, "sum")
        # normalise by the output tokens of the whole global batch, so N processes (whose gradients
        # DDP averages) give the same gradient as one process on the same batch
        n_global = acc.reduce(n_local.clone(), reduction="sum") if acc.num_processes > 1 else n_local
        loss = total * acc.num_processes / n_global.clamp(min=1)
        share = loss.detach() / acc.num_processes  # this process's share of the global mean loss
        shown = (acc.reduce(share, reduction="sum") if acc.num_processes > 1 else share).item()
        return loss, (shown,), tokens

    model.train()
    t0 = time.time()
    epochs = s.epochs if not s.max_steps else 1e9  # max_steps: as many passes as it takes
    batches = (
        prefix_batches(clusters, s.batch_size, epochs, cfg.seed, min_size=acc.num_processes)
        if s.share_prefix
        else epoch_batches(len(examples), s.batch_size, epochs, cfg.seed)
    )
    done = train_loop(
        acc,
        model,
        opt,
        sched,
        batches,
        loss_fn,
        steps=steps,
        grad_accum=s.grad_accum,
        grad_clip=s.grad_clip,
        log_every=s.log_every,
        log=MetricLog(out_dir / "metrics.jsonl", acc.is_main_process),
        bar=Progress(steps, "sft", disable=not acc.is_local_main_process),
        metrics=lambda m, lr, rate: {"loss/sft": m[0], "lr": lr, "perf/tokens_per_s": rate},
        average=plain_mean,
    )
    if run:
        run.time("train_s", time.time() - t0)
    state = full_state_dict(acc, model)  # FSDP / ZeRO-3: gathered from every process
    model = acc.unwrap_model(model)
    if acc.is_main_process:
        builtin = cfg.model.name if cfg.model.lora.enabled else None
        save_model(model, tok, out_dir / "checkpoint", builtin_from=builtin, state_dict=state)
    return {
        "steps": done.steps,
        "first_loss": done.first[0] if done.first else None,
        "last_loss": done.last[0] if done.steps else None,
        "examples": len(examples),
        "model": describe_model(model),
    } | ({} if not torch.cuda.is_available() else {"max_cuda_mem": torch.cuda.max_memory_allocated()})
