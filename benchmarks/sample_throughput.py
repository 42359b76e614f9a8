"""Sampling throughput: `rlaif sample` vs a plain transformers `generate` loop, same run, same prompts.

Both load the bundled SmolLM2-135M once in the same dtype (bf16 where the CPU has it), decode greedily
(the same tokens, up to bf16 rounding differences from different padding; each side's tokens are
counted from its own decoded text), and are timed in alternation (A, B, A, B, ...) so that
background load on the machine hits both alike; the best of the repeats is reported.

    python benchmarks/sample_throughput.py [--batches 1 8 32] [--max-new-tokens 48] [--repeats 2]

Prints a Markdown table and writes benchmarks/results/sample_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import pydoc
import tempfile
import time
from pathlib import Path


def stdlib_prompts(n: int) -> list[dict]:
    """Real text to summarise: the first paragraph of stdlib module docstrings."""
    import importlib

    mods = [
        "json",
        "csv",
        "heapq",
        "bisect",
        "argparse",
        "textwrap",
        "difflib",
        "shutil",
        "sqlite3",
        "zipfile",
        "tarfile",
        "hashlib",
        "hmac",
        "secrets",
        "statistics",
        "fractions",
        "decimal",
        "calendar",
        "pathlib",
        "tempfile",
        "glob",
        "fnmatch",
        "pickle",
        "copy",
        "pprint",
        "enum",
        "graphlib",
        "contextlib",
        "functools",
        "itertools",
        "operator",
        "typing",
        "string",
        "random",
    ]
    out = []
    for m in mods:
        doc = pydoc.getdoc(importlib.import_module(m)).strip()
        para = " ".join(doc.split("\n\n")[0].split()[:80])
        if para:
            out.append({"prompt": f"Explain what this Python module is for, in a paragraph:\n{para}"})
    return (out * (n // len(out) + 1))[:n]


def count_tokens(tok, texts: list[str]) -> int:
    return sum(len(tok(x, add_special_tokens=False)["input_ids"]) for x in texts)


def plain_generate(model, tok, prompts: list[str], batch: int, max_new: int) -> list[str]:
    import torch

    tok.padding_side = "left"
    texts = []
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i : i + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(
                **enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id
            )
        texts += tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return [t.strip() for t in texts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--model", default="smollm2-135m")
    args = ap.parse_args()

    import torch

    from rlaif.core.config import load_config
    from rlaif.core.models import load_causal_lm, load_tokenizer, render_prompt
    from rlaif.generation import sample_records

    cfg = load_config(
        None,
        [
            f"model.name={args.model}",
            "sample.temperature=0",
            "sample.n=1",
            f"sample.max_new_tokens={args.max_new_tokens}",
        ],
    )
    model = load_causal_lm(cfg.model)
    tok = load_tokenizer(args.model)
    rows = []
    for batch in args.batches:
        records = stdlib_prompts(max(16, batch))
        cfg.sample.batch_size = batch
        best, outs = {"rlaif": 0.0, "transformers": 0.0}, {}
        for rep in range(args.repeats):
            # alternate which side goes first, so warm-up and drift hit both alike
            for side in ["rlaif", "transformers"] if rep % 2 == 0 else ["transformers", "rlaif"]:
                t = time.perf_counter()
                if side == "rlaif":
                    with tempfile.TemporaryDirectory() as d:
                        got = sample_records(
                            cfg,
                            records,
                            Path(d) / "s.jsonl",
                            args.model,
                            model=model,
                            tokenizer=tok,
                            progress=False,
                        )
                    texts_out = [r["completions"][0] for r in got]
                else:  # the user's own loop renders the same chat template and calls generate
                    texts = [render_prompt(tok, r["prompt"]) for r in records]
                    texts_out = plain_generate(model, tok, texts, batch, args.max_new_tokens)
                dt = time.perf_counter() - t
                outs[side] = texts_out
                best[side] = max(best[side], count_tokens(tok, texts_out) / dt)
        same = sum(a == b for a, b in zip(outs["rlaif"], outs["transformers"])) / len(records)
        n_rlaif, n_plain = count_tokens(tok, outs["rlaif"]), count_tokens(tok, outs["transformers"])
        rows.append(
            {
                "batch": batch,
                "prompts": len(records),
                "generated_tokens": {"rlaif": n_rlaif, "transformers": n_plain},
                "same_outputs": round(same, 3),
                "rlaif_tok_s": round(best["rlaif"], 1),
                "transformers_tok_s": round(best["transformers"], 1),
                "ratio": round(best["rlaif"] / best["transformers"], 3),
            }
        )
        print(rows[-1], flush=True)
    result = {
        "model": args.model,
        "dtype": str(next(model.parameters()).dtype),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "max_new_tokens": args.max_new_tokens,
        "rows": rows,
    }
    out = Path(__file__).parent / "results" / "sample_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(
        "\n| batch | prompts | generated tokens | rlaif sample tok/s | transformers generate tok/s | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['batch']} | {r['prompts']} | {r['generated_tokens']} | {r['rlaif_tok_s']} | "
            f"{r['transformers_tok_s']} | {r['ratio']} |"
        )


if __name__ == "__main__":
    main()
