"""Sampling from a policy: the one generation routine, used by `rlaif sample`, RL rollouts, the HF
labeler backend and evaluation.

1. Batched `generate` with left padding and the KV cache; prompts are length-sorted so a batch
   wastes little on padding.
2. Deterministic for a seed and resumable: batch k is always the same prompts and is seeded with
   seed + k, so a run killed after any batch and restarted produces the same file as one that never
   stopped. Records carry their input `index`; the final file is in input order.
3. `generate_texts` is the one sampling routine: RL rollouts, the HF labeler and evaluation call it.
4. Its settings are complete and explicit (`generation_config`): `generate` fills whatever its
   caller leaves unset from the checkpoint's generation_config.json, so a `repetition_penalty` or
   `no_repeat_ngram_size` saved there would reshape every sample, and RL rollouts would no longer
   come from the policy it scores. The checkpoint's file is kept out of the call entirely.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .core.config import Config, SampleConfig
from .core.runs import JsonlAppender, read_done


def policy_path(cfg: Config, explicit: str = "") -> str:
    """The policy a stage should use: explicit, else the sft stage's checkpoint, else model.name."""
    if explicit:
        return explicit
    ckpt = Path(cfg.out) / "sft" / "checkpoint"
    return (
        str(ckpt)
        if (ckpt / "config.json").exists() or (ckpt / "adapter_config.json").exists()
        else cfg.model.name
    )


def generation_config(gen, temperature: float, top_p: float, max_new_tokens: int, n: int, eos, pad):
    """The whole configuration of one generate() call: sampling at `temperature` (0: greedy) with
    nucleus `top_p` and no top-k; nothing else. `gen` is the model's own config, read only for its
    special tokens."""
    from transformers import GenerationConfig

    sampling = temperature > 0
    return GenerationConfig(
        do_sample=sampling,
        temperature=temperature if sampling else 1.0,
        top_p=top_p if sampling else 1.0,
        top_k=0,
        typical_p=1.0,
        min_p=None,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        max_new_tokens=max_new_tokens,
        min_new_tokens=0,
        num_beams=1,
        num_return_sequences=n if sampling else 1,
        eos_token_id=eos,
        pad_token_id=pad,
        bos_token_id=getattr(gen, "bos_token_id", None),
        use_cache=True,
    )


@contextlib.contextmanager
def checkpoint_settings_off(model):
    """generate() fills every setting left unset from `model.generation_config`; with a blank one
    there (special tokens kept) only transformers' neutral defaults can fill them."""
    from transformers import GenerationConfig

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft
    saved = inner.generation_config
    inner.generation_config = GenerationConfig(
        bos_token_id=getattr(saved, "bos_token_id", None),
        eos_token_id=getattr(saved, "eos_token_id", None),
        pad_token_id=getattr(saved, "pad_token_id", None),
    )
    try:
        yield
    finally:
        inner.generation_config = saved


def left_pad(prompts: list[list[int]], pad: int):
    """(ids, mask), both (B, T) long: token lists padded on the left to the longest, so every
    prompt ends where generation starts."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], dtype=torch.long)
    return ids, mask


def generate_texts(
    model,
    tokenizer,
    prompt_texts: list[str],
    n: int,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int | None = None,
    max_prompt_length: int = 1024,
    return_ids: bool = False,
):
    """n completions for each rendered prompt, in one generate() call: [[str] * n] * len(prompts).

    With return_ids, also the (B*n, T) prompt+response token tensor and the prompt width, for RL."""
    import torch

    from .core.models import encode_prompt, stop_token_ids

    enc = [encode_prompt(tokenizer, t)[-max_prompt_length:] for t in prompt_texts]
    pad = tokenizer.pad_token_id
    ids, mask = left_pad(enc, pad)  # (B, T)
    width = ids.size(1)
    device = next(model.parameters()).device
    if seed is not None:
        torch.manual_seed(seed)
    sampling = temperature > 0
    gen = generation_config(
        model.generation_config, temperature, top_p, max_new_tokens, n, stop_token_ids(tokenizer, model), pad
    )
    with torch.no_grad(), checkpoint_settings_off(model):
        out = model.generate(
            input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=gen
        )  # (B*n, T + new)
    if not sampling and n > 1:  # greedy: the n completions are the same one
        out = out.repeat_interleave(n, dim=0)
    texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    grouped = [[texts[i * n + j].strip() for j in range(n)] for i in range(len(prompt_texts))]
    return (grouped, out, width) if return_ids else grouped


def server_sampler(s: SampleConfig, model_path: str):
    """`fn(prompt_texts, seed) -> [[str] * n]` through OpenAI-compatible servers (sample.server_url:
    one or a list; least-loaded routing and failover, rlaif/serving/endpoints.py). Each sample has its own
    seed, so the file does not depend on which server answered."""
    from .serving.endpoints import EndpointPool, complete

    pool = EndpointPool(s.server_url)

    def fn(prompt_texts: list[str], seed: int) -> list[list[str]]:
        out = complete(
            pool,
            s.server_model or model_path,
            prompt_texts,
            s.n,
            s.temperature,
            s.top_p,
            s.max_new_tokens,
            seed,
        )
        return [[text.strip() for text, _ in group] for group in out]

    return fn


def sample_records(
    cfg: Config,
    records: list[dict],
    out_file: Path,
    model_path: str,
    s: SampleConfig | None = None,
    model=None,
    tokenizer=None,
    progress: bool = True,
) -> list[dict]:
    """Sample for `records` into `out_file` (appending, resuming what is there); return all rows.

    `model` and `tokenizer` may be passed already loaded (evaluation and benchmarks reuse them)."""
    from .core.models import load_causal_lm, load_tokenizer, render_prompt
    from .core.training import Progress

    s = s or cfg.sample
    done = {r["index"]: r for r in read_done(out_file)}
    tok = tokenizer or load_tokenizer(model_path, cfg.model.trust_remote_code)
    texts = [render_prompt(tok, r["prompt"], cfg.model.chat_template) for r in records]
    lengths = [len(t) for t in texts]
    order = sorted(range(len(records)), key=lambda i: (-lengths[i], i))
    batches = [order[k : k + s.batch_size] for k in range(0, len(order), s.batch_size)]
    todo = [(k, b) for k, b in enumerate(batches) if any(i not in done for i in b)]
    if todo:
        served = server_sampler(s, model_path) if s.server_url else None
        if served is None:
            model = model if model is not None else load_causal_lm(cfg.model, model_path)
        bar = Progress(len(records), "sample", disable=not progress)
        bar.update(len(records) - sum(len(b) for _, b in todo))
        with JsonlAppender(out_file) as out:
            for k, batch in todo:
                if served is not None:
                    comps, n_tokens = served([texts[i] for i in batch], cfg.seed + k), 0
                else:
                    comps, ids, width = generate_texts(
                        model,
                        tok,
                        [texts[i] for i in batch],
                        s.n,
                        s.temperature,
                        s.top_p,
                        s.max_new_tokens,
                        seed=cfg.seed + k,
                        max_prompt_length=s.max_prompt_length,
                        return_ids=True,
                    )
                    n_tokens = int((ids[:, width:] != tok.pad_token_id).sum())
                new = [
                    {**records[i], "index": i, "completions": c}
                    for i, c in zip(batch, comps)
                    if i not in done
                ]
                out.write_many(new)
                done.update({r["index"]: r for r in new})
                bar.update(len(batch), tokens=n_tokens)
        bar.close()
    return [done[i] for i in range(len(records))]
