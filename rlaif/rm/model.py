"""Reward models: a scalar head on a causal LM, how pairs are batched, scoring, and serving.

1. The model is `AutoModelForSequenceClassification(num_labels=1)` on any causal LM, saved as a plain
   transformers folder (usable by TRL or HF pipelines too). The reward is the head applied to the
   hidden state of the *last token of the response*; nothing is appended after the response, so
   the HF model's own forward on `rendered prompt + response` gives the same number.
2. We pool ourselves (`PooledReward`) instead of HF's "last non-pad token", which breaks when the
   pad token equals the end-of-turn token (SmolLM2, Qwen): it would silently score one token early.
3. Prompt sharing (`pack_groups(share_prompt=True)`, through algos.packing.pack, the packing routine
   sft uses too): a pair (or any group of responses to one
   prompt) is one row `[prompt, r1, r2, ...]` with a block mask in which each response sees the
   prompt and itself but not the other responses, and position ids restart after the prompt. The
   hidden states are those of separate rows `[prompt, r_i]`, but the prompt is encoded once: for
   RLAIF's long prompts (instructions, schemas, SALMON principles) and short responses that is most
   of the compute. With `min_prefix`, groups whose prompts share a long prefix (the questions on
   one database schema) are merged into one row too (`algos.packing.merge_groups`): the schema is
   encoded once per batch, and training batches are drawn by database (rm/train.py) so that they
   do. `share_prompt=False` gives plain right-padded rows with no mask at all (padding
   sits after every real token, so the causal mask alone is exact and SDPA can use is_causal).
   The block mask reaches the model as an *additive* float mask (0 / the dtype's most negative
   number, `additive_mask`): SDPA reads a boolean 4D mask as keep/drop, but eager attention adds
   whatever it gets to the scores, so a boolean mask there would add 0/1 and let every response
   see the others. The float form means the same under every attention implementation.
4. `RewardModel.score(prompts, completions)` and `RewardModel(...)` as a reward function
   `fn(prompts, completions, **kw) -> list[float]` are what RL uses; `reward_fn(path_or_url)` builds
   one from a run folder, a checkpoint, or the URL of `rlaif rm serve` (`serve` / `RemoteRewardModel`).
5. A principle-following (SALMON) RM carries its principle set in `rlaif_rm.json`; at scoring time
   the prompt gets the fixed principles plus a few sampled by weight (salmon.use_time_principles).
   Passing another principle file at load time changes what the RM rewards without retraining.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..algos.packing import additive_mask

META_FILE = "rlaif_rm.json"


# --------------------------------------------------------------------------- tokens and batches


def encode_group(
    tokenizer, prompt_text: str, responses: Sequence[str], max_length: int
) -> tuple[list[int], list[list[int]]]:
    """(prompt ids, [response ids]) such that every prompt+response fits in max_length: responses
    keep their first max_length-1 tokens, the prompt loses tokens from the left. Every sequence
    gets at least one token."""
    from ..core.models import encode_prompt

    p = encode_prompt(tokenizer, prompt_text)
    rs = [tokenizer(r, add_special_tokens=False)["input_ids"][: max_length - 1] for r in responses]
    room = max_length - max(len(r) for r in rs)
    p = p[-room:] if room > 0 else []
    if not p:
        rs = [r or [tokenizer.eos_token_id] for r in rs]
    return p, rs


@dataclass
class Batch:
    input_ids: Any  # (R, T) long
    ends: Any  # (N,) flat index into R*T of each sequence's last token
    attention_mask: Any = None  # (R, 1, T, T) bool block mask, or None (plain causal rows)
    position_ids: Any = None  # (R, T) long, or None
    tokens: int = 0  # real (non-pad) tokens in the batch

    def to(self, device) -> "Batch":
        mv = lambda t: t.to(device) if t is not None else None  # noqa: E731
        return Batch(
            mv(self.input_ids), mv(self.ends), mv(self.attention_mask), mv(self.position_ids), self.tokens
        )


def pack_groups(
    groups: Sequence[tuple[list[int], list[list[int]]]],
    pad_id: int,
    share_prompt: bool = True,
    min_prefix: int = 0,
) -> Batch:
    """Batch of groups (prompt ids, [response ids]); `ends` lists the groups' responses in order.
    With `min_prefix` > 0 (and `share_prompt`), groups whose prompts share at least that many
    tokens (one database's schema) also share one row: the schema is encoded once per batch."""
    import torch

    if not share_prompt:
        seqs = [p + r for p, rs in groups for r in rs]
        T = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
        ends = torch.tensor([i * T + len(s) - 1 for i, s in enumerate(seqs)])
        return Batch(ids, ends, tokens=sum(map(len, seqs)))
    from ..algos.packing import merge_groups, pack  # the one packing routine: sft, rm and rl share it

    if min_prefix > 0:  # rows capped like rl's: attention is quadratic in a row's length
        merged, order, _ = merge_groups(groups, min_prefix=min_prefix, max_tokens=4096)
        p = pack(merged, pad_id)
        ends = torch.empty(len(order), dtype=torch.long)
        ends[torch.tensor(order, dtype=torch.long)] = p.last_positions()  # back to the input's order
        return Batch(p.input_ids, ends, p.attention_mask, p.position_ids, tokens=p.tokens)
    p = pack(groups, pad_id)
    return Batch(p.input_ids, p.last_positions(), p.attention_mask, p.position_ids, tokens=p.tokens)


def batches_by_budget(sizes: Sequence[int], max_sequences: int) -> list[list[int]]:
    """Consecutive index chunks holding at most `max_sequences` responses (a bigger group alone)."""
    out, cur, n = [], [], 0
    for i, s in enumerate(sizes):
        if cur and n + s > max_sequences:
            out.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += s
    return out + ([cur] if cur else [])


# --------------------------------------------------------------------------- the model


def _torch_module():
    import torch

    class PooledReward(torch.nn.Module):
        """A sequence-classification model evaluated at given token positions: (N,) fp32 rewards."""

        def __init__(self, hf):
            super().__init__()
            self.hf = hf

        def forward(self, input_ids, ends, attention_mask=None, position_ids=None):
            base = self.hf.get_base_model() if hasattr(self.hf, "get_base_model") else self.hf  # peft
            mask = additive_mask(attention_mask, next(base.parameters()).dtype)  # exact under eager too
            h = base.base_model(
                input_ids=input_ids, attention_mask=mask, position_ids=position_ids, use_cache=False
            ).last_hidden_state  # (R, T, H)
            h = h.reshape(-1, h.size(-1))[ends]  # (N, H)
            return base.score(h).squeeze(-1).float()  # (N,)

    return PooledReward


def pooled(hf_model):
    """Wrap a sequence-classification model so that forward(batch fields) -> (N,) rewards."""
    return _torch_module()(hf_model)


def batch_rewards(model, batch: Batch):
    """(N,) fp32 rewards for a Batch through a PooledReward (possibly wrapped by accelerate)."""
    return model(batch.input_ids, batch.ends, batch.attention_mask, batch.position_ids)


def load_rm_for_training(path: str, model_cfg, pad_token_id: int, lora: bool = False):
    """A fresh RM (fp32 weights, new scalar head) on a causal LM: hub id, folder, built-in name, or a
    peft adapter folder (merged into its base first)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from ..core.models import adapter_base, add_lora, load_causal_lm, resolve_model_path, set_threads

    set_threads(model_cfg.threads)
    if adapter_base(path):
        lm = load_causal_lm(model_cfg, path)  # merged, in inference dtype
        model = AutoModelForSequenceClassification.from_config(lm.config, num_labels=1, dtype=torch.float32)
        model.base_model.load_state_dict({k: v.float() for k, v in lm.base_model.state_dict().items()})
        del lm
    else:
        import transformers

        transformers.logging.set_verbosity_error()  # "score.weight newly initialized" is the point here
        model = AutoModelForSequenceClassification.from_pretrained(
            resolve_model_path(path),
            num_labels=1,
            dtype=torch.float32,
            trust_remote_code=model_cfg.trust_remote_code,
        )
        transformers.logging.set_verbosity_warning()
    model.config.pad_token_id = pad_token_id
    model.config.use_cache = False
    for m in model.modules():  # dropout makes the two sides of a pair see different models
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    if lora:
        model = add_lora(model, model_cfg, "SEQ_CLS")
    return model


def save_rm(model, tokenizer, dest: str | Path, meta: dict) -> Path:
    """Save a full RM folder (LoRA merged) with its rlaif metadata, atomically."""
    import shutil

    from ..core.models import save_model

    hf = model.hf if hasattr(model, "hf") else model
    if hasattr(hf, "merge_and_unload"):
        hf = hf.merge_and_unload()
    dest = save_model(hf, tokenizer, dest)
    (dest / META_FILE).write_text(json.dumps(meta, indent=2))
    shutil.rmtree(dest.with_name(dest.name + ".tmp"), ignore_errors=True)
    return dest


# --------------------------------------------------------------------------- scoring


class RewardModel:
    """A trained reward model for scoring: `score(prompts, completions) -> list[float]`.

    Also a reward function in TRL's shape: `rm(prompts, completions, **kw) -> list[float]`."""

    def __init__(
        self,
        model,
        tokenizer,
        meta: dict | None = None,
        batch_size: int = 32,
        share_prompt: bool = True,
        principles: str | None = None,
        normalize: bool = False,
        min_prefix: int = 16,
    ):
        self.model, self.tok = model, tokenizer
        self.min_prefix = min_prefix if share_prompt else 0
        self.meta = meta or {}
        self.chat_template = self.meta.get("chat_template", True)
        self.max_length = self.meta.get("max_length", 1024)
        self.batch_size, self.share_prompt, self.normalize = batch_size, share_prompt, normalize
        self.pset = None
        if self.meta.get("salmon") or principles:
            from .salmon import load_principles

            self.pset = load_principles(principles) if principles else _pset_from_meta(self.meta)
        self.__name__ = "reward_model"  # TRL logs reward functions by __name__

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", dtype: str = "auto", **kw) -> "RewardModel":
        """A saved RM: a checkpoint folder or an `rlaif rm` run folder (uses its checkpoint)."""
        from transformers import AutoModelForSequenceClassification

        from ..core.models import load_tokenizer, resolve_device, resolve_dtype

        path = Path(path)
        if (path / "checkpoint" / "config.json").exists():
            path = path / "checkpoint"
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path}: not a reward model folder (no config.json)")
        meta = json.loads((path / META_FILE).read_text()) if (path / META_FILE).exists() else {}
        dev = resolve_device(device)
        hf = (
            AutoModelForSequenceClassification.from_pretrained(path, dtype=resolve_dtype(dtype, dev))
            .to(dev)
            .eval()
        )
        hf.requires_grad_(False)
        tok = load_tokenizer(str(path))
        return cls(pooled(hf).eval(), tok, meta, **kw)

    def principles_for(self, prompt: str | list, principles: Sequence[str] | None = None) -> list[str]:
        """The principle texts put in front of this prompt (none for a plain RM)."""
        if principles is not None:
            return list(principles)
        if self.pset is None:
            return []
        from .salmon import use_time_principles

        return use_time_principles(
            self.pset, prompt, int(self.meta.get("rl_sampled", 3)), int(self.meta.get("seed", 0))
        )

    def score(
        self,
        prompts: Sequence[str | list],
        completions: Sequence[str | list],
        principles: Sequence[str] | None = None,
    ) -> list[float]:
        """One reward per (prompt, completion). Completions of the same prompt share its encoding."""
        from ..core.records import response_text

        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        order: dict[str, list[int]] = {}
        keys = {}
        for i, p in enumerate(prompts):
            k = json.dumps(p) if not isinstance(p, str) else p
            order.setdefault(k, []).append(i)
            keys[k] = p
        groups, index = [], []
        for k, idx in order.items():
            for j in range(0, len(idx), 8):  # long rows of many responses would waste attention
                chunk = idx[j : j + 8]
                groups.append((keys[k], [response_text(completions[i]) for i in chunk]))
                index.append(chunk)
        rewards = self._score_groups(groups, principles)
        out = [0.0] * len(prompts)
        for chunk, rs in zip(index, rewards):
            for i, r in zip(chunk, rs):
                out[i] = r
        return out

    def compare(self, prompts, responses_a, responses_b, principles=None) -> list[float]:
        """P(a preferred) = sigmoid(r_a - r_b) for each pair."""
        import math

        groups = [(p, [a, b]) for p, a, b in zip(prompts, responses_a, responses_b)]
        return [1 / (1 + math.exp(-(ra - rb))) for ra, rb in self._score_groups(groups, principles, raw=True)]

    def _score_groups(
        self, groups: list[tuple[Any, list[str]]], principles=None, raw: bool = False
    ) -> list[list[float]]:
        import torch

        from ..core.models import render_prompt
        from .salmon import with_principles

        enc = []
        for p, rs in groups:
            text = render_prompt(
                self.tok, with_principles(p, self.principles_for(p, principles)), self.chat_template
            )
            enc.append(encode_group(self.tok, text, rs, self.max_length))
        device = next(self.model.parameters()).device
        lengths = [len(p) + sum(map(len, rs)) for p, rs in enc]
        if self.min_prefix:  # prompts on one schema side by side: a batch encodes it once
            by_len = sorted(range(len(enc)), key=lambda i: (enc[i][0], -lengths[i]))
        else:
            by_len = sorted(range(len(enc)), key=lambda i: -lengths[i])  # little padding per batch
        out: list[list[float]] = [[] for _ in enc]
        with torch.inference_mode():
            for chunk in batches_by_budget([len(enc[i][1]) for i in by_len], self.batch_size):
                ids = [by_len[c] for c in chunk]
                b = pack_groups(
                    [enc[i] for i in ids], self.tok.pad_token_id, self.share_prompt, self.min_prefix
                ).to(device)
                r = batch_rewards(self.model, b).tolist()
                for i in ids:
                    n = len(enc[i][1])
                    out[i], r = r[:n], r[n:]
        if self.normalize and not raw and "reward_std" in self.meta:
            m, s = self.meta["reward_mean"], self.meta["reward_std"] or 1.0
            out = [[(x - m) / s for x in rs] for rs in out]
        return out

    def __call__(self, prompts, completions, **kw) -> list[float]:
        return self.score(prompts, completions)


def _pset_from_meta(meta: dict):
    from .salmon import Principle, PrincipleSet

    ps = meta.get("principle_set") or {}
    if not ps:
        from .salmon import load_principles

        return load_principles("")
    return PrincipleSet(
        [Principle(**p) for p in ps.get("principles", [])], [Principle(**p) for p in ps.get("fixed", [])]
    )


def reward_fn(source: str | Path, **kw) -> Callable[..., list[float]]:
    """A reward function `fn(prompts, completions, **kw) -> list[float]` from an RM run folder or
    checkpoint (loaded here) or an `http://host:port` URL of `rlaif rm serve`."""
    s = str(source)
    if s.startswith(("http://", "https://")):
        return RemoteRewardModel(s, **kw)
    return RewardModel.load(s, **kw)


# --------------------------------------------------------------------------- HTTP


class RemoteRewardModel:
    """Client of `rlaif rm serve`: same `score` and reward-function call as RewardModel."""

    def __init__(self, url: str, timeout: float = 600.0):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.__name__ = "remote_reward_model"

    def _post(self, route: str, body: dict) -> dict:
        import urllib.request

        req = urllib.request.Request(
            self.url + route, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            return json.loads(r.read())

    def score(self, prompts, completions, principles=None) -> list[float]:
        body = {"prompts": list(prompts), "completions": list(completions)}
        if principles is not None:
            body["principles"] = list(principles)
        return self._post("/score", body)["rewards"]

    def __call__(self, prompts, completions, **kw) -> list[float]:
        return self.score(prompts, completions)
