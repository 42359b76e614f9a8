"""Task text2sql: the built-in question set, splits, prompts, oracle interface, Spider/BIRD loading."""

import json
from collections import Counter, defaultdict

import pytest

from rlaif.core.records import RecordError, read_records, validate
from rlaif.tasks import get_task, parse_spec
from rlaif.tasks.text2sql import Text2SQL
from rlaif.tasks.text2sql.questions import SPLITS
from rlaif.tasks.text2sql.spider import SpiderData


@pytest.fixture(scope="module")
def task():
    return get_task("text2sql")


def test_question_set_size_and_coverage(task):
    items = task.items
    assert len(items) >= 600
    assert len({it["id"] for it in items}) == len(items)
    by_db = Counter(it["db_id"] for it in items)
    assert set(by_db) == {"chinook", "flights"} and min(by_db.values()) >= 250
    kinds = {"filter", "aggregate", "group", "order", "join", "nested"}
    for split in SPLITS:
        rows = task.records(split)
        assert len(rows) >= 100
        assert {r["kind"] for r in rows} == kinds and {r["db_id"] for r in rows} == {"chinook", "flights"}


def test_splits_share_no_question_and_no_gold_query(task):
    questions, golds = defaultdict(set), defaultdict(set)
    for it in task.items:
        questions[it["split"]].add(it["question"])
        golds[it["split"]].add((it["db_id"], it["gold_sql"]))
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not questions[a] & questions[b], (a, b)
                assert not golds[a] & golds[b], (a, b)


def test_every_gold_query_matches_itself_on_every_copy(task):
    for it in task.items:
        db = task.db_path(it["db_id"])
        ordered, results = task.oracle.gold(db, it["gold_sql"])
        assert len(results) == 1 + task.oracle.copies
        assert results[0][0], f"{it['id']}: gold returns nothing on the original database"
        v = task.oracle.check(db, it["gold_sql"], it["gold_sql"])
        assert v.correct, (it["id"], v)


def test_records_have_the_project_formats(task):
    sft = task.records("sft")
    for r in sft[:50]:
        validate(r, "sft", "sft")
        assert r["output"] == r["gold_sql"]
    for r in task.records("rl")[:50]:
        validate(r, "prompt", "rl")
        assert "output" not in r and r["gold_sql"]


def test_prompt_holds_whole_schema_and_fits_the_budget(task):
    r = next(x for x in task.records("test") if x["db_id"] == "chinook")
    p = r["prompt"]
    assert p.rstrip().endswith("###Response:") and f"###Input:\n{r['question']}" in p
    for table in [
        "Artist",
        "Album",
        "Genre",
        "MediaType",
        "Employee",
        "Customer",
        "Invoice",
        "Track",
        "InvoiceLine",
        "Playlist",
        "PlaylistTrack",
    ]:
        assert f"Table {table} has columns" in p
    assert "ArtistId (foreign key to Artist.ArtistId)" in p
    assert max(len(t.prompt(it)) for t in [task] for it in task.items) < 2700  # ~ 550 SmolLM2 tokens


def test_prompt_token_budget_with_the_bundled_tokenizer(task):
    from rlaif.core.models import builtin_path, cache_dir, load_tokenizer, render_prompt

    if not (cache_dir() / "models" / "smollm2-135m" / "config.json").exists():
        pytest.skip("the bundled model is not converted yet (the slow tests do it)")
    tok = load_tokenizer(str(builtin_path("smollm2-135m")))
    longest = max(task.items, key=lambda it: len(task.prompt(it)) + len(it["gold_sql"]))
    n = len(tok(render_prompt(tok, task.prompt(longest)))["input_ids"]) + len(
        tok(longest["gold_sql"])["input_ids"]
    )
    assert n <= 700


def test_chat_format_and_dbgpt_schema():
    t = get_task("text2sql:format=chat,schema=dbgpt")
    r = t.records("test")[0]
    assert isinstance(r["prompt"], list) and [m["role"] for m in r["prompt"]] == ["system", "user"]
    assert r["prompt"][1]["content"] == r["question"]
    assert "is the foreign key of" in r["prompt"][0]["content"]
    validate(r, "prompt", "chat")


def test_reward_prefer_and_evaluate(task):
    r = task.records("test")[0]
    p, gold = r["prompt"], r["gold_sql"]
    assert task.reward([p, p, p], [gold, "SELECT 1", "DELETE FROM Track"]) == [1.0, 0.0, 0.0]
    assert task.reward([p], [f"```sql\n{gold};\n```"], db_id=[r["db_id"]], gold_sql=[gold]) == [1.0]
    assert task.reward(["unknown prompt"], [gold], db_id=[r["db_id"]], gold_sql=[gold]) == [1.0]
    with pytest.raises(KeyError):
        task.reward(["unknown prompt"], [gold])
    assert task.prefer(p, gold, "SELECT 1") == 1.0
    assert task.prefer(p, "SELECT 1", gold, **r) == 0.0
    assert task.prefer(p, "SELECT 1", "SELECT nothing FROM nowhere") is None
    assert task.prefer(p, gold, gold) is None
    lenient = Text2SQL(tie=0.5, tie_break="valid")
    assert lenient.prefer(p, "SELECT 1", "SELECT nothing FROM nowhere") == 1.0
    assert lenient.prefer(p, "SELECT 1", "SELECT 2") == 0.5
    recs = task.records("test")[:4]
    rep = task.evaluate(recs, [recs[0]["gold_sql"], "SELECT 1", "nonsense", recs[3]["gold_sql"]])
    assert rep["execution_accuracy"] == 0.5 and rep["valid_sql_rate"] == 0.75
    assert rep["status"] == {"correct": 2, "wrong": 1, "refused": 1}


def test_execution_summary(task):
    r = next(x for x in task.records("test") if x["gold_sql"].startswith("SELECT COUNT(*)"))
    assert task.execution_summary(r, r["gold_sql"]).startswith("1 row: ")
    assert task.execution_summary(r, "SELECT x FROM nowhere").startswith("error: ")
    assert task.execution_summary(r, "DROP TABLE Track").startswith("refused: ")


def test_spec_parsing():
    assert parse_spec("text2sql") == ("text2sql", {})
    assert parse_spec("spider:/d/spider,format=chat") == ("spider", {"path": "/d/spider", "format": "chat"})
    with pytest.raises(KeyError):
        get_task("spider")
    with pytest.raises(KeyError):
        get_task("nosuch")


# --------------------------------------------------------------------------- Spider / BIRD folders


@pytest.fixture(scope="module")
def spider_dir(task, tmp_path_factory):
    return task.write_spider(tmp_path_factory.mktemp("spider") / "spider")


def test_spider_roundtrip_keeps_questions_schema_and_oracle(task, spider_dir):
    t = get_task(f"spider:{spider_dir}")
    test = t.records("test")
    assert sorted(r["question"] for r in test) == sorted(r["question"] for r in task.records("test"))
    assert sum(len(t.records(s)) for s in SPLITS) == len(task.items)
    assert t.schema_text("chinook") == task.schema_text("chinook")
    r = test[0]
    assert t.reward([r["prompt"]], [r["gold_sql"]]) == [1.0]
    assert t.reward([r["prompt"]], ["SELECT 1"]) == [0.0]
    train_golds = {(r["db_id"], r["gold_sql"]) for s in ("sft", "preference", "rl") for r in t.records(s)}
    assert not train_golds & {(r["db_id"], r["gold_sql"]) for r in test}


def test_bird_layout_with_evidence_and_only_a_dev_file(task, spider_dir, tmp_path):
    root = tmp_path / "bird"
    (root / "dev_databases" / "chinook").mkdir(parents=True)
    (root / "dev_databases" / "chinook" / "chinook.sqlite").write_bytes(
        (spider_dir / "database" / "chinook" / "chinook.sqlite").read_bytes()
    )
    rows = [
        {
            "question_id": i,
            "db_id": "chinook",
            "question": f"How many tracks last longer than {i} minutes?",
            "evidence": "length in minutes = Milliseconds / 60000",
            "SQL": f"SELECT COUNT(*) FROM Track WHERE Milliseconds > {i} * 60000",
            "difficulty": "simple",
        }
        for i in range(1, 41)
    ]
    (root / "dev.json").write_text(json.dumps(rows))
    t = get_task(f"bird:{root}")
    counts = {s: len(t.records(s)) for s in SPLITS}
    assert sum(counts.values()) == 40 and all(counts.values())
    r = t.records("test")[0]
    assert "External knowledge: length in minutes" in r["prompt"]
    assert "Table Track has columns" in r["prompt"]  # schema read from the SQLite file itself
    assert t.reward([r["prompt"]], [r["gold_sql"]]) == [1.0]


def test_spider_loader_errors_name_file_and_entry(spider_dir, tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "database").symlink_to(spider_dir / "database")
    (root / "dev.json").write_text(
        json.dumps(
            [
                {"db_id": "chinook", "question": "q", "query": "SELECT 1"},
                {"db_id": "chinook", "question": "q2"},
            ]
        )
    )
    with pytest.raises(RecordError, match=r"dev.json\[1\]: field 'query' or 'SQL' is missing"):
        SpiderData(root)
    (root / "dev.json").write_text(json.dumps([{"db_id": "nowhere", "question": "q", "query": "SELECT 1"}]))
    with pytest.raises(RecordError, match=r"dev.json\[0\]: database 'nowhere' not found"):
        SpiderData(root)
    (root / "dev.json").unlink()
    (root / "dev.jsonl").write_text(
        '{"db_id": "chinook", "question": "q", "query": "SELECT 1"}\n{"db_id": \n'
    )
    with pytest.raises(RecordError, match=r"dev.jsonl:2: not valid JSON"):
        SpiderData(root)
    with pytest.raises(FileNotFoundError):
        SpiderData(tmp_path / "missing")


# --------------------------------------------------------------------------- rlaif data


def test_cli_writes_readable_splits(tmp_path):
    from rlaif.cli import main

    out = tmp_path / "data"
    assert (
        main(["data", "text2sql", "--out", str(out), "--split", "rl", "--split", "sft", "--limit", "20"]) == 0
    )
    sft = read_records(out / "sft.jsonl", "sft")
    rl = read_records(out / "rl.jsonl", "prompt")
    assert len(sft) == 20 and len(rl) == 20 and all(r["db_id"] and r["gold_sql"] for r in rl)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["splits"]["rl"]["records"] == 20
    assert main(["data", "nosuch", "--out", str(out)]) == 1
