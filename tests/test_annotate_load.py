"""The real server (uvicorn, in a subprocess) under load on loopback, and killed mid-session.

Traffic goes only to 127.0.0.1 and is bounded in count and time."""

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from rlaif.annotate.items import load_gold, load_items
from rlaif.annotate.store import Settings, Store

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db, port):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlaif", "annotate", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode())
    proc.kill()
    raise RuntimeError("server did not start")


def stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    proc.wait(timeout=15)


def make_session(tmp_path, n_prompts, n_tokens, **settings):
    rows = [{"prompt": f"Q{i}", "completions": [f"A{i}", f"B{i}"]} for i in range(n_prompts)]
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    gold = [{"prompt": f"G{i}", "chosen": "good", "rejected": f"bad{i}"} for i in range(8)]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gold))
    s = Settings(**settings).check()
    store, _ = Store.create(tmp_path / "s.db", s)
    store.add_items(
        load_items(tmp_path / "samples.jsonl", "compare") + load_gold(tmp_path / "gold.jsonl", "compare")
    )
    tokens = [store.add_annotator(f"ann{i}") for i in range(n_tokens)]
    store.close()
    return tmp_path / "s.db", tokens


async def annotator(base, token, until, acked, stats, rng_seed):
    """Label until the deadline or until nothing is left; retry through outages (idempotent)."""
    h = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=h, timeout=10) as c:
        while time.time() < until:
            try:
                r = await c.get("/api/next")
                r.raise_for_status()
                item = r.json()["item"]
                if item is None:
                    return
                body = {
                    "assignment": item["assignment"],
                    "answer": "12"[(rng_seed + len(acked)) % 2],
                    "confidence": 2,
                    "rationale": "load",
                }
                while True:  # the same body again after a failure: at most one label results
                    try:
                        r = await c.post("/api/submit", json=body)
                        break
                    except httpx.TransportError:
                        stats["retries"] += 1
                        await asyncio.sleep(0.2)
                        if time.time() > until + 20:
                            return
                assert r.status_code == 200, r.text
                if not r.json()["duplicate"]:
                    acked.append(item["assignment"])
                else:
                    stats["duplicates"] += 1
                if len(acked) % 7 == 0:  # an impatient double click
                    r2 = await c.post("/api/submit", json=body)
                    assert r2.json()["duplicate"] is True
                    stats["duplicates"] += 1
            except httpx.TransportError:
                stats["outages"] += 1
                await asyncio.sleep(0.2)


async def crowd(base, tokens, seconds):
    acked, stats = [], Counter()
    until = time.time() + seconds
    await asyncio.gather(*(annotator(base, t, until, acked, stats, i) for i, t in enumerate(tokens)))
    return acked, stats


def check_invariants(db, acked):
    store = Store(db)
    labels = store.labels()
    got = Counter(lab["assignment_id"] for lab in labels)
    assert set(acked) <= set(got), "an acknowledged label is missing"
    assert len(got) == len(labels) and max(got.values()) == 1  # one label per assignment
    pairs = Counter((lab["item"], lab["annotator"]) for lab in labels)
    assert max(pairs.values()) == 1  # nobody labels the same item twice
    rows = store.db.execute(
        "SELECT i.id, i.target, i.gold IS NOT NULL, COUNT(l.id) FROM items i "
        "LEFT JOIN labels l ON l.item_id = i.id GROUP BY i.id"
    ).fetchall()
    over = [(i, t, n) for i, t, is_gold, n in rows if not is_gold and n > t]
    assert not over, f"items served beyond their overlap: {over[:5]}"
    store.close()
    return labels, rows


def test_fifty_concurrent_annotators_lose_nothing_and_respect_overlap(tmp_path):
    # 400 items, 25% of them to 3 annotators: 600 labels wanted (+ gold), for at most 8 s
    db, tokens = make_session(tmp_path, 400, 50, overlap=3, overlap_fraction=0.25, gold_rate=0.05)
    port = free_port()
    proc = start_server(db, port)
    try:
        t0 = time.time()
        acked, stats = asyncio.run(crowd(f"http://127.0.0.1:{port}", tokens, seconds=8.0))
        elapsed = time.time() - t0
    finally:
        stop(proc)
    labels, rows = check_invariants(db, acked)
    assert len(labels) == len(acked) >= 100
    assert len({lab["annotator"] for lab in labels}) == 50  # every client got work
    assert stats["duplicates"] > 0
    if elapsed < 8.0:  # the crowd ran out of work: every item got exactly its overlap
        assert all(n == t for _, t, is_gold, n in rows if not is_gold)
    print(
        f"\n[load] 50 clients, {elapsed:.1f}s: {len(acked)} labels acknowledged and stored "
        f"({len(acked) / elapsed:.0f}/s), {stats['duplicates']} duplicate submits absorbed"
    )


def test_server_killed_mid_session_loses_nothing_acknowledged(tmp_path):
    db, tokens = make_session(tmp_path, 1000, 10, overlap=2, overlap_fraction=0.5, gold_rate=0.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def scenario():
        proc = start_server(db, port)
        task = asyncio.ensure_future(crowd(base, tokens, seconds=4.0))
        await asyncio.sleep(1.0)
        before = len(Store(db).labels())
        proc.send_signal(signal.SIGKILL)  # no shutdown hooks, no flush: only what was fsynced
        proc.wait(timeout=10)
        await asyncio.sleep(0.5)
        proc2 = await asyncio.to_thread(start_server, db, port)
        try:
            acked, stats = await task
        finally:
            stop(proc2)
        return acked, stats, before

    acked, stats, before = asyncio.run(scenario())
    assert before > 0 and stats["outages"] + stats["retries"] > 0  # the outage really hit clients
    labels, _ = check_invariants(db, acked)
    assert len(labels) > before  # work went on after the restart
    print(
        f"\n[restart] kill -9 after {before} labels; {len(acked)} acknowledged in all, "
        f"{len(labels)} stored; {stats['outages'] + stats['retries']} client errors retried"
    )
