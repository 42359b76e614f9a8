"""Suites: trying variants on a copy of the database, selection and merging, the disk cache, building,
and sampled bases for huge databases (package docstring, 4-7)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...core.models import cache_dir
from ..sqloracle import (
    GoldRun,
    SQLTimeout,
    _authorizer,
    check_sql,
    is_ordered,
    results_match,
    run_gold,
    run_query,
)
from .edits import Editor, Variant, candidates, witness_rows
from .facts import Table, _q, schema_facts
from .neighbors import Neighbor, neighbors, scopes

SUITE_VERSION = 1
PATIENCE = 24  # candidates in a row that tell nothing new before the search stops


# --------------------------------------------------------------------------- trying variants


class Workbench:
    """A writable in-memory copy of the base database: apply a variant, run the gold and the neighbors on
    it, roll it back."""

    def __init__(self, base: Path, oracle):
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        src = sqlite3.connect(f"{Path(base).resolve().as_uri()}?mode=ro", uri=True)
        try:
            src.backup(self.conn)
        finally:
            src.close()
        self.o = oracle

    def close(self) -> None:
        self.conn.close()

    def gold(self, sql: str, tree) -> GoldRun:
        return run_gold(self.conn, sql, tree, self.o.gold_timeout, self.o.max_rows, self.o.digits)

    def differs(self, sql: str, gold: GoldRun, ordered: bool, conn=None) -> bool:
        """Whether a query's result on this database (or `conn`) differs from the gold's (errors do)."""
        try:
            got = run_query(conn or self.conn, sql, self.o.timeout, self.o.max_rows)
        except (sqlite3.Error, SQLTimeout):
            return True
        return not results_match(
            got, gold.result, ordered, self.o.ignore_column_order, self.o.digits, gold.ties
        )

    def trial(
        self, ops: list, gold_sql: str, tree, base: GoldRun, nbs: dict[int, Neighbor]
    ) -> set[int] | None:
        """The neighbors a variant tells apart, or None when the gold is not well defined on it."""
        self.conn.execute("SAVEPOINT trial")
        try:
            for sql, params in ops:
                self.conn.execute(sql, params)
            g = self.gold(gold_sql, tree)
            if not g.informative or g.cut_tie or g.tied_rows > base.tied_rows:
                return None
            ordered = is_ordered(tree)
            return {i for i, nb in nbs.items() if self.differs(nb.sql, g, ordered)}
        except (sqlite3.Error, SQLTimeout):
            return None
        finally:
            self.conn.execute("ROLLBACK TO trial")
            self.conn.execute("RELEASE trial")


def _screen(
    oracle,
    wb: Workbench,
    db_path: Path,
    gold_sql: str,
    tree,
    base: GoldRun,
    nbs: list[Neighbor],
    sampled: bool,
) -> tuple[dict[int, Neighbor], int]:
    """The neighbors still to tell apart after the base database and the perturbed copies, and how many
    those told apart. Neighbors that fail on the base database are no near misses and are dropped."""
    ordered, alive, told = is_ordered(tree), {}, 0
    for i, nb in enumerate(nbs):
        try:
            got = run_query(wb.conn, nb.sql, oracle.timeout, oracle.max_rows)
        except (sqlite3.Error, SQLTimeout):
            continue
        same = results_match(got, base.result, ordered, oracle.ignore_column_order, oracle.digits, base.ties)
        if same or sampled:  # a sample is no suite database unless chosen: its differences count later
            alive[i] = nb
        else:
            told += 1
    if sampled or not alive:
        return alive, told
    _, runs = oracle._gold_runs(db_path, gold_sql)
    for path, g in zip(oracle.databases(db_path)[1:], runs[1:]):
        if g.cut_tie:
            continue
        for i in [i for i in alive if wb.differs(alive[i].sql, g, ordered, oracle._conn(path))]:
            del alive[i]
            told += 1
    return alive, told


def _select(
    wb: Workbench,
    cands: list[Variant],
    alive: dict[int, Neighbor],
    gold_sql: str,
    tree,
    base: GoldRun,
    max_variants: int,
    deadline: float,
) -> tuple[list[tuple[Variant, set[int]]], set[int]]:
    """Useful candidates in trial order, then greedy set cover (Zhong et al.) down to `max_variants`."""
    open_, useful, misses = set(alive), [], 0
    for cand in cands:
        if not open_ or misses >= PATIENCE or time.monotonic() > deadline:
            break
        hits = wb.trial(cand.ops, gold_sql, tree, base, {i: alive[i] for i in open_})
        if hits:
            useful.append([cand, hits])
            open_ -= hits
            misses = 0
        else:
            misses += 1
    covered = set(alive) - open_
    for u in useful:  # each useful candidate against everything covered, for a true set cover
        u[1] = wb.trial(u[0].ops, gold_sql, tree, base, {i: alive[i] for i in covered}) or u[1]
    chosen, left = [], set(covered)
    while left and useful and len(chosen) < max_variants:
        best = max(useful, key=lambda u: len(u[1] & left))
        if not best[1] & left:
            break
        chosen.append((best[0], best[1] & covered))
        left -= best[1]
    return chosen, open_ | left


def _merge(
    wb: Workbench,
    chosen: list[tuple[Variant, set[int]]],
    alive: dict[int, Neighbor],
    gold_sql: str,
    tree,
    base: GoldRun,
    hedge: Variant | None,
    max_variants: int,
) -> list[Variant]:
    """Fewer databases: a variant joins an earlier one when the two edits together still tell apart
    every neighbor either did. The hedge joins the last one, or comes alone if there is room."""
    groups: list[list] = []
    if hedge is not None and wb.trial(hedge.ops, gold_sql, tree, base, {}) is not None:
        chosen = list(chosen) + [(hedge, set())]
    for cand, hits in chosen:
        for grp in groups:
            ops, need = grp[0].ops + cand.ops, grp[1] | hits
            got = wb.trial(ops, gold_sql, tree, base, {i: alive[i] for i in need})
            if got is not None and got >= need:
                grp[0], grp[1] = Variant("merged", f"{grp[0].note}; {cand.note}", ops), need
                break
        else:
            if cand is not hedge or len(groups) < max_variants:
                groups.append([cand, set(hits)])
    return [g[0] for g in groups]


# --------------------------------------------------------------------------- suites on disk


@dataclass
class Suite:
    """The test suite of one gold query on one database (package docstring, 5-6)."""

    db_hash: str
    gold_sql: str
    variants: list[Variant]
    base: str = ""  # file name of the sampled sub-database (huge databases), else ""
    neighbors: int = 0  # neighbor queries that run on the database
    told_by_database: int = 0  # ... told apart by the database itself or a perturbed copy
    told_by_variants: int = 0  # ... told apart only by the suite's variants
    uncovered: list[str] = field(default_factory=list)  # ... told apart by nothing (often equivalents)
    seconds: float = 0.0  # build time
    version: int = SUITE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> "Suite":
        d = json.loads(text)
        if d.get("version") != SUITE_VERSION:
            raise ValueError("old suite version")
        d["variants"] = [Variant(**v) for v in d["variants"]]
        return cls(**d)


_HASHES: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def db_hash(path: Path, whole_below: int = 64 << 20) -> str:
    """sha256 of the database file (of its size and 16 evenly spread MiB beyond `whole_below` bytes),
    computed once per process for a given path, size and mtime."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    h = hashlib.sha256(str(st.st_size).encode())
    with open(path, "rb") as f:
        if st.st_size <= whole_below:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        else:
            for i in range(16):
                f.seek(st.st_size * i // 16)
                h.update(f.read(1 << 20))
    with _HASH_LOCK:
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def suite_folder(db_path: Path) -> Path:
    return (
        cache_dir() / "text2sql" / "suites" / f"v{SUITE_VERSION}" / f"{db_path.stem}-{db_hash(db_path)[:16]}"
    )


def suite_file(oracle, db_path: Path, gold_sql: str) -> Path:
    g = hashlib.sha256(gold_sql.encode()).hexdigest()[:16]
    return suite_folder(db_path) / f"{g}-c{oracle.copies}s{oracle.seed}m{oracle.max_variants}.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def load_or_build(oracle, db_path: Path, gold_sql: str) -> Suite:
    """The suite from the disk cache, or built now and cached."""
    path = suite_file(oracle, db_path, gold_sql)
    if path.exists():
        try:
            return Suite.from_json(path.read_text())
        except (ValueError, KeyError, TypeError):
            pass  # unreadable or from an older version: build it again
    suite = build_suite(oracle, db_path, gold_sql)
    _write_atomic(path, suite.to_json())
    return suite


def suite_base(db_path: Path, suite: Suite) -> Path:
    """The database a suite's edits apply to: the database itself, or its sampled sub-database."""
    return suite_folder(db_path) / suite.base if suite.base else Path(db_path)


def open_variant(db_path: Path, suite: Suite, i: int) -> sqlite3.Connection:
    """Suite database `i` on its own in memory, read-only (for a look at it; the oracle applies the
    edits to a shared copy and rolls them back instead)."""
    base = suite_base(db_path, suite)
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    src = sqlite3.connect(f"{base.resolve().as_uri()}?mode=ro", uri=True)
    try:
        src.backup(conn)
    finally:
        src.close()
    for sql, params in suite.variants[i].ops:
        conn.execute(sql, params)
    conn.commit()
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorizer)
    return conn


# --------------------------------------------------------------------------- building


def build_suite(oracle, db_path: Path, gold_sql: str) -> Suite:
    """Neighbors, candidate variants, selection, merge (package docstring, 1-5)."""
    t0 = time.monotonic()
    tree = check_sql(gold_sql)
    db_path = Path(db_path)
    sampled = db_path.stat().st_size > oracle.max_db_bytes
    base = sample_database(oracle, db_path, gold_sql, tree) if sampled else db_path
    wb = Workbench(base, oracle)
    try:
        schema = schema_facts(wb.conn)
        g0 = wb.gold(gold_sql, tree)
        nbs = neighbors(tree, schema)
        alive, told = _screen(oracle, wb, db_path, gold_sql, tree, g0, nbs, sampled)
        cands, hedge = candidates(
            Editor(wb.conn, schema, random.Random(f"{oracle.seed}:{gold_sql}")), tree, oracle.timeout
        )
        if sampled:
            cands.insert(0, Variant("sample", "the sampled sub-database"))
        chosen, open_ = _select(
            wb, cands, alive, gold_sql, tree, g0, oracle.max_variants, t0 + oracle.suite_budget
        )
        variants = _merge(wb, chosen, alive, gold_sql, tree, g0, hedge, oracle.max_variants)
    finally:
        wb.close()
    return Suite(
        db_hash(db_path),
        gold_sql,
        variants,
        base.name if sampled else "",
        told + len(alive),
        told,
        len(alive) - len(open_),
        sorted(alive[i].sql for i in open_),
        round(time.monotonic() - t0, 3),
    )


def build_all(oracle, pairs, log=print) -> dict:
    """Build (or load) the suite of every distinct (database, gold query) pair; a summary."""
    seen, built, seconds, variants, uncovered = set(), 0, [], 0, 0
    pairs = list(dict.fromkeys((str(d), g) for d, g in pairs))
    for n, (db, gold) in enumerate(pairs, 1):
        fresh = not suite_file(oracle, Path(db), gold).exists()
        suite = oracle.suite(db, gold)
        built += fresh
        seconds += [suite.seconds] if fresh else []
        variants += len(suite.variants)
        uncovered += len(suite.uncovered)
        seen.add((db, gold))
        if log and (n % 50 == 0 or n == len(pairs)):
            log(f"  suites: {n}/{len(pairs)} ({built} built, {n - built} cached)")
    return {
        "golds": len(seen),
        "built": built,
        "cached": len(seen) - built,
        "build_seconds_mean": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "variants_per_gold": round(variants / max(1, len(seen)), 2),
        "uncovered_neighbors_per_gold": round(uncovered / max(1, len(seen)), 2),
    }


# --------------------------------------------------------------------------- huge databases


def _keep_rows(
    conn: sqlite3.Connection, schema: dict[str, Table], tree, rows: int, rng: random.Random, timeout: float
) -> dict[str, set]:
    """Rowids to keep per table: the gold's witnesses, a random sample, and the parents they reference."""
    keep: dict[str, set] = {t: set() for t, tab in schema.items() if tab.rowid}
    for sc in scopes(tree, schema):
        for tup in witness_rows(conn, sc, schema, timeout):
            for alias, r in tup.items():
                if r is not None:
                    keep[sc.tables[alias]].add(r)
    for t in keep:
        top = conn.execute(f"SELECT MAX(rowid) FROM {_q(schema[t].name)}").fetchone()[0] or 0
        picks = sorted({rng.randint(1, top) for _ in range(rows)}) if top else []
        for i in range(0, len(picks), 500):
            chunk = picks[i : i + 500]
            keep[t] |= {
                r[0]
                for r in conn.execute(
                    f"SELECT rowid FROM {_q(schema[t].name)} WHERE rowid IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            }
    for _ in range(8):  # parents of kept rows, until nothing new
        added = 0
        for t, tab in schema.items():
            for c, col in tab.cols.items():
                if not col.ref or t not in keep or col.ref[0] not in keep:
                    continue
                pt, pc = col.ref
                ids = sorted(keep[t])
                for i in range(0, len(ids), 500):
                    chunk = ids[i : i + 500]
                    new = {
                        r[0]
                        for r in conn.execute(
                            f"SELECT p.rowid FROM {_q(schema[pt].name)} AS p WHERE p.{_q(pc)} IN (SELECT "
                            f"{_q(col.name)} FROM {_q(tab.name)} "
                            f"WHERE rowid IN ({','.join('?' * len(chunk))}))",
                            chunk,
                        )
                    }
                    added += len(new - keep[pt])
                    keep[pt] |= new
        if not added:
            break
    return keep


def sample_database(oracle, db_path: Path, gold_sql: str, tree) -> Path:
    """A sub-database of a huge database for one gold query, built once into the suite folder."""
    g = hashlib.sha256(gold_sql.encode()).hexdigest()[:16]
    out = suite_folder(db_path) / f"{g}-sample{oracle.sample_rows}.sqlite"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    src = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        schema = schema_facts(src, distinct=False)
        keep = _keep_rows(
            src,
            schema,
            tree,
            oracle.sample_rows,
            random.Random(f"{oracle.seed}:{gold_sql}"),
            oracle.gold_timeout,
        )
        _copy_rows(src, dst, schema, keep, oracle.sample_rows)
    finally:
        src.close()
        dst.close()
    tmp.replace(out)
    return out


def _copy_rows(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    schema: dict[str, Table],
    keep: dict[str, set],
    rows: int,
) -> None:
    ddl = src.execute(
        "SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
    ).fetchall()
    for kind, sql in ddl:
        if kind == "table":
            dst.execute(sql)
    for t, tab in schema.items():
        cols = [c.name for c in tab.cols.values()]
        marks = ", ".join("?" * (len(cols) + tab.rowid))
        names = ", ".join((["rowid"] if tab.rowid else []) + [_q(c) for c in cols])
        if tab.rowid:
            ids = sorted(keep.get(t, ()))
            data = [
                r
                for i in range(0, len(ids), 500)
                for r in src.execute(
                    f"SELECT rowid, {', '.join(_q(c) for c in cols)} FROM {_q(tab.name)} WHERE rowid IN "
                    f"({','.join('?' * len(ids[i : i + 500]))})",
                    ids[i : i + 500],
                )
            ]
        else:
            data = src.execute(
                f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(tab.name)} LIMIT {rows}"
            ).fetchall()
        dst.executemany(f"INSERT INTO {_q(tab.name)} ({names}) VALUES ({marks})", data)
    for kind, sql in ddl:
        if kind in ("index", "view"):
            dst.execute(sql)
    dst.commit()
