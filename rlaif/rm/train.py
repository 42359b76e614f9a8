"""Reward-model training and evaluation (`rlaif rm`) from AI or human preferences (METHOD.md 3, 7).

1. Input, detected from the first record: soft-labeled comparisons {prompt, response_a,
   response_b, p_a} (default: the label stage's OUT/label/comparisons.jsonl), hard preferences
   {prompt, chosen, rejected} (p_a = 1), or SALMON records {..., principle_scores} from which
   principle-following training pairs are built (salmon.synthetic_preferences; needs rm.salmon).
2. Loss: cross-entropy between p_a and sigmoid(r_a - r_b) (`rm.loss=soft`, RLAIF's distillation),
   or Bradley-Terry on argmax labels (`hard`); optional margin and centering (algos/preference.py).
3. A compact loop like sft's: fp32 master weights with bf16 autocast, accelerate for devices and
   processes, a pair's prompt encoded once (rm.model.pack_groups). Evaluation is pairwise
   accuracy on held-out pairs (rm.eval_data, or a prompt-disjoint share of the data), calibration,
   and the reward distributions of preferred vs dispreferred responses (rewards.png).
4. Output: OUT/rm/checkpoint (a transformers sequence-classification folder + rlaif_rm.json),
   eval_scores.jsonl, metrics.jsonl, rewards.png, manifest.json. `rlaif rm serve` serves it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from ..core.config import Config
from ..core.hashing import hash_unit
from ..core.models import checkpoint_activations
from ..core.runs import Run
from ..core.training import (
    MetricLog,
    Progress,
    accelerator,
    count_batches,
    epoch_batches,
    full_state_dict,
    make_optimizer,
    prepare,
    train_loop,
)
from ..generation import policy_path
from .model import batch_rewards, load_rm_for_training, pack_groups, pooled

# --------------------------------------------------------------------------- data


def read_pairs(source: str, limit: int = 0) -> tuple[str, list[dict]]:
    """(kind, records) with kind comparison, preference (converted to comparisons) or salmon."""
    from ..core.records import RecordError, preference_to_comparison, read_records, response_text

    first = read_records(source, "prompt", limit=1)[0]
    if "principle_scores" in first:
        return "salmon", read_records(source, "salmon", limit)
    if "p_a" in first:
        recs = read_records(source, "comparison", limit)
        for r in recs:
            r["response_a"], r["response_b"] = response_text(r["response_a"]), response_text(r["response_b"])
        return "comparison", recs
    if "chosen" in first:
        return "preference", [preference_to_comparison(r) for r in read_records(source, "preference", limit)]
    raise RecordError(
        f"{source}: first record has fields {sorted(first)}; expected comparisons "
        f"{{prompt, response_a, response_b, p_a}}, preferences {{prompt, chosen, rejected}} "
        f"or SALMON records {{prompt, response_a, response_b, principle_scores}}"
    )


def held_out(prompt, fraction: float, seed: int) -> bool:
    """Prompt-disjoint split: every pair of a prompt lands on the same side."""
    return hash_unit(f"{seed}\x1f{prompt if isinstance(prompt, str) else repr(prompt)}", 8) < fraction


def prepare_pairs(cfg: Config) -> tuple[list[dict], list[dict], dict]:
    """Training and evaluation comparisons (with `principles` lists for SALMON) and their sources."""
    from .salmon import load_principles, rm_principles, synthetic_preferences, use_time_principles

    rm = cfg.rm
    source = rm.data or str(Path(cfg.out) / "label" / "comparisons.jsonl")
    if not rm.data and not Path(source).exists():
        raise FileNotFoundError(f"{source}: no comparisons; run `rlaif label` first or set --rm.data=FILE")
    kind, recs = read_pairs(source, rm.limit)
    if kind == "salmon" and not rm.salmon:
        raise ValueError(f"{source} holds SALMON principle_scores records: set --rm.salmon=true")
    if rm.eval_data:
        train, (ekind, evals) = recs, read_pairs(rm.eval_data)
    else:
        ekind = kind
        train = [r for r in recs if not held_out(r["prompt"], rm.eval_fraction, cfg.seed)]
        evals = [r for r in recs if held_out(r["prompt"], rm.eval_fraction, cfg.seed)]
    if rm.salmon:
        pset = load_principles(rm.principles)
        if kind == "salmon":
            train = synthetic_preferences(
                train, pset, rm.principles_per_example, rm.negate_prob, rm.label_noise, cfg.seed
            )
        if ekind == "salmon":
            evals = synthetic_preferences(
                evals, pset, rm.principles_per_example, rm.negate_prob, 0.0, cfg.seed + 1
            )
        for r in (train if kind == "salmon" else []) + (evals if ekind == "salmon" else []):
            r["principles"] = rm_principles(pset, r["principles"])  # the fixed ones too, as at use time
        for r in (train if kind != "salmon" else []) + (evals if ekind != "salmon" else []):
            r["principles"] = use_time_principles(pset, r["prompt"], rm.rl_sampled, cfg.seed)
    if rm.loss == "hard":
        train = [r for r in train if r["p_a"] != 0.5]
    if not train:
        raise ValueError(f"{source}: no training pairs left (after the eval split and dropping ties)")
    return (
        train,
        evals,
        {
            "data": source,
            "kind": kind,
            "eval_data": rm.eval_data or f"held out from {source}",
            "eval_kind": ekind,
        },
    )


def tokenize_pairs(
    tok, pairs: list[dict], chat_template: bool, max_length: int
) -> list[tuple[list[int], list[list[int]]]]:
    from ..core.models import render_prompt
    from .model import encode_group
    from .salmon import with_principles

    return [
        encode_group(
            tok,
            render_prompt(tok, with_principles(r["prompt"], r.get("principles") or []), chat_template),
            [r["response_a"], r["response_b"]],
            max_length,
        )
        for r in pairs
    ]


# --------------------------------------------------------------------------- training


def _targets(pairs: list[dict], idx: list[int], margin: float):
    import torch

    p_a = torch.tensor([pairs[j]["p_a"] for j in idx], dtype=torch.float32)  # (B,)
    m = torch.tensor([float(pairs[j].get("margin", margin)) for j in idx], dtype=torch.float32)
    return p_a, m


def train(cfg: Config, pairs: list[dict], examples: list, tok, out_dir: Path, run: Run | None = None):
    """Fit the RM on tokenized pairs; returns (unwrapped PooledReward, summary)."""
    import torch

    from ..algos.preference import pairwise_accuracy, preference_loss

    rm = cfg.rm
    acc = accelerator(cfg.seed, cfg.model)
    world = acc.num_processes
    if rm.batch_size < world:
        raise ValueError(f"rm.batch_size={rm.batch_size} is smaller than the {world} processes")
    hf = load_rm_for_training(rm.model or policy_path(cfg), cfg.model, tok.pad_token_id, lora=rm.lora)
    if rm.gradient_checkpointing:
        checkpoint_activations(hf)
    model = pooled(hf)
    share = rm.min_prefix if rm.share_prompt else 0
    # batches of pairs on one schema, which pack_groups then encodes once (model.py, 3). Not for
    # SALMON: its prompts begin with their principles, so such batches would each hold one principle
    # and one polarity (measured: held-out accuracy 0.69 instead of > 0.8 in tests/test_rm.py);
    # pairs that happen to share a prefix inside a random batch are still packed together.
    by_prefix = share and not rm.salmon
    if by_prefix:
        from ..algos.packing import batches_per_epoch, prefix_batches, prefix_clusters

        clusters = prefix_clusters([p for p, _ in examples], share)
        micro = math.ceil(batches_per_epoch(clusters, rm.batch_size, world) * rm.epochs)
    else:
        micro = count_batches(len(examples), rm.batch_size, rm.epochs)
    steps = rm.max_steps or max(1, micro // rm.grad_accum)
    opt, sched = make_optimizer(model, rm.lr, rm.weight_decay, steps, rm.warmup_ratio)
    use_fused_adamw(opt)
    model, opt = prepare(acc, model, opt, -(-rm.batch_size // world), rm.grad_accum)

    def loss_fn(idx: list[int]):
        batch = pack_groups([examples[j] for j in idx], tok.pad_token_id, rm.share_prompt, share).to(
            acc.device
        )
        p_a, margin = (t.to(acc.device) for t in _targets(pairs, idx, rm.margin))
        r = batch_rewards(model, batch).view(-1, 2)  # (B, 2)
        loss = preference_loss(r[:, 0], r[:, 1], p_a, rm.loss, margin, rm.center_coef)
        if world > 1:  # weight each share by its pairs, so DDP's mean equals the whole batch's loss
            w = (
                (p_a != 0.5).sum().float()
                if rm.loss == "hard"
                else torch.tensor(float(len(idx)), device=acc.device)
            )
            loss = loss * w * world / acc.reduce(w.clone(), reduction="sum").clamp(min=1)
        rd = r.detach()
        shown = acc.reduce(loss.detach() / world, reduction="sum").item() if world > 1 else loss.item()
        stats = (
            shown,
            pairwise_accuracy(rd[:, 0], rd[:, 1], p_a)[0],
            float((rd[:, 0] - rd[:, 1]).abs().mean()),
        )
        return loss, stats, batch.tokens

    def metrics(mean: tuple[float, ...], lr: float, rate: float) -> dict:
        return {
            "loss/rm": mean[0],
            "reward/train_accuracy": mean[1],
            "reward/abs_gap": mean[2],
            "lr": lr,
            "perf/tokens_per_s": rate,
            "perf/elapsed_s": round(time.time() - t0, 3),
            "perf/cpu_s": round(time.process_time() - c0, 3),
        }

    model.train()
    t0, c0 = time.time(), time.process_time()
    epochs = rm.epochs if not rm.max_steps else 1e9
    batches = (
        prefix_batches(clusters, rm.batch_size, epochs, cfg.seed, min_size=world)
        if by_prefix
        else epoch_batches(len(examples), rm.batch_size, epochs, cfg.seed)
    )
    done = train_loop(
        acc,
        model,
        opt,
        sched,
        batches,
        loss_fn,
        steps=steps,
        grad_accum=rm.grad_accum,
        grad_clip=rm.grad_clip,
        log_every=rm.log_every,
        log=MetricLog(out_dir / "metrics.jsonl", acc.is_main_process),
        bar=Progress(steps, "rm", disable=not acc.is_local_main_process),
        metrics=metrics,
    )
    seconds = time.time() - t0
    if run:
        run.time("train_s", seconds)
    state = full_state_dict(acc, model)  # FSDP / ZeRO-3: gathered from every process
    model = acc.unwrap_model(model)
    if state is not None and acc.is_main_process:
        model.load_state_dict(state)
    return model, {
        "steps": done.steps,
        "first_loss": done.first[0] if done.first else None,
        "last_loss": done.last[0] if done.steps else None,
        "pairs_per_s": round(done.steps * rm.batch_size * rm.grad_accum / max(seconds, 1e-9), 3),
        "train_pairs": len(examples),
        "tokens_per_s": round(done.tokens_per_s, 1) if done.steps else 0.0,
    }


def use_fused_adamw(opt) -> None:
    """Switch a not-yet-stepped AdamW to torch's fused kernel where it exists (CPU and CUDA since
    torch 2.4): one pass over each tensor instead of a dozen, ~2x faster steps and no temporaries."""
    import torch

    if not isinstance(opt, torch.optim.AdamW) or opt.state:
        return
    devices = {p.device.type for g in opt.param_groups for p in g["params"]}
    if devices <= {"cpu", "cuda"}:
        for g in opt.param_groups:
            g["fused"], g["foreach"] = True, False


# --------------------------------------------------------------------------- evaluation


def rewards_for_pairs(
    model, tok, examples: list, share_prompt: bool, batch_size: int, device, min_prefix: int = 0
) -> tuple:
    """(r_a, r_b) fp32 tensors of shape (N,) for tokenized pairs, without gradients. Consecutive
    pairs on one schema share a row when `min_prefix` > 0 (the label stage writes them together)."""
    import torch

    from .model import batch_rewards, pack_groups

    model.eval()
    out = []
    with torch.inference_mode():
        for k in range(0, len(examples), max(1, batch_size // 2)):
            chunk = examples[k : k + max(1, batch_size // 2)]
            b = pack_groups(chunk, tok.pad_token_id, share_prompt, min_prefix if share_prompt else 0).to(
                device
            )
            out.append(batch_rewards(model, b).view(-1, 2).float().cpu())
    r = torch.cat(out) if out else torch.zeros(0, 2)
    return r[:, 0], r[:, 1]


def evaluate(r_a, r_b, p_a) -> dict:
    import torch

    from ..algos.preference import calibration, pairwise_accuracy

    if len(p_a) == 0:
        return {}
    accuracy, n = pairwise_accuracy(r_a, r_b, p_a)
    pref = p_a >= 0.5
    chosen, rejected = r_a.where(pref, r_b), r_b.where(pref, r_a)
    return {
        "accuracy": accuracy,
        "pairs": n,
        **calibration(r_a, r_b, p_a),
        "reward_chosen_mean": float(chosen.mean()),
        "reward_rejected_mean": float(rejected.mean()),
        "reward_mean": float(r_a.mean() / 2 + r_b.mean() / 2),
        "reward_std": float(torch.cat([r_a, r_b]).std()) if len(r_a) > 1 else 0.0,
    }


def plot_rewards(r_a, r_b, p_a, table: list, path: Path, title: str) -> Path:
    """Histogram of preferred vs dispreferred rewards, and a reliability diagram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = p_a != 0.5
    pref = p_a[keep] > 0.5
    chosen = r_a[keep].where(pref, r_b[keep]).numpy()
    rejected = r_b[keep].where(pref, r_a[keep]).numpy()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    bins = 30
    ax1.hist(chosen, bins=bins, alpha=0.6, label="preferred")
    ax1.hist(rejected, bins=bins, alpha=0.6, label="dispreferred")
    ax1.set_xlabel("reward")
    ax1.set_ylabel("responses")
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    ax2.plot([0.5, 1], [0.5, 1], "k--", lw=1, label="perfect calibration")
    if table:
        ax2.plot([c for c, _, _ in table], [a for _, a, _ in table], "o-", label="RM")
    ax2.set_xlabel("RM confidence sigmoid(|r_a - r_b|)")
    ax2.set_ylabel("accuracy")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_scores(path: Path, pairs: list[dict], r_a, r_b) -> None:
    from ..core.records import write_jsonl

    write_jsonl(
        path,
        (
            {"index": i, "p_a": r["p_a"], "r_a": float(a), "r_b": float(b)}
            | ({"dominant": r["dominant"]} if "dominant" in r else {})
            for i, (r, a, b) in enumerate(zip(pairs, r_a, r_b))
        ),
    )


def rm_meta(cfg: Config, base: str, stats: dict) -> dict:
    from dataclasses import asdict

    meta = {
        "base_model": base,
        "chat_template": cfg.model.chat_template,
        "max_length": cfg.rm.max_length,
        "loss": cfg.rm.loss,
        "salmon": cfg.rm.salmon,
        "rl_sampled": cfg.rm.rl_sampled,
        "seed": cfg.seed,
        "reward_mean": stats.get("reward_mean", 0.0),
        "reward_std": stats.get("reward_std", 1.0),
    }
    if cfg.rm.salmon:
        from .salmon import load_principles

        ps = load_principles(cfg.rm.principles)
        meta["principle_set"] = {
            "principles": [asdict(p) for p in ps.principles],
            "fixed": [asdict(p) for p in ps.fixed],
        }
    return meta


def evaluate_rm(
    cfg: Config, model, tok, train_pairs: list[dict], train_ex: list, eval_pairs: list[dict]
) -> tuple:
    """Accuracy and calibration on the held-out pairs (or the first 512 training pairs when there
    are none) and accuracy on the first 256 training pairs: (results, pairs scored, r_a, r_b, p_a).
    Pairs with a reference label (`gold_p_a`) are also scored against it (`eval_vs_reference`)."""
    import torch

    from ..algos.preference import pairwise_accuracy

    device = next(model.parameters()).device
    ev_pairs = eval_pairs or train_pairs[:512]
    ev_ex = tokenize_pairs(tok, ev_pairs, cfg.model.chat_template, cfg.rm.max_length)
    r_a, r_b = rewards_for_pairs(
        model, tok, ev_ex, cfg.rm.share_prompt, cfg.rm.eval_batch_size, device, cfg.rm.min_prefix
    )
    p_a = torch.tensor([x["p_a"] for x in ev_pairs])
    results = {
        "eval": evaluate(r_a, r_b, p_a),
        "eval_on": "held-out pairs" if eval_pairs else "training pairs",
    }
    # against the reference labels the label stage attached (the task oracle, human labels): what an
    # RM trained on an imperfect labeler actually learned, not how well it copies that labeler
    gold = [(i, x["gold_p_a"]) for i, x in enumerate(ev_pairs) if x.get("gold_p_a") not in (None, 0.5)]
    if gold:
        idx = torch.tensor([i for i, _ in gold])
        acc, n = pairwise_accuracy(r_a[idx], r_b[idx], torch.tensor([g for _, g in gold], dtype=torch.float))
        results["eval_vs_reference"] = {"accuracy": acc, "pairs": n}
    tr = train_ex[:256]
    tr_a, tr_b = rewards_for_pairs(
        model, tok, tr, cfg.rm.share_prompt, cfg.rm.eval_batch_size, device, cfg.rm.min_prefix
    )
    results["train_accuracy"] = evaluate(tr_a, tr_b, torch.tensor([x["p_a"] for x in train_pairs[:256]])).get(
        "accuracy"
    )
    return results, ev_pairs, r_a, r_b, p_a
