"""The SQL execution oracle: refusal, read-only execution, time limit, comparison, perturbed copies."""

import hashlib
import sqlite3
import time

import pytest

from rlaif.tasks.sqloracle import (
    ExecutionOracle,
    SQLRefused,
    SQLTimeout,
    check_sql,
    connect_readonly,
    extract_sql,
    perturbed_copies,
    results_match,
    run_query,
)


@pytest.fixture
def toy_db(tmp_path):
    path = tmp_path / "toy.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE owner (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owner(id), kind TEXT, age REAL);
    """)
    conn.executemany("INSERT INTO owner VALUES (?, ?)", [(i, f"owner{i}") for i in range(1, 41)])
    conn.executemany(
        "INSERT INTO pet VALUES (?, ?, ?, ?)",
        [(i, 1 + i % 40, ["cat", "dog", "fish"][i % 3], (i % 7) + 0.5) for i in range(1, 401)],
    )
    conn.commit()
    conn.close()
    return path


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


ATTACKS = [
    "DELETE FROM pet",
    "UPDATE pet SET age = 0",
    "INSERT INTO owner VALUES (99, 'x')",
    "DROP TABLE pet",
    "CREATE TABLE x (a)",
    "ATTACH DATABASE '/tmp/evil.sqlite' AS evil",
    "PRAGMA writable_schema = ON",
    "VACUUM",
    "SELECT 1; DELETE FROM pet",
    "SELECT load_extension('evil')",
    "SELECT * FROM pet WHERE id IN (SELECT 1); DROP TABLE owner",
]


@pytest.mark.parametrize("sql", ATTACKS)
def test_non_select_is_refused_and_the_file_is_unchanged(toy_db, sql):
    before = sha(toy_db)
    oracle = ExecutionOracle(copies=1)
    v = oracle.check(toy_db, sql, "SELECT COUNT(*) FROM pet")
    assert v.status == "refused" and not v.correct
    with pytest.raises(SQLRefused):
        check_sql(sql)
    assert sha(toy_db) == before


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM pet",
        "UPDATE pet SET age = 0",
        "DROP TABLE pet",
        "ATTACH DATABASE ':memory:' AS m",
        "PRAGMA query_only = 0",
    ],
)
def test_connection_refuses_writes_even_without_the_parser(toy_db, sql):
    before = sha(toy_db)
    conn = connect_readonly(toy_db)
    with pytest.raises(sqlite3.DatabaseError):
        run_query(conn, sql)
    conn.close()
    assert sha(toy_db) == before


def test_selects_unions_and_ctes_are_accepted():
    for sql in [
        "SELECT a FROM t",
        "SELECT a FROM t UNION SELECT b FROM u",
        "SELECT a FROM t EXCEPT SELECT b FROM u",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "(SELECT 1)",
    ]:
        check_sql(sql)


def test_runaway_recursive_query_is_stopped(toy_db):
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    oracle = ExecutionOracle(copies=0, timeout=0.3)
    t0 = time.monotonic()
    v = oracle.check(toy_db, sql, "SELECT COUNT(*) FROM pet")
    assert v.status == "timeout" and time.monotonic() - t0 < 3
    with pytest.raises(SQLTimeout):
        run_query(connect_readonly(toy_db), sql, timeout=0.2)


def test_extract_sql_takes_fenced_block_and_drops_semicolons():
    assert extract_sql("Here:\n```sql\nSELECT 1;\n```\nDone") == "SELECT 1"
    assert extract_sql("  SELECT 2 ;; ") == "SELECT 2"


def test_result_comparison():
    gold = ([(1, "a"), (2, "b")], 2)
    assert results_match(([(2, "b"), (1, "a")], 2), gold, ordered=False)
    assert not results_match(([(2, "b"), (1, "a")], 2), gold, ordered=True)
    assert results_match(([("a", 1), ("b", 2)], 2), gold, ordered=True)  # columns swapped
    assert not results_match(([("a", 1), ("b", 2)], 2), gold, ordered=True, ignore_column_order=False)
    assert not results_match(([(1, "a"), (1, "a")], 2), ([(1, "a"), (2, "b")], 2), ordered=False)  # multiset
    assert results_match(([(0.333333333,)], 1), ([(1 / 3,)], 1), ordered=False)  # rounded floats
    assert results_match(([(2,)], 1), ([(2.0,)], 1), ordered=False)
    assert not results_match(([(0.34,)], 1), ([(1 / 3,)], 1), ordered=False)
    assert not results_match(([], 2), ([], 1), ordered=False)


def test_perturbed_copies_differ_from_the_original_and_leave_it_alone(toy_db):
    before = sha(toy_db)
    copies = perturbed_copies(toy_db, 3)
    assert sha(toy_db) == before
    counts = []
    for p in [toy_db] + copies:
        c = sqlite3.connect(p)
        counts.append(
            (
                c.execute("SELECT COUNT(*) FROM pet").fetchone()[0],
                c.execute("SELECT SUM(age) FROM pet").fetchone()[0],
            )
        )
        c.close()
    assert counts[0] == (400, sum((i % 7) + 0.5 for i in range(1, 401)))
    assert all(n < 400 for n, _ in counts[1:]) and len(set(counts)) == 4
    assert perturbed_copies(toy_db, 3) == copies  # cached


def test_oracle_verdicts_on_toy_db(toy_db):
    o = ExecutionOracle(copies=3)
    gold = "SELECT kind, COUNT(*) FROM pet GROUP BY kind"
    assert o.check(toy_db, "select count(*), kind from pet group by kind", gold).correct
    assert o.check(toy_db, "SELECT kind, COUNT(id) FROM pet GROUP BY kind ORDER BY kind", gold).correct
    assert o.check(toy_db, "SELECT kind, COUNT(*) FROM pet WHERE age > 0 GROUP BY kind", gold).correct
    assert (
        o.check(toy_db, "SELECT kind, COUNT(*) FROM pet WHERE age > 1 GROUP BY kind", gold).status == "wrong"
    )
    assert o.check(toy_db, "SELECT nope FROM pet", gold).status == "error"


def test_coincidence_on_the_original_fails_on_perturbed_copies(toy_db):
    """owner 5 and owner 6 both have 10 pets: equal on the original, not on the copies."""
    o = ExecutionOracle(copies=3)
    gold = "SELECT COUNT(*) FROM pet WHERE owner_id = 5"
    conn = connect_readonly(toy_db)
    assert run_query(conn, gold) == run_query(conn, "SELECT COUNT(*) FROM pet WHERE owner_id = 6")
    wrong = [o.check(toy_db, f"SELECT COUNT(*) FROM pet WHERE owner_id = {i}", gold) for i in range(6, 41)]
    assert all(v.status == "wrong" and ".p" in v.detail for v in wrong)
    assert o.check(toy_db, gold, gold).correct


def test_builtin_coincidence_chinook():
    """Artists with the same album count as ArtistId 12 match on Chinook itself, never on all copies."""
    from rlaif.tasks.text2sql.databases import database_path

    db = database_path("chinook")
    o = ExecutionOracle()
    conn = connect_readonly(db)
    same = [
        r[0]
        for r in conn.execute(
            "SELECT ArtistId FROM Album GROUP BY ArtistId HAVING COUNT(*) = "
            "(SELECT COUNT(*) FROM Album WHERE ArtistId = 12) AND ArtistId != 12"
        )
    ]
    assert len(same) >= 10
    gold = "SELECT COUNT(*) FROM Album WHERE ArtistId = 12"
    verdicts = [o.check(db, f"SELECT COUNT(*) FROM Album WHERE ArtistId = {i}", gold) for i in same]
    assert not any(v.correct for v in verdicts)
    assert all(v.detail.startswith("differs on chinook.p") for v in verdicts)


def test_broken_gold_query_is_reported_not_raised(toy_db):
    v = ExecutionOracle(copies=1).check(toy_db, "SELECT 1", "SELECT nope FROM pet")
    assert v.status == "gold_error" and not v.correct and "nope" in v.detail
