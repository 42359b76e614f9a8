"""Labeling throughput with 1, 2 and 4 llama.cpp servers on loopback (pairs/s), through the
`openai` labeler backend and its endpoint pool.

Each server runs the bundled SmolLM2-135M GGUF with one CPU thread, so N servers use N cores at
most: throughput should grow with N until the machine's cores are saturated, then stay flat (or
drop: the servers then compete for cores). Every pair is scored in both orders (2 requests).

    python benchmarks/label_scaling.py [--pairs 24] [--servers 1,2,4] [--concurrency 2]

Results: benchmarks/results/label_scaling.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = [
    "cats",
    "rain",
    "bread",
    "ships",
    "tea",
    "maps",
    "owls",
    "snow",
    "jazz",
    "kites",
    "mud",
    "figs",
    "salt",
    "bees",
    "tide",
    "wool",
    "clay",
    "moss",
    "lamps",
    "reeds",
    "pears",
    "ink",
    "dust",
    "hay",
]


def make_pairs(n: int):
    from rlaif.labelers import Pair

    return [
        Pair(
            f"The {w} story ({k}): a short text about {w} and the people who like them, told plainly.",
            f"A text about {w}.",
            f"Something else, not {w} at all ({k}).",
        )
        for k in range(n // len(WORDS) + 1)
        for w in WORDS
    ][:n]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def label_once(urls: list[str], pairs, concurrency: int) -> tuple[float, dict]:
    from rlaif.core.config import load_config
    from rlaif.labelers import build_labeler

    cfg = load_config(
        None,
        [
            "task=summarize",
            "label.backend=openai",
            f"label.openai.base_url=[{', '.join(urls)}]",
            "label.openai.model=smol",
            "label.template=summarize",
            "label.preamble=base",
            "label.cache=off",
            f"label.openai.concurrency={concurrency}",
        ],
    )
    labeler = build_labeler(cfg)
    t0 = time.perf_counter()
    labs = labeler.label(pairs)
    seconds = time.perf_counter() - t0
    assert all(lab["p_a"] is not None for lab in labs)
    return seconds, dict(labeler.backend.stats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=24)
    ap.add_argument("--servers", default="1,2,4")
    ap.add_argument("--concurrency", type=int, default=2, help="requests in flight per server")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "label_scaling.json"))
    args = ap.parse_args()
    from rlaif.testing import LlamaServer

    pairs = make_pairs(args.pairs)
    rows = []
    for n in [int(x) for x in args.servers.split(",")]:
        servers = [LlamaServer(n_ctx=1024).start() for _ in range(n)]
        try:
            for s in servers:
                s.wait()
            label_once([s.url for s in servers], make_pairs(n)[:n], 1)  # warm-up: one pair per server
            load0 = os.getloadavg()[0]
            cpu0 = sum(cpu_seconds(s.proc.pid) for s in servers)
            seconds, stats = label_once([s.url for s in servers], pairs, args.concurrency)
            cpu = sum(cpu_seconds(s.proc.pid) for s in servers) - cpu0
        finally:
            for s in servers:
                s.stop()
        row = {
            "servers": n,
            "pairs": len(pairs),
            "requests": stats["calls"],
            "seconds": round(seconds, 2),
            "pairs_per_s": round(len(pairs) / seconds, 3),
            "retries": stats["retries"],
            "per_server": list(stats.get("endpoints", {}).values()) or [stats["calls"]],
            "server_cpu_s": round(cpu, 2),
            "server_cores_used": round(cpu / seconds, 2),
            "server_cpu_s_per_pair": round(cpu / len(pairs), 3),
            "load_avg_before": round(load0, 2),
        }
        rows.append(row)
        print(
            f"{n} server(s): {row['pairs_per_s']} pairs/s ({seconds:.1f} s, requests per server "
            f"{row['per_server']}, servers used {row['server_cores_used']} cores, "
            f"load avg before {load0:.1f})",
            flush=True,
        )
    base = rows[0]["pairs_per_s"]
    for r in rows:
        r["speedup"] = round(r["pairs_per_s"] / base, 2)
    meta = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "concurrency_per_server": args.concurrency,
        "server": "llama-cpp-python server, SmolLM2-135M-Instruct Q4_1, n_ctx 1024, 1 thread",
        "labeler": "summarize template, base preamble, both orders (2 requests per pair)",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(
        "\n| servers | pairs/s | speedup | cores used by the servers | server CPU s per pair | load avg before |"
        "\n|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['servers']} | {r['pairs_per_s']} | {r['speedup']}x | {r['server_cores_used']} | "
            f"{r['server_cpu_s_per_pair']} | {r['load_avg_before']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
