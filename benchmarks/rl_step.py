"""Seconds per RL step, generated tokens/s and peak memory: `rlaif rl` against TRL's RLOOTrainer and
GRPOTrainer, in one run, on the same model, batch, lengths and reward function.

Setup (identical for every runner): the bundled SmolLM2-135M-Instruct; `--prompts` per step x `--n`
completions (default 8 x 4, the issue-15 shape); at most `--max-new` new tokens; temperature 0.9; KL
coefficient beta = 0.05 to the initial policy; lr 1e-6; a cheap deterministic reward (does the
completion look like SQL?), so the reward's own cost is not what is measured. Prompts (`--data`):
`text2sql` (default) the real RL prompts of `text2sql:dbs=all`, each with its database schema (~470
tokens, ~390 of them the schema), a step's prompts drawn as the trainer draws them (`--batches db`: one
database a step where the data allows; `mixed`: shuffled over all databases, as before); `short` the bare
questions (the issue-6 setup). Each runner is a fresh
process (peak RSS is per process), runs `--warmup` steps untimed, then `--steps` timed steps; the
runners run one after another, and the bf16 matmul ceiling is measured in the same run.

Runners:
  ours           rlaif's Trainer, algo rloo (fused scoring pass, prompt sharing in training and
                 generation), fp32 master weights + bf16 autocast
  ours_noshare   the same with rl.share_prefix=false and no shared prefill (the code before issue 15)
  ours_a2c       the paper's A2C with its separate critic: prompts*n prompts x 1 completion
  trl_rloo       trl.RLOOTrainer with its defaults (bf16, gradient checkpointing)
  trl_grpo       trl.GRPOTrainer with its defaults (bf16, gradient checkpointing), beta = 0.05
  trl_rloo_fp32, trl_grpo_fp32: the same in fp32 without gradient checkpointing

usage: python benchmarks/rl_step.py [--steps 3] [--warmup 1] [--only ours,ours_noshare,trl_grpo]
Writes benchmarks/results/rl_step_DATA.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BETA, TEMP, LR = 0.05, 0.9, 1e-6
PROMPTS, N, MAX_NEW, DATA, BATCHES = 8, 4, 64, "text2sql", "db"  # set from the command line (main)
RUNNERS = ["ours", "ours_noshare", "ours_a2c", "trl_rloo", "trl_grpo", "trl_rloo_fp32", "trl_grpo_fp32"]


def sql_reward(prompts, completions, **kw):
    """1 if the completion looks like a SELECT query, else 0 (cheap, deterministic, same for all)."""
    from rlaif.core.records import response_text  # TRL passes chat completions as message lists

    return [1.0 if "select" in response_text(c).lower() else 0.0 for c in completions]


def questions(k: int) -> list[str]:
    """k RL prompts; text2sql: spread over the databases as a shuffled RL split would be."""
    import random

    from rlaif.core.records import prompt_text
    from rlaif.tasks import get_task

    if DATA == "short":
        recs = get_task("text2sql").records("rl")
        return [f"Write one SQLite query that answers: {r['question']}" for r in recs[:k]]
    recs = get_task("text2sql:dbs=all").records("rl")
    if BATCHES == "db":  # the trainer's own step batches: one database a step where the data allows
        from rlaif.core.models import encode_prompt, load_tokenizer, render_prompt, resolve_model_path
        from rlaif.rl.trainer import prompt_batches

        tok = load_tokenizer(resolve_model_path("smollm2-135m"))
        texts = [prompt_text(r["prompt"]) for r in recs]
        ids = [encode_prompt(tok, render_prompt(tok, t)) for t in texts]
        order = [i for b in prompt_batches(ids, PROMPTS, -(-k // PROMPTS), 0, 16) for i in b]
        return [texts[i] for i in order[:k]]
    random.Random(0).shuffle(recs)
    return [prompt_text(r["prompt"]) for r in recs[:k]]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(steps: int, warmup: int, algo: str, share: bool = True) -> dict:
    from rlaif.core.config import load_config
    from rlaif.core.models import load_tokenizer, render_prompt, resolve_model_path
    from rlaif.core.training import accelerator
    from rlaif.rl.rewards import build_rewards
    from rlaif.rl.trainer import Trainer, make_engine

    path = resolve_model_path("smollm2-135m")
    n = N if algo == "rloo" else 1
    cfg = load_config(
        None,
        {
            "model": {"name": path},
            "rl": {
                "algo": algo,
                "n": n,
                "batch_size": PROMPTS * N // n,
                "max_new_tokens": MAX_NEW,
                "temperature": TEMP,
                "kl_coef": BETA,
                "lr": LR,
                "micro_batch_size": PROMPTS * N,
                "steps": steps + warmup,
                "share_prefix": share,
                "rewards": [{"source": "python", "function": sql_reward}],
            },
        },
    )
    qs = questions(cfg.rl.batch_size * (steps + warmup))
    records = [{"prompt": q} for q in qs]
    tok = load_tokenizer(path)
    tr = Trainer(cfg, path, records, build_rewards(cfg.rl.rewards, cfg), accelerator(0, cfg.model), tok)
    engine = make_engine(cfg, tr, path)
    if not share:  # generation as before issue 15 too: no shared prefill
        import rlaif.rl.rollouts as ro

        plain = ro.generate_texts
        ro.generate_texts = lambda *a, **k: plain(*a, **(k | {"share_prefix": 0}))
    texts = [render_prompt(tok, r["prompt"]) for r in records]
    times, toks, gen = [], [], []
    for k in range(steps + warmup):
        idx = list(range(k * cfg.rl.batch_size, (k + 1) * cfg.rl.batch_size))
        t0 = time.time()
        m, _ = tr.step(engine, idx, texts, k)
        if k >= warmup:
            times.append(time.time() - t0)
            toks.append(m["response/length"] * len(idx) * n)
            gen.append(m["perf/gen_s"])
    return {
        "s_per_step": sum(times) / len(times),
        "gen_tokens_per_step": sum(toks) / len(toks),
        "gen_s_per_step": sum(gen) / len(gen),
    }


def run_trl(steps: int, warmup: int, kind: str, fp32: bool) -> dict:
    import datasets
    from transformers import TrainerCallback

    from rlaif.core.models import resolve_model_path

    path = resolve_model_path("smollm2-135m")
    if kind == "rloo":
        from trl import RLOOConfig as Cfg
        from trl import RLOOTrainer as T
    else:
        from trl import GRPOConfig as Cfg
        from trl import GRPOTrainer as T
    extra = {"bf16": False, "gradient_checkpointing": False} if fp32 else {}
    args = Cfg(
        output_dir=tempfile.mkdtemp(),
        use_cpu=True,
        per_device_train_batch_size=PROMPTS * N,
        num_generations=N,
        max_completion_length=MAX_NEW,
        beta=BETA,
        temperature=TEMP,
        learning_rate=LR,
        max_steps=steps + warmup,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        seed=0,
        **extra,
    )
    ds = datasets.Dataset.from_list(
        [{"prompt": [{"role": "user", "content": q}]} for q in questions(PROMPTS * (steps + warmup))]
    )

    class Timer(TrainerCallback):
        def __init__(self):
            self.times, self.t0 = [], 0.0

        def on_step_begin(self, *a, **k):
            self.t0 = time.time()

        def on_step_end(self, *a, **k):
            self.times.append(time.time() - self.t0)

    timer = Timer()
    trainer = T(model=path, reward_funcs=sql_reward, args=args, train_dataset=ds, callbacks=[timer])
    trainer.train()
    lens = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    t = timer.times[warmup:]
    return {
        "s_per_step": sum(t) / len(t),
        "gen_tokens_per_step": sum(lens[warmup:]) / max(1, len(lens[warmup:])) * PROMPTS * N,
    }


def child(name: str, steps: int, warmup: int) -> dict:
    if name == "ours":
        r = run_ours(steps, warmup, "rloo")
    elif name == "ours_noshare":
        r = run_ours(steps, warmup, "rloo", share=False)
    elif name == "ours_a2c":
        r = run_ours(steps, warmup, "a2c")
    else:
        _, kind, *fp = name.split("_")
        r = run_trl(steps, warmup, kind, bool(fp))
    r["gen_tokens_per_s"] = r["gen_tokens_per_step"] / r["s_per_step"]
    return r | {"runner": name, "peak_rss_mb": peak_rss_mb()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--only", default="ours,ours_noshare,trl_grpo")
    ap.add_argument("--data", choices=("text2sql", "short"), default="text2sql")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-new", type=int, default=64)
    ap.add_argument(
        "--batches",
        choices=("db", "mixed"),
        default="db",
        help="text2sql: a step's prompts as the trainer draws them (one database a step where the data "
        "allows; every runner gets the same prompts) or shuffled over all databases (before issue 15)",
    )
    ap.add_argument("--out", default="", help="default: benchmarks/results/rl_step_DATA.json")
    ap.add_argument("--child", default="")
    a = ap.parse_args()
    global PROMPTS, N, MAX_NEW, DATA, BATCHES
    PROMPTS, N, MAX_NEW, DATA, BATCHES = a.prompts, a.n, a.max_new, a.data, a.batches
    a.out = a.out or str(Path(__file__).parent / "results" / f"rl_step_{a.data}.json")
    shape = ["--data", a.data, "--prompts", str(a.prompts), "--n", str(a.n), "--max-new", str(a.max_new)]
    shape += ["--batches", a.batches]
    if a.child:
        print("RESULT " + json.dumps(child(a.child, a.steps, a.warmup)), flush=True)
        return 0
    results = []
    for name in a.only.split(","):
        if name not in RUNNERS:
            raise SystemExit(f"unknown runner {name!r}; runners: {', '.join(RUNNERS)}")
        p = subprocess.run(
            [sys.executable, __file__, "--child", name, "--steps", str(a.steps), "--warmup", str(a.warmup)]
            + shape,
            capture_output=True,
            text=True,
            env=os.environ | {"TOKENIZERS_PARALLELISM": "false"},
        )
        line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
        if p.returncode or not line:
            print(p.stdout[-3000:], p.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"runner {name} failed (exit {p.returncode})")
        results.append(json.loads(line[0][7:]))
        print(json.dumps(results[-1]), flush=True)
    sys.path.insert(0, str(Path(__file__).parent))
    from matmul_ceiling import ceiling

    ceil = ceiling()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(
        json.dumps(
            {
                "setup": {
                    "data": DATA,
                    "batches": BATCHES,
                    "prompts": PROMPTS,
                    "completions_per_prompt": N,
                    "max_new_tokens": MAX_NEW,
                    "beta": BETA,
                    "temperature": TEMP,
                    "steps": a.steps,
                    "warmup": a.warmup,
                    "cpus": os.cpu_count(),
                    "load_avg": os.getloadavg(),
                },
                "ceiling": ceil,
                "results": results,
            },
            indent=2,
        )
    )
    print(f"\nbf16 matmul ceiling {ceil['bf16_all']} GFLOP/s ({ceil['threads']} threads, {ceil['cpu']})")
    print("\n| runner | s/step | generated tokens/s | peak RSS (MB) |\n|---|---|---|---|")
    for r in results:
        print(
            f"| {r['runner']} | {r['s_per_step']:.2f} | {r['gen_tokens_per_s']:.1f} | {r['peak_rss_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
