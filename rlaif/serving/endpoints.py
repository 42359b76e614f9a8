"""Many OpenAI-compatible servers (vLLM, SGLang, llama.cpp server, Ollama) used as one.

    pool = EndpointPool(["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"])
    results = pool.map([lambda client: client.completions.create(...), ...])  # in order, one each

The labeler's `openai` backend, `rlaif sample` and RL rollouts send their requests through a pool,
so a list of base URLs is all it takes to spread the work over several servers.

1. Routing: each request goes to the healthy endpoint with the fewest requests in flight (ties
   broken round robin), at most `concurrency` per endpoint. A slow server gets fewer requests
   without any configuration, and a new request never waits behind a busy one while another idles.
2. Health: a dropped connection, a timeout or a 5xx marks the endpoint down for a cooldown that
   doubles with each consecutive failure (up to `max_cooldown`); the request moves to another
   endpoint at once. Once the cooldown is over a single probe request is let through and a success
   restores the endpoint: a restarted server rejoins by itself. A 429 only pauses the endpoint
   briefly; other 4xx are the caller's error and are raised, not retried.
3. Exactly once: a call returns exactly one response, whichever endpoint gave it. A request lost
   with a dying server is sent again elsewhere and the lost attempt's answer, if any, is never
   seen, so the caller writes one result per item: nothing is lost and nothing is counted twice.
4. A call gives up after `max_retries` failures beyond one attempt per endpoint (the budget grows
   with the pool so that one dead server among many does not eat it).
   A refused connection is different from a slow or failing server: nothing listens on that port.
   Once every endpoint of the pool has refused (one server: at once), the call fails with
   `ServerRefusedError` instead of minutes of retries against a server that is not running.
5. Health and counters live on the pool and survive between `map` calls; the asyncio clients are
   made per call of `map` (they belong to its event loop).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ..core.errors import UserError

Call = Callable[[Any], Awaitable[Any]]  # client -> awaitable response


def as_url_list(value) -> list[str]:
    """`"a"`, `"a,b"` or `["a", "b"]` -> ["a", "b"] (empty entries dropped)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [str(u).strip().rstrip("/") for u in items if str(u).strip()]


@dataclass
class Endpoint:
    url: str
    in_flight: int = 0
    ok: int = 0
    failed: int = 0
    failures: int = 0  # consecutive failures: the cooldown doubles with each
    down_until: float = 0.0  # not routed to before this time (monotonic clock)
    probing: bool = False  # cooldown over, one probe request allowed until a success
    refused: bool = False  # its last attempt found nothing listening (reset by a success)
    last_error: str = ""
    client: Any = field(default=None, repr=False)

    def usable(self, now: float, limit: int) -> bool:
        if now < self.down_until:
            return False
        if self.probing:
            return self.in_flight == 0
        return self.in_flight < limit


class NoEndpointError(UserError, RuntimeError):
    """A request failed on every endpoint it was allowed to try."""


class ServerRefusedError(NoEndpointError):
    """Every endpoint refused the connection: no server is running there."""


def _connection_refused(exc: BaseException | None) -> bool:
    """Whether an exception chain (openai -> httpx -> httpcore -> OSError) is a refused connection."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError) or "connection refused" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def classify(exc: BaseException) -> str:
    """'refused' (nothing listens), 'down' (other connection errors, timeout, 5xx), 'busy' (429) or
    'fatal' (anything else)."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        return "fatal"
    if isinstance(exc, openai.RateLimitError):
        return "busy"
    if (
        isinstance(exc, openai.APIConnectionError)
        and not isinstance(exc, openai.APITimeoutError)
        and _connection_refused(exc)
    ):
        return "refused"
    if isinstance(exc, (openai.APIConnectionError, openai.InternalServerError)):  # incl. timeouts
        return "down"
    if isinstance(exc, openai.APIStatusError):
        return "down" if exc.status_code >= 500 else "fatal"
    return "fatal"


class EndpointPool:
    """Least-in-flight routing with health tracking and failover over OpenAI-compatible servers."""

    def __init__(
        self,
        urls,
        api_key: str = "none",
        timeout: float = 60.0,
        concurrency: int = 8,
        max_retries: int = 6,
        cooldown: float = 1.0,
        max_cooldown: float = 30.0,
        client_factory: Callable[[str], Any] | None = None,
    ):
        urls = as_url_list(urls)
        if not urls:
            raise ValueError("an endpoint pool needs at least one base URL")
        self.endpoints = [Endpoint(u) for u in urls]
        self.api_key, self.timeout, self.concurrency = api_key or "none", timeout, max(1, concurrency)
        self.max_retries, self.cooldown, self.max_cooldown = max_retries, cooldown, max_cooldown
        self.client_factory = client_factory or self._openai_client
        self._owns_clients = client_factory is None  # injected clients are their owner's to close
        self.stats = {"calls": 0, "failovers": 0, "gave_up": 0}
        self._rr = 0
        self._cond: asyncio.Condition | None = None

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self.endpoints]

    def _openai_client(self, url: str):
        from openai import AsyncOpenAI

        return AsyncOpenAI(base_url=url, api_key=self.api_key, timeout=self.timeout, max_retries=0)

    # ------------------------------------------------------------------ routing

    def _pick(self, now: float) -> Endpoint | None:
        n = len(self.endpoints)
        order = [self.endpoints[(self._rr + k) % n] for k in range(n)]
        free = [e for e in order if e.usable(now, self.concurrency)]
        if not free:
            return None
        best = min(free, key=lambda e: e.in_flight)  # min keeps the first of equals: round robin
        self._rr = (self.endpoints.index(best) + 1) % n
        return best

    async def _acquire(self) -> Endpoint:
        async with self._cond:
            while True:
                now = time.monotonic()
                ep = self._pick(now)
                if ep is not None:
                    ep.in_flight += 1
                    return ep
                waits = [e.down_until - now for e in self.endpoints if e.down_until > now]
                try:  # woken by a release, or when the first cooldown ends
                    await asyncio.wait_for(self._cond.wait(), timeout=min(waits) if waits else None)
                except asyncio.TimeoutError:
                    pass

    async def _release(self, ep: Endpoint, error: BaseException | None, kind: str = "") -> None:
        async with self._cond:
            ep.in_flight -= 1
            now = time.monotonic()
            if kind == "cancelled":
                pass
            elif error is None:
                ep.ok += 1
                ep.failures, ep.down_until, ep.probing, ep.refused = 0, 0.0, False, False
            else:
                ep.failed += 1
                ep.last_error = f"{type(error).__name__}: {error}"[:200]
                if kind == "busy":
                    ep.down_until = max(ep.down_until, now + self.cooldown * (0.5 + random.random()))
                elif kind in ("down", "refused") and now >= ep.down_until:  # one step per outage
                    ep.failures += 1
                    ep.down_until = now + min(self.max_cooldown, self.cooldown * 2 ** (ep.failures - 1))
                    ep.probing = True
            self._cond.notify_all()

    async def call(self, make: Call) -> Any:
        """One request, retried on other endpoints until one answers (see the module notes)."""
        budget = self.max_retries + len(self.endpoints)
        errors = 0
        self.stats["calls"] += 1
        while True:
            ep = await self._acquire()
            try:
                result = make(ep.client)
                if inspect.isawaitable(result):  # an injected synchronous client answers at once
                    result = await result
            except asyncio.CancelledError:
                await self._release(ep, None, "cancelled")
                raise
            except Exception as e:  # noqa: BLE001 - classified below
                kind = classify(e)
                ep.refused = kind == "refused"
                await self._release(ep, e, kind)
                if kind == "fatal":
                    raise
                if all(x.refused for x in self.endpoints):
                    self.stats["gave_up"] += 1
                    where = ep.url if len(self.endpoints) == 1 else ", ".join(self.urls)
                    raise ServerRefusedError(
                        f"server at {where} refused the connection: is it running?"
                    ) from e
                errors += 1
                if errors >= budget:
                    self.stats["gave_up"] += 1
                    raise NoEndpointError(
                        f"request failed {errors} times over {self.urls}; last: {ep.last_error}"
                    ) from e
                self.stats["failovers"] += 1
                continue
            await self._release(ep, None)
            return result

    # ------------------------------------------------------------------ running

    async def gather(self, makes: list[Call]) -> list[Any]:
        """Run `makes` concurrently inside the current event loop; results in order."""
        self._cond = asyncio.Condition()
        for e in self.endpoints:
            e.client = self.client_factory(e.url)
        try:
            return await asyncio.gather(*(self.call(m) for m in makes))
        finally:
            for e in self.endpoints:
                close = getattr(e.client, "close", None) if self._owns_clients else None
                if close is not None:
                    res = close()
                    if asyncio.iscoroutine(res):
                        await res
                e.client = None

    def map(self, makes: list[Call]) -> list[Any]:
        """`gather` from synchronous code (its own event loop)."""
        if not makes:
            return []
        return asyncio.run(self.gather(makes))

    def health(self) -> list[dict]:
        now = time.monotonic()
        return [
            {
                "url": e.url,
                "healthy": now >= e.down_until and not e.probing,
                "ok": e.ok,
                "failed": e.failed,
                "last_error": e.last_error,
            }
            for e in self.endpoints
        ]

    def summary(self) -> dict:
        return self.stats | {"endpoints": self.health()}


# --------------------------------------------------------------------------- generation


def sample_seed(seed: int, prompt: int, j: int) -> int:
    """A per-request seed: the same sample gets the same seed whichever server runs it."""
    return (seed * 1_000_003 + prompt * 1009 + j) % (2**31)


# Every sampler a server may apply besides temperature and top_p, switched off: servers fill what a
# request leaves out from their own defaults (llama.cpp: top_k 40, min_p 0.05, repeat_penalty 1.1;
# vLLM: the model's generation_config.json), and then samples would not come from the policy, which
# RL scores them under. Both servers' names are sent; each ignores the other's. top_k 0 is "off" for
# both (llama.cpp refuses -1).
NEUTRAL_SAMPLING = {
    "top_k": 0,
    "min_p": 0.0,
    "repeat_penalty": 1.0,
    "repetition_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}


def complete(
    pool: EndpointPool,
    model: str,
    prompts: list[str],
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    seed: int = 0,
) -> list[list[tuple[str, str]]]:
    """n completions per raw prompt through the pool: [[(text, finish_reason)] * n] * len(prompts).

    One request per sample (every server takes that; not all honour `n` or prompt lists), each with
    its own seed, so the result does not depend on which server ran which request. Samplers other
    than temperature and top_p are switched off (`NEUTRAL_SAMPLING`)."""

    def call(p: str, i: int, j: int) -> Call:
        kw = {"seed": sample_seed(seed, i, j)} if temperature > 0 else {}
        return lambda c: c.completions.create(
            model=model,
            prompt=p,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            extra_body=dict(NEUTRAL_SAMPLING),
            **kw,
        )

    resps = pool.map([call(p, i, j) for i, p in enumerate(prompts) for j in range(n)])
    out = [(r.choices[0].text or "", r.choices[0].finish_reason or "") for r in resps]
    return [out[i * n : (i + 1) * n] for i in range(len(prompts))]
