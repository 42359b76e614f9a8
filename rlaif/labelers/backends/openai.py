"""The `openai` backend: any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, OpenAI).

1. Scoring asks for one token with `logprobs` (completions API: `logprobs=K`; chat API:
   `logprobs=true, top_logprobs=K`) at temperature 0 and reads the choices among the top K. A
   choice missing from the top K is at most as likely as the least likely token returned: it gets
   that log-prob as an upper bound (`scoring.Bounded`; the judge flags the pair) instead of -inf,
   which would turn a soft label into a hard 0/1. A response without log-probabilities at all is
   an error that says so (many servers need a flag for them), never a silent 50/50.
2. Requests go through an `EndpointPool` (rlaif/serving/endpoints.py): `base_url` may list several
   servers; requests run concurrently (at most `concurrency` in flight per server), go to the
   least-loaded healthy server, and move to another one on 429, 5xx, timeouts and dropped
   connections. The openai client's own retries are off so that the policy is ours, visible and
   counted in `stats` (`retries`: requests re-sent; `endpoints`: per-server counts).
3. The completions API gets the raw prompt (preamble ... ending), the paper's format. The chat API
   cannot start the assistant's turn for us, so the ending goes at the end of the user turn.
"""

from __future__ import annotations

import os
from typing import Any

from ...core.config import OpenAIBackendConfig
from ..scoring import NEG_INF, Bounded, logsumexp

Prompt = tuple[str, str]


class NoLogprobsError(RuntimeError):
    """The server answered without log-probabilities."""


class OpenAIBackend:
    name = "openai"

    def __init__(self, cfg: OpenAIBackendConfig, model: str):
        if cfg.api not in ("completions", "chat"):
            raise ValueError(f"label.openai.api: {cfg.api!r}; use completions or chat")
        self.cfg = cfg
        self.model = cfg.model or model
        if not self.model:
            raise ValueError("label.openai.model (or label.model) must name the server's model")
        key = os.environ.get(cfg.api_key_env, "") if cfg.api_key_env != "none" else ""
        self.api_key = key or "none"  # local servers accept anything; the client insists on a value
        self.stats = {"prompt_tokens": 0, "generated_tokens": 0, "calls": 0, "retries": 0}
        from ...serving.endpoints import EndpointPool, as_url_list

        urls = as_url_list(cfg.base_url) or [os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"]
        self.pool = EndpointPool(
            urls, self.api_key, cfg.timeout, cfg.concurrency, cfg.max_retries, cfg.backoff
        )

    def text(self, prompt: Prompt) -> str:
        user, ending = prompt
        return f"{user}\n\n{ending}" if ending else user

    def count_tokens(self, prompt: Prompt) -> int:
        return 0  # counted from the server's usage reports instead

    # ------------------------------------------------------------------ requests

    def _gather(self, make_calls: list) -> list:
        try:
            return self.pool.map(make_calls)
        finally:
            self.stats["retries"] = self.pool.stats["failovers"]
            if len(self.pool.endpoints) > 1:
                self.stats["endpoints"] = {e["url"]: e["ok"] for e in self.pool.health()}

    def _usage(self, resp: Any) -> None:
        self.stats["calls"] += 1
        u = getattr(resp, "usage", None)
        if u is not None:
            self.stats["prompt_tokens"] += int(getattr(u, "prompt_tokens", 0) or 0)
            self.stats["generated_tokens"] += int(getattr(u, "completion_tokens", 0) or 0)

    # ------------------------------------------------------------------ scoring

    def _score_call(self, prompt: Prompt, continuation: str):
        if self.cfg.api == "chat":
            if continuation:
                raise ValueError(
                    "label.openai.api=chat cannot score multi-token choices (the chat API "
                    "cannot continue a partial answer); use api=completions"
                )
            msgs = [{"role": "user", "content": self.text(prompt)}]
            return lambda c: c.chat.completions.create(
                model=self.model,
                messages=msgs,
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=min(self.cfg.top_logprobs, 20),
            )
        text = self.text(prompt) + continuation
        return lambda c: c.completions.create(
            model=self.model, prompt=text, max_tokens=1, temperature=0.0, logprobs=self.cfg.top_logprobs
        )

    def _top(self, resp: Any) -> dict[str, float]:
        """{token text: logprob} of the first generated position."""
        ch = resp.choices[0]
        lp = getattr(ch, "logprobs", None)
        if self.cfg.api == "chat":
            content = getattr(lp, "content", None) if lp is not None else None
            if not content:
                raise NoLogprobsError(self._no_lp_message())
            return {t.token: t.logprob for t in content[0].top_logprobs}
        tops = getattr(lp, "top_logprobs", None) if lp is not None else None
        if not tops or tops[0] is None:
            raise NoLogprobsError(self._no_lp_message())
        return dict(tops[0])

    def _no_lp_message(self) -> str:
        return (
            f"the server at {', '.join(self.pool.urls)} (model {self.model}) returned no "
            f"log-probabilities; the labeler needs them (vLLM: --max-logprobs; llama.cpp server: "
            f"logits_all; OpenAI: a model that supports logprobs on the {self.cfg.api} API)"
        )

    def next_logprobs(
        self, prompts: list[Prompt], continuations: list[str], targets: list[str]
    ) -> list[dict[str, float]]:
        resps = self._gather([self._score_call(p, c) for p, c in zip(prompts, continuations)])
        out = []
        for r in resps:
            self._usage(r)
            top = self._top(r)
            out.append({t: top_logprob(top, t) for t in targets})
        return out

    # ------------------------------------------------------------------ generation (CoT)

    def generate(
        self, prompts: list[Prompt], max_tokens: int, temperature: float = 0.0, n: int = 1, seed: int = 0
    ) -> list[list[str]]:
        """n texts per prompt: n requests with seeds seed..seed+n-1 (not every server supports `n`)."""

        def call(p: Prompt, s: int):
            if self.cfg.api == "chat":
                msgs = [{"role": "user", "content": self.text(p)}]
                return lambda c: c.chat.completions.create(
                    model=self.model, messages=msgs, max_tokens=max_tokens, temperature=temperature, seed=s
                )
            return lambda c: c.completions.create(
                model=self.model, prompt=self.text(p), max_tokens=max_tokens, temperature=temperature, seed=s
            )

        resps = self._gather([call(p, seed + j) for p in prompts for j in range(n)])
        texts = []
        for r in resps:
            self._usage(r)
            c = r.choices[0]
            texts.append(((c.message.content if self.cfg.api == "chat" else c.text) or "").strip())
        return [texts[i * n : (i + 1) * n] for i in range(len(prompts))]

    def describe(self) -> dict:
        return {
            "base_url": self.cfg.base_url,
            "model": self.model,
            "api": self.cfg.api,
            "endpoints": self.pool.health(),
        }


def top_logprob(top: dict[str, float], target: str) -> float:
    """log P(next token's stripped text == target) from a top-K list; a target outside it gets the
    lowest returned log-prob as an upper bound (`Bounded`), since the server says nothing more."""
    found = [lp for tok, lp in top.items() if tok.strip() == target]
    if found:
        return logsumexp(found)
    return Bounded(min(top.values())) if top else NEG_INF


__all__ = ["OpenAIBackend", "NoLogprobsError", "NEG_INF", "top_logprob"]
