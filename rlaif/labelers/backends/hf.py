"""The `hf` backend: a local transformers model, scored with forward passes only.

1. Scoring reads the next-token distribution after the ending: one forward pass, no `generate`.
   Only the last real position of each row goes through the LM head (a 49k-row matmul per token
   would otherwise cost ~20% of SmolLM2's forward pass).
2. Prefix sharing in three levels, all exact up to floating-point rounding (tests compare them with a
   plain forward pass in fp32; in bf16 a prefix encoded in two pieces may differ in the last bits):
   - the prefix all rows of a batch share (chat header + preamble, and on text2sql the database
     schema: ~390 of ~470 prompt tokens) is encoded once and its KV cache kept in a small store.
     A later batch reuses the longest stored prefix it starts with, cut to the common part (the
     keys and values of position j depend on tokens <= j only, so a cut cache is exact), and
     encodes only the rest: the preamble is paid once per run, a schema once per database;
   - within a batch, neighbouring rows that share more (the two orders of one pair share the
     prompt text) have that segment encoded once per group; the rows then continue from the
     group's cache. Segments of different length are right-padded and masked, with explicit
     position ids, so padding never shifts a real token.
3. The caller batches rows by shared prompt prefix, then length (`pairs._chunks`); the two orders
   of a pair sit in the same batch.
4. Log-softmax in fp32 whatever the model dtype (bf16 on CPUs with fast bf16: ~4x the fp32 rate).
5. Applying the head ourselves skips what the model's forward does after it (Gemma-2 soft-capping,
   Granite's logits_scaling), so `_head` applies it too (`models.final_logits`), and a model whose
   logits the head cannot reproduce is refused when the backend is built (`models.check_head`).
"""

from __future__ import annotations

import math
from typing import Any

from ..scoring import NEG_INF

Prompt = tuple[str, str]  # (user text: preamble ... sample, ending)


def _lcp(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class HFBackend:
    name = "hf"

    def __init__(
        self,
        model_name: str,
        dtype: str = "auto",
        device: str = "auto",
        chat_template: bool = True,
        batch_size: int = 8,
        share_prefix: bool = True,
        threads: int = 0,
        trust_remote_code: bool = False,
        model=None,
        tokenizer=None,
    ):
        from ...core.config import ModelConfig
        from ...core.models import load_causal_lm, load_tokenizer

        mcfg = ModelConfig(
            name=model_name, dtype=dtype, device=device, threads=threads, trust_remote_code=trust_remote_code
        )
        self.tok = tokenizer or load_tokenizer(model_name, trust_remote_code)
        self.model = model or load_causal_lm(mcfg)
        self.chat = chat_template and bool(getattr(self.tok, "chat_template", None))
        self.batch_size, self.share_prefix = batch_size, share_prefix
        self.share_pairs = share_prefix  # level 2 below; separate only so benchmarks can measure it
        self._groups: dict[str, list[int]] = {}
        # stored prefixes, most recently used last: (ids, [(k, v)] per layer, batch 1)
        self._store: list[tuple[list[int], Any]] = []
        self.store_size = 4
        self.reuse_cut = True  # reuse part of a stored prefix; False: the backend before the store
        # (one stored prefix reused only whole, as it is: benchmarks measure the store against it)
        self._head_fp32 = None
        self.stats = {"prompt_tokens": 0, "forward_tokens": 0, "generated_tokens": 0, "calls": 0}
        from ...core.models import check_head

        check_head(self.model, self._head, f"labeler {model_name}")

    # ------------------------------------------------------------------ text and tokens

    def text(self, prompt: Prompt) -> str:
        from ...core.models import render_prompt

        user, ending = prompt
        if self.chat:
            return render_prompt(self.tok, user, True) + ending
        return f"{user}\n\n{ending}" if ending else user

    def encode(self, prompt: Prompt, continuation: str = "") -> list[int]:
        from ...core.models import encode_prompt

        ids = encode_prompt(self.tok, self.text(prompt))
        if continuation:  # appended as tokens, never re-merged with the ending ("=1" stays "=", "1")
            ids = ids + self.tok(continuation, add_special_tokens=False)["input_ids"]
        return ids

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.encode(prompt))

    def token_group(self, target: str) -> list[int]:
        """Every vocabulary id whose text, whitespace stripped, is `target` ("1", " 1", "Ġ1")."""
        if not self._groups:
            special = set(self.tok.all_special_ids)
            raw = self.tok.convert_ids_to_tokens(list(range(len(self.tok))))
            ids = [i for i, r in enumerate(raw) if r is not None and len(r) <= 12 and i not in special]
            for i, s in zip(ids, self.tok.batch_decode([[i] for i in ids])):
                s = s.strip()
                if s and len(s) <= 8:
                    self._groups.setdefault(s, []).append(i)
        return self._groups.get(target, [])

    # ------------------------------------------------------------------ forward passes

    def next_logprobs(
        self, prompts: list[Prompt], continuations: list[str], targets: list[str]
    ) -> list[dict[str, float]]:
        import torch

        rows = [self.encode(p, c) for p, c in zip(prompts, continuations)]
        out: list[dict[str, float]] = []
        groups = {t: self.token_group(t) for t in targets}
        for k in range(0, len(rows), self.batch_size):
            lp = self.last_logprobs(rows[k : k + self.batch_size])  # (B, V) fp32
            for row in lp:
                out.append(
                    {
                        t: (float(torch.logsumexp(row[ids], 0)) if ids else NEG_INF)
                        for t, ids in groups.items()
                    }
                )
        return out

    def _cache(self, kv: list, batch_index=None):
        from transformers.cache_utils import DynamicCache

        if batch_index is not None:
            kv = [(k.index_select(0, batch_index), v.index_select(0, batch_index)) for k, v in kv]
        return DynamicCache(
            ddp_cache_data=[(k.contiguous(), v.contiguous()) for k, v in kv], config=self.model.config
        )

    def _decoder(self):
        base = getattr(self.model, "base_model", None)
        return base if base is not None and base is not self.model else None

    def _run(self, ids, mask, pos, kv, batch_index=None, want_hidden: bool = False):
        """One forward over `ids` continuing from cache `kv` (selected by `batch_index`)."""
        import torch

        kwargs = dict(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        if kv is not None:
            kwargs["past_key_values"] = self._cache(kv, batch_index)
        self.stats["forward_tokens"] += int(ids.numel())
        dec = self._decoder()
        with torch.no_grad():
            out = dec(**kwargs) if dec is not None else self.model(**kwargs, output_hidden_states=True)
        hidden = out.last_hidden_state if dec is not None else out.hidden_states[-1]
        cache = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        return hidden, cache

    def _shared_prefix(self, rows: list[list[int]]) -> tuple[int, list | None]:
        """(length, kv) of the prefix all rows share, from the store where it holds that prefix or
        a part of it (then only the rest is encoded); None below 8 shared tokens."""
        import torch

        if not self.share_prefix:
            return 0, None
        n = min(min(_lcp(rows[0], r) for r in rows), min(len(r) for r in rows) - 1)  # a token left per row
        if n < 8:
            return 0, None
        best, m = -1, 0
        for j, (ids, kv) in enumerate(self._store):
            k = _lcp(ids, rows[0][:n])
            # a cut needs every position in the cache: a sliding-window layer keeps only the last ones
            whole_only = not self.reuse_cut or kv[0][0].shape[-2] != len(ids)
            if k > m and (k == len(ids) or not whole_only):
                best, m = j, k
        if best >= 0 and m >= 8:
            ids, kv = self._store.pop(best)
            self._store.append((ids, kv))  # most recently used
            if m == len(ids) and not self.reuse_cut:
                return m, kv  # whole prefixes only (the backend before the store): no extension either
            kv = [(k[:, :, :m], v[:, :, :m]) for k, v in kv]  # views: the stored cache stays whole
            if m == n:
                return n, kv
        else:
            m, kv = 0, None
        dev = self._device()
        t = torch.tensor([rows[0][m:n]], device=dev)
        mask = torch.ones(1, n, dtype=torch.long, device=dev)
        _, kv = self._run(t, mask, torch.arange(m, n, device=dev)[None], kv)
        self._store.append((rows[0][:n], kv))
        del self._store[: max(0, len(self._store) - max(1, self.store_size))]
        return n, kv

    def clear_prefixes(self) -> None:
        """Forget the stored prefix caches (benchmarks time runs from a cold start)."""
        self._store = []

    def _device(self):
        return next(self.model.parameters()).device

    def last_logprobs(self, rows: list[list[int]]):
        """(B, V) fp32 log-probabilities of the token after each row, with prefix sharing."""
        import torch

        with torch.inference_mode():
            return self._last_logprobs(rows)

    def _last_logprobs(self, rows: list[list[int]]):
        import torch

        self.stats["calls"] += 1
        self.stats["prompt_tokens"] += sum(len(r) for r in rows)
        dev = self._device()
        g, kv = self._shared_prefix(rows)
        # level 2: groups of neighbouring rows sharing a segment beyond the batch's shared prefix
        groups: list[list[int]] = []
        for i, r in enumerate(rows):
            if self.share_pairs and groups and _lcp(rows[groups[-1][0]], r) - g >= 8:
                groups[-1].append(i)
            else:
                groups.append([i])
        seg_len = []
        for grp in groups:
            shared = min(_lcp(rows[grp[0]], rows[j]) for j in grp) if len(grp) > 1 else g
            seg_len.append(max(0, min(shared, min(len(rows[j]) for j in grp) - 1) - g))
        row_group = torch.tensor([gi for gi, grp in enumerate(groups) for _ in grp], device=dev)
        order = [i for grp in groups for i in grp]  # rows regrouped; grouping keeps neighbours
        base_mask_len = g
        if max(seg_len) > 0:
            S = max(seg_len)
            seg = [rows[grp[0]][g : g + s] + [0] * (S - s) for grp, s in zip(groups, seg_len)]
            smask = [[1] * s + [0] * (S - s) for s in seg_len]
            ids = torch.tensor(seg, device=dev)
            mask = torch.tensor([[1] * g + m for m in smask], device=dev)
            pos = (g + torch.arange(S, device=dev))[None].expand(len(groups), -1)
            gidx = torch.zeros(len(groups), dtype=torch.long, device=dev) if kv is not None else None
            _, kv = self._run(ids, mask, pos, kv, gidx)
            prefix_mask = [[1] * g + m for m in smask]
            base_mask_len = g + S
        else:
            prefix_mask = [[1] * g for _ in groups]
        # level 3: each row's own suffix
        starts = [g + seg_len[gi] for gi, grp in enumerate(groups) for _ in grp]
        sufs = [rows[i][s:] for i, s in zip(order, starts)]
        L = max(len(s) for s in sufs)
        ids = torch.tensor([s + [0] * (L - len(s)) for s in sufs], device=dev)
        mask = torch.tensor(
            [prefix_mask[gi] + [1] * len(s) + [0] * (L - len(s)) for gi, s in zip(row_group.tolist(), sufs)],
            device=dev,
        )
        pos = torch.tensor([[st + j for j in range(L)] for st in starts], device=dev)
        idx = None
        if kv is not None:  # group caches (one per group) or the shared prefix (batch 1)
            idx = row_group if base_mask_len > g else torch.zeros(len(sufs), dtype=torch.long, device=dev)
        hidden, _ = self._run(ids, mask, pos, kv, idx)
        last = torch.tensor([len(s) - 1 for s in sufs], device=dev)
        h = hidden[torch.arange(len(sufs), device=dev), last]  # (B, H)
        lp = torch.log_softmax(self._head(h), -1)
        inv = [0] * len(order)
        for j, i in enumerate(order):
            inv[i] = j
        return lp[torch.tensor(inv, device=dev)]

    def _head(self, h):
        """LM head in fp32 for the few rows scored: bf16 logits are quantised to ~0.1 nats near
        typical logit sizes, which would round every soft label to a coarse grid. Then the
        model's own final-logit processing (soft-capping, scaling), as its forward would do."""
        import torch

        from ...core.models import final_logits

        head = self.model.get_output_embeddings()
        if head.weight.dtype == torch.float32:
            return final_logits(self.model.config, head(h.float()).float())
        if self._head_fp32 is None:
            b = head.bias.float() if getattr(head, "bias", None) is not None else None
            self._head_fp32 = (head.weight.detach().float(), b)
        w, b = self._head_fp32
        out = h.float() @ w.T
        return final_logits(self.model.config, out + b if b is not None else out)

    # ------------------------------------------------------------------ generation (CoT)

    def generate(
        self, prompts: list[Prompt], max_tokens: int, temperature: float = 0.0, n: int = 1, seed: int = 0
    ) -> list[list[str]]:
        from ...generation import generate_texts

        out: list[list[str]] = []
        for k in range(0, len(prompts), self.batch_size):
            chunk = [self.text(p) for p in prompts[k : k + self.batch_size]]
            texts = generate_texts(
                self.model,
                self.tok,
                chunk,
                n,
                temperature,
                1.0,
                max_tokens,
                seed=seed + k,
                max_prompt_length=10**6,
            )
            self.stats["generated_tokens"] += sum(len(self.tok(t)["input_ids"]) for ts in texts for t in ts)
            out += texts
        return out

    def describe(self) -> dict:
        from ...core.models import describe_model

        return describe_model(self.model) | {"chat_template": self.chat}


def finite(x: float) -> bool:
    return x != NEG_INF and not math.isnan(x)
