"""Text-to-SQL labeler variants: which prompt and post-processing makes a small local labeler agree
with the execution oracle (issue 17.5). Every variant labels the same pairs through `rlaif label`
(both orders averaged) and its quality report is collected into one table.

Pairs (`--wrong`):
  policy:PATH  the gold query vs a policy's wrong query on the same question, for every question of
               PATH (an `rlaif eval` outputs file, e.g. OUT/heldout/eval/outputs/sft.jsonl) that the
               policy got wrong: real mistakes (bad joins, invented columns), on held-out databases.
  other-gold   the gold query vs another question's gold query on the same database (no run needed).
  FILE         any comparisons/preference file with reference labels (e.g. the study's RLHF arm:
               OUT/arms/rlhf/label/comparisons.jsonl, policy sample vs policy sample).

Few-shot exemplars come from the training databases (`preference` split), never from the pairs.

    python benchmarks/labeler_variants.py --model qwen2.5-coder-0.5b \\
        --wrong policy:runs/study3/heldout/eval/outputs/sft.jsonl --out results/text2sql_labelers
    python benchmarks/labeler_variants.py --variants default --wrong runs/study3/arms/rlhf/label/comparisons.jsonl
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASK = "text2sql:dbs=all"
RESULTS = "label.execution_results=true"
VARIANTS: dict[str, list[str]] = {
    "default": ["label.preamble=base", RESULTS],  # the study's labeler
    "no execution results": ["label.preamble=base", "label.execution_results=false"],
    "detailed preamble": ["label.preamble=detailed", RESULTS],
    "raw prompt (no chat template)": ["label.preamble=base", RESULTS, "label.chat_template=false"],
    "2-shot exemplars": ["label.preamble=base", RESULTS, "label.shots=2"],  # + label.exemplars=<built>
    "4-shot exemplars": ["label.preamble=base", RESULTS, "label.shots=4"],
    "two-step CoT": ["label.preamble=base", RESULTS, "label.cot=true", "label.cot_max_tokens=96"],
}
KEYS = (
    "labeled",
    "chance_band",
    "alignment",
    "alignment_one_order",
    "alignment_by_confidence",
    "same_position",
    "ece",
    "mean_confidence",
    "p_a_range",
    "mean_choice_mass",
    "tokens_per_pair",
    "pairs_per_s",
)


def _wrong_of_other_gold(task) -> list[dict]:
    by_db: dict[str, list[dict]] = {}
    for it in task.records("heldout"):
        by_db.setdefault(it["db_id"], []).append(it)
    out = []
    for items in by_db.values():
        for i, it in enumerate(items):
            # another question's query that the oracle rejects here (some return the same rows)
            wrong = next(
                (
                    o
                    for o in items[i + 1 :] + items[:i]
                    if o["gold_sql"] != it["gold_sql"] and not task.check(it["prompt"], o["gold_sql"]).correct
                ),
                None,
            )
            if wrong is not None:
                out.append(it | {"chosen": it["gold_sql"], "rejected": wrong["gold_sql"]})
    return out


def _wrong_of_policy(task, path: Path) -> list[dict]:
    """Gold vs the policy's query wherever the oracle says the policy is wrong (errors included)."""
    recs = {r["prompt"]: r for r in task.records("heldout")}
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rec = recs.get(row["prompt"])
        if rec is None:
            raise SystemExit(f"{path}: a prompt that is not in {TASK}'s heldout split (index {row['index']})")
        sql = row["completions"][0]
        if sql.strip() and not task.check(rec["prompt"], sql).correct:
            out.append(rec | {"chosen": rec["gold_sql"], "rejected": sql})
    return out


def build_pairs(task, wrong: str, work: Path) -> Path:
    if wrong.startswith("policy:"):
        rows = _wrong_of_policy(task, Path(wrong.split(":", 1)[1]))
    elif wrong == "other-gold":
        rows = _wrong_of_other_gold(task)
    else:
        return Path(wrong)
    path = work / "pairs.jsonl"
    keep = ("id", "prompt", "db_id", "question", "gold_sql", "kind", "chosen", "rejected")
    path.write_text("".join(json.dumps({k: r[k] for k in keep if k in r}) + "\n" for r in rows))
    return path


def build_exemplars(task, n: int, work: Path) -> Path:
    """n exemplars from the training databases' preference split, one per database: the gold query
    vs another question's gold query, in alternating slots, with their execution results."""
    by_db: dict[str, list[dict]] = {}
    for it in task.records("preference"):
        by_db.setdefault(it["db_id"], []).append(it)
    rows = []
    for db in sorted(by_db):
        it = by_db[db][0]
        other = next((o for o in by_db[db][1:] if not task.check(it["prompt"], o["gold_sql"]).correct), None)
        if other is None:
            continue
        k = len(rows)
        good, bad = it["gold_sql"], other["gold_sql"]
        first, second = (good, bad) if k % 2 == 0 else (bad, good)
        rows.append(
            {
                "prompt": it["prompt"],
                "response_1": first,
                "response_2": second,
                "preferred": 1 if k % 2 == 0 else 2,
                "result_1": task.execution_summary(it, first),
                "result_2": task.execution_summary(it, second),
            }
        )
        if len(rows) == n:
            break
    path = work / "exemplars.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def alignment_by_failure(task, comparisons: Path) -> dict:
    """Alignment split by how the rejected query fails: it runs and returns the wrong rows (the hard
    pairs: execution results alone do not give it away) or it does not run at all."""
    hits: dict[str, list[bool]] = {"runs": [], "fails": []}
    for line in comparisons.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        gold, p = r.get("gold_p_a"), r.get("p_a")
        if gold in (None, 0.5) or p is None or p == 0.5:
            continue
        wrong = r["response_b"] if gold > 0.5 else r["response_a"]
        kind = "runs" if task.check(r["prompt"], wrong).valid else "fails"
        hits[kind].append((p > 0.5) == (gold > 0.5))
    return {k: {"pairs": len(v), "alignment": sum(v) / len(v) if v else None} for k, v in hits.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--wrong", default="other-gold", help="policy:PATH, other-gold or a comparisons FILE")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="label only the first N pairs (0: all)")
    ap.add_argument("--cot-limit", type=int, default=48, help="pairs for the CoT variant (it generates)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "labeler_variants"))
    args = ap.parse_args()

    from rlaif.core.config import load_config
    from rlaif.stages import run_stage
    from rlaif.tasks import get_task

    out = Path(args.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    task = get_task(TASK)
    pairs = build_pairs(task, args.wrong, work)
    exemplars = build_exemplars(task, 4, work)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    table = {}
    for name in names:
        over = list(VARIANTS[name])
        limit = args.cot_limit if "label.cot=true" in over else args.limit
        if any(o.startswith("label.shots=") for o in over):
            over.append(f"label.exemplars={exemplars}")
        cfg = load_config(
            overrides=[
                f"out={work / name.replace(' ', '_')}",
                f"task={TASK}",
                f"label.input={pairs}",
                "label.backend=hf",
                f"label.model={args.model}",
                "label.cache=off",
                "label.progress=false",
                f"label.limit={limit}",
                f"model.threads={args.threads}",
                *over,
            ]
        )
        t0 = time.perf_counter()
        run = run_stage("label", cfg, force=True)
        rep = json.loads((run / "report.json").read_text())
        table[name] = {"overrides": over, "limit": limit, "seconds": round(time.perf_counter() - t0, 1)} | {
            k: rep.get(k) for k in KEYS
        }
        table[name]["by_failure"] = alignment_by_failure(task, run / "comparisons.jsonl")
        print(name, json.dumps(table[name]), flush=True)
    result = {
        "model": args.model,
        "task": TASK,
        "pairs": str(args.wrong),
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "variants": table,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    (out / "summary.md").write_text(summary(result))
    print(summary(result))
    return 0


def _pct(x) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def summary(result: dict) -> str:
    lines = [
        f"# Labeler variants: {result['model']} on {result['pairs']}",
        "",
        "Alignment with the execution oracle, both orders averaged; top 25% / 50%: the most confident "
        "share of pairs (what `label.postprocess=threshold` keeps).",
        "",
        "| variant | pairs | alignment | wrong query runs | wrong query fails | one order | top 25% | top 50% "
        "| same position | ECE | pairs/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result["variants"].items():
        conf = r.get("alignment_by_confidence") or {}
        fail = r.get("by_failure") or {}
        split = " | ".join(
            f"{_pct((fail.get(k) or {}).get('alignment'))} (n={(fail.get(k) or {}).get('pairs', 0)})"
            for k in ("runs", "fails")
        )
        lines.append(
            f"| {name} | {r.get('labeled')} | {_pct(r.get('alignment'))} | {split} | "
            f"{_pct(r.get('alignment_one_order'))} | "
            f"{_pct(conf.get('top_25%'))} | {_pct(conf.get('top_50%'))} | {_pct(r.get('same_position'))} | "
            f"{'' if r.get('ece') is None else round(r['ece'], 3)} | {r.get('pairs_per_s')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
