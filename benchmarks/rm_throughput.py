"""Reward-model training throughput and peak memory: `rlaif rm` vs TRL's RewardTrainer, one run.

Same model (the bundled SmolLM2-135M with a fresh scalar head), same token ids (built once here and
handed to both: TRL gets them pre-tokenized, as `chosen_ids`/`rejected_ids`), same batches of pairs,
same precision scheme (fp32 weights, bf16 autocast where the CPU has it), same optimizer settings.
TRL runs with its defaults (bf16, gradient checkpointing, fused AdamW).

Each configuration trains in its own subprocess, so peak RSS (ru_maxrss) is that trainer's alone;
the configurations run in alternation (A, B, C, A, B, C, ...) so background load on the machine
hits all alike, and each one's best repeat is reported. Throughput is measured over the steps after
`--warmup`, from per-step wall-clock times.

    python benchmarks/rm_throughput.py [--pairs text2sql|short] [--steps 8] [--warmup 2] [--batch 8]
                                       [--repeats 2] [--readme]

Prints a Markdown table and writes benchmarks/results/rm_throughput_text2sql.json (`--pairs short`:
rm_throughput.json; `--readme` also appends the table to benchmarks/README.md). With text2sql pairs
the batches of `rlaif rm` are drawn by database, as in training, and each batch's schema is encoded
once (`rm.min_prefix`); `rlaif-pair-only` is the same loop sharing a pair's prompt only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

TABLES = {
    "singer": "singer(singer_id, name, country, song_name, song_release_year, age, is_male)",
    "concert": "concert(concert_id, concert_name, theme, stadium_id, year)",
    "stadium": "stadium(stadium_id, location, name, capacity, highest, lowest, average)",
    "employee": "employee(employee_id, name, age, city)",
    "shop": "shop(shop_id, name, location, district, number_products, manager_name)",
}
QUESTIONS = [
    ("How many singers are there?", "SELECT count(*) FROM singer", "SELECT name FROM singer"),
    (
        "What are the names of singers from France?",
        "SELECT name FROM singer WHERE country = 'France'",
        "SELECT name FROM singer",
    ),
    (
        "Show the average capacity of all stadiums.",
        "SELECT avg(capacity) FROM stadium",
        "SELECT max(capacity) FROM stadium",
    ),
    (
        "List concert names held in 2014 ordered by name.",
        "SELECT concert_name FROM concert WHERE year = 2014 ORDER BY concert_name",
        "SELECT concert_name FROM concert ORDER BY year",
    ),
    (
        "Which city has the most employees?",
        "SELECT city FROM employee GROUP BY city ORDER BY count(*) DESC LIMIT 1",
        "SELECT city FROM employee LIMIT 1",
    ),
    (
        "Find the shops with more than 5000 products in district 3.",
        "SELECT name FROM shop WHERE number_products > 5000 AND district = 3",
        "SELECT name FROM shop WHERE number_products > 5000",
    ),
]


def make_pairs(n: int, batch: int = 8, seed: int = 0) -> list[dict]:
    """Text-to-SQL comparisons: a schema in a short instruction, a question, a right and a wrong query."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q, good, bad = QUESTIONS[i % len(QUESTIONS)]
        tables = rng.sample(sorted(TABLES), rng.randint(1, 2))
        prompt = (
            f"Write one SQLite query that answers the question. Tables: "
            f"{'; '.join(TABLES[t] for t in tables)}.\nQuestion: {q}"
        )
        a, b = (good, bad) if rng.random() < 0.5 else (bad, good)
        out.append({"prompt": prompt, "response_a": a, "response_b": b, "p_a": 1.0 if a == good else 0.0})
    return out


def text2sql_pairs(n: int, batch: int = 8, seed: int = 0) -> list[dict]:
    """n comparisons on the real prompts of `text2sql:dbs=all` (each with its ~390-token schema): the
    gold query against the gold query of another question on the same database, a realistic wrong
    answer. Drawn as n / batch groups of `batch` questions on one database, so every batch of
    `rlaif rm` is full and single-database (training's batches are, but for one pooled batch per
    epoch), and pairs/s counts pairs actually trained on both sides."""
    from rlaif.core.records import prompt_text
    from rlaif.tasks import get_task

    rng = random.Random(seed)
    by_db: dict[str, list[dict]] = {}
    for r in get_task("text2sql:dbs=all").records("preference"):
        by_db.setdefault(r["db_id"], []).append(r)
    pools = {db: rng.sample(rs, len(rs)) for db, rs in by_db.items()}
    out = []
    while len(out) < n:
        db = rng.choice(sorted(d for d, rs in pools.items() if len(rs) >= batch))
        for r in [pools[db].pop() for _ in range(batch)]:
            others = [o["gold_sql"] for o in by_db[db] if o["gold_sql"] != r["gold_sql"]]
            bad = rng.choice(others) if others else "SELECT 1"
            a, b = (r["gold_sql"], bad) if rng.random() < 0.5 else (bad, r["gold_sql"])
            out.append(
                {"prompt": prompt_text(r["prompt"]), "response_a": a, "response_b": b, "p_a": float(a != bad)}
            )
    return out[:n]


def encode(pairs: list[dict], model_path: str) -> list[dict]:
    """Token ids for every pair, with the end-of-turn token closing each response (what TRL adds)."""
    from rlaif.core.models import load_tokenizer, render_prompt
    from rlaif.rm.model import encode_group

    tok = load_tokenizer(model_path)
    out = []
    for r in pairs:
        p, (a, b) = encode_group(
            tok,
            render_prompt(tok, r["prompt"]),
            [r["response_a"] + tok.eos_token, r["response_b"] + tok.eos_token],
            1024,
        )
        out.append({"prompt_ids": p, "a_ids": a, "b_ids": b, "p_a": r["p_a"]})
    return out


# --------------------------------------------------------------------------- children


def child_trl(data: list[dict], model_path: str, batch: int, steps: int, out: Path) -> list[float]:
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import RewardConfig, RewardTrainer

    tok = AutoTokenizer.from_pretrained(model_path)
    rows = [
        {
            "chosen_ids": d["prompt_ids"] + (d["a_ids"] if d["p_a"] > 0.5 else d["b_ids"]),
            "rejected_ids": d["prompt_ids"] + (d["b_ids"] if d["p_a"] > 0.5 else d["a_ids"]),
        }
        for d in data
    ]
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            times.append((time.perf_counter(), time.process_time()))

    args = RewardConfig(
        output_dir=str(out),
        per_device_train_batch_size=batch,
        max_steps=steps,
        learning_rate=2e-5,
        logging_steps=10_000,
        save_strategy="no",
        report_to="none",
        seed=0,
        disable_tqdm=True,
        dataloader_drop_last=True,
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = RewardTrainer(
        model=model_path,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
        callbacks=[Clock()],
    )
    trainer.train()
    return times


def child_rlaif(
    data: list[dict],
    model_path: str,
    batch: int,
    steps: int,
    out: Path,
    share_prompt: bool,
    checkpointing: bool,
    min_prefix: int = 16,
) -> list[float]:
    from rlaif.core.config import load_config
    from rlaif.core.models import load_tokenizer
    from rlaif.rm.train import train

    cfg = load_config(
        None,
        {
            "model": {"name": model_path},
            "rm": {
                "batch_size": batch,
                "max_steps": steps,
                "lr": 2e-5,
                "log_every": 1,
                "share_prompt": share_prompt,
                "min_prefix": min_prefix,
                "gradient_checkpointing": checkpointing,
            },
        },
    )
    pairs = [{"p_a": d["p_a"]} for d in data]
    examples = [(d["prompt_ids"], [d["a_ids"], d["b_ids"]]) for d in data]
    out.mkdir(parents=True, exist_ok=True)
    train(cfg, pairs, examples, load_tokenizer(model_path), out)
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [(m["perf/elapsed_s"], m["perf/cpu_s"]) for m in logged]


CONFIGS = {
    "trl": ("TRL RewardTrainer (defaults: bf16 autocast, gradient checkpointing)", {}),
    "rlaif": (
        "rlaif rm (defaults: bf16 autocast, gradient checkpointing, shared prompt)",
        {"share_prompt": True, "checkpointing": True},
    ),
    "rlaif-pair-only": (
        "rlaif rm, min_prefix=0 (a pair's prompt shared, the schema not shared across pairs)",
        {"share_prompt": True, "checkpointing": True, "min_prefix": 0},
    ),
    "rlaif-no-share": (
        "rlaif rm, share_prompt=false (two rows per pair, like TRL)",
        {"share_prompt": False, "checkpointing": True},
    ),
    "rlaif-no-ckpt": (
        "rlaif rm, gradient_checkpointing=false",
        {"share_prompt": True, "checkpointing": False},
    ),
}


def run_child(name: str, data_file: str, model_path: str, batch: int, steps: int, warmup: int) -> None:
    data = json.loads(Path(data_file).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        if name == "trl":
            times = child_trl(data, model_path, batch, steps, Path(tmp))
        else:
            times = child_rlaif(data, model_path, batch, steps, Path(tmp) / "rm", **CONFIGS[name][1])
    n = len(times) - warmup
    seconds = times[-1][0] - times[warmup - 1][0]
    cpu = times[-1][1] - times[warmup - 1][1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # bytes (Linux reports KiB)
    print(
        "RESULT "
        + json.dumps(
            {
                "name": name,
                "steps": n,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "pairs_per_s": n * batch / seconds,
                "pairs_per_cpu_s": n * batch / cpu,
                "peak_rss_gb": peak / 1e9,
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- parent


def table(results: dict, meta: dict) -> str:
    base, cbase = results["trl"]["pairs_per_s"], results["trl"]["pairs_per_cpu_s"]
    lines = [
        f"Model {meta['model']}, {meta['batch']} pairs per batch, {meta['tokens_per_seq']:.0f} tokens per "
        f"sequence on average ({meta['prompt_tokens']:.0f} prompt + {meta['response_tokens']:.0f} response), "
        f"{meta['steps']} timed steps after {meta['warmup']} warm-up, best of {meta['repeats']}; "
        f"{meta['machine']}; load average {meta['load']}.",
        "",
        "| trainer | pairs/s (wall) | vs TRL | pairs per CPU-second | vs TRL | peak RSS (GB) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {CONFIGS[name][0]} | {r['pairs_per_s']:.2f} | {r['pairs_per_s'] / base:.2f}x | "
            f"{r['pairs_per_cpu_s']:.3f} | {r['pairs_per_cpu_s'] / cbase:.2f}x | {r['peak_rss_gb']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8, help="timed optimizer steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed first steps (at least 1)")
    ap.add_argument("--batch", type=int, default=8, help="pairs per batch")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS))
    ap.add_argument("--readme", action="store_true", help="append the table to benchmarks/README.md")
    ap.add_argument(
        "--pairs",
        choices=("text2sql", "short"),
        default="text2sql",
        help="text2sql: real prompts of text2sql:dbs=all with their schemas (~470 tokens); "
        "short: a schema line and a question (~80 tokens), the earlier measurement",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from rlaif.core.models import resolve_model_path

    model_path = resolve_model_path(args.model)
    total = args.steps + args.warmup
    if args.child:
        return run_child(args.child, args.data, model_path, args.batch, total, args.warmup)
    make = text2sql_pairs if args.pairs == "text2sql" else make_pairs
    data = encode(make(total * args.batch, args.batch), model_path)
    p = sum(len(d["prompt_ids"]) for d in data) / len(data)
    r = sum(len(d["a_ids"]) + len(d["b_ids"]) for d in data) / len(data) / 2
    best: dict[str, dict] = {}
    runs: list[dict] = []
    load = os.getloadavg()[0]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    for rep in range(args.repeats):
        for name in args.configs:
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    "--data",
                    f.name,
                    "--model",
                    args.model,
                    "--steps",
                    str(args.steps),
                    "--warmup",
                    str(args.warmup),
                    "--batch",
                    str(args.batch),
                ],
                capture_output=True,
                text=True,
                env=os.environ | {"TQDM_DISABLE": "1"},
            )
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                sys.exit(f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            res = json.loads(line[0][7:])
            print(
                f"[{rep}] {name}: {res['pairs_per_s']:.2f} pairs/s, {res['pairs_per_cpu_s']:.3f} pairs/CPU-s, "
                f"{res['peak_rss_gb']:.2f} GB",
                flush=True,
            )
            runs.append(res)
            b = best.setdefault(name, dict(res))  # best throughputs, worst memory
            for k in ("pairs_per_s", "pairs_per_cpu_s"):
                b[k] = max(b[k], res[k])
            b["peak_rss_gb"] = max(b["peak_rss_gb"], res["peak_rss_gb"])
    os.unlink(f.name)
    import torch

    meta = {
        "pairs": args.pairs,
        "model": args.model,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "load": f"{load:.1f} before, {os.getloadavg()[0]:.1f} after",
        "prompt_tokens": p,
        "response_tokens": r,
        "tokens_per_seq": p + r,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads, torch {torch.__version__}",
    }
    md = table(best, meta)
    print(md)
    (HERE / "results").mkdir(exist_ok=True)
    name = "rm_throughput.json" if args.pairs == "short" else f"rm_throughput_{args.pairs}.json"
    (HERE / "results" / name).write_text(json.dumps({"meta": meta, "results": best, "runs": runs}, indent=2))
    if args.readme:
        with (HERE / "README.md").open("a") as fh:
            fh.write(f"\n### rm_throughput ({time.strftime('%Y-%m-%d')})\n\n{md}\n")


if __name__ == "__main__":
    main()
