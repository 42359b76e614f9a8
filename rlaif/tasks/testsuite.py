"""Distilled test suites: per gold query, a few small edits of the database that tell it from its near misses.

After Zhong, Yu & Klein, "Semantic Evaluation for Text-to-SQL with Distilled Test Suites" (EMNLP 2020,
https://arxiv.org/abs/2010.02840), the official metric of Spider/SParC/CoSQL, with targeted edits of the
real database instead of many random ones:

1. Neighbor queries: small semantic mutations of the gold made with sqlglot (comparison operators,
   literals shifted by the smallest step, DISTINCT, COUNT(*)/COUNT(col)/COUNT(DISTINCT col), INNER/LEFT
   JOIN, one WHERE/HAVING conjunct dropped, another grouping/ordering column, LIKE pattern variants,
   LIMIT k±1, ASC/DESC, MIN/MAX, AVG/SUM, IS [NOT] NULL, [NOT] IN). The ones the database itself or a
   perturbed copy already tells from the gold need nothing more; one that errors there is no near miss.
2. Candidate variants, each a few row edits aimed at the gold's *witness* rows (rows of each FROM clause
   that reach its result): values at and around every literal (±1, ±0.01, the day before/after a date,
   in the column's own format), text that matches one LIKE variant and not another or extends an equal
   string, a sibling row that differs in one filtered value, groups brought to exactly a HAVING bound,
   NULLs in the gold's columns or in all the others, NULLs filled in, duplicated rows (a copied parent
   has no children), the other columns of a row changed, a row deleted.
3. Edits respect the schema: primary keys and UNIQUE columns get fresh values and are never updated or
   NULL; NOT NULL holds; a foreign key only takes a value its parent has; a row is deleted only when
   nothing references it. Two rules keep the oracle from rejecting what a reader would call the same
   query: text columns whose values are all distinct (names, titles; >= 10 rows) stay distinct, so
   `GROUP BY name` and `GROUP BY id` agree, and an entity the gold names by its text columns (`FirstName
   = 'Jane' AND LastName = 'Peacock'`, one row today) stays unique; a sibling may still share one of
   those values, so an incomplete name filter is caught.
4. A variant is kept only where the gold stays well defined: it runs, returns a result that is neither
   empty nor all NULL, its LIMIT cut has no tie and its ORDER BY has no more ties than on the original.
5. Selection: candidates are tried in a fixed order against the neighbors no database tells apart yet
   (stopping after `PATIENCE` useless ones or the time budget); the useful ones are reduced by greedy set
   cover (as in the paper) to at most `max_variants`, then merged into as few databases as still tell
   apart everything they did. Neighbors left over (often true equivalents: `x >= 4` vs `x > 3` on
   integers) are listed in the suite as `uncovered`.
6. A suite is a small JSON file, the edits and not the databases, cached per (database content hash,
   gold query, copies, seed) under `CACHE/text2sql/suites/`; the oracle replays the edits into an
   in-memory copy when it first needs one.
7. Huge databases (over `max_db_bytes`, 64 MiB by default): the edits apply to a sampled sub-database,
   per gold and cached, that keeps the gold's witness rows (up to `WITNESSES`=200 per FROM clause), up
   to `sample_rows` (2,000) other rows per table, and every parent row those reference (repeated until
   no foreign key dangles that did not dangle before), so a table holds at most about
   `sample_rows + 200 x FROM clauses` rows plus parents.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ..models import cache_dir
from .sqloracle import GoldRun, SQLTimeout, _authorizer, check_sql, is_ordered, results_match, run_gold, run_query

SUITE_VERSION = 1
WITNESSES = 200     # witness tuples read per FROM clause
PATIENCE = 24       # candidates in a row that tell nothing new before the search stops
MAX_COPIES = 30     # rows inserted at most to bring a group to a HAVING bound
DISTINCT_MIN = 10   # a text column is a natural key when its >= this many values are all distinct
DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)$")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- schema facts


@dataclass
class Col:
    name: str
    kind: str           # int | real | text | date | other: what the stored values look like
    notnull: bool
    key: bool           # part of the primary key
    unique: bool        # values must stay unique: declared UNIQUE, the single-column primary key
    natural: bool       # text whose values are all distinct today (names, titles): kept distinct
    ref: tuple[str, str] | None = None  # (parent table, parent column) of a foreign key
    step: float = 1     # smallest step between values: 1 for integers, 0.01 for prices
    time: str = ""      # the time part dates carry in this column (" 00:00:00") or ""
    nulls: bool = False  # holds NULLs today


@dataclass
class Table:
    name: str
    cols: dict[str, Col]                  # by lower-case name
    pk: list[str]                         # lower-case names
    rowid: bool
    children: list[tuple[str, str, str]]  # (child table, child column, this table's column), lower-case


def _kind(values: list) -> tuple[str, float, str]:
    """(kind, step, time part) of a column from a sample of its values."""
    if not values:
        return "other", 1, ""
    if all(isinstance(v, int) for v in values):
        return "int", 1, ""
    if all(isinstance(v, (int, float)) for v in values):
        decimals = max(len(repr(float(v)).split(".")[1].rstrip("0")) for v in values)
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
    refs = {r[3].lower(): (r[2].lower(), (r[4] or "").lower()) for r in conn.execute(f"PRAGMA foreign_key_list({q})")}
    sample = conn.execute(f"SELECT * FROM {q} LIMIT 200").fetchall()
    texts = [r[1] for r in info if distinct and ("CHAR" in r[2].upper() or "TEXT" in r[2].upper() or r[2] == "")]
    counts = conn.execute("SELECT " + ", ".join(f"COUNT({_q(c)}), COUNT(DISTINCT {_q(c)})" for c in texts)
                          + f" FROM {q}").fetchone() if texts else ()
    natural = {c.lower() for i, c in enumerate(texts) if counts[2 * i] >= DISTINCT_MIN
               and counts[2 * i] == counts[2 * i + 1]}
    nullable = [r[1] for r in info if not r[3] and not r[5]]
    filled = conn.execute("SELECT COUNT(*), " + ", ".join(f"COUNT({_q(c)})" for c in nullable)
                          + f" FROM {q}").fetchone() if nullable and distinct else ()
    has_nulls = {c.lower() for i, c in enumerate(nullable) if filled and filled[i + 1] < filled[0]}
    cols = {}
    for i, r in enumerate(info):
        kind, step, tpart = _kind([row[i] for row in sample if row[i] is not None])
        c = r[1].lower()
        cols[c] = Col(r[1], kind, bool(r[3]), bool(r[5]), c in unique, c in natural and kind in ("text", "date"),
                      refs.get(c), step, tpart, c in has_nulls)
    try:
        conn.execute(f"SELECT rowid FROM {q} LIMIT 1").fetchall()
        rowid = True
    except sqlite3.OperationalError:
        rowid = False
    return Table(name, cols, pk, rowid, [])


def schema_facts(conn: sqlite3.Connection, distinct: bool = True) -> dict[str, Table]:
    """Every table's columns, keys and value kinds, by lower-case table name (`distinct`: also find
    the natural keys, a scan of every text column)."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
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


# --------------------------------------------------------------------------- constants and steps


_CONST_DB = sqlite3.connect(":memory:", check_same_thread=False)
_CONST_LOCK = threading.Lock()


def const_value(node):
    """The value of a constant expression (`10 * 60000`, `'%' || 'x' || '%'`), or None."""
    from sqlglot import exp

    if node is None or any(isinstance(n, (exp.Column, exp.Select, exp.Subquery, exp.Star, exp.Func))
                           and not isinstance(n, exp.DPipe) for n in node.walk()):
        return None
    try:
        with _CONST_LOCK:
            return _CONST_DB.execute(f"SELECT {node.sql(dialect='sqlite')}").fetchone()[0]
    except sqlite3.Error:
        return None


def literal(value):
    from sqlglot import exp

    if value is None:
        return exp.Null()
    if isinstance(value, (int, float)):
        return exp.Literal.number(value) if value >= 0 else exp.Neg(this=exp.Literal.number(-value))
    return exp.Literal.string(str(value))


def _decimals_step(value: float) -> float:
    text = repr(float(value)).split(".")[1].rstrip("0")
    return 10.0 ** -min(len(text), 4) if text else 1


def _shift_date(text: str, days: int) -> str | None:
    m = DATE.match(text)
    try:
        d = date.fromisoformat(m.group(1)) + timedelta(days=days) if m else None
    except ValueError:
        return None
    return d.isoformat() + m.group(2) if d else None


def literal_shifts(value) -> list:
    """A literal moved by its own smallest step: 10 -> 9, 11; 2.5 -> 2.4, 2.6; '2010-01-31' -> the days
    around it; '2010' -> '2009', '2011'."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [value - 1, value + 1]
    if isinstance(value, float):
        step = _decimals_step(value)
        return [round(value - step, 6), round(value + step, 6)]
    if isinstance(value, str) and DATE.match(value):
        return [s for s in (_shift_date(value, -1), _shift_date(value, 1)) if s]
    if isinstance(value, str) and value.isdigit():
        return [str(int(value) - 1).zfill(len(value)), str(int(value) + 1).zfill(len(value))]
    return []


def boundary_values(value, col: Col) -> list:
    """Values at and around a literal, in the column's format: the literal itself and one step either side
    (the column's step or the literal's, the finer); for dates the day before and after."""
    if col.kind in ("int", "real") and isinstance(value, (int, float)) and not isinstance(value, bool):
        step = min(col.step, _decimals_step(value)) if col.kind == "real" else 1
        if col.kind == "int":
            vals = {int(value) - 1, int(value), int(value) + 1} if float(value).is_integer() else \
                {int(value // 1), int(value // 1) + 1}
            return sorted(vals)
        return [round(value - step, 6), round(float(value), 6), round(value + step, 6)]
    if col.kind == "date" and isinstance(value, str) and DATE.match(value):
        day = DATE.match(value).group(1)
        return [d + col.time for d in (_shift_date(day, -1), day, _shift_date(day, 1)) if d]
    return []


# --------------------------------------------------------------------------- scopes


@dataclass
class Scope:
    """One SELECT of the gold: its tables by alias, and the scope it is nested in."""

    select: object
    tables: dict[str, str]        # alias (lower) -> table (lower); only real tables of the schema
    parent: "Scope | None" = None


def scopes(tree, schema: dict[str, Table]) -> list[Scope]:
    """Every SELECT of the query, outermost first, with the schema tables of its FROM and JOINs."""
    from sqlglot import exp

    out: dict[int, Scope] = {}
    for sel in tree.find_all(exp.Select):
        frm = sel.args.get("from_") or sel.args.get("from")
        sources = ([frm.this] if frm is not None else []) + [j.this for j in sel.args.get("joins") or []]
        tables = {s.alias_or_name.lower(): s.name.lower() for s in sources
                  if isinstance(s, exp.Table) and s.name.lower() in schema and not s.args.get("db")}
        anc = sel.parent
        while anc is not None and not isinstance(anc, exp.Select):
            anc = anc.parent
        out[id(sel)] = Scope(sel, tables, out.get(id(anc)) if anc is not None else None)
    return list(out.values())


def scope_of(node, by_select: dict[int, Scope]) -> Scope | None:
    from sqlglot import exp

    anc = node
    while anc is not None and not (isinstance(anc, exp.Select) and id(anc) in by_select):
        anc = anc.parent
    return by_select.get(id(anc)) if anc is not None else None


def resolve(col, scope: Scope | None, schema: dict[str, Table]) -> tuple[str, str, str] | None:
    """(alias, table, column) of a column reference, looking outwards through the scopes."""
    name, qual = col.name.lower(), col.table.lower()
    while scope is not None:
        if qual and qual in scope.tables:
            t = scope.tables[qual]
            return (qual, t, name) if name in schema[t].cols else None
        if not qual:
            for alias, t in scope.tables.items():
                if name in schema[t].cols:
                    return alias, t, name
        scope = scope.parent
    return None


def own_nodes(root, scope_select):
    """Nodes under `root` that belong to `scope_select` itself (not to a nested SELECT)."""
    from sqlglot import exp

    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        for child in node.iter_expressions():
            if isinstance(child, exp.Select) and child is not scope_select:
                continue
            stack.append(child)


# --------------------------------------------------------------------------- neighbor queries


@dataclass(frozen=True)
class Neighbor:
    sql: str
    kind: str


COMPARISONS = ("EQ", "NEQ", "GT", "GTE", "LT", "LTE")


def _cmp_classes():
    from sqlglot import exp

    return [getattr(exp, n) for n in COMPARISONS]


def _const_side(node) -> str | None:
    """Which side of a comparison is a constant (or a subquery): 'this', 'expression' or None."""
    from sqlglot import exp

    for side, other in (("expression", "this"), ("this", "expression")):
        e, o = node.args.get(side), node.args.get(other)
        if e is None or o is None or isinstance(o, exp.Literal):
            continue
        if const_value(e) is not None or isinstance(e, exp.Subquery):
            return side
    return None


def _mut_compare(node, ctx):
    from sqlglot import exp

    side = _const_side(node)
    if side is None:
        return
    for cls in _cmp_classes():
        if not isinstance(node, cls):
            yield "op", lambda n, c=cls: n.replace(c(this=n.this, expression=n.expression))
    value = const_value(node.args[side])
    for v in literal_shifts(value):
        yield "shift", lambda n, s=side, v=v: n.set(s, literal(v))
    col_side = "this" if side == "expression" else "expression"
    other = node.args[col_side]
    if isinstance(node, exp.EQ) and isinstance(value, str) and isinstance(other, exp.Column):
        for p in (value + "%", "%" + value + "%"):
            yield "like", lambda n, c=col_side, p=p: n.replace(exp.Like(this=n.args[c].copy(), expression=literal(p)))
    if isinstance(other, exp.Column):
        for alt in ctx.similar_columns(other):
            yield "column", lambda n, c=col_side, alt=alt: n.args[c].replace(alt.copy())


def _mut_between(node, ctx):
    from sqlglot import exp

    for part in ("low", "high"):
        for v in literal_shifts(const_value(node.args.get(part))):
            yield "shift", lambda n, p=part, v=v: n.set(p, literal(v))
    for lo, hi in ((exp.GT, exp.LTE), (exp.GTE, exp.LT)):
        yield "op", lambda n, lo=lo, hi=hi: n.replace(exp.and_(
            lo(this=n.this.copy(), expression=n.args["low"].copy()),
            hi(this=n.this.copy(), expression=n.args["high"].copy())))


def like_variants(pattern: str) -> list[str]:
    """The other placements of `%` around a pattern's text (and around the text without its outer
    spaces: 'The %' -> 'The%')."""
    core = pattern.strip("%")
    if not core or "%" in core:
        return []
    cores = dict.fromkeys([core, core.strip()]) if core.strip() else {core: None}
    return [p for c in cores for p in (c, c + "%", "%" + c, "%" + c + "%") if p != pattern]


def _mut_like(node, ctx):
    pattern = const_value(node.expression)
    if isinstance(pattern, str):
        for p in like_variants(pattern):
            yield "like", lambda n, p=p: n.set("expression", literal(p))


def _mut_distinct(node, ctx):
    from sqlglot import exp

    yield "distinct", lambda n: n.set("distinct", None if n.args.get("distinct") else exp.Distinct())


def _mut_count(node, ctx):
    from sqlglot import exp

    inner = node.this
    if isinstance(inner, exp.Star):
        for col in ctx.nullable_columns(node):
            yield "count", lambda n, c=col: n.set("this", c.copy())
    elif isinstance(inner, exp.Distinct) and len(inner.expressions) == 1:
        yield "count", lambda n: n.set("this", n.this.expressions[0].copy())
        yield "count", lambda n: n.set("this", exp.Star())
    elif inner is not None:
        yield "count", lambda n: n.set("this", exp.Star())
        yield "count", lambda n: n.set("this", exp.Distinct(expressions=[n.this.copy()]))


def _mut_join(node, ctx):
    side, kind = (node.args.get("side") or "").upper(), (node.args.get("kind") or "").upper()
    if side == "LEFT":
        yield "join", lambda n: n.set("side", None)
    elif not side and kind in ("", "INNER") and node.args.get("on") is not None:
        yield "join", lambda n: (n.set("side", "LEFT"), n.set("kind", None))


def _mut_drop(node, ctx):
    from sqlglot import exp

    cond = node.this
    parts = list(cond.flatten()) if isinstance(cond, (exp.And, exp.Or)) else [cond]
    joiner = exp.or_ if isinstance(cond, exp.Or) else exp.and_
    for i in range(len(parts)):
        if len(parts) == 1:
            yield "drop", lambda n: n.pop()
        else:
            yield "drop", lambda n, i=i: n.set("this", joiner(*[p.copy() for j, p in enumerate(
                list(n.this.flatten())) if j != i]))


def _mut_group(node, ctx):
    from sqlglot import exp

    for i, e in enumerate(node.expressions):
        if isinstance(e, exp.Column):
            for alt in ctx.other_columns(e):
                yield "group", lambda n, i=i, alt=alt: n.expressions[i].replace(alt.copy())


def _mut_ordered(node, ctx):
    yield "desc", lambda n: (n.set("desc", not n.args.get("desc")), n.set("nulls_first", bool(n.args.get("desc"))))
    from sqlglot import exp

    if isinstance(node.this, exp.Column):
        for alt in ctx.other_columns(node.this):
            yield "order", lambda n, alt=alt: n.this.replace(alt.copy())


def _mut_limit(node, ctx):
    from sqlglot import exp

    k = const_value(node.expression)
    if isinstance(k, int):
        for v in (k - 1, k + 1):
            if v >= 1:
                yield "limit", lambda n, v=v: n.set("expression", exp.Literal.number(v))


def _mut_agg(node, ctx):
    from sqlglot import exp

    for cls in (exp.Min, exp.Max, exp.Avg, exp.Sum):
        if type(node) is not cls:
            yield "agg", lambda n, cls=cls: n.replace(cls(this=n.this.copy()))


def _mut_negation(node, ctx):
    from sqlglot import exp

    if isinstance(node, exp.Not) and isinstance(node.this, (exp.Is, exp.In)):
        yield "not", lambda n: n.replace(n.this.copy())
    elif isinstance(node, (exp.Is, exp.In)) and not isinstance(node.parent, exp.Not):
        yield "not", lambda n: n.replace(exp.Not(this=n.copy()))
    if isinstance(node, exp.Is) and isinstance(node.this, exp.Column):
        for alt in ctx.similar_columns(node.this, nullable=True, n=6):
            yield "column", lambda n, alt=alt: n.this.replace(alt.copy())


def _mutators():
    from sqlglot import exp

    return [(tuple(_cmp_classes()), _mut_compare), (exp.Between, _mut_between), (exp.Like, _mut_like),
            (exp.Select, _mut_distinct), (exp.Count, _mut_count), (exp.Join, _mut_join),
            ((exp.Where, exp.Having), _mut_drop), (exp.Group, _mut_group), (exp.Ordered, _mut_ordered),
            (exp.Limit, _mut_limit), ((exp.Min, exp.Max, exp.Avg, exp.Sum), _mut_agg),
            ((exp.Not, exp.Is, exp.In), _mut_negation)]


class _MutationContext:
    """What some mutations need to know about the schema: other columns of a table, nullable ones."""

    def __init__(self, tree, schema: dict[str, Table]):
        from sqlglot import exp

        self.schema, self.by_select = schema, {id(s.select): s for s in scopes(tree, schema)}
        refs = [resolve(c, scope_of(c, self.by_select), schema) for c in tree.find_all(exp.Column)]
        self.used = {(r[1], r[2]) for r in refs if r}

    def other_columns(self, col, n: int = 3) -> list:
        from sqlglot import exp

        r = resolve(col, scope_of(col, self.by_select), self.schema)
        if r is None:
            return []
        alias, t, name = r
        table = self.schema[t]
        order = table.pk + [c for c in table.cols if (t, c) in self.used] + list(table.cols)
        names = [c for c in dict.fromkeys(order) if c != name][:n]
        return [exp.column(table.cols[c].name, table=col.table or None) for c in names]

    def similar_columns(self, col, nullable: bool = False, n: int = 3) -> list:
        """Other columns of the same table with the same kind of values (or nullable ones)."""
        from sqlglot import exp

        r = resolve(col, scope_of(col, self.by_select), self.schema)
        if r is None:
            return []
        table, me = self.schema[r[1]], self.schema[r[1]].cols[r[2]]
        names = [c for c, x in sorted(table.cols.items(), key=lambda kv: not kv[1].nulls) if c != r[2]
                 and not x.key and ((not x.notnull) if nullable else x.kind == me.kind)][:n]
        return [exp.column(table.cols[c].name, table=col.table or None) for c in names]

    def nullable_columns(self, node, n: int = 6) -> list:
        from sqlglot import exp

        scope = scope_of(node, self.by_select)
        out = []
        for alias, t in (scope.tables.items() if scope else []):
            cols = [c for c in self.schema[t].cols.values() if not c.notnull and not c.key][:n]
            qual = alias if len(scope.tables) > 1 else None
            out += [exp.column(c.name, table=qual) for c in cols]
        return out


def neighbors(tree, schema: dict[str, Table]) -> list[Neighbor]:
    """Near-miss mutations of a query (module docstring, 1), each a distinct SQL text."""
    base = tree.sql(dialect="sqlite")
    ctx = _MutationContext(tree, schema)
    out: dict[str, Neighbor] = {}
    nodes = list(tree.walk())
    for types, mutate in _mutators():
        for i, node in enumerate(nodes):
            if not isinstance(node, types):
                continue
            for kind, edit in mutate(node, ctx):
                copy = tree.copy()
                try:
                    edit(list(copy.walk())[i])
                    sql = copy.sql(dialect="sqlite")
                except Exception:  # noqa: BLE001 - a mutation that does not apply is skipped
                    continue
                if sql != base and sql not in out:
                    out[sql] = Neighbor(sql, kind)
    return list(out.values())


# --------------------------------------------------------------------------- witness rows and predicates


def witness_rows(conn: sqlite3.Connection, scope: Scope, schema: dict[str, Table], timeout: float = 2.0,
                 n: int = WITNESSES, where=None) -> list[dict[str, int]]:
    """Rowid tuples {alias: rowid} of rows that pass the scope's FROM, JOINs and WHERE (and `where`)."""
    from sqlglot import exp

    aliases = [a for a, t in scope.tables.items() if schema[t].rowid]
    if not aliases:
        return []
    sel = scope.select.copy()
    for arg in ("group", "having", "order", "limit", "offset", "distinct", "qualify"):
        sel.set(arg, None)
    sel.set("expressions", [exp.column("rowid", table=a, quoted=True) for a in aliases])
    if where is not None:
        sel = sel.where(where)
    try:
        rows, _ = run_query(conn, sel.limit(n).sql(dialect="sqlite"), timeout, n)
    except (sqlite3.Error, SQLTimeout):  # correlated or otherwise not runnable alone
        return []
    return [dict(zip(aliases, r)) for r in rows]


def fetch_row(conn: sqlite3.Connection, table: Table, rowid) -> dict:
    cur = conn.execute(f"SELECT * FROM {_q(table.name)} WHERE rowid = ?", (rowid,))
    row = cur.fetchone()
    return dict(zip((d[0].lower() for d in cur.description), row)) if row else {}


@dataclass
class Pred:
    """A filter of the gold on one column: `col OP constant`, BETWEEN, LIKE, IN (list), IS [NOT] NULL."""

    alias: str
    table: str
    col: str
    op: str        # cmp | between | like | in | null
    values: list
    equality: bool = False


def _column_side(node, scope, schema):
    from sqlglot import exp

    this = node.this
    return resolve(this, scope, schema) if isinstance(this, exp.Column) else None


def predicates(scope: Scope, schema: dict[str, Table]) -> tuple[list[Pred], list]:
    """The scope's column filters (WHERE, JOIN ... ON, HAVING), and its HAVING comparisons of an
    aggregate with a constant as (aggregate, operator class, constant)."""
    from sqlglot import exp

    roots = [scope.select.args.get(a) for a in ("where", "having")]
    roots += [j.args.get("on") for j in scope.select.args.get("joins") or []]
    preds, aggs = [], []
    for root in (r for r in roots if r is not None):
        for node in own_nodes(root, scope.select):
            if isinstance(node, tuple(_cmp_classes())):
                side = _const_side(node)
                if side is None:
                    continue
                other = node.args["this" if side == "expression" else "expression"]
                value = const_value(node.args[side])
                if isinstance(other, exp.AggFunc) and value is not None:
                    aggs.append((other, type(node), value))
                elif isinstance(other, exp.Column) and value is not None and (r := resolve(other, scope, schema)):
                    preds.append(Pred(*r, "cmp", [value], isinstance(node, exp.EQ)))
            elif isinstance(node, exp.Between) and (r := _column_side(node, scope, schema)):
                vals = [const_value(node.args.get("low")), const_value(node.args.get("high"))]
                preds.append(Pred(*r, "between", [v for v in vals if v is not None]))
            elif isinstance(node, exp.Like) and (r := _column_side(node, scope, schema)):
                if isinstance(pattern := const_value(node.expression), str):
                    preds.append(Pred(*r, "like", [pattern]))
            elif isinstance(node, exp.In) and not node.args.get("query") and (r := _column_side(node, scope, schema)):
                vals = [const_value(e) for e in node.expressions]
                preds.append(Pred(*r, "in", [v for v in vals if v is not None], True))
            elif isinstance(node, exp.Is) and (r := _column_side(node, scope, schema)):
                preds.append(Pred(*r, "null", []))
    return preds, aggs


def used_columns(scope: Scope, schema: dict[str, Table]) -> dict[str, set[str]]:
    """Columns of each alias that the scope reads anywhere (output, filters, grouping, ordering, joins)."""
    from sqlglot import exp

    used: dict[str, set[str]] = {a: set() for a in scope.tables}
    for node in own_nodes(scope.select, scope.select):
        if isinstance(node, exp.Column) and (r := resolve(node, scope, schema)) and r[0] in used:
            used[r[0]].add(r[2])
    for node in scope.select.find_all(exp.Column):  # correlated references from nested queries
        if (r := resolve(node, scope, schema)) and r[0] in used and node.table.lower() == r[0]:
            used[r[0]].add(r[2])
    return used


# --------------------------------------------------------------------------- row edits


@dataclass
class Variant:
    """One database of a suite: row edits of the base database, replayed in order."""

    kind: str
    note: str
    ops: list = field(default_factory=list)  # [[sql, [params]], ...]


class Editor:
    """Row edits of the base database that respect its keys and constraints (module docstring, 3)."""

    def __init__(self, conn: sqlite3.Connection, schema: dict[str, Table], rng: random.Random):
        self.conn, self.schema, self.rng = conn, schema, rng
        self.exempt: set[tuple[str, str]] = set()   # natural keys the gold names in parts
        self.identity: dict[str, tuple] = {}        # table -> (text columns naming one entity, all its
        #                                             equality-filtered columns)
        self.no_null: set[tuple[str, str]] = set()  # columns a NOT IN reads: one NULL empties it
        self.filtered: set[tuple[str, str]] = set()
        self._next: dict = {}
        self._domains: dict = {}

    def _one(self, sql: str, params=()) -> bool:
        return self.conn.execute(sql + " LIMIT 1", params).fetchone() is not None

    def exists(self, t: str, c: str, value, rowid=None) -> bool:
        table, col = self.schema[t], self.schema[t].cols[c]
        sql = f"SELECT 1 FROM {_q(table.name)} WHERE {_q(col.name)} = ?"
        return self._one(sql + (" AND rowid <> ?" if rowid is not None else ""),
                         (value,) + ((rowid,) if rowid is not None else ()))

    def fresh(self, t: str, c: str, like, unlike: bool = False):
        """A value the column does not hold (and was not given before): max + 1, or `like ~n` (with
        `unlike`, `~n like`: no prefix in common with `like`)."""
        col, key = self.schema[t].cols[c], (t, c)
        if col.kind in ("int", "real") or isinstance(like, (int, float)) and not isinstance(like, bool):
            if key not in self._next:
                top = self.conn.execute(f"SELECT MAX({_q(col.name)}) FROM {_q(self.schema[t].name)} "
                                        f"WHERE typeof({_q(col.name)}) IN ('integer', 'real')").fetchone()[0]
                self._next[key] = int(top or 0) + 1
            self._next[key] += 1
            return self._next[key] - 1
        n = self._next.get(key, 1)
        base = like if like is not None else "x"
        while self.exists(t, c, value := f"~{n} {base}" if unlike else f"{base} ~{n}"):
            n += 1
        self._next[key] = n + 1
        return value

    def domain(self, t: str, c: str, n: int = 40) -> list:
        if (t, c) not in self._domains:
            col, table = self.schema[t].cols[c], self.schema[t]
            self._domains[t, c] = [r[0] for r in self.conn.execute(
                f"SELECT DISTINCT {_q(col.name)} FROM {_q(table.name)} WHERE {_q(col.name)} IS NOT NULL LIMIT {n}")]
        return self._domains[t, c]

    def other_value(self, t: str, c: str, current):
        """Another value of the column: one it holds, else one step away (the next day for dates); in a
        column whose values must stay unique, a fresh one unlike the current."""
        col = self.schema[t].cols[c]
        if (col.unique or col.natural and (t, c) not in self.exempt) and not col.ref:
            return self.fresh(t, c, current, unlike=True)
        values = [v for v in self.domain(t, c) if v != current]
        if values:
            return self.rng.choice(values)
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            return current + (col.step if col.kind == "real" else 1)
        if isinstance(current, str) and DATE.match(current):
            return _shift_date(current, 1)
        return self.fresh(t, c, current) if current is not None else None

    def allowed(self, t: str, c: str, value, rowid=None) -> bool:
        """Whether column `c` of a (new or existing) row may hold `value`."""
        col = self.schema[t].cols[c]
        if value is None:
            return not (col.notnull or col.key) and (t, c) not in self.no_null
        keyed = col.unique or (col.natural and (t, c) not in self.exempt)
        if keyed and self.exists(t, c, value, rowid):
            return False
        if col.ref:
            pt, pc = col.ref
            return self._one(f"SELECT 1 FROM {_q(self.schema[pt].name)} WHERE {_q(pc)} = ?", (value,))
        return True

    def is_parent_key(self, t: str, c: str) -> bool:
        return any(pc == c for _, _, pc in self.schema[t].children)

    def _row_exists(self, table: Table, values: dict) -> bool:
        where = " AND ".join(f"{_q(table.cols[c].name)} IS ?" for c in values)
        return self._one(f"SELECT 1 FROM {_q(table.name)} WHERE {where}", tuple(values.values()))

    def _new_key(self, t: str, new: dict, changes: dict) -> bool:
        """Give a copied row a primary key no row has: fresh for one column; for a composite key, another
        value of one part (not one the gold filters on, if it can)."""
        table = self.schema[t]
        if not table.pk:
            return True
        if len(table.pk) == 1:
            if table.pk[0] not in changes:
                new[table.pk[0]] = self.fresh(t, table.pk[0], new[table.pk[0]])
            return True
        parts = sorted((c for c in table.pk if c not in changes),
                       key=lambda c: ((t, c) in self.filtered, table.cols[c].ref is not None))
        for c in parts:
            extra = [] if table.cols[c].ref else [self.fresh(t, c, new[c])]
            for v in self.domain(t, c) + extra:
                trial = new | {c: v}
                if v != new[c] and self.allowed(t, c, v) and not self._row_exists(table, {k: trial[k] for k in table.pk}):
                    new[c] = v
                    return True
        return not parts and not self._row_exists(table, {k: new[k] for k in table.pk})

    def insert_copy(self, t: str, row: dict, changes: dict, children: list | None = None) -> list | None:
        """A copy of `row` with `changes`, fresh keys and fresh values where values must stay unique;
        `children` [(table, row, column)], rows that reference `row` through `column`, are copied too
        and point to the copy."""
        new = self.copy_row(t, row, changes)
        if new is None:
            return None
        ops = [self._insert_op(t, new)]
        for ct, crow, ccol in children or []:
            ref = self.schema[ct].cols[ccol].ref[1]
            child = self.copy_row(ct, crow, {ccol: new[ref]}, trusted={ccol})
            if child is None:
                return None
            ops.append(self._insert_op(ct, child))
        return ops

    def _insert_op(self, t: str, new: dict) -> list:
        table, cols = self.schema[t], list(new)
        names = ", ".join(_q(table.cols[c].name) for c in cols)
        return [f"INSERT INTO {_q(table.name)} ({names}) VALUES ({', '.join('?' * len(cols))})", [new[c] for c in cols]]

    def copy_row(self, t: str, row: dict, changes: dict, trusted: set = frozenset()) -> dict | None:
        """The values of a copy of `row` (see insert_copy), or None when the changes are not allowed."""
        table = self.schema[t]
        new = dict(row) | changes
        if not row or any(c not in trusted and not self.allowed(t, c, v) for c, v in changes.items()):
            return None
        if not self._new_key(t, new, changes):
            return None
        for c, col in table.cols.items():
            if c in changes or col.key or new.get(c) is None:
                continue
            if col.unique or (col.natural and (t, c) not in self.exempt):
                new[c] = self.fresh(t, c, new[c])
        names, filters = self.identity.get(t, ((), ()))
        if names and all(new.get(c) == row.get(c) for c in filters):  # a second entity of that name
            new[names[-1]] = self.fresh(t, names[-1], new[names[-1]])
        return new

    def update(self, t: str, rowid, changes: dict, partial: bool = False) -> list | None:
        """Set columns of an existing row (never a key or a column other rows reference); with `partial`,
        the changes that are not allowed are left out instead of failing the edit."""
        ok = {c: v for c, v in changes.items() if not self.schema[t].cols[c].key and not self.is_parent_key(t, c)
              and self.allowed(t, c, v, rowid)}
        if not ok or (len(ok) < len(changes) and not partial):
            return None
        table = self.schema[t]
        sets = ", ".join(f"{_q(table.cols[c].name)} = ?" for c in ok)
        return [[f"UPDATE {_q(table.name)} SET {sets} WHERE rowid = ?", [*ok.values(), rowid]]]

    def delete(self, t: str, rowid, row: dict) -> list | None:
        """Delete a row that no other row references."""
        for ct, cc, pc in self.schema[t].children:
            value = rowid if pc == "rowid" else row.get(pc)
            if value is not None and self._one(f"SELECT 1 FROM {_q(self.schema[ct].name)} "
                                               f"WHERE {_q(self.schema[ct].cols[cc].name)} = ?", (value,)):
                return None
        return [[f"DELETE FROM {_q(self.schema[t].name)} WHERE rowid = ?", [rowid]]]


# --------------------------------------------------------------------------- candidate variants

# the order candidates are tried in: the kinds that catch the most common near misses first
PRIORITY = ["boundary", "like", "text", "sibling", "group", "null", "fill", "others", "duplicate", "vary",
            "bound-update", "swap", "delete"]


def _add(out: list, kind: str, note: str, ops) -> None:
    if ops:
        out.append(Variant(kind, note, ops))


def _text_values(p: Pred) -> list[str]:
    """Strings that match one form of a LIKE or an equality and not another."""
    if p.op == "like":
        core = p.values[0].strip("%")
        if not core or "%" in core:
            return []
        glued = [core.strip() + "x", "x" + core.strip()] if core.strip() and core.strip() != core else []
        return [core, core + " x", "x " + core, "x " + core + " x"] + glued
    return [v + s for v in p.values if isinstance(v, str) for s in (" x", "s")] + \
        ["x " + v for v in p.values if isinstance(v, str)]


def _pred_candidates(ed: Editor, p: Pred, row: dict, rowid, kids: list, extreme: dict) -> list[Variant]:
    """Edits aimed at one filter; copies of a parent row take their witness children along. A copy that
    passes a filter it should not is made twice: as is, and with `extreme` values in the columns the
    query aggregates (so that MAX, SUM, ... see it)."""
    out = _filter_edits(ed, p, row, rowid, kids, {})
    extra = {c: v for c, v in extreme.items() if c != p.col}
    return out + (_filter_edits(ed, p, row, rowid, kids, extra, copies_only=True) if extra else [])


def _extremes(ed: Editor, t: str, cols: dict[str, str]) -> dict:
    """For each numeric column: one step past its largest value ('high') or below its smallest ('low')."""
    out = {}
    for c, side in cols.items():
        col = ed.schema[t].cols[c]
        if col.kind in ("int", "real") and not col.key and not col.ref:
            fn = "MAX" if side == "high" else "MIN"
            v = ed.conn.execute(f"SELECT {fn}({_q(col.name)}) FROM {_q(ed.schema[t].name)}").fetchone()[0]
            if isinstance(v, (int, float)):
                out[c] = v + (1 if side == "high" else -1) * (col.step if col.kind == "real" else 1)
    return out


def _filter_edits(ed: Editor, p: Pred, row: dict, rowid, kids: list, extra: dict,
                  copies_only: bool = False) -> list[Variant]:
    t, col, out = p.table, ed.schema[p.table].cols[p.col], []
    where = f"{ed.schema[t].name} row {rowid}" + (" (with its children)" if kids else "")
    more = "".join(f", {ed.schema[t].cols[c].name} = {v!r}" for c, v in extra.items())
    if p.op in ("cmp", "between") and not copies_only:
        for v in dict.fromkeys(x for v in p.values for x in boundary_values(v, col)):
            _add(out, "boundary", f"a copy of {where} with {col.name} = {v!r}",
                 ed.insert_copy(t, row, {p.col: v}, kids))
            _add(out, "bound-update", f"{where} with {col.name} = {v!r}", ed.update(t, rowid, {p.col: v}))
    if p.op == "like" or (p.equality and col.kind in ("text", "other")):
        for v in _text_values(p):
            _add(out, "like" if p.op == "like" else "text", f"a copy of {where} with {col.name} = {v!r}{more}",
                 ed.insert_copy(t, row, {p.col: v} | extra, kids))
            if not copies_only:
                _add(out, "bound-update", f"{where} with {col.name} = {v!r}", ed.update(t, rowid, {p.col: v}))
    if p.op in ("like", "in", "null") or p.equality:
        other = ed.other_value(t, p.col, row.get(p.col)) if p.op != "null" else \
            (ed.other_value(t, p.col, None) if row.get(p.col) is None else None)
        _add(out, "sibling", f"a copy of {where} with {col.name} = {other!r}{more}",
             ed.insert_copy(t, row, {p.col: other} | extra, kids))
    return out


def _children(ed: Editor, sc: Scope, pick: dict, rows: dict) -> dict[str, list]:
    """For each alias, the witness rows of other aliases that reference its row: [(table, row, column)]."""
    out: dict[str, list] = {a: [] for a in rows}
    for a, row in rows.items():
        t = sc.tables[a]
        for b, brow in rows.items():
            tb = sc.tables[b]
            for c, col in ed.schema[tb].cols.items():
                if b != a and col.ref and col.ref[0] == t and brow.get(c) is not None and \
                        brow.get(c) == (pick[a] if col.ref[1] == "rowid" else row.get(col.ref[1])):
                    out[a].append((tb, brow, c))
    return out


def _row_candidates(ed: Editor, t: str, row: dict, rowid, used: set[str], varied: set[str], shown: set[str],
                    kids: list) -> list[Variant]:
    """Edits of one witness row that no particular filter asks for (`shown`: its columns the query
    outputs and does not filter on; `varied`: the ones it aggregates or orders by)."""
    table, out = ed.schema[t], []
    where = f"{table.name} row {rowid}"
    free = [c for c, col in table.cols.items() if c not in used and not col.key and not ed.is_parent_key(t, c)]
    nullable = [c for c in table.cols if not table.cols[c].notnull and not table.cols[c].key]
    for c in (c for c in nullable if c in used and row.get(c) is not None):
        _add(out, "null", f"{where} with {table.cols[c].name} = NULL", ed.update(t, rowid, {c: None}))
    others = {c: None for c in nullable if c not in used and row.get(c) is not None}
    _add(out, "others", f"{where} with its other columns NULL", ed.update(t, rowid, others, partial=True))
    filled = {c: ed.other_value(t, c, None) for c in free if row.get(c) is None}
    _add(out, "fill", f"a copy of {where} with its NULLs filled", ed.insert_copy(t, row, {
        c: v for c, v in filled.items() if v is not None and ed.allowed(t, c, v)}) if filled else None)
    _add(out, "duplicate", f"a copy of {where}", ed.insert_copy(t, row, {}))
    if kids:
        _add(out, "duplicate", f"a copy of {where} with its children", ed.insert_copy(t, row, {}, kids))
    for c in varied:
        change = {c: ed.other_value(t, c, row.get(c))} | {s: ed.other_value(t, s, row.get(s)) for s in shown - {c}}
        change = {k: v for k, v in change.items() if k == c or ed.allowed(t, k, v)}
        _add(out, "vary", f"a copy of {where} with {table.cols[c].name} = {change[c]!r}",
             ed.insert_copy(t, row, change))
    scramble = {c: ed.other_value(t, c, row.get(c)) for c in free}
    _add(out, "swap", f"{where} with its other columns changed", ed.update(t, rowid, scramble, partial=True))
    for c in (c for c in used if c in table.cols and not table.cols[c].key):
        v = ed.other_value(t, c, row.get(c))
        _add(out, "swap", f"{where} with {table.cols[c].name} = {v!r}", ed.update(t, rowid, {c: v}))
    _add(out, "delete", f"{where} deleted", ed.delete(t, rowid, row))
    return out


def _group_candidates(ed: Editor, scope: Scope, agg, op_cls, bound, timeout: float) -> list[Variant]:
    """Groups brought to exactly a HAVING bound (and one step either side): copies of a group's rows for
    COUNT, one row's value moved for SUM, AVG, MIN and MAX."""
    from sqlglot import exp

    group = scope.select.args.get("group")
    if group is None or not isinstance(bound, (int, float)):
        return []
    keys = [e.copy() for e in group.expressions]
    stats = scope.select.copy()
    for arg in ("having", "order", "limit", "offset", "distinct"):
        stats.set(arg, None)
    stats.set("expressions", keys + [agg.copy()])
    try:
        rows, _ = run_query(ed.conn, stats.sql(dialect="sqlite"), timeout, 100_000)
    except (sqlite3.Error, SQLTimeout):
        return []
    rows = [r for r in rows if isinstance(r[-1], (int, float))]
    below = max((r for r in rows if r[-1] < bound), key=lambda r: r[-1], default=None)
    above = min((r for r in rows if r[-1] >= bound), key=lambda r: r[-1], default=None)
    out = []
    for r in (x for x in (below, above) if x is not None):
        cond = exp.and_(*[exp.Is(this=k.copy(), expression=literal(v)) for k, v in zip(keys, r[:-1])])
        tuples = witness_rows(ed.conn, scope, ed.schema, timeout, where=cond)
        out += _adjust_group(ed, scope, agg, bound, r[-1], tuples)
    return out


def _adjust_group(ed: Editor, scope: Scope, agg, bound, value, tuples: list[dict]) -> list[Variant]:
    from sqlglot import exp

    if not tuples:
        return []
    out = []
    if isinstance(agg, exp.Count):
        alias = max(tuples[0], key=lambda a: len({tp[a] for tp in tuples}))
        t = scope.tables[alias]
        row = fetch_row(ed.conn, ed.schema[t], tuples[0][alias])
        for target in (bound - 1, bound, bound + 1):
            k = target - value
            if float(k).is_integer() and 1 <= k <= MAX_COPIES:
                ops = [op for _ in range(int(k)) for op in (ed.insert_copy(t, row, {}) or [])]
                _add(out, "group", f"{int(k)} copies of {ed.schema[t].name} row {tuples[0][alias]}", ops)
        return out
    r = resolve(agg.this, scope, ed.schema) if isinstance(agg.this, exp.Column) else None
    if r is None or ed.schema[r[1]].cols[r[2]].kind not in ("int", "real"):
        return []
    alias, t, c = r
    col, rowid = ed.schema[t].cols[c], tuples[0][alias]
    row = fetch_row(ed.conn, ed.schema[t], rowid)
    step = col.step if col.kind == "real" else 1
    for d in (-step, 0, step):
        if isinstance(agg, (exp.Min, exp.Max)):
            new = bound + d
        elif isinstance(agg, exp.Avg):
            new = row[c] + (bound + d - value) * len({tp[alias] for tp in tuples})
        else:
            new = row[c] + bound + d - value
        new = round(new, 6)
        if col.kind == "int" and not float(new).is_integer():
            continue
        new = int(new) if col.kind == "int" else new
        _add(out, "group", f"{ed.schema[t].name} row {rowid} with {col.name} = {new!r}", ed.update(t, rowid, {c: new}))
    return out


def _prepare(ed: Editor, scs: list[Scope], tree) -> None:
    """What the edits must keep (module docstring, 3): names the gold identifies an entity by, columns a
    NOT IN reads, filtered columns."""
    from sqlglot import exp

    by_select = {id(s.select): s for s in scs}
    for sc in scs:
        preds, _ = predicates(sc, ed.schema)
        ed.filtered |= {(p.table, p.col) for p in preds}
        for alias, t in sc.tables.items():
            names = [p for p in preds if p.alias == alias and p.op == "cmp" and p.equality
                     and isinstance(p.values[0], str) and ed.schema[t].cols[p.col].kind in ("text", "other")]
            if not names:
                continue
            where = " AND ".join(f"{_q(ed.schema[t].cols[p.col].name)} = ?" for p in names)
            n = ed.conn.execute(f"SELECT COUNT(*) FROM {_q(ed.schema[t].name)} WHERE {where}",
                                [p.values[0] for p in names]).fetchone()[0]
            if n == 1:
                eq = [p.col for p in preds if p.alias == alias and p.op == "cmp" and p.equality]
                ed.identity[t] = (list(dict.fromkeys(p.col for p in names)), list(dict.fromkeys(eq)))
            if len({p.col for p in names}) > 1:
                ed.exempt |= {(t, p.col) for p in names}
    for node in tree.find_all(exp.Not):
        if isinstance(node.this, exp.In):
            cols = [node.this.this] + [c for q in [node.this.args.get("query")] if q for c in q.find_all(exp.Column)]
            for c in cols:
                if isinstance(c, exp.Column) and (r := resolve(c, scope_of(c, by_select), ed.schema)):
                    ed.no_null.add((r[1], r[2]))


def _near_witnesses(ed: Editor, sc: Scope, timeout: float) -> list[dict]:
    """For a scope no row passes (`COUNT(*) ... WHERE x < -20` is 0 today): one witness for each WHERE
    conjunct left out, rows that fail only that filter."""
    from sqlglot import exp

    where = sc.select.args.get("where")
    parts = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else \
        ([where.this] if where is not None else [])
    picks = []
    for i in range(len(parts)):
        sel = sc.select.copy()
        rest = [p.copy() for j, p in enumerate(parts) if j != i]
        sel.set("where", exp.Where(this=exp.and_(*rest)) if rest else None)
        picks += witness_rows(ed.conn, Scope(sel, sc.tables, sc.parent), ed.schema, timeout, n=1)
    return picks


def candidates(ed: Editor, tree, timeout: float = 2.0) -> tuple[list[Variant], Variant | None]:
    """Every candidate variant for a gold query, in the order they are tried (PRIORITY), and the hedge:
    the other columns of every witness row changed at once, for filters on columns the gold never reads
    (no neighbor asks for that)."""
    from sqlglot import exp

    scs = scopes(tree, ed.schema)
    _prepare(ed, scs, tree)
    out: list[Variant] = []
    hedge: list = []
    for sc in scs:
        wit = witness_rows(ed.conn, sc, ed.schema, timeout)
        for pick in [ed.rng.choice(wit)] if wit else _near_witnesses(ed, sc, timeout):
            out += _scope_candidates(ed, sc, pick, hedge, timeout)
    seen, unique = set(), []
    for v in sorted(out, key=lambda v: PRIORITY.index(v.kind)):
        key = json.dumps(v.ops, default=str)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique, (Variant("hedge", "the other columns of the gold's rows changed", hedge) if hedge else None)


def _scope_candidates(ed: Editor, sc: Scope, pick: dict, hedge: list, timeout: float) -> list[Variant]:
    """The candidates built on one witness tuple of one scope (collecting the hedge's edits)."""
    from sqlglot import exp

    out: list[Variant] = []
    rows = {a: fetch_row(ed.conn, ed.schema[sc.tables[a]], r) for a, r in pick.items() if r is not None}
    preds, aggs = predicates(sc, ed.schema)
    used = used_columns(sc, ed.schema)
    kids = _children(ed, sc, pick, rows)
    sides = {r[:1] + r[2:]: "low" if isinstance(a, exp.Min) else "high" for a in sc.select.find_all(exp.AggFunc)
             if isinstance(a.this, exp.Column) and (r := resolve(a.this, sc, ed.schema))}
    for p in preds:
        if p.alias in rows:
            extreme = _extremes(ed, p.table, {c: d for (a, c), d in sides.items() if a == p.alias})
            out += _pred_candidates(ed, p, rows[p.alias], pick[p.alias], kids[p.alias], extreme)
    for agg, op_cls, bound in aggs:
        out += _group_candidates(ed, sc, agg, op_cls, bound, timeout)
    aggregated = {r[:1] + r[2:] for a in sc.select.find_all(exp.AggFunc, exp.Ordered)
                  if isinstance(a.this, exp.Column) and (r := resolve(a.this, sc, ed.schema))}
    outputs = {r[:1] + r[2:] for e in sc.select.expressions for c in e.find_all(exp.Column)
               if (r := resolve(c, sc, ed.schema))}
    filtered = {(p.alias, p.col) for p in preds}
    for alias, row in rows.items():
        varied = {c for a, c in aggregated if a == alias}
        shown = {c for a, c in outputs - filtered if a == alias}
        row_cands = _row_candidates(ed, sc.tables[alias], row, pick[alias], used.get(alias, set()), varied,
                                    shown, kids[alias])
        hedge += [op for v in row_cands if v.note.endswith("its other columns changed") for op in v.ops]
        out += row_cands
    return out


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
        return not results_match(got, gold.result, ordered, self.o.ignore_column_order, self.o.digits, gold.ties)

    def trial(self, ops: list, gold_sql: str, tree, base: GoldRun, nbs: dict[int, Neighbor]) -> set[int] | None:
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


def _screen(oracle, wb: Workbench, db_path: Path, gold_sql: str, tree, base: GoldRun, nbs: list[Neighbor],
            sampled: bool) -> tuple[dict[int, Neighbor], int]:
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


def _select(wb: Workbench, cands: list[Variant], alive: dict[int, Neighbor], gold_sql: str, tree, base: GoldRun,
            max_variants: int, deadline: float) -> tuple[list[tuple[Variant, set[int]]], set[int]]:
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


def _merge(wb: Workbench, chosen: list[tuple[Variant, set[int]]], alive: dict[int, Neighbor], gold_sql: str,
           tree, base: GoldRun, hedge: Variant | None, max_variants: int) -> list[Variant]:
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
    """The test suite of one gold query on one database (module docstring, 5-6)."""

    db_hash: str
    gold_sql: str
    variants: list[Variant]
    base: str = ""                # file name of the sampled sub-database (huge databases), else ""
    neighbors: int = 0            # neighbor queries that run on the database
    told_by_database: int = 0     # ... told apart by the database itself or a perturbed copy
    told_by_variants: int = 0     # ... told apart only by the suite's variants
    uncovered: list[str] = field(default_factory=list)  # ... told apart by nothing (often equivalents)
    seconds: float = 0.0          # build time
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
    return cache_dir() / "text2sql" / "suites" / f"v{SUITE_VERSION}" / f"{db_path.stem}-{db_hash(db_path)[:16]}"


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
    """Neighbors, candidate variants, selection, merge (module docstring, 1-5)."""
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
        cands, hedge = candidates(Editor(wb.conn, schema, random.Random(f"{oracle.seed}:{gold_sql}")), tree,
                                  oracle.timeout)
        if sampled:
            cands.insert(0, Variant("sample", "the sampled sub-database"))
        chosen, open_ = _select(wb, cands, alive, gold_sql, tree, g0, oracle.max_variants,
                                t0 + oracle.suite_budget)
        variants = _merge(wb, chosen, alive, gold_sql, tree, g0, hedge, oracle.max_variants)
    finally:
        wb.close()
    return Suite(db_hash(db_path), gold_sql, variants, base.name if sampled else "", told + len(alive), told,
                 len(alive) - len(open_), sorted(alive[i].sql for i in open_), round(time.monotonic() - t0, 3))


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
    return {"golds": len(seen), "built": built, "cached": len(seen) - built,
            "build_seconds_mean": round(sum(seconds) / len(seconds), 3) if seconds else None,
            "variants_per_gold": round(variants / max(1, len(seen)), 2),
            "uncovered_neighbors_per_gold": round(uncovered / max(1, len(seen)), 2)}


# --------------------------------------------------------------------------- huge databases


def _keep_rows(conn: sqlite3.Connection, schema: dict[str, Table], tree, rows: int, rng: random.Random,
               timeout: float) -> dict[str, set]:
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
            chunk = picks[i: i + 500]
            keep[t] |= {r[0] for r in conn.execute(
                f"SELECT rowid FROM {_q(schema[t].name)} WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)}
    for _ in range(8):  # parents of kept rows, until nothing new
        added = 0
        for t, tab in schema.items():
            for c, col in tab.cols.items():
                if not col.ref or t not in keep or col.ref[0] not in keep:
                    continue
                pt, pc = col.ref
                ids = sorted(keep[t])
                for i in range(0, len(ids), 500):
                    chunk = ids[i: i + 500]
                    new = {r[0] for r in conn.execute(
                        f"SELECT p.rowid FROM {_q(schema[pt].name)} AS p WHERE p.{_q(pc)} IN (SELECT "
                        f"{_q(col.name)} FROM {_q(tab.name)} WHERE rowid IN ({','.join('?' * len(chunk))}))", chunk)}
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
        keep = _keep_rows(src, schema, tree, oracle.sample_rows, random.Random(f"{oracle.seed}:{gold_sql}"),
                          oracle.gold_timeout)
        _copy_rows(src, dst, schema, keep, oracle.sample_rows)
    finally:
        src.close()
        dst.close()
    tmp.replace(out)
    return out


def _copy_rows(src: sqlite3.Connection, dst: sqlite3.Connection, schema: dict[str, Table], keep: dict[str, set],
               rows: int) -> None:
    ddl = src.execute("SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                      "ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid").fetchall()
    for kind, sql in ddl:
        if kind == "table":
            dst.execute(sql)
    for t, tab in schema.items():
        cols = [c.name for c in tab.cols.values()]
        marks = ", ".join("?" * (len(cols) + tab.rowid))
        names = ", ".join((["rowid"] if tab.rowid else []) + [_q(c) for c in cols])
        if tab.rowid:
            ids = sorted(keep.get(t, ()))
            data = [r for i in range(0, len(ids), 500) for r in src.execute(
                f"SELECT rowid, {', '.join(_q(c) for c in cols)} FROM {_q(tab.name)} WHERE rowid IN "
                f"({','.join('?' * len(ids[i: i + 500]))})", ids[i: i + 500])]
        else:
            data = src.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(tab.name)} LIMIT {rows}").fetchall()
        dst.executemany(f"INSERT INTO {_q(tab.name)} ({names}) VALUES ({marks})", data)
    for kind, sql in ddl:
        if kind in ("index", "view"):
            dst.execute(sql)
    dst.commit()
