"""Labeler alignment on Text-to-SQL pairs with a known answer: the gold query vs a plausible wrong
one (another question's gold query on the same database), reference label from the execution
oracle. Runs `rlaif label` with the given overrides and prints the quality report.

    python benchmarks/label_alignment.py --pairs 48 label.preamble=base
    python benchmarks/label_alignment.py --pairs 48 label.execution_results=true
    python benchmarks/label_alignment.py --pairs 48 label.model=qwen2.5-coder-0.5b
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sql_pairs(n: int) -> list[dict]:
    from rlaif.tasks import get_task

    items = get_task("text2sql").records("test")
    by_db: dict[str, list[dict]] = {}
    for it in items:
        by_db.setdefault(it["db_id"], []).append(it)
    out = []
    for i, it in enumerate(items):
        others = [o for o in by_db[it["db_id"]] if o["gold_sql"] != it["gold_sql"]]
        if others:
            wrong = others[i % len(others)]["gold_sql"]
            out.append(
                {
                    "prompt": it["prompt"],
                    "chosen": it["gold_sql"],
                    "rejected": wrong,
                    "db_id": it["db_id"],
                    "gold_sql": it["gold_sql"],
                }
            )
        if len(out) == n:
            break
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=48)
    ap.add_argument("--out", default="")
    ap.add_argument("overrides", nargs="*", help="label.KEY=VALUE ...")
    args = ap.parse_args()

    from rlaif.core.config import load_config
    from rlaif.stages import run_stage

    work = Path(args.out or tempfile.mkdtemp(prefix="label_alignment_"))
    src = work / "sql_pairs.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    src.write_text("".join(json.dumps(r) + "\n" for r in sql_pairs(args.pairs)))
    cfg = load_config(
        overrides=[
            f"out={work}/run",
            "task=text2sql",
            f"label.input={src}",
            "label.cache=off",
            *args.overrides,
        ]
    )
    out = run_stage("label", cfg, force=True)
    rep = json.loads((out / "report.json").read_text())
    from labeler_variants import KEYS  # the same report fields as the variants table

    keys = ("labeler", "preamble", "with_reference", *KEYS)
    print(json.dumps({"overrides": args.overrides} | {k: rep.get(k) for k in keys}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
