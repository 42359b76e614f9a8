"""Task text2sql:dbs=all: the catalog's databases, generated questions, held-out split, Spider export."""

import json
import sqlite3
from collections import Counter, defaultdict

import pytest

from rlaif.tasks import get_task, sources
from rlaif.tasks.text2sql import catalog
from rlaif.tasks.text2sql.generator import KINDS, Generator
from rlaif.tasks.text2sql.questions import SPLITS
from rlaif.tasks.text2sql.schema import schema_from_sqlite
from rlaif.tasks.text2sql.specs import T
from rlaif.tasks.text2sql.templates import Template

TRAIN = ("sft", "preference", "rl")


@pytest.fixture(scope="module")
def task():
    return get_task("text2sql:dbs=all")


def test_catalog_databases_are_relational_sized_and_licensed():
    assert len(catalog.CATALOG) >= 10
    assert set(catalog.SIDES["train"]) & set(catalog.SIDES["heldout"]) == set()
    assert set(catalog.ALL) == set(catalog.CATALOG) | {"chinook", "flights"}
    for db_id, db in catalog.CATALOG.items():
        path = catalog.database_path(db_id)
        s = schema_from_sqlite(path, db_id)
        assert len(s.tables) >= 3 and len(s.foreign_keys) >= 2, db_id
        assert all(t.primary_key for t in s.tables), db_id
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == [], db_id
            sizes = [conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0] for t in s.tables]
        finally:
            conn.close()
        assert min(sizes) > 0 and max(sizes) <= 15_000, (db_id, sizes)
        for name in db.sources:
            src = sources.SOURCES[name]  # registered, so `python -m rlaif.tasks.sources` pre-fetches it
            assert src.licence and len(src.sha256) == 64 and src.filename in str(sources.fetch(name))


def test_splits_by_database_cover_every_kind_on_both_sides(task):
    assert task.splits == SPLITS + ("heldout",)
    sides = defaultdict(set)
    for it in task.items:
        sides[it["split"]].add(it["db_id"])
    for split in SPLITS:
        assert sides[split] == set(catalog.SIDES["train"]), split
    assert sides["heldout"] == set(catalog.SIDES["heldout"])
    train_kinds = {it["kind"] for it in task.items if it["split"] in TRAIN}
    test_kinds = {it["kind"] for it in task.items if it["split"] == "test"}
    heldout_kinds = {it["kind"] for it in task.items if it["split"] == "heldout"}
    assert train_kinds == test_kinds == heldout_kinds == set(KINDS)
    per_db = Counter(it["db_id"] for it in task.items)
    assert min(per_db.values()) >= 40 and len(task.records("heldout")) >= 800
    golds = defaultdict(set)
    for it in task.items:
        golds[it["split"]].add((it["db_id"], it["gold_sql"]))
    for a in task.splits:
        for b in task.splits:
            assert a >= b or not golds[a] & golds[b], (a, b)


def test_builtin_questions_and_splits_are_kept(task):
    builtin = {it["id"]: (it["question"], it["gold_sql"], it["split"]) for it in get_task("text2sql").items}
    mine = {
        it["id"]: (it["question"], it["gold_sql"], it["split"])
        for it in task.items
        if it["db_id"] in ("chinook", "flights")
    }
    assert mine == builtin


def test_generated_questions_are_distinct_worded_and_fit_the_prompt_budget(task):
    new = [it for it in task.items if it["db_id"] in catalog.CATALOG]
    assert len({(it["db_id"], it["question"]) for it in new}) == len(new)
    wordings = defaultdict(set)  # every family is asked in 3 ways
    for it in new:
        wordings[it["template"].split("/")[0]].add(it["question"].split()[0])
    assert all(len(w) >= 2 for w in wordings.values()), wordings
    assert max(len(task.prompt(it)) + len(it["gold_sql"]) for it in new) < 2700


def test_every_gold_query_of_every_new_database_passes_the_oracle(task):
    for it in task.items:
        if it["db_id"] not in catalog.CATALOG:
            continue
        v = task.check(task.prompt(it), it["gold_sql"])
        assert v.correct, (it["id"], v)
    r = task.records("heldout")[0]
    assert task.reward([r["prompt"]], ["SELECT 1"]) == [0.0]
    assert task.execution_summary(r, r["gold_sql"]).split()[0].isdigit()


def test_generator_rejects_ties_and_empty_results(tmp_path):
    path = tmp_path / "toy.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE teams (team_id INTEGER PRIMARY KEY, name TEXT, city TEXT, wins INTEGER);
        CREATE TABLE players (player_id INTEGER PRIMARY KEY, name TEXT, team_id INTEGER REFERENCES teams(team_id),
          goals INTEGER, position TEXT);""")
    conn.executemany(
        "INSERT INTO teams VALUES (?, ?, ?, ?)",
        [
            (i, f"team{i}", "north" if i % 2 else "south", w)
            for i, w in enumerate([9, 8, 8, 7, 6, 6, 5, 4, 3, 2], 1)
        ],
    )
    conn.executemany(
        "INSERT INTO players VALUES (?, ?, ?, ?, ?)",
        [(i, f"p{i}", i % 10 + 1, i * 3 % 17, ["keeper", "back", "forward"][i % 3]) for i in range(1, 41)],
    )
    conn.commit()
    conn.close()
    spec = {
        "teams": T("team", "teams", "name", city="city", wins="wins"),
        "players": T("player", "players", "name", goals="goals", position="position", team_id="team"),
    }
    g = Generator("toy", path, spec)
    top = lambda k: Template(
        "toy",
        "order",
        "t",
        ("q {k}",),
        "SELECT name FROM teams ORDER BY wins DESC LIMIT {k}",  # noqa: E731
        cross={"k": [k]},
    )
    assert [x["gold_sql"][-1] for x in g.instantiate(top(1))] == ["1"]  # 9 | 8
    assert g.instantiate(top(2)) == []  # 9 8 | 8: a tie at the cut (questions.usable)
    assert g.instantiate(top(3)) == []  # 9 8 8 | 7: a clean cut, but the order inside is not unique
    empty = Template("toy", "filter", "e", ("q",), "SELECT name FROM teams WHERE wins > 100")
    assert g.instantiate(empty) == []
    items = g.items()
    assert {it["kind"] for it in items} == set(KINDS)
    conn = sqlite3.connect(path)
    assert all(conn.execute(it["gold_sql"]).fetchall() for it in items)
    conn.close()


def test_cli_exports_both_spider_folders_and_they_round_trip(task, tmp_path):
    from rlaif.cli import main

    out = tmp_path / "data"
    assert main(["data", "text2sql:dbs=all", "--out", str(out), "--spider"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats["splits"]) == set(task.splits)
    assert stats["splits"]["heldout"]["by_db_id"] == dict(
        Counter(r["db_id"] for r in task.records("heldout"))
    )
    indist, heldout = get_task(f"spider:{out / 'spider'}"), get_task(f"spider:{out / 'spider-heldout'}")
    train = sorted(r["question"] for s in TRAIN for r in task.records(s))
    for t in (indist, heldout):
        assert sorted(r["question"] for s in TRAIN for r in t.records(s)) == train
    assert sorted(r["question"] for r in indist.records("test")) == sorted(
        r["question"] for r in task.records("test")
    )
    assert sorted(r["question"] for r in heldout.records("test")) == sorted(
        r["question"] for r in task.records("heldout")
    )
    assert not {r["db_id"] for r in indist.records("test")} & set(catalog.SIDES["heldout"])
    for db_id in catalog.SIDES["heldout"]:
        assert heldout.schema_text(db_id) == task.schema_text(db_id)
        r = next(r for r in heldout.records("test") if r["db_id"] == db_id)
        assert heldout.reward([r["prompt"]], [r["gold_sql"]]) == [1.0]
        assert heldout.reward([r["prompt"]], ["SELECT 1"]) == [0.0]
