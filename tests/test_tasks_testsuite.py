"""Distilled test suites: neighbors, constraint-respecting variants, caching, verdicts, the collections."""

import sqlite3
import sys
from pathlib import Path

import pytest
import sqlglot

from rlaif.tasks import testsuite as ts
from rlaif.tasks.sqloracle import (
    ExecutionOracle,
    Verdict,
    check_sql,
    connect_readonly,
    results_match,
    run_gold,
    run_query,
)
from rlaif.tasks.testsuite import suite as suites

sys.path.insert(0, str(Path(__file__).parent))
from oracle_cases import (
    EQUIVALENTS,
    HOLDOUT_EQUIVALENTS,
    NEAR_MISSES,
    SCHOOL_GOLDS,  # noqa: E402
    build_school,
    write_school_spider,
)


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    from rlaif.tasks.text2sql.databases import all_databases

    return dict(all_databases()) | {
        "school": build_school(tmp_path_factory.mktemp("school") / "school.sqlite")
    }


@pytest.fixture(scope="module")
def oracle():
    o = ExecutionOracle(suites=True)
    yield o
    o.close()


@pytest.fixture
def pets(tmp_path, monkeypatch):
    monkeypatch.setenv("RLAIF_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "pets.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE owner (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, city TEXT);
        CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL REFERENCES owner(id), kind TEXT,
                          age REAL, born TEXT);
    """)
    conn.executemany(
        "INSERT INTO owner VALUES (?, ?, ?)",
        [(i, f"owner{i}", ["Oslo", "Rome"][i % 2]) for i in range(1, 41)],
    )
    conn.executemany(
        "INSERT INTO pet VALUES (?, ?, ?, ?, ?)",
        [
            (i, 1 + i % 40, ["cat", "dog", "fish"][i % 3], (i % 7) + 0.5, f"20{10 + i % 9}-0{1 + i % 9}-15")
            for i in range(1, 401)
        ],
    )
    conn.commit()
    conn.close()
    return path


def run(db, sql):
    conn = connect_readonly(db)
    try:
        return run_query(conn, sql)
    finally:
        conn.close()


# --------------------------------------------------------------------------- the collections


def test_collections_are_what_they_claim(dbs):
    assert len(NEAR_MISSES) >= 40 and len({c[0] for c in NEAR_MISSES}) >= 2
    assert len(EQUIVALENTS) >= 40
    for db, gold, other, kind in NEAR_MISSES + EQUIVALENTS + HOLDOUT_EQUIVALENTS:
        g = run(dbs[db], gold)
        assert g[0] and other != gold, kind
        assert results_match(run(dbs[db], other), g, ordered=bool(check_sql(gold).args.get("order"))), (
            kind,
            other,
        )


def test_near_misses_are_caught_and_today_s_oracle_misses_most(dbs, oracle):
    verdicts = [oracle.check(dbs[db], wrong, gold) for db, gold, wrong, _ in NEAR_MISSES]
    caught = sum(not v.correct for v in verdicts)
    assert caught >= 0.95 * len(NEAR_MISSES), [c[3] for c, v in zip(NEAR_MISSES, verdicts) if v.correct]
    assert all(v.status == "wrong" and v.database for v in verdicts if not v.correct)
    today = ExecutionOracle()  # the original and 3 perturbed copies
    assert sum(not today.check(dbs[db], w, g).correct for db, g, w, _ in NEAR_MISSES) < 0.5 * len(NEAR_MISSES)


def test_equivalent_rewrites_are_accepted(dbs, oracle):
    rejected = [
        (kind, v.detail)
        for db, gold, rewrite, kind in EQUIVALENTS + HOLDOUT_EQUIVALENTS
        if not (v := oracle.check(dbs[db], rewrite, gold)).correct
    ]
    assert rejected == []


def test_builtin_gold_queries_pass_their_suites(dbs, oracle):
    """A sample of the built-in gold queries, re-rendered by sqlglot with quoted identifiers, so they run
    instead of matching the gold's text."""
    from rlaif.tasks import get_task

    task = get_task("text2sql")
    golds = sorted({(it["db_id"], it["gold_sql"]) for it in task.items})
    for db, gold in golds[::20]:
        again = sqlglot.transpile(gold, read="sqlite", write="sqlite", identify=True)[0]
        assert '"' in again and again != gold
        v = oracle.check(task.db_path(db), again, gold)
        assert v.correct and v.detail == "", (gold, v)  # judged by running, not by its text


# --------------------------------------------------------------------------- verdicts, caching, laziness


def test_verdict_names_the_database_and_stays_compatible(dbs, oracle):
    verdicts = [(db, oracle.check(dbs[db], wrong, gold)) for db, gold, wrong, _ in NEAR_MISSES]
    by_suite = [(db, v) for db, v in verdicts if ".suite" in v.database]
    assert len(by_suite) >= len(NEAR_MISSES) / 2
    for db, v in by_suite:
        assert v.status == "wrong" and v.detail.startswith(f"differs on {v.database} (")
        assert v.database.startswith(f"{db}.suite") and v.database[-1].isdigit()
    assert any(v.database.startswith(f"{db}.p") for db, v in verdicts)  # the perturbed copies still count
    db, gold = NEAR_MISSES[0][:2]
    assert Verdict(False, "wrong", "x").database == "" and Verdict(False, "wrong").valid
    assert oracle.check(dbs[db], f" {gold};", gold).detail == "the gold query itself"
    spaced = gold.replace(" ", "  ", 1)
    assert oracle.check(dbs[db], spaced, gold).detail == ""  # another text runs, even if only blanks differ


def test_suites_are_lazy_cached_and_rebuilt_for_a_changed_database(pets, monkeypatch):
    gold = "SELECT kind, COUNT(*) FROM pet GROUP BY kind"
    o = ExecutionOracle(suites=True)
    assert o.check(pets, "SELECT kind, COUNT(*) FROM pet WHERE age > 1 GROUP BY kind", gold).status == "wrong"
    path = ts.suite_file(o, pets, gold)
    assert not path.exists()  # wrong on the original: no suite needed
    v = o.check(pets, "SELECT kind, COUNT(*) FROM pet WHERE age > 0 GROUP BY kind", gold)
    assert (
        path.exists() and not v.correct and v.database.startswith("pets.suite")
    )  # a NULL age tells it apart
    monkeypatch.setattr(suites, "build_suite", lambda *a: pytest.fail("built again"))
    assert ExecutionOracle(suites=True).check(pets, "SELECT COUNT(*), kind FROM pet GROUP BY 2", gold).correct
    conn = sqlite3.connect(pets)
    conn.execute("UPDATE pet SET age = 2.5 WHERE id = 1")
    conn.commit()
    conn.close()
    assert ts.suite_file(o, pets, gold) != path  # a new content hash: a new suite


def test_ties_in_an_ordered_gold(pets):
    gold = "SELECT id, age FROM pet WHERE owner_id = 3 ORDER BY age DESC"
    conn = connect_readonly(pets)
    g = run_gold(conn, gold)
    assert g.ties is not None and g.tied_rows > 0 and not g.cut_tie
    shuffled = "SELECT id, age FROM pet WHERE owner_id = 3 ORDER BY age DESC, id DESC"
    assert results_match(run_query(conn, shuffled), g.result, True, ties=g.ties)
    assert not results_match(
        run_query(conn, "SELECT id, age FROM pet WHERE owner_id = 3 ORDER BY age"),
        g.result,
        True,
        ties=g.ties,
    )
    assert run_gold(conn, "SELECT id FROM pet ORDER BY age DESC LIMIT 3").cut_tie  # 57 pets are 6.5
    conn.close()
    assert ExecutionOracle(suites=True).check(pets, shuffled, gold).correct


# --------------------------------------------------------------------------- neighbors and variants


def test_neighbors_cover_the_mutation_kinds(pets):
    conn = sqlite3.connect(pets)
    schema = ts.schema_facts(conn)
    conn.close()
    tree = check_sql(
        "SELECT DISTINCT o.name, COUNT(*) FROM owner AS o JOIN pet AS p ON p.owner_id = o.id "
        "WHERE p.age >= 2 AND p.kind LIKE '%at' AND p.born < '2015-01-01' GROUP BY o.id "
        "HAVING MAX(p.age) > 3 ORDER BY o.name LIMIT 5"
    )
    sqls = {n.kind: [] for n in ts.neighbors(tree, schema)}
    for n in ts.neighbors(tree, schema):
        sqls[n.kind].append(n.sql)
    assert {
        "op",
        "shift",
        "distinct",
        "count",
        "join",
        "drop",
        "group",
        "order",
        "like",
        "limit",
        "desc",
        "agg",
    } <= set(sqls)
    joined = "\n".join(s for v in sqls.values() for s in v)
    for piece in (
        "p.age > 2",
        "p.age >= 1",
        "p.age >= 3",
        "'2014-12-31'",
        "LIKE 'at%'",
        "LEFT JOIN",
        "LIMIT 4",
        "LIMIT 6",
        "MIN(p.age)",
        "COUNT(p.born)",
        "ORDER BY o.name DESC",
        "SELECT o.name",
    ):
        assert piece in joined, piece


def test_variants_respect_keys_references_and_natural_keys(dbs, oracle):
    from rlaif.tasks.text2sql.databases import database_path

    db = database_path("chinook")
    before = sqlite3.connect(db).execute("PRAGMA foreign_key_check").fetchall()
    golds = [g for d, g, _, _ in NEAR_MISSES if d == "chinook"][:12]
    seen = 0
    for gold in golds:
        suite = oracle.suite(db, gold)
        for i in range(len(suite.variants)):
            conn = ts.open_variant(db, suite, i)
            with pytest.raises(sqlite3.DatabaseError):
                conn.execute("DELETE FROM Track")
            conn.set_authorizer(None)
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == before
            for table, col in (("Artist", "Name"), ("Genre", "Name"), ("Album", "Title")):
                n, d = conn.execute(f"SELECT COUNT({col}), COUNT(DISTINCT {col}) FROM {table}").fetchone()
                assert n == d, (gold, table)
            g = run_gold(conn, gold)
            assert g.informative and not g.cut_tie
            conn.close()
            seen += 1
    assert seen >= len(golds)


def test_editor_keeps_constraints(pets):
    import random

    conn = sqlite3.connect(pets)
    ed = ts.Editor(conn, ts.schema_facts(conn), random.Random(0))
    row = ts.fetch_row(conn, ed.schema["owner"], 1)
    assert ed.update("owner", 1, {"name": "owner2"}) is None  # UNIQUE
    assert ed.update("owner", 1, {"id": 99}) is None  # a key other rows reference
    assert ed.update("pet", 1, {"owner_id": 999}) is None  # no such parent
    assert ed.update("pet", 1, {"owner_id": None}) is None  # NOT NULL
    assert ed.delete("owner", 1, row) is None  # referenced
    ((sql, params),) = ed.insert_copy("owner", row, {})
    assert params[0] == 41 and params[1] != "owner1"  # fresh key, fresh unique name
    conn.close()


def test_a_huge_database_gets_a_sampled_base(pets):
    o = ExecutionOracle(suites=True, max_db_bytes=0, sample_rows=50)
    gold = "SELECT COUNT(*) FROM pet WHERE age > 3.5 AND owner_id = 7"
    assert o.check(pets, "SELECT COUNT(*) FROM pet WHERE age >= 3.5 AND owner_id = 7", gold).status == "wrong"
    assert o.check(pets, "SELECT COUNT(id) FROM pet WHERE owner_id = 7 AND NOT age <= 3.5", gold).correct
    suite = o.suite(pets, gold)
    sample = ts.suite_folder(pets) / suite.base
    conn = sqlite3.connect(sample)
    n_pets = conn.execute("SELECT COUNT(*) FROM pet").fetchone()[0]
    assert 10 <= n_pets <= 50 + ts.WITNESSES and conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


# --------------------------------------------------------------------------- the command


def test_build_suites_command_on_a_spider_folder(tmp_path):
    import json

    from rlaif.cli import main

    root = write_school_spider(tmp_path / "school")
    out = tmp_path / "out"
    assert main(["data", f"spider:{root}", "--out", str(out), "--build-suites"]) == 0
    stats = json.loads((out / "stats.json").read_text())["suites"]
    assert stats["golds"] == len(SCHOOL_GOLDS) and stats["built"] + stats["cached"] == len(SCHOOL_GOLDS)


def test_a_suite_that_cannot_be_built_does_not_stop_the_reward(pets, monkeypatch):
    def broken(*a):
        raise ValueError("boom")

    monkeypatch.setattr(suites, "build_suite", broken)
    o = ExecutionOracle(suites=True)
    with pytest.warns(RuntimeWarning, match="boom"):
        v = o.check(pets, "SELECT COUNT(*) FROM pet WHERE age > 0", "SELECT COUNT(*) FROM pet")
    assert v.correct  # judged on the database and its copies alone


def test_suite_edits_are_read_only_and_rolled_back(pets):
    from rlaif.tasks.sqloracle import edited

    conn = sqlite3.connect(":memory:", isolation_level=None)
    sqlite3.connect(pets).backup(conn)
    ops = [["INSERT INTO pet VALUES (?, ?, ?, ?, ?)", [999, 1, "owl", 1.0, "2020-01-01"]]]
    with edited(conn, ops) as db:
        assert db.execute("SELECT COUNT(*) FROM pet").fetchone()[0] == 401
        for attack in (
            "DELETE FROM pet",
            "UPDATE pet SET age = 0",
            "PRAGMA query_only = OFF",
            "COMMIT",
            "ATTACH DATABASE ':memory:' AS m",
        ):
            with pytest.raises(sqlite3.DatabaseError):
                db.execute(attack)
    assert conn.execute("SELECT COUNT(*) FROM pet").fetchone()[0] == 400
    with edited(conn, [["INSERT INTO pet (id, owner_id) VALUES (?, ?)", [1, 1]]]) as db:  # a key clash
        assert db is None
    assert conn.execute("SELECT COUNT(*) FROM pet").fetchone()[0] == 400


def test_steps_and_boundaries():
    from rlaif.tasks.testsuite.facts import Col, decimal_places

    assert [decimal_places(x) for x in (1e-05, 2.5, 3.0, 1.5e20, float("inf"), -0.25)] == [5, 1, 0, 0, 0, 2]
    assert ts.literal_shifts(10) == [9, 11] and ts.literal_shifts(2.5) == [2.4, 2.6]
    assert ts.literal_shifts("2010-03-01") == ["2010-02-28", "2010-03-02"]
    assert ts.literal_shifts("2010") == ["2009", "2011"]
    stamp = Col("d", "date", False, False, False, False, time=" 00:00:00")
    assert ts.boundary_values("2008-01-01", stamp) == [
        "2007-12-31 00:00:00",
        "2008-01-01 00:00:00",
        "2008-01-02 00:00:00",
    ]
    price = Col("p", "real", False, False, False, False, step=0.01)
    assert ts.boundary_values(15, price) == [14.99, 15.0, 15.01]
    assert ts.boundary_values(3.85, price) == [3.84, 3.85, 3.86]
    assert ts.boundary_values(1970, Col("y", "int", False, False, False, False)) == [1969, 1970, 1971]
