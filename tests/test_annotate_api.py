"""The annotation session and its HTTP API: items, auth, assignment, idempotency, export, CLI."""

import json
import subprocess
import sys

import pytest

from rlaif.annotate.cli import main as annotate_main
from rlaif.annotate.export import export
from rlaif.annotate.items import load_gold, load_items
from rlaif.annotate.store import Settings, Store
from rlaif.core.records import RecordError, read_records

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from rlaif.annotate.server import create_app  # noqa: E402

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def samples(tmp_path):
    rows = [
        {"prompt": f"Question {i}?", "completions": [f"A{i}", f"B{i}", f"C{i}", f"D{i}"], "id": i}
        for i in range(10)
    ]
    return write_jsonl(tmp_path / "samples.jsonl", rows)


@pytest.fixture
def gold(tmp_path):
    rows = [{"prompt": f"Gold {i}?", "chosen": f"right {i}", "rejected": f"wrong {i}"} for i in range(4)]
    return write_jsonl(tmp_path / "gold.jsonl", rows)


def make_session(tmp_path, samples, gold=None, **settings):
    s = Settings(**settings).check()
    store, admin = Store.create(tmp_path / "s.db", s)
    items = load_items(samples, s.task, s.pairs) + (load_gold(gold, s.task) if gold else [])
    store.add_items(items)
    return store, admin


def client_for(store):
    return TestClient(create_app(store))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- items


def test_items_from_each_record_kind(tmp_path, samples):
    assert len(load_items(samples, "compare")) == 20  # 4 completions -> (1,2), (3,4)
    assert len(load_items(samples, "compare", pairs="all")) == 60
    assert len(load_items(samples, "rate")) == 40
    comps = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"prompt": "p", "response_a": "x", "response_b": "y", "p_a": 0.9, "src": "ai"},
            {"prompt": "p", "response_a": "same", "response_b": "same"},
        ],
    )  # identical: nothing to judge
    items = load_items(comps, "compare")
    assert len(items) == 1 and items[0]["meta"] == {"p_a": 0.9, "src": "ai"}
    sft = write_jsonl(tmp_path / "sft.jsonl", [{"prompt": "p", "completion": "out"}])
    assert load_items(sft, "harmless")[0]["response_a"] == "out"
    with pytest.raises(RecordError, match="sft.jsonl:1"):
        load_items(sft, "compare")
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "p", "completions": ["a", "b"]}, {"text": 1}])
    with pytest.raises(RecordError, match=r"bad.jsonl:2: not a samples"):
        load_items(bad, "compare")


def test_overlap_share_and_dedup(tmp_path, samples, gold):
    store, _ = make_session(tmp_path, samples, gold, overlap=3, overlap_fraction=0.25)
    targets = [r[0] for r in store.db.execute("SELECT target FROM items WHERE gold IS NULL")]
    assert sorted(targets).count(3) == 5 and targets.count(1) == 15  # 25% of 20 items
    assert store.add_items(load_items(samples, "compare")) == (0, 20)  # same content: skipped
    assert store.item_counts() == {"items": 20, "gold_items": 4, "labels_wanted": 30}


# --------------------------------------------------------------------------- auth and limits


def test_tokens_are_required_and_scoped(tmp_path, samples):
    store, admin = make_session(tmp_path, samples)
    alice = store.add_annotator("alice", {"profession": "nurse"})
    c = client_for(store)
    for headers in ({}, bearer("wrong"), {"Authorization": alice}):  # missing, wrong, not Bearer
        assert c.get("/api/next", headers=headers).status_code == 401
        assert (
            c.post("/api/submit", headers=headers, json={"assignment": "x", "answer": "1"}).status_code == 401
        )
    assert c.get("/api/admin/report", headers=bearer(alice)).status_code == 401  # not the admin
    assert c.get("/api/admin/report", headers=bearer(admin)).status_code == 200
    assert c.get("/api/next", headers=bearer(admin)).status_code == 401  # admin is not an annotator
    assert c.get("/api/me", headers=bearer(alice)).json()["name"] == "alice"
    store.revoke("alice")
    assert c.get("/api/me", headers=bearer(alice)).status_code == 401
    new = store.new_token("alice")
    assert c.get("/api/me", headers=bearer(alice)).status_code == 401  # the old token is dead
    assert c.get("/api/me", headers=bearer(new)).status_code == 200


def test_inputs_are_validated_and_size_limited(tmp_path, samples):
    store, _ = make_session(tmp_path, samples)
    c = client_for(store)
    h = bearer(store.add_annotator("bob"))
    a = c.get("/api/next", headers=h).json()["item"]["assignment"]
    for body in (
        {"assignment": a, "answer": "3"} | {"extra": 1},
        {"assignment": a, "answer": "maybe"},
        {"assignment": a, "answer": "1", "confidence": 9},
        {"assignment": a},
        {"assignment": a, "answer": "7"},  # a score is not a comparison answer
        {"assignment": a, "answer": "1", "rationale": "x" * 2001},
    ):
        assert c.post("/api/submit", headers=h, json=body).status_code == 422, body
    big = {"assignment": a, "answer": "1", "rationale": "x" * 20_000}
    assert c.post("/api/submit", headers=h, json=big).status_code == 413

    def chunked():  # no Content-Length: counted as it arrives
        yield b'{"assignment": "%s", "answer": "1", "rationale": "' % a.encode()
        yield from (b"x" * 1000 for _ in range(30))
        yield b'"}'

    assert (
        c.post("/api/submit", headers=h | {"Content-Type": "application/json"}, content=chunked()).status_code
        == 413
    )
    assert (
        c.post(
            "/api/submit",
            headers=h,
            content=b"{not json",
        ).status_code
        == 422
    )
    assert store.labels() == []
    r = c.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert c.get("/static/../store.py").status_code == 404
    assert c.get("/static/app.js").headers["content-type"].startswith("text/javascript")


# --------------------------------------------------------------------------- serving and labels


def test_annotator_sees_neither_gold_answers_nor_others_work(tmp_path, samples, gold):
    store, admin = make_session(tmp_path, samples, gold, gold_rate=0.5)
    c = client_for(store)
    ha, hb = bearer(store.add_annotator("alice")), bearer(store.add_annotator("bob"))
    seen = []
    while True:
        r = c.get("/api/next", headers=ha).json()
        if r["item"] is None:
            break
        item = r["item"]
        assert set(item) == {"assignment", "kind", "prompt", "responses"}  # no id, no gold
        seen.append(item["prompt"][0]["content"])
        # bob cannot answer alice's item
        assert (
            c.post(
                "/api/submit", headers=hb, json={"assignment": item["assignment"], "answer": "1"}
            ).status_code
            == 409
        )
        assert (
            c.post("/api/submit", headers=ha, json={"assignment": item["assignment"], "answer": "1"}).json()[
                "duplicate"
            ]
            is False
        )
    assert len(seen) == len(set(zip(seen, range(len(seen)))))
    assert sum(s.startswith("Gold") for s in seen) >= 1  # gold mixed in (p = 1 - 0.5**20 ...)
    assert len([s for s in seen if s.startswith("Gold")]) <= 4  # each gold item at most once
    # an annotator's API never exposes other annotators' labels: the only readers are these
    me = c.get("/api/me", headers=hb).json()
    assert me["done"] == 0 and set(me) == {"name", "task", "max_rationale", "done", "available"}


def test_display_order_maps_back_and_submit_is_idempotent(tmp_path, samples):
    store, _ = make_session(tmp_path, samples, overlap_fraction=0.0)
    c = client_for(store)
    h = bearer(store.add_annotator("alice"))
    picks = {}
    for _ in range(20):
        item = c.get("/api/next", headers=h).json()["item"]
        # always pick the response that starts with A or C (the first of each disjoint pair)
        side = "1" if item["responses"][0][0] in "AC" else "2"
        picks[item["responses"][int(side) - 1]] = side
        body = {"assignment": item["assignment"], "answer": side, "confidence": 2, "rationale": "ok"}
        assert c.post("/api/submit", headers=h, json=body).json() == {"ok": True, "duplicate": False}
        again = c.post("/api/submit", headers=h, json=body | {"answer": "tie"}).json()
        assert again == {"ok": True, "duplicate": True, "stored": side}  # first answer stands
    assert set(picks.values()) == {"1", "2"}  # both display orders occurred
    assert len(store.labels()) == 20
    assert {lab["answer"] for lab in store.labels()} == {"a"}  # a is always the A/C completion


def test_page_reload_returns_the_same_item_and_leases_expire(tmp_path, samples):
    store, _ = make_session(tmp_path, samples, overlap_fraction=0.0)
    alice, bob = (store.authenticate(store.add_annotator(n)) for n in ("alice", "bob"))
    first = store.next_item(alice, now=1000.0)
    assert store.next_item(alice, now=1001.0)["assignment"] == first["assignment"]
    # bob holds one item at a time: asking again gives the same one until he answers it
    assert len({store.next_item(bob, now=1002.0 + i)["assignment"] for i in range(5)}) == 1
    for i in range(18):
        store.submit(bob, store.next_item(bob, now=1003.0 + i)["assignment"], "1", now=1004.0 + i)
    store.submit(bob, store.next_item(bob, now=1030.0)["assignment"], "2", now=1031.0)
    assert store.next_item(bob, now=1032.0) is None  # 19 done, alice holds the 20th
    # alice walks away; after the lease (30 min) her item goes to bob and her late answer is refused
    later = 1001.0 + 31 * 60
    got = store.next_item(bob, now=later)
    assert got is not None and got["prompt"] == first["prompt"]
    with pytest.raises(Exception, match="no longer yours"):
        store.submit(alice, first["assignment"], "1", now=later + 1)
    store.submit(bob, got["assignment"], "1", now=later + 2)
    counts = store.db.execute("SELECT item_id, COUNT(*) FROM labels GROUP BY item_id").fetchall()
    assert len(counts) == 20 and all(n == 1 for _, n in counts)


def test_export_vote_shares_flags_and_attributes(tmp_path, samples, gold):
    store, admin = make_session(
        tmp_path, samples, gold, overlap=3, overlap_fraction=1.0, gold_rate=0.0, min_labels=5, min_seconds=0.0
    )
    people = {
        n: store.authenticate(store.add_annotator(n, {"language": "en", "n": n}))
        for n in ("ann", "ben", "cat")
    }
    t = 0.0
    for name, who in people.items():
        while (item := store.next_item(who, now=t)) is not None:
            first_is_a = item["responses"][0][0] in "AC"
            answer = ("1" if first_is_a else "2") if name != "cat" else "1"  # cat always clicks 1
            store.submit(who, item["assignment"], answer, now=t + 5)
            t += 10
    report = store.report()
    assert report["flagged"] == ["cat"]
    assert report["progress"]["items_complete"] == 20
    out = tmp_path / "out"
    m = export(store, out)
    comps = read_records(out / "comparisons.jsonl", "comparison")
    prefs = read_records(out / "preferences.jsonl", "preference")
    assert len(comps) == 20 and m["counts"]["labels.jsonl"] == 60
    for c in comps:  # ann and ben vote a; cat's vote is a or b depending on his display order
        assert c["n_votes"] == 3 and c["p_a"] in (2 / 3, 1.0) and c["source"] == "human"
        assert c["p_a"] == (c["votes"]["a"] + 0.5 * c["votes"]["tie"]) / 3
        assert {"id", "completion_a", "completion_b"} <= set(c)  # input fields pass through
    assert all(p["chosen"][0] in "AC" for p in prefs) and len(prefs) == 20
    labels = [json.loads(x) for x in (out / "labels.jsonl").read_text().splitlines()]
    assert {lab["attributes"]["language"] for lab in labels} == {"en"}
    m = export(store, tmp_path / "clean", exclude_flagged=True)
    assert m["excluded_annotators"] == ["cat"]
    assert all(
        c["p_a"] == 1.0 and c["n_votes"] == 2
        for c in read_records(tmp_path / "clean" / "comparisons.jsonl", "comparison")
    )


@pytest.mark.parametrize(
    "task,answers,field", [("rate", ["7", "9"], "score"), ("harmless", ["yes", "no"], "p_harmless")]
)
def test_single_output_tasks(tmp_path, task, answers, field):
    sft = write_jsonl(tmp_path / "sft.jsonl", [{"prompt": f"p{i}", "output": f"o{i}"} for i in range(3)])
    gold_rows = (
        [{"prompt": "g", "output": "fine", "score": 8}]
        if task == "rate"
        else [{"prompt": "g", "output": "fine", "harmless": True}]
    )
    store, _ = make_session(
        tmp_path,
        sft,
        write_jsonl(tmp_path / "g.jsonl", gold_rows),
        task=task,
        overlap=2,
        overlap_fraction=1.0,
        gold_rate=0.0,
    )
    c = client_for(store)
    for name, answer in zip(("a", "b"), answers):
        h = bearer(store.add_annotator(name))
        while (item := c.get("/api/next", headers=h).json()["item"]) is not None:
            assert item["kind"] == task and len(item["responses"]) == 1
            assert (
                c.post(
                    "/api/submit", headers=h, json={"assignment": item["assignment"], "answer": "tie"}
                ).status_code
                == 422
            )
            c.post("/api/submit", headers=h, json={"assignment": item["assignment"], "answer": answer})
    export(store, tmp_path / "out")
    rows = [json.loads(x) for x in (tmp_path / "out" / "ratings.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["n_votes"] == 2 for r in rows)
    assert {r[field] for r in rows} == ({8.0} if task == "rate" else {0.5})


# --------------------------------------------------------------------------- CLI


def test_cli_session_end_to_end(tmp_path, samples, gold, capsys):
    db = str(tmp_path / "cli.db")
    assert (
        annotate_main(
            [
                "init",
                "--db",
                db,
                "--input",
                str(samples),
                "--gold",
                str(gold),
                "--overlap-fraction",
                "0.5",
                "--gold-rate",
                "0.2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "20 items, 4 gold items" in out and "admin token: " in out
    assert annotate_main(["init", "--db", db, "--input", str(samples)]) == 1  # exists already
    assert annotate_main(["add-annotator", "--db", db, "--name", "zoe", "--attr", "profession=vet"]) == 0
    token = capsys.readouterr().out.split("zoe token: ")[1].split()[0]
    store = Store(db)
    who = store.authenticate(token)
    while (item := store.next_item(who)) is not None:
        store.submit(who, item["assignment"], "tie")
    assert annotate_main(["status", "--db", db]) == 0
    status = capsys.readouterr().out
    assert "zoe" in status and "labels of 40 wanted" in status
    assert annotate_main(["export", "--db", db, "--out", str(tmp_path / "x"), "--include-gold"]) == 0
    comps = read_records(tmp_path / "x" / "comparisons.jsonl", "comparison")
    assert {c["p_a"] for c in comps} == {0.5}
    assert not (tmp_path / "x" / "preferences.jsonl").read_text()  # ties make no preference
    assert annotate_main(["revoke", "--db", db, "--name", "nobody"]) == 1
    assert annotate_main(["add-annotator", "--db", db, "--name", "zoe"]) == 1


def test_import_rlaif_does_not_load_the_web_server():
    code = (
        "import sys, rlaif, rlaif.cli, rlaif.annotate.cli, rlaif.annotate.store; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
