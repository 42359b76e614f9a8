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
   deletes ~15% of the rows of every table, among the rows no other row references (so a foreign key
   that held still holds, and joining a parent on its key stays the same as an IN over it; keys that
   dangle in the original stay as they were), and replaces ~10% of the values of every non-key column
   with another value of the same column (so constants in questions still occur, but counts, sums,
   orders and joins move). Columns whose values are all distinct (names, titles) are shuffled among
   the picked rows instead, so they stay distinct and "group by name" still equals "group by id".
5. Ties: the ORDER BY keys of an ordered gold are read with its rows, so rows that tie may come in any
   order; a copy whose LIMIT cut falls inside a tie (the top k is ambiguous there) judges nothing.
6. Test suites (`testsuite/`, Zhong et al.'s distilled suites, targeted): a query that matches on the
   original and the copies must also match on a few small edits of the original built for this gold
   query (values at its literals, NULLs, duplicates, rows without children, ...) that tell it from its
   near misses. They are built lazily, only for queries that got this far, and cached on disk; a query
   identical to the gold is correct without running. A wrong verdict names the database (`Verdict.database`).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import sqlite3
import threading
import time
import warnings
from collections import Counter, OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.models import cache_dir

COPIES_VERSION = 3
FORBIDDEN_FUNCTIONS = {
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "sqlite_offset",
    "zipfile",
    "fsdir",
}
ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


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
    bad = (
        exp.DML,
        exp.DDL,
        exp.Command,
        exp.Pragma,
        exp.Attach,
        exp.Detach,
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.Merge,
    )
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


def run_query(
    conn: sqlite3.Connection, sql: str, timeout: float = 2.0, max_rows: int = 100_000
) -> tuple[list[tuple], int]:
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


def results_match(
    pred: tuple[list[tuple], int],
    gold: tuple[list[tuple], int],
    ordered: bool,
    ignore_column_order: bool = True,
    digits: int = 4,
    ties: list[int] | None = None,
) -> bool:
    """Same rows (in order when `ordered`), up to a permutation of columns if allowed. `ties` gives
    each gold row's ORDER BY tie group: rows of one group may come in any order."""
    (prows, pcols), (grows, gcols) = pred, gold
    if pcols != gcols or len(prows) != len(grows):
        return False
    prows, grows = normalize(prows, digits), normalize(grows, digits)

    def arrange(rows):
        if not ordered:
            return Counter(rows)
        return rows if ties is None else Counter(zip(ties, rows))

    target = arrange(grows)
    perms = itertools.permutations(range(pcols)) if ignore_column_order and pcols <= 4 else [range(pcols)]
    for perm in perms:
        rows = [tuple(r[i] for i in perm) for r in prows] if list(perm) != list(range(pcols)) else prows
        if arrange(rows) == target:
            return True
    return False


# --------------------------------------------------------------------------- gold results


@dataclass
class GoldRun:
    """A gold query's result on one database, with what an ordered comparison needs."""

    rows: list[tuple]
    ncols: int
    ties: list[int] | None = None  # ORDER BY tie group of each row (None: compare in strict order)
    cut_tie: bool = False  # the LIMIT cut falls inside a tie: which rows are the top k is ambiguous

    @property
    def result(self) -> tuple[list[tuple], int]:
        return self.rows, self.ncols

    @property
    def tied_rows(self) -> int:
        """Rows that share their tie group with an earlier row."""
        return 0 if self.ties is None else len(self.ties) - len(set(self.ties))

    @property
    def informative(self) -> bool:
        """Non-empty and not all NULL (the built-in questions' rule for a usable gold result)."""
        return bool(self.rows) and any(v is not None for r in self.rows for v in r)


def _output_position(key, outs) -> int | None:
    """Index of an ORDER BY key among the output expressions (by ordinal, alias or expression)."""
    from sqlglot import exp

    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        i = int(key.this) - 1
        return i if 0 <= i < len(outs) else None
    for i, o in enumerate(outs):
        inner = o.this if isinstance(o, exp.Alias) else o
        if o == key or inner == key:
            return i
        if isinstance(key, exp.Column) and not key.table and key.name and key.name == o.alias_or_name:
            return i
    return None


def order_probe(tree):
    """For a query with a top-level ORDER BY: (probe SQL, key positions, number of appended keys,
    LIMIT, OFFSET), where the probe appends the keys that are not output columns and fetches one row
    past the LIMIT; None when the keys cannot be read (a DISTINCT or compound query ordered by a
    non-output expression)."""
    from sqlglot import exp

    root = (tree.this if isinstance(tree, exp.Subquery) else tree).copy()
    order = root.args.get("order")
    if order is None:
        return None
    outs, extra, keys = root.selects, [], []
    for o in order.expressions:
        pos = _output_position(o.this, outs)
        if pos is None:
            if not isinstance(root, exp.Select) or root.args.get("distinct"):
                return None
            extra.append(o.this.copy())
            pos = -len(extra)  # -j: the j-th appended key
        keys.append(pos)
    if extra:
        root = root.select(*extra, append=True)
    k, off = _int_arg(root.args.get("limit")), _int_arg(root.args.get("offset"))
    if (
        root.args.get("limit") is not None
        and k is None
        or root.args.get("offset") is not None
        and off is None
    ):
        return None
    if k is not None:
        root.set("limit", exp.Limit(expression=exp.Literal.number(k + (off or 0) + 1)))
        root.set("offset", None)
    return root.sql(dialect="sqlite"), keys, len(extra), k, off or 0


def _int_arg(node) -> int | None:
    from sqlglot import exp

    if node is None:
        return None
    e = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(e, exp.Literal) and not e.is_string and e.this.isdigit():
        return int(e.this)
    return None


def run_gold(
    conn: sqlite3.Connection,
    sql: str,
    tree=None,
    timeout: float = 30.0,
    max_rows: int = 100_000,
    digits: int = 4,
) -> GoldRun:
    """Run a gold query; for an ordered one, also its tie groups and whether its LIMIT cut is ambiguous."""
    tree = tree if tree is not None else check_sql(sql)
    probe = order_probe(tree) if is_ordered(tree) else None
    if probe is None:
        return GoldRun(*run_query(conn, sql, timeout, max_rows))
    psql, keys, n_extra, k, off = probe
    try:
        rows, ncols = run_query(conn, psql, timeout, max_rows)
    except sqlite3.Error:  # the probe is a rewrite; the gold itself decides what an error is
        return GoldRun(*run_query(conn, sql, timeout, max_rows))
    width = ncols - n_extra
    key = lambda r: normalize([tuple(r[p] if p >= 0 else r[width - p - 1] for p in keys)], digits)[0]  # noqa: E731
    window = rows[off : off + k] if k is not None else rows[off:]
    cut = (
        bool(window)
        and k is not None
        and (
            (len(rows) > off + k and key(rows[off + k - 1]) == key(rows[off + k]))
            or (off > 0 and len(rows) > off and key(rows[off - 1]) == key(rows[off]))
        )
    )
    ties, last = [], object()
    for r in window:
        ties.append(len(ties) if key(r) != last else ties[-1])
        last = key(r)
    return GoldRun([r[:width] for r in window], width, ties, cut)


# --------------------------------------------------------------------------- perturbed copies


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _references(conn: sqlite3.Connection, tables: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Parent table (lower case) -> [(child table, child column, parent column)] of the foreign keys."""
    out: dict[str, list] = {}
    for t in tables:
        for r in conn.execute(f"PRAGMA foreign_key_list({_q(t)})"):
            to = r[4]
            if to is None:  # REFERENCES parent without a column: its primary key
                pk = [x[1] for x in conn.execute(f"PRAGMA table_info({_q(r[2])})") if x[5]]
                to = pk[0] if len(pk) == 1 else None
            if to is not None:
                out.setdefault(r[2].lower(), []).append((t, r[3], to))
    return out


def _referenced(conn: sqlite3.Connection, table: str, refs: dict) -> set:
    """Rowids of the rows of `table` that some row references."""
    out: set = set()
    for child, frm, to in refs.get(table.lower(), []):
        out |= {
            r[0]
            for r in conn.execute(
                f"SELECT rowid FROM {_q(table)} WHERE {_q(to)} IN (SELECT {_q(frm)} FROM {_q(child)})"
            )
        }
    return out


def _perturb(conn: sqlite3.Connection, rng: random.Random, drop: float, change: float) -> None:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    refs = _references(conn, tables)
    for t in tables:
        q = '"' + t.replace('"', '""') + '"'
        try:
            rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM {q} ORDER BY rowid")]
        except sqlite3.OperationalError:  # WITHOUT ROWID table: left as it is
            continue
        if len(rowids) > 2:
            free = sorted(set(rowids) - _referenced(conn, t, refs))
            gone = rng.sample(free, min(len(free), int(len(rowids) * drop)))
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


def perturbed_copies(
    db_path: str | Path, n: int = 3, seed: int = 0, drop: float = 0.15, change: float = 0.10
) -> list[Path]:
    """`n` perturbed copies of a database, built once into the cache (keyed by file and settings)."""
    db_path = Path(db_path).resolve()
    st = db_path.stat()
    key = hashlib.sha256(
        f"{db_path}:{st.st_size}:{st.st_mtime_ns}:{seed}:{drop}:{change}:{COPIES_VERSION}".encode()
    ).hexdigest()[:16]
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
    status: str  # correct | wrong | refused | error | timeout | gold_error
    detail: str = ""
    database: str = ""  # the database that told a wrong query apart: a file name or NAME.suiteK

    @property
    def valid(self) -> bool:
        """The prediction ran (right or wrong)."""
        return self.status in ("correct", "wrong")


@contextmanager
def edited(conn: sqlite3.Connection, ops: list):
    """`conn`'s database with row edits applied, read-only (query_only and the authorizer) until the
    block ends, then rolled back. `conn` must be in autocommit mode (isolation_level=None)."""
    conn.set_authorizer(None)
    conn.execute("SAVEPOINT variant")
    try:
        try:
            for sql, params in ops:
                conn.execute(sql, params)
        except sqlite3.Error:  # edits that no longer apply: this database judges nothing
            yield None
            return
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_authorizer)
        yield conn
    finally:
        conn.set_authorizer(None)
        conn.execute("PRAGMA query_only = OFF")
        conn.execute("ROLLBACK TO variant")
        conn.execute("RELEASE variant")


def _same_text(sql: str, gold_sql: str) -> bool:
    """The very text of the gold query (only surrounding blanks and `;` aside: spaces inside a string
    literal matter, so no other normalization)."""
    return sql == extract_sql(gold_sql)


@dataclass
class ExecutionOracle:
    """Execution match of predicted against gold SQL on a database, its perturbed copies and, with
    `suites`, the gold query's test suite (module docstring, 6; `testsuite/`)."""

    copies: int = 3
    timeout: float = 2.0
    gold_timeout: float = 30.0  # gold queries are trusted; BIRD's can take seconds
    digits: int = 4
    ignore_column_order: bool = True
    max_rows: int = 100_000
    seed: int = 0
    suites: bool = False  # also check on the gold's test suite (the text2sql task turns this on)
    max_variants: int = 4  # suite databases per gold query, at most
    suite_budget: float = 20.0  # seconds spent building one suite, at most
    max_db_bytes: int = 64 << 20  # larger databases get suites on a sampled sub-database
    sample_rows: int = 2000  # rows per table in that sample (plus the gold's rows and their parents)
    variant_cache: int = 4  # base databases kept in memory per thread for the suites
    _conns: dict = field(default_factory=dict, repr=False)
    _gold: dict = field(default_factory=dict, repr=False)
    _dbs: dict = field(default_factory=dict, repr=False)
    _suites: dict = field(default_factory=dict, repr=False)
    _variants: dict = field(default_factory=dict, repr=False)
    _variant_gold: dict = field(default_factory=dict, repr=False)

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

    def _gold_runs(self, db_path: str | Path, gold_sql: str) -> tuple[bool, list[GoldRun]]:
        key = (str(db_path), gold_sql)
        if key not in self._gold:
            tree = check_sql(gold_sql)
            self._gold[key] = (
                is_ordered(tree),
                [
                    run_gold(self._conn(p), gold_sql, tree, self.gold_timeout, self.max_rows, self.digits)
                    for p in self.databases(db_path)
                ],
            )
        return self._gold[key]

    def gold(self, db_path: str | Path, gold_sql: str) -> tuple[bool, list]:
        """(ordered, [(rows, columns) on each database]) of a gold query, cached."""
        ordered, runs = self._gold_runs(db_path, gold_sql)
        return ordered, [r.result for r in runs]

    def suite(self, db_path: str | Path, gold_sql: str):
        """The gold query's test suite (`testsuite.Suite`): from memory, the disk cache, or built now."""
        from .testsuite import Suite, load_or_build

        key = (str(db_path), gold_sql)
        if key not in self._suites:
            try:
                self._suites[key] = load_or_build(self, Path(db_path), gold_sql)
            except Exception as e:  # noqa: BLE001 - a reward must not crash a run: judge without the suite
                warnings.warn(
                    f"no test suite for {gold_sql[:80]!r} on {Path(db_path).name}: {type(e).__name__}: {e}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._suites[key] = Suite("", gold_sql, [])
        return self._suites[key]

    def _base(self, path: Path) -> sqlite3.Connection:
        """A writable in-memory copy of a suite's base database, one per thread (a few kept)."""
        lru = self._variants.setdefault(threading.get_ident(), OrderedDict())
        key = str(path)
        if key in lru:
            lru.move_to_end(key)
            return lru[key]
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            src.backup(conn)
        finally:
            src.close()
        lru[key] = conn
        while len(lru) > self.variant_cache:
            lru.popitem(last=False)[1].close()
        return conn

    def _suite_databases(self, db_path: str | Path, gold_sql: str):
        """(name, note, connection, gold run) of each suite database: its edits applied to the base copy
        while the caller runs queries on it (read-only), rolled back when it asks for the next."""
        from .testsuite import suite_base

        suite = self.suite(db_path, gold_sql)
        if not suite.variants:
            return
        conn = self._base(suite_base(Path(db_path), suite))
        for i, variant in enumerate(suite.variants):
            key = (suite.db_hash, gold_sql, i)
            with edited(conn, variant.ops) as db:
                if db is None:
                    continue
                if key not in self._variant_gold:
                    try:
                        self._variant_gold[key] = run_gold(
                            db, gold_sql, None, self.gold_timeout, self.max_rows, self.digits
                        )
                    except (sqlite3.Error, SQLTimeout):
                        self._variant_gold[key] = GoldRun([], 0)  # not informative: skipped
                yield f"{Path(db_path).stem}.suite{i + 1}", variant.note, db, self._variant_gold[key]

    def _judge(
        self, conn: sqlite3.Connection, sql: str, gold: GoldRun, ordered: bool, name: str, note: str = ""
    ) -> Verdict | None:
        """None when `sql` returns the gold result on this database, else the verdict naming it."""
        try:
            got = run_query(conn, sql, self.timeout, self.max_rows)
        except SQLTimeout as e:
            return Verdict(False, "timeout", str(e), name)
        except sqlite3.Error as e:
            return Verdict(False, "error", f"{type(e).__name__}: {e}", name)
        if results_match(got, gold.result, ordered, self.ignore_column_order, self.digits, gold.ties):
            return None
        return Verdict(False, "wrong", f"differs on {name}" + (f" ({note})" if note else ""), name)

    def check(self, db_path: str | Path, predicted: str, gold_sql: str) -> Verdict:
        """Whether `predicted` (raw model output is fine) returns the gold result everywhere."""
        sql = extract_sql(predicted)
        try:
            check_sql(sql)
        except SQLRefused as e:
            return Verdict(False, "refused", str(e))
        try:
            ordered, gold = self._gold_runs(db_path, gold_sql)
        except (SQLRefused, SQLTimeout, sqlite3.Error) as e:  # a broken gold query judges nothing
            return Verdict(False, "gold_error", f"{type(e).__name__}: {e}")
        if _same_text(sql, gold_sql):
            return Verdict(True, "correct", "the gold query itself")
        for i, (path, g) in enumerate(zip(self.databases(db_path), gold)):
            if i and g.cut_tie:  # the copy made the gold's top k ambiguous: it judges nothing
                continue
            if (v := self._judge(self._conn(path), sql, g, ordered, path.name)) is not None:
                return v
        if self.suites:
            variants = self._suite_databases(db_path, gold_sql)
            try:
                for name, note, conn, g in variants:
                    if (
                        g.informative
                        and not g.cut_tie
                        and (v := self._judge(conn, sql, g, ordered, name, note))
                    ):
                        return v
            finally:
                variants.close()  # rolls the edits back now, not when the generator is collected
        return Verdict(True, "correct")

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()
        for lru in self._variants.values():
            for c in lru.values():
                c.close()
        self._variants.clear()
