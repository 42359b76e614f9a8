"""The endpoint pool: routing, health, failover; labeling, sampling and RL rollouts through several
real llama.cpp servers on loopback (one killed mid-run); the vLLM weight push against a recording fake."""

import asyncio
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
from conftest import write_jsonl

from rlaif.core.config import load_config
from rlaif.serving.endpoints import EndpointPool, NoEndpointError, complete
from rlaif.stages import run_stage

pytest.importorskip("llama_cpp.server.app", reason="pip install 'llama-cpp-python[server]'")


# --------------------------------------------------------------------------- fake clients


class FakeClient:
    """`client.completions.create(**kw)` that answers (url, i), fails as told, and counts."""

    def __init__(self, url: str, fail=None, delay: float = 0.002):
        self.url, self.fail, self.delay, self.seen = url, fail, delay, []
        self.completions = self

    async def create(self, i):
        self.seen.append(i)
        await asyncio.sleep(self.delay)
        if self.fail is not None and self.fail(len(self.seen)):
            raise self.fail.error(self.url)
        return (self.url, i)


def _conn_error(url):
    return openai.APIConnectionError(request=httpx.Request("POST", url))


def _bad_request(url):
    req = httpx.Request("POST", url)
    return openai.BadRequestError("bad", response=httpx.Response(400, request=req), body=None)


def _failing(pred, error):
    pred.error = error
    return pred


def _pool(clients, **kw):
    return EndpointPool(
        [c.url for c in clients], client_factory=lambda url: {c.url: c for c in clients}[url], **kw
    )


def test_pool_spreads_load_and_fails_over_exactly_once():
    dead = FakeClient("http://b", fail=_failing(lambda k: True, _conn_error))
    clients = [FakeClient("http://a"), dead, FakeClient("http://c")]
    pool = _pool(clients, concurrency=2, cooldown=60)
    res = pool.map([lambda c, i=i: c.completions.create(i=i) for i in range(40)])
    assert [i for _, i in res] == list(range(40))  # every call answered, in order
    assert {u for u, _ in res} == {"http://a", "http://c"}  # never by the dead endpoint
    served = clients[0].seen + clients[2].seen
    assert sorted(served) == sorted(set(served)) and len(served) == 40  # each request answered once
    assert pool.stats["failovers"] == len(dead.seen) >= 1
    assert 15 <= len(clients[0].seen) <= 25  # least-in-flight splits the load
    h = {e["url"]: e for e in pool.health()}
    assert not h["http://b"]["healthy"] and h["http://b"]["failed"] == len(dead.seen)


def test_pool_raises_client_errors_and_gives_up_when_all_are_down():
    pool = _pool([FakeClient("http://a", fail=_failing(lambda k: True, _bad_request))])
    with pytest.raises(openai.BadRequestError):
        pool.map([lambda c: c.completions.create(i=0)])
    assert pool.stats["failovers"] == 0  # a 400 is not retried
    down = [FakeClient(u, fail=_failing(lambda k: True, _conn_error)) for u in ("http://a", "http://b")]
    pool = _pool(down, max_retries=2, cooldown=0.01)
    with pytest.raises(NoEndpointError):
        pool.map([lambda c: c.completions.create(i=0)])
    assert sum(len(c.seen) for c in down) == 4  # one try per endpoint + max_retries


def test_pool_probes_a_recovered_endpoint_back_in():
    flaky = FakeClient("http://a", fail=_failing(lambda k: k <= 3, _conn_error))  # a restart: 3 failures
    pool = _pool([flaky], cooldown=0.02, max_retries=6)
    res = pool.map([lambda c, i=i: c.completions.create(i=i) for i in range(5)])
    assert [i for _, i in res] == list(range(5)) and pool.health()[0]["healthy"]


# --------------------------------------------------------------------------- real servers


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two llama.cpp servers (1 thread each) with the bundled SmolLM2; servers[0] is unused so that
    the indices below read as 'the second and third server' next to the kill test's victim."""
    from rlaif.testing import LlamaServer

    logs = tmp_path_factory.mktemp("llama")
    # n_batch=1: llama.cpp's logits depend on how a prompt was split into batches (a prefix reused
    # from the previous request vs evaluated afresh), so only token-at-a-time evaluation makes a
    # sample independent of which requests a server saw before
    started = [LlamaServer(n_ctx=1024, n_batch=1, log=logs / f"{k}.log").start() for k in (1, 2)]
    try:
        yield [None] + [s.wait() for s in started]
    finally:
        for s in started:
            s.stop()


def test_sampling_through_two_servers_matches_one(servers, tiny_model, tmp_path):
    """`rlaif sample` through a pool: every sample carries its own seed, so the file is the same
    whichever server answered which request."""
    prompts = write_jsonl(
        tmp_path / "p.jsonl",
        [{"prompt": f"Write a word about {w}."} for w in ("cats", "rain", "bread", "ships")],
    )
    rows = {}
    for name, urls in (("one", servers[1].url), ("two", f"[{servers[1].url}, {servers[2].url}]")):
        cfg = load_config(
            None,
            [
                f"out={tmp_path / name}",
                f"model.name={tiny_model}",
                f"sample.prompts={prompts}",
                f"sample.server_url={urls}",
                "sample.server_model=smol",
                "sample.n=2",
                "sample.max_new_tokens=8",
                "sample.temperature=0.9",
                "sample.batch_size=4",
            ],
        )
        out = run_stage("sample", cfg)
        rows[name] = (out / "samples.jsonl").read_text()
    assert rows["one"] == rows["two"]
    recs = [json.loads(x) for x in rows["two"].splitlines()]
    assert len(recs) == 4 and all(len(r["completions"]) == 2 and any(r["completions"]) for r in recs)


class FakeVLLM:
    """Records vLLM's weight-transfer control plane (HTTP) and its NCCL data plane (the engine)."""

    def __init__(self):
        self.requests, self.sent, self.inits = [], [], []
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _answer(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.requests.append(("GET", self.path, None))
                self._answer({"world_size": 1})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                fake.requests.append(("POST", self.path.split("?")[0], body))
                self._answer({"message": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    # the NCCLWeightTransferEngine stand-in
    def trainer_init(self, info):
        self.inits.append(info)
        return "group"

    def trainer_send_weights(self, iterator, trainer_args):
        assert trainer_args["group"] == "group"
        self.sent.append({name: t.detach().clone() for name, t in iterator})


def _length_reward(prompts, completions, **kw):
    return [min(len(c), 40) / 40 for c in completions]


def test_rl_rollouts_from_a_server_with_weights_pushed_after_each_update(
    servers, tiny_model, tmp_path, monkeypatch
):
    import torch
    from safetensors.torch import load_file

    from rlaif.core.models import encode_prompt, load_tokenizer, render_prompt
    from rlaif.rl import weight_sync
    from rlaif.rl.rollouts import OpenAIRollout
    from rlaif.rl.trainer import prompt_batches

    fake = FakeVLLM()
    monkeypatch.setattr(weight_sync, "_nccl_engine", lambda: fake)
    prompts = write_jsonl(
        tmp_path / "rl.jsonl", [{"prompt": f"Tell me about {w}."} for w in ("tea", "maps", "owls", "snow")]
    )
    cfg = load_config(
        None,
        {
            "out": str(tmp_path / "run"),
            "model": {"name": tiny_model, "dtype": "fp32"},
            "rl": {
                "prompts": str(prompts),
                "steps": 2,
                "batch_size": 2,
                "max_new_tokens": 8,
                "rollout": "openai",
                "server_url": servers[1].url,
                "server_model": "smol",
                "weight_sync": "vllm",
                "weight_sync_url": fake.url,
                "weight_sync_dtype": "fp32",
                "lr": 1e-2,
                "log_samples": 2,
                "save_every": 0,
                "rewards": [{"source": "python", "function": _length_reward}],
            },
        },
    )
    out = run_stage("rl", cfg)
    # the control plane: world size, one NCCL group, then per update pause/start/update/finish/resume
    paths = [p for _, p, _ in fake.requests]
    push = ["/pause", "/start_weight_update", "/update_weights", "/finish_weight_update", "/resume"]
    assert paths == ["/get_world_size", "/init_weight_transfer_engine"] + push * 2
    init = fake.requests[1][2]["init_info"]
    assert (
        init["rank_offset"] == 1
        and init["world_size"] == 2
        and fake.inits[0]["master_port"] == init["master_port"]
    )
    # the data plane: the tensors announced are the tensors sent, and they are the policy's weights
    assert len(fake.sent) == 2
    info = fake.requests[4][2]["update_info"]
    assert info["names"] == list(fake.sent[0]) and info["shapes"] == [
        list(t.shape) for t in fake.sent[0].values()
    ]
    assert set(info["dtype_names"]) == {"float32"}
    final = load_file(str(out / "checkpoint" / "model.safetensors"))
    assert all(torch.equal(fake.sent[-1][k], final[k]) for k in fake.sent[-1] if k in final)
    initial = load_file(str(Path(tiny_model) / "model.safetensors"))
    assert any(not torch.equal(fake.sent[0][k], initial[k]) for k in fake.sent[0] if k in initial)  # updated
    assert any(not torch.equal(fake.sent[0][k], fake.sent[1][k]) for k in fake.sent[0])  # each step
    # the rollouts came from the server: step 0 regenerated through the same interface matches
    tok = load_tokenizer(tiny_model)
    texts = [render_prompt(tok, r["prompt"], True) for r in map(json.loads, prompts.read_text().splitlines())]
    idx = prompt_batches([encode_prompt(tok, t) for t in texts], 2, 2, cfg.seed, cfg.rl.min_prefix)[0]
    ro = OpenAIRollout(tok, servers[2].url, "smol", 0.9, 1.0, 8).generate(
        [texts[i] for i in idx], 1, cfg.seed
    )
    logged = [
        json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines() if json.loads(x)["step"] == 0
    ]
    assert [s["completion"] for s in logged] == ro.texts[: len(logged)] and any(ro.texts)


def _served(log: Path) -> int:
    return log.read_text(errors="replace").count('"POST /v1/completions HTTP/1.1" 200') if log.exists() else 0


def test_labeling_survives_a_server_killed_mid_run(servers, tmp_path):
    """3 servers, one killed after it answered 3 requests: every pair is labeled exactly
    once, the killed server's work went to the others, and the labels are the ones a healthy
    server gives."""
    from rlaif.testing import LlamaServer

    victim = LlamaServer(n_ctx=1024, n_batch=1, log=tmp_path / "victim.log").start().wait()
    urls = [victim.url, servers[1].url, servers[2].url]
    words = ["cats", "rain", "bread", "ships", "tea", "maps", "owls", "snow", "jazz", "kites", "mud", "figs"]
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {
                "prompt": f"The {w} story: a short text about {w} and the people who like them.",
                "response_a": f"A text about {w}.",
                "response_b": f"Something else, not {w} at all.",
            }
            for w in words
        ],
    )
    cfg = load_config(
        None,
        [
            f"out={tmp_path / 'run'}",
            "task=summarize",
            f"label.input={pairs}",
            "label.backend=openai",
            f"label.openai.base_url=[{', '.join(urls)}]",
            "label.openai.model=smol",
            "label.template=summarize",
            "label.preamble=base",
            "label.gold=none",
            "label.cache=off",
            "label.batch_size=24",
            "label.progress=false",
            "label.openai.concurrency=2",
            "label.openai.timeout=60",
        ],
    )
    killed = []

    def killer():
        t0 = time.time()
        while time.time() - t0 < 300 and not killed:
            if _served(victim.log) >= 3:
                victim.stop()
                killed.append(time.time())
            time.sleep(0.02)

    before = [_served(s.log) for s in servers[1:]]
    threading.Thread(target=killer, daemon=True).start()
    try:
        out = run_stage("label", cfg)
    finally:
        victim.stop()
    assert killed, "the victim server was never killed"
    rows = [json.loads(x) for x in (out / "comparisons.jsonl").read_text().splitlines()]
    assert len(rows) == len(words) and sorted(r["prompt"] for r in rows) == sorted(
        json.loads(x)["prompt"] for x in pairs.read_text().splitlines()
    )
    assert not (out / "unlabeled.jsonl").read_text().strip()
    stats = json.loads((out / "report.json").read_text())["backend_stats"]
    # 24 requests (12 pairs, both orders), each answered exactly once across the three servers:
    # the pool's counts and the servers' own access logs agree
    victim_ok = _served(victim.log)
    others_ok = [_served(s.log) - b for s, b in zip(servers[1:], before)]
    assert 3 <= victim_ok < 12 and victim_ok + sum(others_ok) == 24 == stats["calls"]
    assert stats["endpoints"] == dict(zip(urls, [victim_ok] + others_ok))
    assert stats["retries"] >= 1  # requests in flight on the victim when it died went elsewhere
    # the labels do not depend on which server answered: re-label on a healthy server alone
    from rlaif.labelers import build_labeler

    again = load_config(
        None,
        [
            f"out={tmp_path / 'again'}",
            "task=summarize",
            "label.backend=openai",
            f"label.openai.base_url={servers[1].url}",
            "label.openai.model=smol",
            "label.template=summarize",
            "label.preamble=base",
            "label.cache=off",
        ],
    )
    from rlaif.labelers import Pair

    fresh = build_labeler(again).label(
        [Pair(r["prompt"], r["response_a"], r["response_b"]) for r in rows[:3]]
    )
    assert [round(f["p_a"], 5) for f in fresh] == [round(r["p_a"], 5) for r in rows[:3]]
    print(
        f"victim answered {victim_ok} of 24 requests before it was killed; others {others_ok}; "
        f"re-sent {stats['retries']}"
    )


def test_the_llama_cpp_build_is_portable():
    """The server the tests (and users of `make install-dev`) run must not use AMX tiles or AVX-512:
    a native build on a Xeon with AMX died with SIGILL (`tileloadd`) where the kernel or the next
    machine lacks them. The Makefile builds it without them; this reads the machine code."""
    import shutil

    llama_cpp = pytest.importorskip("llama_cpp")
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    libs = sorted(Path(llama_cpp.__file__).parent.rglob("libggml-cpu*.so*"))
    assert libs, "no libggml-cpu in the llama_cpp package"
    for lib in libs:
        code = subprocess.run(
            ["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True, check=True
        ).stdout
        assert "tileloadd" not in code and "ldtilecfg" not in code, f"{lib.name} uses AMX tile instructions"
        assert "%zmm" not in code, f"{lib.name} uses AVX-512 registers"


def test_server_samples_switch_off_every_sampler_but_temperature_and_top_p():
    """A server fills what a request leaves out from its own defaults (llama.cpp: top_k 40, min_p 0.05,
    repeat_penalty 1.1), so samples meant to come from the policy at temperature T say so in full."""
    from types import SimpleNamespace

    from rlaif.serving.endpoints import EndpointPool

    seen = []

    class Recorder:
        def __init__(self, url):
            self.completions = self

        async def create(self, **kw):
            seen.append(kw)
            return SimpleNamespace(choices=[SimpleNamespace(text="x", finish_reason="stop")])

    pool = EndpointPool(["http://a"], client_factory=Recorder)
    out = complete(pool, "m", ["p1", "p2"], n=2, temperature=0.9, top_p=1.0, max_tokens=4, seed=3)
    assert out == [[("x", "stop")] * 2] * 2 and len(seen) == 4
    for kw in seen:
        body = kw["extra_body"]
        assert body["top_k"] == 0 and body["min_p"] == 0.0
        assert body["repeat_penalty"] == 1.0 and body["repetition_penalty"] == 1.0
        assert kw["temperature"] == 0.9 and kw["top_p"] == 1.0
    assert len({kw["seed"] for kw in seen}) == 4
