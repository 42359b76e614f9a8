"""Sampling n completions per text2sql prompt: `rlaif sample`'s path (prompts batched by shared prefix,
the common prefix and each prompt computed once: `generation.batch_order` + `shared_prefill`) against a
plain transformers loop (length-sorted batches, `generate(num_return_sequences=n)`), same run.

Setup: the bundled SmolLM2-135M-Instruct in bf16 (2 threads), the real prompts of the
`text2sql:dbs=all` RL split (schema + question, chat template; a fixed shuffle, `--prompts` of them),
`--n` samples per prompt at temperature 1.0, at most `--max-new-tokens`, `--batch` prompts per call.
Both sides run on one loaded model, in alternation (A, B, A, B) so that background load hits both
alike; the best of `--repeats` is reported. Generated tokens are counted up to and including the
first stop token. The bf16 matmul ceiling is measured in the same run.

    python benchmarks/sample_shared.py [--prompts 32] [--n 4] [--batch 8] [--max-new-tokens 64]

Writes benchmarks/results/sample_shared.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path


def prompts(k: int) -> list[str]:
    from rlaif.core.records import prompt_text
    from rlaif.tasks import get_task

    recs = get_task("text2sql:dbs=all").records("rl")
    random.Random(0).shuffle(recs)
    return [prompt_text(r["prompt"]) for r in recs[:k]]


def generated_tokens(out, width: int, stop: list[int]) -> int:
    """Tokens up to and including the first stop token, summed over rows."""
    from rlaif.rl.rollouts import response_mask

    return int(response_mask(out[:, width:].cpu(), stop)[0].sum())


def plain(model, tok, texts, n, batch, max_new, seed) -> tuple[float, int]:
    """Length-sorted batches, left padding, one generate(num_return_sequences=n) call each."""
    import torch

    from rlaif.core.models import encode_prompt, stop_token_ids
    from rlaif.generation import checkpoint_settings_off, generation_config, left_pad

    enc = sorted((encode_prompt(tok, t) for t in texts), key=len, reverse=True)
    stop = stop_token_ids(tok, model)
    gen = generation_config(model.generation_config, 1.0, 1.0, max_new, n, stop, tok.pad_token_id)
    t0, tokens = time.perf_counter(), 0
    for k in range(0, len(enc), batch):
        ids, mask = left_pad(enc[k : k + batch], tok.pad_token_id)
        torch.manual_seed(seed + k)
        with torch.no_grad(), checkpoint_settings_off(model):
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen)
        tokens += generated_tokens(out, ids.size(1), stop)
    return time.perf_counter() - t0, tokens


def ours(model, tok, texts, n, batch, max_new, seed) -> tuple[float, int]:
    """`rlaif sample`'s order and routine: batch_order, then generate_texts (shared prefill)."""
    from rlaif.core.models import encode_prompt, stop_token_ids
    from rlaif.generation import batch_order, generate_texts

    order = batch_order([encode_prompt(tok, t) for t in texts])
    stop = stop_token_ids(tok, model)
    t0, tokens = time.perf_counter(), 0
    for k in range(0, len(order), batch):
        chunk = [texts[i] for i in order[k : k + batch]]
        _, out, width = generate_texts(
            model, tok, chunk, n, 1.0, 1.0, max_new, seed=seed + k, return_ids=True
        )
        tokens += generated_tokens(out, width, stop)
    return time.perf_counter() - t0, tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "sample_shared.json"))
    a = ap.parse_args()

    import torch

    from rlaif.core.config import ModelConfig
    from rlaif.core.models import load_causal_lm, load_tokenizer, resolve_model_path

    sys.path.insert(0, str(Path(__file__).parent))
    from matmul_ceiling import ceiling

    path = resolve_model_path("smollm2-135m")
    tok = load_tokenizer(path)
    model = load_causal_lm(ModelConfig(name=path, dtype="bf16"), path)
    texts = prompts(a.prompts)
    ours(model, tok, texts[: a.batch], a.n, a.batch, 8, 0)  # warm-up, both code paths
    plain(model, tok, texts[: a.batch], a.n, a.batch, 8, 0)
    runs: dict[str, list[tuple[float, int]]] = {"ours": [], "plain": []}
    for r in range(a.repeats):
        order = [("ours", ours), ("plain", plain)]
        for name, fn in order[::-1] if r % 2 else order:  # alternate which goes first
            runs[name].append(fn(model, tok, texts, a.n, a.batch, a.max_new_tokens, 100 * r))
    best = {k: max(v, key=lambda x: x[1] / x[0]) for k, v in runs.items()}
    result = {
        "setup": vars(a) | {"threads": torch.get_num_threads(), "dtype": "bf16"},
        "ceiling": ceiling(),
        "runs": {k: [{"s": s, "tokens": t, "tokens_per_s": t / s} for s, t in v] for k, v in runs.items()},
        "ratio": (best["ours"][1] / best["ours"][0]) / (best["plain"][1] / best["plain"][0]),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(f"bf16 ceiling {result['ceiling']['bf16_all']} GFLOP/s ({result['ceiling']['cpu']})\n")
    print("| runner | seconds | generated tokens | tokens/s |\n|---|---|---|---|")
    for k in ("ours", "plain"):
        s, t = best[k]
        print(f"| {k} | {s:.1f} | {t} | {t / s:.1f} |")
    print(f"\nratio (tokens/s, ours / plain): {result['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
