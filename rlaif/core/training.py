"""Pieces every training stage shares (SFT, reward model, RL): optimizer, schedule, devices, progress,
and the one optimisation loop of sft and rm (`train_loop`).

1. `accelerate.Accelerator` owns devices and processes, so the same loop runs on one CPU, on a GPU,
   and under `accelerate launch` (DDP / FSDP / DeepSpeed) without changes.
2. Weights train in fp32; forward passes autocast to bf16 where the hardware has it (the
   `model.dtype` setting). Callers compute losses in fp32.
3. A progress bar shows loss and tokens/s; metrics go to a JSONL log in the run folder.
4. `train_loop` owns batching across processes, gradient accumulation, the optimizer step, the
   progress bar and logging; a trainer supplies only `loss_fn(indices) -> (loss, stats, tokens)`,
   so a new way of building batches (packing, say) changes the callback and nothing else.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tqdm.auto import tqdm


def make_optimizer(model, lr: float, weight_decay: float, total_steps: int, warmup_ratio: float):
    """AdamW over trainable parameters with linear warm-up then linear decay to zero."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    return optimizer_for_groups([{"params": params}], lr, weight_decay, total_steps, warmup_ratio)


def optimizer_for_groups(
    groups: list[dict], lr: float, weight_decay: float, total_steps: int, warmup_ratio: float
):
    """AdamW over parameter groups (each may set its own `lr`; RL's policy and critic do) and a
    schedule of linear warm-up for `warmup_ratio` of `total_steps`, then linear decay to zero."""
    import torch

    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    warmup = max(1, int(total_steps * warmup_ratio))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)


def accelerator(seed: int, model_cfg=None):
    """The process's Accelerator (one CPU process unless launched with `accelerate launch`), with
    autocast to bf16/fp16 when the model config resolves to it (weights stay fp32)."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed

    from .models import mixed_precision, resolve_device

    device = resolve_device(model_cfg.device if model_cfg is not None else "auto")
    # accelerate keeps one AcceleratorState per process and refuses a second Accelerator with
    # another precision; stages (and tests) in one process may differ, so start it afresh. The
    # process group (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    # cpu=True lets `accelerate launch --multi_gpu` / torchrun on a machine without GPUs run
    # data-parallel CPU processes over gloo (accelerate's MULTI_CPU) instead of N lone copies.
    acc = Accelerator(
        mixed_precision=mixed_precision(model_cfg) if model_cfg is not None else "no", cpu=device == "cpu"
    )
    set_seed(seed)
    return acc


def init_processes(model_cfg=None) -> None:
    """Join the process group of `accelerate launch` / torchrun (gloo on CPU) if not joined yet, with
    the same device choice as `accelerator`, so that every process is in it before any stage runs."""
    from accelerate import PartialState

    from .models import resolve_device

    PartialState(cpu=resolve_device(model_cfg.device if model_cfg is not None else "auto") == "cpu")


def prepare(acc, model, opt, micro_batch: int, grad_accum: int = 1):
    """`acc.prepare(model, opt)`. DeepSpeed cannot infer its batch sizes without a dataloader, so
    they are filled in from the per-process micro-batch and the accumulation steps."""
    plugin = getattr(acc.state, "deepspeed_plugin", None)
    if plugin is not None:
        ds = plugin.deepspeed_config
        ds["train_micro_batch_size_per_gpu"] = max(1, micro_batch)
        ds["gradient_accumulation_steps"] = max(1, grad_accum)
        ds["train_batch_size"] = max(1, micro_batch) * max(1, grad_accum) * acc.num_processes
    return acc.prepare(model, opt)


def full_state_dict(acc, model):
    """The full weights when FSDP or ZeRO-3 shard them (a collective: every process calls it; the
    main process gets the tensors), else None: the unwrapped model saves itself."""
    from accelerate.utils import DistributedType

    if acc.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        return acc.get_state_dict(model)
    return None


def optimizer_step(acc, model, opt, sched, grad_clip: float) -> None:
    """One optimizer step after accumulation: clip (0: off), step, advance the schedule, clear grads."""
    if grad_clip:
        acc.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


class MetricLog:
    """Append-only JSONL of metrics, one line per logged step (main process only)."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path, self.enabled = Path(path), enabled

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\n")


class Progress:
    """A tqdm bar that shows the latest loss and tokens per second."""

    def __init__(self, total: int, desc: str, disable: bool = False):
        self.bar = tqdm(total=total, desc=desc, disable=disable, dynamic_ncols=True)
        self.t0, self.tokens = time.time(), 0

    def update(self, n: int = 1, tokens: int = 0, **shown: float) -> float:
        self.tokens += tokens
        rate = self.tokens / max(1e-9, time.time() - self.t0)
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()} | {"tok/s": f"{rate:.0f}"})
        self.bar.update(n)
        return rate

    def close(self) -> None:
        self.bar.close()


def epoch_batches(n: int, batch_size: int, epochs: float, seed: int) -> Iterator[list[int]]:
    """Index batches over `epochs` shuffled passes (a fractional last epoch is cut short)."""
    import random

    rng = random.Random(seed)
    total = math.ceil(n * epochs / batch_size) if epochs > 0 else 0
    order: list[int] = []
    for _ in range(total):
        if len(order) < batch_size:
            perm = list(range(n))
            rng.shuffle(perm)
            order += perm
        yield order[:batch_size]
        order = order[batch_size:]


def count_batches(n: int, batch_size: int, epochs: float) -> int:
    return math.ceil(n * epochs / batch_size) if epochs > 0 else 0


def plain_mean(window: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    """Column means of per-micro-batch stats (a NaN stays visible)."""
    return tuple(sum(c) / len(c) for c in zip(*window))


def mean_columns(window: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    """Column means of per-micro-batch stats, NaNs left out (a column of NaNs averages to 0)."""
    cols = list(zip(*window))
    return tuple(
        sum(x for x in c if not math.isnan(x)) / max(1, sum(not math.isnan(x) for x in c)) for c in cols
    )


@dataclass
class LoopResult:
    steps: int  # optimizer steps made
    first: tuple[float, ...] | None  # the first step's averaged stats
    last: tuple[float, ...] | None  # the last step's
    tokens_per_s: float


def train_loop(
    acc,
    model,
    opt,
    sched,
    batches: Iterator[list[int]],
    loss_fn: Callable[[list[int]], tuple[Any, tuple[float, ...], int]],
    *,
    steps: int,
    grad_accum: int,
    grad_clip: float,
    log_every: int,
    log: MetricLog,
    bar: Progress,
    metrics: Callable[[tuple[float, ...], float, float], dict],
    average: Callable[[Sequence[tuple[float, ...]]], tuple[float, ...]] = mean_columns,
) -> LoopResult:
    """The optimisation loop of sft and rm. Each global batch of example indices is split across
    processes; `loss_fn(this process's indices)` returns (loss, stats, tokens): the loss to
    backpropagate, a tuple of floats whose first is the loss shown (averaged over the accumulated
    micro-batches with `average`), and the tokens in the batch. Every `grad_accum` micro-batches
    the optimizer steps; `metrics(mean_stats, lr, tokens_per_s)` is logged every `log_every` steps
    and at the last. Stops after `steps` optimizer steps."""
    world = acc.num_processes
    step, window, first, mean, rate = 0, [], None, None, 0.0
    for i, idx in enumerate(batches):
        idx = idx[acc.process_index :: world]  # data parallel: each process takes a share of the batch
        loss, stats, tokens = loss_fn(idx)
        acc.backward(loss / grad_accum)
        window.append(stats)
        if (i + 1) % grad_accum:
            continue
        optimizer_step(acc, model, opt, sched, grad_clip)
        step += 1
        mean = average(window)
        first = first or mean
        rate = bar.update(1, tokens=tokens * grad_accum * world, loss=mean[0])
        if step % log_every == 0 or step == steps:
            log.write(step, metrics(mean, sched.get_last_lr()[0], rate))
        window = []
        if step >= steps:
            break
    bar.close()
    acc.wait_for_everyone()
    return LoopResult(step, first, mean, rate)
