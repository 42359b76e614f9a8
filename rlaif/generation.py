"""Sampling from a policy: the one generation routine, used by `rlaif sample`, RL rollouts, the HF
labeler backend and evaluation.

1. Batched `generate` with the KV cache. Prompts that share a long prefix (a database schema) are
   batched together (`batch_order`), and a batch computes its common prefix once and each prompt
   once for all of its samples (`shared_prefill`): the same tokens as plain left-padded generate()
   (tests/test_sample.py), ~2x faster for 4 samples of a text2sql prompt.
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


def shared_prefill(model, prompts: list[list[int]], n: int, pad: int, min_prefix: int = 16):
    """(input_ids, attention_mask, cache) for generate(), with the prompts' common prefix computed
    once and every prompt computed once for its n samples; None when they share under `min_prefix`
    tokens and n is 1 (nothing to share).

    The layout is `[common prefix, padding, rest of the prompt]`: every row ends where generation
    starts, as with left padding, and the padding sits where the mask hides it. generate() takes
    positions from the mask's running count, so each token keeps the position it has in its own
    unpadded prompt. The prefix's KV cache is made for one row and repeated for every prompt; the
    prompts' rests are then prefilled once each and the cache repeated n times (not the n times
    over that `num_return_sequences` would compute). The last prompt token stays out of the
    cache: generate() needs one uncached token to start from."""
    import torch
    from transformers import DynamicCache

    from .algos.packing import split_prefix

    prefix, rests = split_prefix(prompts, limit=min(len(p) for p in prompts) - 1)
    if len(prefix) < min_prefix:
        if n == 1:
            return None
        prefix, rests = [], prompts
    width = max(len(r) for r in rests)
    ids = torch.tensor([prefix + [pad] * (width - len(r)) + r for r in rests], dtype=torch.long)
    mask = torch.tensor([[1] * len(prefix) + [0] * (width - len(r)) + [1] * len(r) for r in rests])
    device = next(model.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    cache, L, kw = DynamicCache(config=model.config), len(prefix), cache_keyword(model)
    with torch.no_grad():
        if L:
            model(input_ids=ids[:1, :L], use_cache=True, **{kw: cache})
            cache.batch_repeat_interleave(len(prompts))
        if ids.size(1) - 1 > L:  # the rests, but for their last token (one prompt: nothing left)
            m = mask[:, :-1]
            pos = (m.cumsum(-1) - 1).clamp(min=0)[:, L:]
            model(input_ids=ids[:, L:-1], attention_mask=m, position_ids=pos, use_cache=True, **{kw: cache})
    cache.batch_repeat_interleave(n)
    return ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0), cache


_PREFILL_FAILED: set[str] = set()


def _try_shared_prefill(model, enc, n, pad, min_prefix):
    """`shared_prefill`, or None (plain generate) for a model whose cache cannot be prefilled and
    repeated this way (said once per model class): slower, never wrong."""
    name = type(model).__name__
    if name in _PREFILL_FAILED:
        return None
    try:
        return shared_prefill(model, enc, n, pad, min_prefix)
    except (TypeError, ValueError, NotImplementedError, AttributeError, RuntimeError) as e:
        _PREFILL_FAILED.add(name)
        print(
            f"[rlaif] generation: no shared prefill for {name} ({type(e).__name__}: {e}); plain generate",
            flush=True,
        )
        return None


def cache_keyword(model) -> str:
    """The name under which this transformers version takes a KV cache (`cache` from 5.x on, where
    `past_key_values` is deprecated; `past_key_values` before)."""
    import inspect

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft
    return "cache" if "cache" in inspect.signature(type(inner).forward).parameters else "past_key_values"


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
    share_prefix: int = 16,
):
    """n completions for each rendered prompt, in one generate() call: [[str] * n] * len(prompts).
    With `share_prefix` > 0, prompts sharing that many tokens have the shared part computed once,
    and each prompt is computed once for all its samples (`shared_prefill`).

    With return_ids, also the (B*n, T) prompt+response token tensor (prompts left-padded, whatever
    the layout generate() saw) and the prompt width, for RL."""
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
    k = n if sampling else 1
    gen = generation_config(
        model.generation_config, temperature, top_p, max_new_tokens, n, stop_token_ids(tokenizer, model), pad
    )
    with torch.no_grad(), checkpoint_settings_off(model):
        pre = _try_shared_prefill(model, enc, k, pad, share_prefix) if share_prefix > 0 else None
        if pre is None:
            out = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=gen
            )  # (B*n, T + new)
        else:
            gen.num_return_sequences = 1  # the rows are already repeated n times
            out = model.generate(
                input_ids=pre[0],
                attention_mask=pre[1],
                generation_config=gen,
                **{cache_keyword(model): pre[2]},
            )
            out = torch.cat([ids.repeat_interleave(k, 0).to(out.device), out[:, width:]], 1)
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


def batch_order(prompts: list[list[int]], min_prefix: int = 16) -> list[int]:
    """Prompt indices in batch order: prompts sharing a long prefix (one database's schema) are
    neighbours, so a batch computes that prefix once (`shared_prefill`); inside such a cluster, and
    between clusters, longest first, so a batch wastes little on padding."""
    from .algos.packing import prefix_clusters

    clusters = prefix_clusters(prompts, min_prefix=min_prefix)
    clusters.sort(key=lambda c: (-max(len(prompts[i]) for i in c), min(c)))
    return [i for c in clusters for i in sorted(c, key=lambda i: (-len(prompts[i]), i))]


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
    from .core.models import encode_prompt, load_causal_lm, load_tokenizer, render_prompt
    from .core.training import Progress

    s = s or cfg.sample
    done = {r["index"]: r for r in read_done(out_file)}
    tok = tokenizer or load_tokenizer(model_path, cfg.model.trust_remote_code)
    texts = [render_prompt(tok, r["prompt"], cfg.model.chat_template) for r in records]
    order = batch_order([encode_prompt(tok, t)[-s.max_prompt_length :] for t in texts])
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
