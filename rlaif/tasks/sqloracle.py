"""The Text-to-SQL ground truth: execution match on the database and on perturbed copies of it.

Works on any SQLite database (the built-in ones, Spider's, BIRD's, yours). A predicted query is
correct when it returns the same result as the gold query on the original database *and* on every
perturbed copy, the idea of Zhong et al.'s test-suite accuracy: a wrong query can coincide with the
gold one on one database by luck (`ArtistId = 12` and `ArtistId = 90` both have 3 albums), rarely
on several databases that differ in which rows exist and what values they hold.

1. Only one statement that is a SELECT (or a UNION / INTERSECT / EXCEPT of SELECTs, CTEs allowed) is
   accepted: parsed with sqlglot, every node checked (no DML/DDL/PRAGMA/ATTACH, no file or extension
   functions). Execution is defended twice more: a read-only connection (`mode=ro`) and an SQLite
   authorizer that permits only SELECT, reads, functions and recursive CTEs.
2. A time limit (progress handler) stops runaway queries (recursive CTEs, huge cross joins); at most
   `max_rows` rows are fetched.
3. Results compare as multisets of rows, or as ordered lists when the gold query has a top-level
   ORDER BY; floats are rounded (`digits`); with `ignore_column_order` a permutation of the same
   columns also matches (as Spider's execution evaluation allows).
4. Perturbed copies (`copies`, default 3) are built once per database file into the cache: each
   deletes ~15% of the rows of every table and replaces ~10% of the values of every non-key column
   with another value of the same column (so constants in questions still occur, but counts, sums,
   orders and joins move). Columns whose values are all distinct (names, titles) are shuffled among
   the picked rows instead, so they stay distinct and "group by name" still equals "group by id".
   Primary keys keep their values; foreign keys may dangle, as in real data.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..models import cache_dir

COPIES_VERSION = 2
FORBIDDEN_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
                       "sqlite_offset", "zipfile", "fsdir"}
ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                   getattr(sqlite3, "SQLITE_RECURSIVE", 33)}


class SQLRefused(ValueError):
    """The text is not a single read-only SELECT query."""


class SQLTimeout(RuntimeError):
    """The query ran past its time limit."""


# --------------------------------------------------------------------------- parsing


_FENCE = re.compile(r"```(?:sql|sqlite)?\s*(.*?)```", re.S | re.I)


def extract_sql(text: str) -> str:
    """The SQL in a model's output: a fenced block's content if there is one, stripped of `;`."""
    m = _FENCE.search(text)
    sql = m.group(1) if m else text
    return sql.strip().rstrip(";").strip()


def check_sql(sql: str):
    """Parse `sql` and return its sqlglot tree, or raise SQLRefused saying why."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql, read="sqlite") if t is not None]
    except sqlglot.errors.SqlglotError as e:
        raise SQLRefused(f"not valid SQL: {str(e).splitlines()[0][:200]}") from None
    if len(trees) != 1:
        raise SQLRefused(f"expected exactly one statement, got {len(trees)}")
    tree = trees[0]
    root = tree.this if isinstance(tree, exp.Subquery) else tree
    if not isinstance(root, (exp.Select, exp.SetOperation)):
        raise SQLRefused(f"only SELECT queries are allowed, got {type(root).__name__.upper()}")
    bad = (exp.DML, exp.DDL, exp.Command, exp.Pragma, exp.Attach, exp.Detach, exp.Insert, exp.Update,
           exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Merge)
    for node in tree.walk():
        if isinstance(node, bad):
            raise SQLRefused(f"{type(node).__name__.upper()} is not allowed inside a query")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise SQLRefused(f"function {name}() is not allowed")
    return tree


def is_ordered(tree) -> bool:
    """Whether the query's own result order is meaningful (a top-level ORDER BY)."""
    from sqlglot import exp

    root = tree.this if isinstance(tree, exp.Subquery) else tree
    return root.args.get("order") is not None


# --------------------------------------------------------------------------- execution


def _authorizer(action, *args):
    return sqlite3.SQLITE_OK if action in ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection that can run nothing but reads (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"database not found: {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.set_authorizer(_authorizer)
    return conn


def run_query(conn: sqlite3.Connection, sql: str, timeout: float = 2.0,
              max_rows: int = 100_000) -> tuple[list[tuple], int]:
    """(rows, number of columns) of a checked query, within `timeout` seconds and `max_rows` rows."""
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cur = conn.execute(sql)
        rows: list[tuple] = []
        while batch := cur.fetchmany(1000):
            rows += batch
            if len(rows) > max_rows:
                raise sqlite3.OperationalError(f"more than {max_rows} rows")
        return rows, len(cur.description or ())
    except sqlite3.OperationalError as e:
        if "interrupted" in str(e):
            raise SQLTimeout(f"query stopped after {timeout:g}s") from None
        raise
    finally:
        conn.set_progress_handler(None, 0)


# --------------------------------------------------------------------------- comparison


def normalize(rows: list[tuple], digits: int = 4) -> list[tuple]:
    return [tuple(round(v, digits) + 0.0 if isinstance(v, float) else v for v in r) for r in rows]


def results_match(pred: tuple[list[tuple], int], gold: tuple[list[tuple], int], ordered: bool,
                  ignore_column_order: bool = True, digits: int = 4) -> bool:
    """Same rows (in order when `ordered`), up to a permutation of columns if allowed."""
    (prows, pcols), (grows, gcols) = pred, gold
    if pcols != gcols or len(prows) != len(grows):
        return False
    prows, grows = normalize(prows, digits), normalize(grows, digits)
    target = grows if ordered else Counter(grows)
    perms = itertools.permutations(range(pcols)) if ignore_column_order and pcols <= 4 else [range(pcols)]
    for perm in perms:
        rows = [tuple(r[i] for i in perm) for r in prows] if list(perm) != list(range(pcols)) else prows
        if (rows if ordered else Counter(rows)) == target:
            return True
    return False


# --------------------------------------------------------------------------- perturbed copies


def _perturb(conn: sqlite3.Connection, rng: random.Random, drop: float, change: float) -> None:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    for t in tables:
        q = '"' + t.replace('"', '""') + '"'
        try:
            rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM {q} ORDER BY rowid")]
        except sqlite3.OperationalError:  # WITHOUT ROWID table: left as it is
            continue
        if len(rowids) > 2:
            gone = rng.sample(rowids, int(len(rowids) * drop))
            conn.executemany(f"DELETE FROM {q} WHERE rowid = ?", [(r,) for r in gone])
            rowids = sorted(set(rowids) - set(gone))
        info = list(conn.execute(f"PRAGMA table_info({q})"))
        for col in (r[1] for r in info if not r[5]):  # r[5]: position in the primary key
            c = '"' + col.replace('"', '""') + '"'
            current = dict(conn.execute(f"SELECT rowid, {c} FROM {q}").fetchall())
            values = list(current.values())
            n = int(len(rowids) * change)
            if len(set(values)) < 2 or n < 2:
                continue
            picks = rng.sample(rowids, n)
            present = [v for v in values if v is not None]
            if len(set(present)) == len(present):
                # a natural key (names, titles): shuffle the picked rows' values among themselves,
                # so it stays unique and grouping by it or by the id still agree
                new = [current[r] for r in picks]
                rng.shuffle(new)
                updates = list(zip(new, picks))
            else:
                updates = [(rng.choice(values), r) for r in picks]
            conn.executemany(f"UPDATE OR IGNORE {q} SET {c} = ? WHERE rowid = ?", updates)


def perturbed_copies(db_path: str | Path, n: int = 3, seed: int = 0, drop: float = 0.15,
                     change: float = 0.10) -> list[Path]:
    """`n` perturbed copies of a database, built once into the cache (keyed by file and settings)."""
    db_path = Path(db_path).resolve()
    st = db_path.stat()
    key = hashlib.sha256(f"{db_path}:{st.st_size}:{st.st_mtime_ns}:{seed}:{drop}:{change}:"
                         f"{COPIES_VERSION}".encode()).hexdigest()[:16]
    folder = cache_dir() / "text2sql" / "copies" / f"{db_path.stem}-{key}"
    out = []
    for i in range(n):
        path = folder / f"{db_path.stem}.p{i + 1}.sqlite"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{threading.get_ident()}.tmp")
            src, dst = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True), sqlite3.connect(tmp)
            try:
                src.backup(dst)
                with dst:
                    _perturb(dst, random.Random(f"{seed}:{i}:{db_path.stem}"), drop, change)
            finally:
                src.close()
                dst.close()
            tmp.replace(path)
        out.append(path)
    return out


# --------------------------------------------------------------------------- the oracle


@dataclass
class Verdict:
    correct: bool
    status: str          # correct | wrong | refused | error | timeout | gold_error
    detail: str = ""

    @property
    def valid(self) -> bool:
        """The prediction ran (right or wrong)."""
        return self.status in ("correct", "wrong")


@dataclass
class ExecutionOracle:
    """Execution match of predicted against gold SQL on a database and its perturbed copies."""

    copies: int = 3
    timeout: float = 2.0
    gold_timeout: float = 30.0  # gold queries are trusted; BIRD's can take seconds
    digits: int = 4
    ignore_column_order: bool = True
    max_rows: int = 100_000
    seed: int = 0
    _conns: dict = field(default_factory=dict, repr=False)
    _gold: dict = field(default_factory=dict, repr=False)
    _dbs: dict = field(default_factory=dict, repr=False)

    def databases(self, db_path: str | Path) -> list[Path]:
        """The original database followed by its perturbed copies."""
        key = str(db_path)
        if key not in self._dbs:
            self._dbs[key] = [Path(db_path)] + perturbed_copies(db_path, self.copies, self.seed)
        return self._dbs[key]

    def _conn(self, path: Path) -> sqlite3.Connection:
        key = (threading.get_ident(), str(path))
        if key not in self._conns:
            self._conns[key] = connect_readonly(path)
        return self._conns[key]

    def execute(self, path: Path, sql: str, timeout: float | None = None) -> tuple[list[tuple], int]:
        return run_query(self._conn(path), sql, timeout or self.timeout, self.max_rows)

    def gold(self, db_path: str | Path, gold_sql: str) -> tuple[bool, list]:
        """(ordered, [result on each database]) of a gold query, cached."""
        key = (str(db_path), gold_sql)
        if key not in self._gold:
            tree = check_sql(gold_sql)
            self._gold[key] = (is_ordered(tree), [self.execute(p, gold_sql, self.gold_timeout)
                                                  for p in self.databases(db_path)])
        return self._gold[key]

    def check(self, db_path: str | Path, predicted: str, gold_sql: str) -> Verdict:
        """Whether `predicted` (raw model output is fine) returns the gold result everywhere."""
        sql = extract_sql(predicted)
        try:
            check_sql(sql)
        except SQLRefused as e:
            return Verdict(False, "refused", str(e))
        try:
            ordered, gold = self.gold(db_path, gold_sql)
        except (SQLRefused, SQLTimeout, sqlite3.Error) as e:  # a broken gold query judges nothing
            return Verdict(False, "gold_error", f"{type(e).__name__}: {e}")
        for path, g in zip(self.databases(db_path), gold):
            try:
                got = self.execute(path, sql)
            except SQLTimeout as e:
                return Verdict(False, "timeout", str(e))
            except sqlite3.Error as e:
                return Verdict(False, "error", f"{type(e).__name__}: {e}")
            if not results_match(got, g, ordered, self.ignore_column_order, self.digits):
                return Verdict(False, "wrong", f"differs on {path.name}")
        return Verdict(True, "correct")

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()
