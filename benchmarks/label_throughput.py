"""Labeling throughput: our hf labeler vs a generate-then-parse judge, same pairs, same run.

Baseline (the approach of TRL's former `HfPairwiseJudge`): the model in its default dtype (fp32),
one prompt at a time, `generate` a few tokens greedily, parse the first digit; one order per pair.
Ours: `rlaif.labelers` hf backend: soft labels for BOTH orders from one forward pass each.

Levers are switched on one at a time, and every configuration runs in each round (rounds are
interleaved so that load from other processes hits all of them alike; the median round counts):
  A baseline       fp32, generate(max_new_tokens=3), batch 1, one order
  B forward        fp32, one forward pass instead of generate, batch 1
  C bf16           + bf16 weights (on CPUs with fast bf16)
  D batched        + batches of `--batch` rows, length-sorted, both orders of a pair together
  E preamble KV    + the prefix shared by every prompt encoded once, its KV cache reused
  F pair KV        + within a pair, the shared text encoded once for both orders (the stage before
                     issue 15; A-F batch longest first)
  F2 by database   + batches of one database's pairs (the stage's order, `pairs._chunks`)
  G schema KV      + the prefix a batch shares (a database's schema on text2sql) kept across
                     batches, reused in part by the next batch on that database  (= ours)
F2 and G batch as the labeling stage does: pairs grouped by shared prompt prefix, then longest first.
Throughput is in scored orders per second (a pair in both orders = 2); pairs/s for ours counts
pairs labeled in both orders. A lever's share is its log-speedup over the total log-speedup.
Also reported: the forward pass's achieved GFLOP/s against this machine's bf16 matmul rate.

    python benchmarks/label_throughput.py --pairs 24 --rounds 2 [--preamble detailed]
    python benchmarks/label_throughput.py --task text2sql --pairs 48 --dbs 3 --model qwen2.5-coder-0.5b

`--task text2sql`: real pairs of the 12-database task's preference split (a question's gold query vs
another question's gold query on the same database, each with its execution result, as the study's
labeler sees them), `--dbs` databases with `--pairs / --dbs` pairs each.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_pairs(n: int, chars: int) -> list:
    from rlaif.labelers import Pair
    from rlaif.tasks import get_task

    docs = get_task("summarize").records("preference")
    pairs = []
    for i in range(n):
        d = docs[i % len(docs)]
        text = d["text"][:chars].rsplit(" ", 1)[0]
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        pairs.append(Pair(text, d["reference"], first))
    return pairs


def make_sql_pairs(n: int, dbs: int) -> list:
    """n pairs over `dbs` databases: gold query vs another question's gold query on that database,
    each shown with its execution result (label.execution_results, the study's labeler)."""
    from rlaif.labelers import Pair
    from rlaif.tasks import get_task

    task = get_task("text2sql:dbs=all")
    by_db: dict[str, list[dict]] = {}
    for it in task.records("preference"):
        by_db.setdefault(it["db_id"], []).append(it)
    names = sorted(by_db, key=lambda d: (-len(by_db[d]), d))[:dbs]
    pairs = []
    for d in names:
        items = by_db[d]
        for i, it in enumerate(items[: n // dbs]):
            wrong = next(o for o in items[i + 1 :] + items[:i] if o["gold_sql"] != it["gold_sql"])
            a, b = (it["gold_sql"], wrong["gold_sql"]) if i % 2 else (wrong["gold_sql"], it["gold_sql"])
            res = (task.execution_summary(it, a), task.execution_summary(it, b))
            pairs.append(Pair(it["prompt"], a, b, results=res))
    return pairs


def matmul_gflops(dtype, threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(512, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype)
    for _ in range(3):
        a @ b
    t0, k = time.process_time(), 0
    while time.process_time() - t0 < 1.0 * threads:
        a @ b
        k += 1
    return 2 * 512 * 576 * 1536 * k / ((time.process_time() - t0) / threads) / 1e9  # per second on a core


# --------------------------------------------------------------------------- the baseline


class GenerateJudge:
    """generate-then-parse, one prompt at a time, fp32, one order."""

    def __init__(self, model, tok, template):
        self.model, self.tok, self.t = model, tok, template

    def __call__(self, pairs) -> tuple[int, int]:
        import torch

        from rlaif.core.models import encode_prompt, render_prompt
        from rlaif.core.records import prompt_text

        parsed = 0
        for p in pairs:
            text = (
                render_prompt(self.tok, self.t.user(prompt_text(p.prompt), p.a, p.b, p.results), True)
                + self.t.ending
            )
            ids = torch.tensor([encode_prompt(self.tok, text)])
            with torch.no_grad():
                out = self.model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=3,
                    do_sample=False,
                    pad_token_id=self.tok.pad_token_id,
                )
            reply = self.tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            parsed += bool(re.search(r"[12]", reply))
        return len(pairs), parsed


# --------------------------------------------------------------------------- ours, lever by lever


def stage_chunks(pairs, batch_size: int, orders: str) -> list[list[int]]:
    """The labeling stage's batches (`rlaif.labelers.pairs._chunks`): pairs whose prompts share a
    long prefix together, longest first within and between such clusters."""
    from rlaif.core.config import load_config
    from rlaif.labelers.pairs import _chunks

    cfg = load_config(overrides=[f"label.batch_size={batch_size}", f"label.orders={orders}"])
    return _chunks([{"prompt": p.prompt, "response_a": p.a, "response_b": p.b} for p in pairs], cfg)


def run_ours(backend, template, pairs, orders: str, by_prefix: bool = True) -> tuple[int, float]:
    from rlaif.labelers import score_pairs
    from rlaif.labelers.judges import LMJudge

    judge = LMJudge(template, backend)
    # both orders of a pair in the same batch; by_prefix=False: longest first only (the stage before
    # issue 15: one database's pairs spread over many batches)
    if by_prefix:
        chunks = stage_chunks(pairs, backend.batch_size, orders)
    else:
        order = sorted(
            range(len(pairs)), key=lambda i: -len(pairs[i].prompt) - len(pairs[i].a) - len(pairs[i].b)
        )
        per = max(1, backend.batch_size // (2 if orders == "both" else 1))
        chunks = [order[k : k + per] for k in range(0, len(order), per)]
    res = []
    for chunk in chunks:
        res += score_pairs(judge, [pairs[i] for i in chunk], orders)
    n_orders = len(res) * (2 if orders == "both" else 1)
    return n_orders, sum(r["mass"] for r in res) / len(res)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--pairs", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--chars", type=int, default=900, help="text length (base preamble: ~300-token prompts)")
    ap.add_argument("--preamble", default="base")
    ap.add_argument("--task", default="summarize", choices=["summarize", "text2sql"])
    ap.add_argument("--dbs", type=int, default=3, help="text2sql: databases the pairs come from")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label_throughput.json"))
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from rlaif.core.models import load_tokenizer, resolve_model_path
    from rlaif.labelers.backends.hf import HFBackend
    from rlaif.labelers.prompts import load_template

    torch.set_num_threads(args.threads)
    if args.task == "text2sql":
        pairs = make_sql_pairs(args.pairs, args.dbs)
        args.pairs = len(pairs)
    else:
        pairs = make_pairs(args.pairs, args.chars)
    template = load_template("", args.task, args.preamble)
    path = resolve_model_path(args.model)
    tok = load_tokenizer(args.model)
    fp32 = AutoModelForCausalLM.from_pretrained(path).eval()  # the default dtype: fp32
    bf16 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).eval()
    probe = HFBackend(args.model, model=fp32, tokenizer=tok)
    prompt_tokens = statistics.mean(
        probe.count_tokens((template.user(p.prompt, p.a, p.b, p.results), template.ending)) for p in pairs
    )

    def ours(model, batch, share, pairs_kv, store=True):
        b = HFBackend(args.model, model=model, tokenizer=tok, batch_size=batch, share_prefix=share)
        b.share_pairs = pairs_kv
        if not store:  # the backend before the schema level: one stored prefix, reused only whole
            b.store_size, b.reuse_cut = 1, False
        b.token_group("1")  # built once per backend (vocabulary scan), as in a labeling run
        return b

    def fresh(b):  # each timed run starts without a cached prefix, as a labeling run does
        b.clear_prefixes()
        return b

    backends = {
        "B": ours(fp32, 1, False, False),
        "C": ours(bf16, 1, False, False),
        "D": ours(bf16, args.batch, False, False),
        "E": ours(bf16, args.batch, True, False, store=False),
        "F": ours(bf16, args.batch, True, True, store=False),
        "G": ours(bf16, args.batch, True, True),
    }
    configs = {
        "A baseline (fp32, generate, batch 1, one order)": lambda: GenerateJudge(fp32, tok, template)(pairs),
        "B forward pass instead of generate (fp32, batch 1)": lambda: run_ours(
            fresh(backends["B"]), template, pairs, "ab"
        ),
        "C + bf16": lambda: run_ours(fresh(backends["C"]), template, pairs, "ab"),
        "D + length-sorted batches, both orders together": lambda: run_ours(
            fresh(backends["D"]), template, pairs, "both", by_prefix=False
        ),
        "E + preamble KV cache reused": lambda: run_ours(
            fresh(backends["E"]), template, pairs, "both", by_prefix=False
        ),
        "F + pair's shared text encoded once (the stage before issue 15)": lambda: run_ours(
            fresh(backends["F"]), template, pairs, "both", by_prefix=False
        ),
        "F2 + batches of one database's pairs (the stage's order)": lambda: run_ours(
            fresh(backends["F"]), template, pairs, "both"
        ),
        "G + batch prefix (schema) kept across batches (ours)": lambda: run_ours(
            fresh(backends["G"]), template, pairs, "both"
        ),
    }
    # warm-up: the first bf16/fp32 forward passes pay for kernel selection
    for m in (fp32, bf16):
        with torch.no_grad():
            m(
                torch.tensor(
                    [
                        probe.encode(
                            (template.user(pairs[0].prompt, pairs[0].a, pairs[0].b, pairs[0].results), "")
                        )
                    ]
                )
            )
    times: dict[str, list[float]] = {k: [] for k in configs}
    cpu: dict[str, list[float]] = {k: [] for k in configs}
    orders: dict[str, int] = {}
    for r in range(args.rounds):
        for name, fn in configs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            n, _ = fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            orders[name] = n
            print(
                f"round {r} {name}: {n / times[name][-1]:.2f} orders/s wall, "
                f"{n / cpu[name][-1]:.2f} per CPU-s",
                flush=True,
            )
    names = list(configs)

    def levers_of(rate):
        total = math.log(rate[names[-1]] / rate[names[0]])
        return {
            names[i]: {
                "speedup": rate[names[i]] / rate[names[i - 1]],
                "share": math.log(rate[names[i]] / rate[names[i - 1]]) / total,
            }
            for i in range(1, len(names))
        }

    rate = {k: orders[k] / statistics.median(v) for k, v in times.items()}
    cpu_rate = {k: orders[k] / statistics.median(v) for k, v in cpu.items()}
    levers = levers_of(rate)
    # the forward pass against the machine's matmul rate (FLOPs ~ 2 * non-embedding params * tokens)
    b = fresh(backends["G"])
    b.stats = {k: 0 for k in b.stats}
    c0 = time.process_time()
    run_ours(b, template, pairs, "both")
    dt = (time.process_time() - c0) / args.threads  # CPU seconds per thread: time on a core
    n_params = sum(p.numel() for n_, p in bf16.named_parameters() if "embed" not in n_)
    achieved = 2 * n_params * b.stats["forward_tokens"] / dt / 1e9
    mm = matmul_gflops(torch.bfloat16, args.threads)
    result = {
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "model": args.model,
        "pairs": args.pairs,
        "rounds": args.rounds,
        "task": args.task,
        "databases": args.dbs if args.task == "text2sql" else None,
        "preamble": args.preamble,
        # the stage before issue 15 (F: length-sorted batches) against ours (G: batches by database,
        # the schema's KV kept across them), and the store alone (F2 -> G); both orders, pairs/s
        "speedup_schema_level": round(rate[names[-1]] / rate[names[-3]], 2),
        "speedup_schema_level_cpu": round(cpu_rate[names[-1]] / cpu_rate[names[-3]], 2),
        "speedup_store_only_cpu": round(cpu_rate[names[-1]] / cpu_rate[names[-2]], 2),
        "mean_prompt_tokens": round(prompt_tokens, 1),
        "orders_per_s": {k: round(v, 3) for k, v in rate.items()},
        "baseline_pairs_per_s": round(rate[names[0]], 3),
        "ours_pairs_per_s_both_orders": round(rate[names[-1]] / 2, 3),
        "speedup_orders": round(rate[names[-1]] / rate[names[0]], 2),
        "speedup_pairs": round(rate[names[-1]] / 2 / rate[names[0]], 2),
        "levers": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in levers.items()},
        # CPU time is what a busy shared machine distorts least (wall time includes waiting for a core)
        "orders_per_cpu_s": {k: round(v, 3) for k, v in cpu_rate.items()},
        "speedup_orders_cpu": round(cpu_rate[names[-1]] / cpu_rate[names[0]], 2),
        "speedup_pairs_cpu": round(cpu_rate[names[-1]] / 2 / cpu_rate[names[0]], 2),
        "levers_cpu": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in levers_of(cpu_rate).items()},
        "forward_tokens_per_pair": round(b.stats["forward_tokens"] / args.pairs, 1),
        "prompt_tokens_per_pair": round(b.stats["prompt_tokens"] / args.pairs, 1),
        "achieved_gflops": round(achieved, 1),
        "bf16_matmul_gflops": round(mm, 1),
        "share_of_matmul_rate": round(achieved / mm, 3),
        "load_average": list(__import__("os").getloadavg()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
