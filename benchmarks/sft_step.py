"""Seconds per SFT optimizer step, tokens/s, peak memory and the share of the machine's bf16 matmul
ceiling: `rlaif sft` (prefix sharing on and off) against TRL's SFTTrainer, in one run.

Setup (identical for every runner): the bundled SmolLM2-135M-Instruct, the built-in text2sql `sft`
split rendered through the chat template (~470 tokens a prompt, ~390 of them the database schema),
batch 8, max length 768, loss on the output tokens only, fp32 master weights with bf16 autocast
where the CPU has fast bf16, lr 1e-5. Each runner is a fresh process (peak RSS is per process), runs
`--warmup` steps untimed, then `--steps` timed steps; runners run one after another.

Runners:
  ours        rlaif sft defaults: prefix sharing + gradient checkpointing
  ours_rows   prefix sharing off (padded rows, gradient checkpointing on)
  ours_plain  prefix sharing and gradient checkpointing off (the loop before issue 15)
  trl         trl.SFTTrainer with its defaults, completion-only loss (prompt/completion records)

Example tokens/s counts the examples' real tokens (prompt + output), the same for every runner, so
it is comparable across runners whatever each one computes. Utilisation counts what the model
computes (the packed sequence for `ours`): 6 * N * computed tokens/s over the bf16 ceiling of all
threads (N = non-embedding parameters; benchmarks/matmul_ceiling.py, same run).

usage: python benchmarks/sft_step.py [--steps 4] [--warmup 1] [--only ours,trl]
Writes benchmarks/results/sft_step.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH, MAX_LEN, LR = 8, 768, 1e-5
RUNNERS = ["ours", "ours_rows", "ours_plain", "trl"]


def records(k: int) -> list[dict]:
    from rlaif.tasks import get_task

    return get_task("text2sql").records("sft")[:k]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(steps: int, warmup: int, share: bool, gc: bool) -> dict:
    from rlaif.core import training
    from rlaif.core.config import load_config
    from rlaif.core.models import resolve_model_path
    from rlaif.sft import tokenize_example, train

    path = resolve_model_path("smollm2-135m")
    cfg = load_config(
        None,
        {
            "model": {"name": path},
            "sft": {
                "batch_size": BATCH,
                "max_length": MAX_LEN,
                "lr": LR,
                "max_steps": steps + warmup,
                "log_every": 1,
                "share_prefix": share,
                "gradient_checkpointing": gc,
                "warmup_ratio": 0.0,
            },
        },
    )
    stamps = []
    real_write = training.MetricLog.write
    training.MetricLog.write = lambda self, step, m: (stamps.append(time.time()), real_write(self, step, m))[
        1
    ]
    recs = records(2000)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.time()
        out = train(cfg, recs, Path(d))
        total = time.time() - t0
    times = [b - a for a, b in zip(stamps[warmup - 1 :], stamps[warmup:])] if warmup else []
    from rlaif.core.models import load_tokenizer, render_prompt

    tok = load_tokenizer(path)
    exs = [tokenize_example(tok, render_prompt(tok, r["prompt"]), r["output"], MAX_LEN) for r in recs]
    mean_tokens = sum(len(ids) for ids, _ in exs) / len(exs)
    computed = mean_tokens * BATCH  # what the model actually runs over per step
    if share:  # the timed steps' batches again (same seed): their packed lengths
        from rlaif.algos.packing import group_by_prefix, prefix_batches, prefix_clusters, split_prefix

        prompts = [ids[: labels.count(-100)] for ids, labels in exs]
        batches = prefix_batches(prefix_clusters(prompts, cfg.sft.min_prefix), BATCH, 1e9, cfg.seed)
        sizes = []
        for _, idx in zip(range(warmup + steps), batches):
            n = 0
            for g in group_by_prefix([prompts[i] for i in idx], 10**9, cfg.sft.min_prefix):
                prefix, rests = split_prefix([prompts[idx[k]] for k in g])
                n += len(prefix) + sum(
                    len(r) + len(exs[idx[k]][0]) - len(prompts[idx[k]]) for k, r in zip(g, rests)
                )
            sizes.append(n)
        computed = sum(sizes[warmup:]) / max(1, len(sizes[warmup:]))
    return {
        "step_s": times,
        "tokens_per_step": mean_tokens * BATCH,
        "computed_tokens_per_step": computed,
        "total_s": total,
        "steps": out["steps"],
        "first_loss": out["first_loss"],
        "last_loss": out["last_loss"],
        "peak_rss_mb": peak_rss_mb(),
    }


def run_trl(steps: int, warmup: int) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from rlaif.core.models import cpu_has_fast_bf16, load_tokenizer, resolve_model_path

    path = resolve_model_path("smollm2-135m")
    tok = load_tokenizer(path)
    tok.padding_side = "right"
    recs = records(2000)
    # prompt/completion in conversational form: TRL applies the chat template and masks the prompt
    ds = datasets.Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": r["prompt"]}],
                "completion": [{"role": "assistant", "content": r["output"]}],
            }
            for r in recs
        ]
    )
    stamps = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            stamps.append(time.time())

    with tempfile.TemporaryDirectory() as d:
        args = SFTConfig(
            output_dir=d,
            per_device_train_batch_size=BATCH,
            max_length=MAX_LEN,
            learning_rate=LR,
            max_steps=steps + warmup,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            bf16=cpu_has_fast_bf16(),
            use_cpu=True,
            completion_only_loss=True,
            warmup_steps=0,
            dataloader_num_workers=0,
        )
        model = AutoModelForCausalLM.from_pretrained(path)
        trainer = SFTTrainer(
            model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()]
        )
        t0 = time.time()
        trainer.train()
        total = time.time() - t0
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        tokens = sum(len(x["input_ids"]) for x in trainer.train_dataset) / len(trainer.train_dataset)
    times = [b - a for a, b in zip(stamps[warmup - 1 :], stamps[warmup:])] if warmup else []
    return {
        "step_s": times,
        "tokens_per_step": tokens * BATCH,
        "computed_tokens_per_step": tokens * BATCH,
        "total_s": total,
        "steps": len(stamps),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "peak_rss_mb": peak_rss_mb(),
        "gradient_checkpointing": args.gradient_checkpointing,
    }


def child(name: str, steps: int, warmup: int) -> dict:
    if name == "trl":
        return run_trl(steps, warmup)
    return run_ours(steps, warmup, share=name == "ours", gc=name != "ours_plain")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--only", default=",".join(RUNNERS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print("RESULT " + json.dumps(child(a.child, a.steps, max(1, a.warmup))))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from matmul_ceiling import ceiling, non_embedding_params, utilisation

    from rlaif.core.models import resolve_model_path

    ceil = ceiling()
    from transformers import AutoModelForCausalLM

    n_params = non_embedding_params(AutoModelForCausalLM.from_pretrained(resolve_model_path("smollm2-135m")))
    res = {
        "ceiling": ceil,
        "non_embedding_params": n_params,
        "batch": BATCH,
        "max_length": MAX_LEN,
        "runners": {},
    }
    for name in a.only.split(","):
        r = subprocess.run(
            [sys.executable, __file__, "--child", name, "--steps", str(a.steps), "--warmup", str(a.warmup)],
            capture_output=True,
            text=True,
        )
        line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
        if r.returncode or not line:
            res["runners"][name] = {"error": (r.stderr or r.stdout)[-2000:]}
            print(f"{name}: failed\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        out = json.loads(line[0][7:])
        st = sorted(out["step_s"])
        out["median_step_s"] = st[len(st) // 2]
        out["tokens_per_s"] = out["tokens_per_step"] / out["median_step_s"]
        # the share of the ceiling the model's own work reaches: the tokens it computes (packed)
        out["utilisation_bf16"] = utilisation(
            out["computed_tokens_per_step"] / out["median_step_s"], n_params, ceil["bf16_all"]
        )
        res["runners"][name] = out
    base = res["runners"].get("trl", {}).get("median_step_s")
    print(
        f"bf16 ceiling {ceil['bf16_all']} GFLOP/s ({ceil['threads']} threads, {ceil['cpu']}); "
        f"N = {n_params / 1e6:.1f}M non-embedding parameters\n"
    )
    print(
        "| runner | s/step (median) | example tokens/s | vs TRL | computed tokens/step | peak RSS MB | "
        "share of bf16 ceiling | loss first→last |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, o in res["runners"].items():
        if "error" in o:
            print(f"| {name} | failed | | | | | | |")
            continue
        ratio = f"{base / o['median_step_s']:.2f}x" if base else "-"
        print(
            f"| {name} | {o['median_step_s']:.2f} | {o['tokens_per_s']:.0f} | {ratio} | "
            f"{o['computed_tokens_per_step']:.0f} | {o['peak_rss_mb']:.0f} | "
            f"{o['utilisation_bf16']:.1%} | {o['first_loss']:.3f}→{o['last_loss']:.3f} |"
        )
    (Path(__file__).parent / "results" / "sft_step.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
