"""The `openai` labeler backend against real HTTP servers: llama.cpp's OpenAI-compatible server with
the bundled SmolLM2 GGUF, and a small scripted server for 429s, timeouts and missing log-probs."""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlaif.core.config import OpenAIBackendConfig
from rlaif.labelers import Pair, score_pairs
from rlaif.labelers.backends.openai import NoLogprobsError, OpenAIBackend
from rlaif.labelers.judges import LMJudge
from rlaif.labelers.prompts import load_template

# --------------------------------------------------------------------------- scripted server


class Script:
    """What the scripted server does with request k: 'ok', '429', '503', 'slow', 'nolp', 'no2'
    (the choice "2" is not among the top log-probs)."""

    def __init__(self, plan):
        self.plan, self.k, self.lock, self.bodies = list(plan), 0, threading.Lock(), []

    def next(self, body):
        with self.lock:
            self.bodies.append(body)
            step = self.plan[self.k] if self.k < len(self.plan) else "ok"
            self.k += 1
            return step


def _completion(lp1: float, lp2: float, with_lp: bool = True, with_2: bool = True) -> dict:
    top = {"1": lp1, " 2": lp2, "x": -3.0} if with_2 else {"1": lp1, "x": -3.0}
    logprobs = (
        {"tokens": ["1"], "token_logprobs": [lp1], "text_offset": [0], "top_logprobs": [top]}
        if with_lp
        else None
    )
    return {
        "id": "c",
        "object": "text_completion",
        "created": 0,
        "model": "m",
        "choices": [{"text": "1", "index": 0, "logprobs": logprobs, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
    }


@pytest.fixture
def scripted():
    servers = []

    def start(plan):
        script = Script(plan)

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                step = script.next(body)
                if step == "slow":
                    time.sleep(1.5)
                code = {"429": 429, "503": 503}.get(step, 200)
                # slot 1 preferred when "Summary 1 - GOOD" is in the prompt, else slot 2
                first = "Summary 1 - GOOD" in body.get("prompt", "")
                payload = (
                    _completion(
                        math.log(0.6 if first else 0.2),
                        math.log(0.2 if first else 0.6),
                        with_lp=step != "nolp",
                        with_2=step != "no2",
                    )
                    if code == 200
                    else {"error": {"message": step}}
                )
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_port}/v1", script

    yield start
    for s in servers:
        s.shutdown()


def _backend(url, **kw):
    cfg = OpenAIBackendConfig(base_url=url, api_key_env="none", backoff=0.01, timeout=1.0, **kw)
    return OpenAIBackend(cfg, "m")


def test_soft_label_from_top_logprobs_both_orders(scripted):
    url, script = scripted([])
    b = _backend(url)
    [r] = score_pairs(LMJudge(load_template("", "summarize", "base"), b), [Pair("text", "GOOD one", "meh")])
    assert (
        r["ab"] == pytest.approx(0.75)
        and r["ba"] == pytest.approx(0.25)
        and r["score"] == pytest.approx(0.75)
    )
    assert r["mass"] == pytest.approx(0.8)
    assert all(b["max_tokens"] == 1 and b["logprobs"] == 20 and b["temperature"] == 0 for b in script.bodies)
    assert any(
        b["prompt"].endswith("Summary 1 - GOOD one\nSummary 2 - meh\n\nPreferred Summary=")
        for b in script.bodies
    )
    assert any(
        b["prompt"].endswith("Summary 1 - meh\nSummary 2 - GOOD one\n\nPreferred Summary=")
        for b in script.bodies
    )


def test_429_5xx_and_timeouts_are_retried_with_backoff(scripted):
    url, script = scripted(["429", "503", "slow", "429"])
    b = _backend(url, concurrency=1, max_retries=5)
    [r] = score_pairs(LMJudge(load_template("", "summarize", "base"), b), [Pair("t", "GOOD", "x")])
    assert r["score"] == pytest.approx(0.75)
    assert b.stats["retries"] == 4


def test_retries_give_up_after_max_retries(scripted):
    url, _ = scripted(["429"] * 10)
    b = _backend(url, concurrency=1, max_retries=2)
    with pytest.raises(Exception, match="429"):
        score_pairs(LMJudge(load_template("", "summarize", "base"), b), [Pair("t", "a", "b")], "ab")
    assert b.stats["retries"] == 2


def test_missing_logprobs_is_a_clear_error(scripted):
    url, _ = scripted(["nolp"])
    b = _backend(url)
    with pytest.raises(NoLogprobsError, match="no log-probabilities"):
        score_pairs(LMJudge(load_template("", "summarize", "base"), b), [Pair("t", "a", "b")], "ab")


def test_choice_outside_the_top_k_is_bounded_by_the_lowest_returned_and_flagged(scripted):
    url, _ = scripted(["no2"])
    b = _backend(url)
    [r] = score_pairs(
        LMJudge(load_template("", "summarize", "base"), b), [Pair("t", "GOOD one", "meh")], "ab"
    )
    # "2" is at most as likely as the least likely token returned (-3.0): a soft label, not a hard 1.0
    assert r["ab"] == pytest.approx(0.6 / (0.6 + math.exp(-3.0))) and r["ab"] < 1.0
    assert "upper bound" in r["problem"]


# --------------------------------------------------------------------------- a real llama.cpp server


@pytest.fixture(scope="module")
def llama():
    pytest.importorskip(
        "llama_cpp.server.app", reason='needs pip install "llama-cpp-python[server]" (make install-dev)'
    )
    from rlaif.testing import LlamaServer

    with LlamaServer(n_ctx=2048, threads=2) as s:
        yield s


def test_real_server_labels_pairs_and_rationales(llama):
    b = OpenAIBackend(OpenAIBackendConfig(base_url=llama.url, api_key_env="none", concurrency=2), "smol")
    judge = LMJudge(load_template("", "summarize", "base"), b, cot=True, cot_max_tokens=16)
    pairs = [
        Pair("The cat sat on the mat all day.", "A cat sat on a mat.", "Dogs bark."),
        Pair("Stocks fell 3% on Monday.", "Stocks fell.", "Stocks fell."),
    ]
    res = score_pairs(judge, pairs)
    for r in res:
        assert 0 < r["ab"] < 1 and 0 < r["ba"] < 1 and r["mass"] > 1e-4
        assert len(r["rationales"]) == 2 and all(isinstance(x, str) for x in r["rationales"])
    assert b.stats["prompt_tokens"] > 0 and b.stats["calls"] == 8  # 4 rationales + 4 scorings


def test_chat_api_on_real_server(llama):
    cfg = OpenAIBackendConfig(base_url=llama.url, api_key_env="none", api="chat")
    b = OpenAIBackend(cfg, "smol")
    [r] = score_pairs(LMJudge(load_template("", "summarize", "base"), b), [Pair("t", "a cat", "a dog")])
    assert 0 < r["score"] < 1


@pytest.mark.slow
def test_same_model_same_label_through_hf_and_the_server(llama):
    """The bundled GGUF served by llama.cpp and its dequantised transformers copy agree (raw prompts)."""
    from rlaif.labelers.backends.hf import HFBackend

    pairs = [
        Pair("The cat sat on the mat all day and did not move.", "A cat sat on a mat.", "Dogs bark loudly."),
        Pair("Stocks fell 3% on Monday after weak earnings.", "Weak earnings cut stocks 3%.", "It rained."),
    ]
    t = load_template("", "summarize", "base")
    server = score_pairs(
        LMJudge(t, OpenAIBackend(OpenAIBackendConfig(base_url=llama.url, api_key_env="none"), "smol")), pairs
    )
    local = score_pairs(LMJudge(t, HFBackend("smollm2-135m", dtype="fp32", chat_template=False)), pairs)
    for s, h in zip(server, local):
        assert s["ab"] == pytest.approx(h["ab"], abs=0.05) and s["ba"] == pytest.approx(h["ba"], abs=0.05)
