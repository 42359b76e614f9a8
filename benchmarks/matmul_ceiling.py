"""The machine's matmul ceiling, recorded beside every throughput figure.

The CPU of a machine kind can change from one day to the next (an AMD EPYC with AVX-512-bf16 one day,
an Intel Xeon with AMX the next): absolute tokens/s mean nothing across sessions, a share of what
the hardware can do does. This measures the best GFLOP/s of square matmuls (2048^2 by default) in
bf16 and fp32, on 1 thread and on all threads, after a warm-up, best of `--repeats`.

    python benchmarks/matmul_ceiling.py            # prints JSON, writes results/matmul_ceiling.json
    from matmul_ceiling import ceiling; ceiling()   # {"bf16_all": GFLOP/s, ...} for other scripts

A training step of a model with N non-embedding parameters does ~6 N FLOPs per token (forward 2N,
backward 4N); `utilisation(tokens_per_s, n_params, ceiling)` turns tokens/s into a share of it.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gflops(dtype: str, n: int = 2048, threads: int | None = None, repeats: int = 5) -> float:
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        dt = {"bf16": torch.bfloat16, "fp32": torch.float32}[dtype]
        a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
        a @ b  # warm-up: kernel selection, page faults
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        return 2 * n**3 / best / 1e9
    finally:
        torch.set_num_threads(before)


def ceiling(n: int = 2048, repeats: int = 5) -> dict:
    import torch

    all_threads = torch.get_num_threads()
    out = {"cpu": cpu_name(), "threads": all_threads, "n": n}
    for dt in ("bf16", "fp32"):
        out[f"{dt}_1thread"] = round(gflops(dt, n, 1, repeats), 1)
        out[f"{dt}_all"] = round(gflops(dt, n, all_threads, repeats), 1)
    return out


def utilisation(tokens_per_s: float, n_params: int, gflops_ceiling: float, flops_per_param: int = 6) -> float:
    """Share of the ceiling a training (6 N per token) or inference (2 N) step reaches."""
    return tokens_per_s * flops_per_param * n_params / (gflops_ceiling * 1e9)


def non_embedding_params(model) -> int:
    emb = {
        id(p)
        for m in (model.get_input_embeddings(), model.get_output_embeddings())
        if m is not None
        for p in m.parameters()
    }
    return sum(p.numel() for p in model.parameters() if id(p) not in emb)


if __name__ == "__main__":
    res = ceiling()
    print(json.dumps(res, indent=1))
    out = Path(__file__).parent / "results" / "matmul_ceiling.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
