"""Rollouts: where RL's samples come from, behind one small interface.

    engine.generate(prompt_texts, n, seed) -> Rollout     # n completions per rendered prompt
    engine.sync(model)                                    # after each update: push fresh weights

1. `HFRollout` (default) samples from the training policy itself with `generate_texts`, the one
   sampling routine (batched, KV cache), under the same autocast as training: exactly on-policy.
2. `OpenAIRollout` asks OpenAI-compatible completions servers (vLLM, SGLang, llama.cpp): one URL
   or a list, through an `EndpointPool` (rlaif/serving/endpoints.py: least-loaded routing, failover), one
   request per sample with its own seed, and re-tokenizes the texts locally. Its `sync` calls a
   weight-update hook if one is given (`sync_fn(model)`, e.g. `weight_sync.VLLMWeightSync`, which
   pushes the policy into vLLM after each update); without one the server keeps its loaded
   weights, so use it with a server that shares the policy's weights or for off-policy warm
   starts. The trainer recomputes every log-probability locally either way, so the losses never
   trust the server's numbers.
3. A `Rollout` holds token tensors ready for the trainer: prompts left-padded with their mask
   (rebuilt from the real prompt lengths: the pad token is often the end-of-turn token, which also
   occurs inside chat prompts), responses right-padded, and a response mask that ends *at* the
   first stop token (EOS included, everything after it excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..generation import generate_texts, left_pad


@dataclass
class Rollout:
    texts: list[str]  # (N,) decoded completions; row i*n + j is prompt i's j-th sample
    prompt_ids: Any  # (N, P) left-padded
    prompt_mask: Any  # (N, P)
    response_ids: Any  # (N, R) right-padded
    response_mask: Any  # (N, R) float, 1 up to and including the stop token
    ended: Any  # (N,) bool: stopped on a stop token within max_new_tokens

    @property
    def n_tokens(self) -> int:
        return int(self.response_mask.sum())


class RolloutEngine(Protocol):
    def generate(self, prompt_texts: list[str], n: int, seed: int) -> Rollout: ...
    def sync(self, model) -> None: ...


def response_mask(response_ids, stop_ids: list[int]):
    """(mask (N, R) float, ended (N,) bool): real tokens run through the first stop token."""
    import torch

    is_stop = torch.isin(response_ids, torch.tensor(stop_ids, device=response_ids.device))
    ended = is_stop.any(-1)
    first = torch.where(
        ended, is_stop.int().argmax(-1), torch.full_like(ended, response_ids.size(1), dtype=torch.long)
    )
    pos = torch.arange(response_ids.size(1), device=response_ids.device)[None]
    return (pos <= first[:, None]).float(), ended


class HFRollout:
    """Sampling from the policy in this process (`generate_texts`, KV cache)."""

    def __init__(
        self,
        model,
        tokenizer,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        max_prompt_length: int = 1024,
        autocast: Callable | None = None,
    ):
        self.model, self.tok = model, tokenizer
        self.temperature, self.top_p, self.max_new_tokens = temperature, top_p, max_new_tokens
        self.max_prompt_length = max_prompt_length
        self.autocast = autocast

    def generate(self, prompt_texts: list[str], n: int, seed: int) -> Rollout:
        import contextlib

        from ..core.models import encode_prompt, stop_token_ids

        with self.autocast() if self.autocast else contextlib.nullcontext():
            texts, out, width = generate_texts(
                self.model,
                self.tok,
                prompt_texts,
                n,
                self.temperature,
                self.top_p,
                self.max_new_tokens,
                seed=seed,
                max_prompt_length=self.max_prompt_length,
                return_ids=True,
            )
        enc = [encode_prompt(self.tok, t)[-self.max_prompt_length :] for t in prompt_texts]
        ids, pmask = left_pad([e for e in enc for _ in range(n)], self.tok.pad_token_id)
        assert ids.size(1) == width and bool((out[:, :width].cpu() == ids).all()), "prompt ids drifted"
        resp = out[:, width:]
        mask, ended = response_mask(resp, stop_token_ids(self.tok, self.model))
        return Rollout(
            [t for group in texts for t in group], ids.to(out.device), pmask.to(out.device), resp, mask, ended
        )

    def sync(self, model) -> None:  # same object: nothing to push
        pass


class OpenAIRollout:
    """Completions from an OpenAI-compatible server (`/v1/completions` with prompt lists)."""

    def __init__(
        self,
        tokenizer,
        base_url,
        model_name: str,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        max_prompt_length: int = 1024,
        client: Any = None,
        sync_fn: Callable | None = None,
        api_key: str = "EMPTY",
        concurrency: int = 8,
    ):
        from ..serving.endpoints import EndpointPool

        # an injected client (sync or async) stands in for the server(s)
        self.pool = EndpointPool(
            base_url or "injected",
            api_key,
            concurrency=concurrency,
            client_factory=(lambda url: client) if client is not None else None,
        )
        self.tok, self.model_name = tokenizer, model_name
        self.temperature, self.top_p, self.max_new_tokens = temperature, top_p, max_new_tokens
        self.max_prompt_length, self.sync_fn = max_prompt_length, sync_fn

    def generate(self, prompt_texts: list[str], n: int, seed: int) -> Rollout:
        import torch

        from ..core.models import encode_prompt, stop_token_ids
        from ..serving.endpoints import complete

        enc = [encode_prompt(self.tok, t)[-self.max_prompt_length :] for t in prompt_texts]
        outs = complete(
            self.pool,
            self.model_name,
            [self.tok.decode(e) for e in enc],
            n,
            self.temperature,
            self.top_p,
            self.max_new_tokens,
            seed,
        )
        choices = [c for group in outs for c in group]  # (text, finish_reason); row = prompt * n + sample
        stop = stop_token_ids(self.tok)
        rows, texts = [], []
        for text, finish in choices:
            ids = self.tok(text, add_special_tokens=False)["input_ids"][: self.max_new_tokens]
            if finish == "stop" and len(ids) < self.max_new_tokens:
                ids = ids + [self.tok.eos_token_id if self.tok.eos_token_id in stop else stop[0]]
            rows.append(ids)
            texts.append(text.strip())
        R = max(1, max(len(r) for r in rows))
        pad = self.tok.pad_token_id
        resp = torch.tensor([r + [pad] * (R - len(r)) for r in rows], dtype=torch.long)
        lens = torch.tensor([len(r) for r in rows])
        mask = (torch.arange(R)[None] < lens[:, None]).float()
        ended = torch.tensor([finish == "stop" for _, finish in choices])
        ids, pmask = left_pad([e for e in enc for _ in range(n)], pad)
        return Rollout(texts, ids, pmask, resp, mask, ended)

    def sync(self, model) -> None:
        if self.sync_fn is not None:
            self.sync_fn(model)
