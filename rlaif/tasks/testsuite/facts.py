"""Schema facts the suite builder needs: columns, keys, references, value kinds and natural keys."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

DISTINCT_MIN = 10  # a text column is a natural key when its >= this many values are all distinct
DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- schema facts


@dataclass
class Col:
    name: str
    kind: str  # int | real | text | date | other: what the stored values look like
    notnull: bool
    key: bool  # part of the primary key
    unique: bool  # values must stay unique: declared UNIQUE, the single-column primary key
    natural: bool  # text whose values are all distinct today (names, titles): kept distinct
    ref: tuple[str, str] | None = None  # (parent table, parent column) of a foreign key
    step: float = 1  # smallest step between values: 1 for integers, 0.01 for prices
    time: str = ""  # the time part dates carry in this column (" 00:00:00") or ""
    nulls: bool = False  # holds NULLs today


@dataclass
class Table:
    name: str
    cols: dict[str, Col]  # by lower-case name
    pk: list[str]  # lower-case names
    rowid: bool
    children: list[tuple[str, str, str]]  # (child table, child column, this table's column), lower-case


def decimal_places(value: float) -> int:
    """Digits after the point in a number's shortest repr (1e-05 -> 5, 2.50 -> 1, 3.0 -> 0, inf -> 0)."""
    mantissa, _, exponent = repr(float(value)).lower().partition("e")
    digits = len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0
    return max(0, digits - int(exponent or 0)) if mantissa.lstrip("-").replace(".", "").isdigit() else 0


def _kind(values: list) -> tuple[str, float, str]:
    """(kind, step, time part) of a column from a sample of its values."""
    if not values:
        return "other", 1, ""
    if all(isinstance(v, int) for v in values):
        return "int", 1, ""
    if all(isinstance(v, (int, float)) for v in values):
        decimals = max(decimal_places(v) for v in values)
        return "real", 10.0 ** -min(decimals, 4), ""
    if all(isinstance(v, str) and DATE.match(v) for v in values):
        return "date", 1, DATE.match(values[0]).group(2)
    return ("text" if all(isinstance(v, str) for v in values) else "other"), 1, ""


def _table_facts(conn: sqlite3.Connection, name: str, distinct: bool = True) -> Table:
    q = _q(name)
    info = list(conn.execute(f"PRAGMA table_info({q})"))
    pk = [r[1].lower() for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    unique = {r[1].lower() for r in info if r[5]} if len(pk) == 1 else set()
    for idx in conn.execute(f"PRAGMA index_list({q})"):
        cols = [r[2] for r in conn.execute(f"PRAGMA index_info({_q(idx[1])})")]
        if idx[2] and len(cols) == 1 and cols[0] is not None:
            unique.add(cols[0].lower())
    refs = {
        r[3].lower(): (r[2].lower(), (r[4] or "").lower())
        for r in conn.execute(f"PRAGMA foreign_key_list({q})")
    }
    sample = conn.execute(f"SELECT * FROM {q} LIMIT 200").fetchall()
    texts = [
        r[1] for r in info if distinct and ("CHAR" in r[2].upper() or "TEXT" in r[2].upper() or r[2] == "")
    ]
    counts = (
        conn.execute(
            "SELECT " + ", ".join(f"COUNT({_q(c)}), COUNT(DISTINCT {_q(c)})" for c in texts) + f" FROM {q}"
        ).fetchone()
        if texts
        else ()
    )
    natural = {
        c.lower()
        for i, c in enumerate(texts)
        if counts[2 * i] >= DISTINCT_MIN and counts[2 * i] == counts[2 * i + 1]
    }
    nullable = [r[1] for r in info if not r[3] and not r[5]]
    filled = (
        conn.execute(
            "SELECT COUNT(*), " + ", ".join(f"COUNT({_q(c)})" for c in nullable) + f" FROM {q}"
        ).fetchone()
        if nullable and distinct
        else ()
    )
    has_nulls = {c.lower() for i, c in enumerate(nullable) if filled and filled[i + 1] < filled[0]}
    cols = {}
    for i, r in enumerate(info):
        kind, step, tpart = _kind([row[i] for row in sample if row[i] is not None])
        c = r[1].lower()
        cols[c] = Col(
            r[1],
            kind,
            bool(r[3]),
            bool(r[5]),
            c in unique,
            c in natural and kind in ("text", "date"),
            refs.get(c),
            step,
            tpart,
            c in has_nulls,
        )
    try:
        conn.execute(f"SELECT rowid FROM {q} LIMIT 1").fetchall()
        rowid = True
    except sqlite3.OperationalError:
        rowid = False
    return Table(name, cols, pk, rowid, [])


def schema_facts(conn: sqlite3.Connection, distinct: bool = True) -> dict[str, Table]:
    """Every table's columns, keys and value kinds, by lower-case table name (`distinct`: also find
    the natural keys, a scan of every text column)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    tables = {n.lower(): _table_facts(conn, n, distinct) for n in names}
    for t in tables.values():
        for c, col in t.cols.items():
            if col.ref and col.ref[0] in tables:
                parent = tables[col.ref[0]]
                pcol = col.ref[1] or (parent.pk[0] if len(parent.pk) == 1 else "rowid")
                col.ref = (col.ref[0], pcol)
                parent.children.append((t.name.lower(), c, pcol))
            elif col.ref:
                col.ref = None  # a reference to a table that does not exist constrains nothing
    return tables
