"""Candidate variants: witness rows of the gold, its filters, and row edits of the database that respect
its keys and constraints (package docstring, 2-3)."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field

from ..sqloracle import SQLTimeout, run_query
from .facts import DATE, Table, _q
from .neighbors import (
    Scope,
    _cmp_classes,
    _const_side,
    _shift_date,
    boundary_values,
    const_value,
    literal,
    own_nodes,
    resolve,
    scope_of,
    scopes,
)

WITNESSES = 200  # witness tuples read per FROM clause
MAX_COPIES = 100  # rows inserted or deleted at most to bring a group to a HAVING bound


# --------------------------------------------------------------------------- witness rows and predicates


def witness_rows(
    conn: sqlite3.Connection,
    scope: Scope,
    schema: dict[str, Table],
    timeout: float = 2.0,
    n: int = WITNESSES,
    where=None,
) -> list[dict[str, int]]:
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
    op: str  # cmp | between | like | in | null
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
                elif (
                    isinstance(other, exp.Column)
                    and value is not None
                    and (r := resolve(other, scope, schema))
                ):
                    preds.append(Pred(*r, "cmp", [value], isinstance(node, exp.EQ)))
            elif isinstance(node, exp.Between) and (r := _column_side(node, scope, schema)):
                vals = [const_value(node.args.get("low")), const_value(node.args.get("high"))]
                preds.append(Pred(*r, "between", [v for v in vals if v is not None]))
            elif isinstance(node, exp.Like) and (r := _column_side(node, scope, schema)):
                if isinstance(pattern := const_value(node.expression), str):
                    preds.append(Pred(*r, "like", [pattern]))
            elif (
                isinstance(node, exp.In)
                and not node.args.get("query")
                and (r := _column_side(node, scope, schema))
            ):
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
    """Row edits of the base database that respect its keys and constraints (package docstring, 3)."""

    def __init__(self, conn: sqlite3.Connection, schema: dict[str, Table], rng: random.Random):
        self.conn, self.schema, self.rng = conn, schema, rng
        self.exempt: set[tuple[str, str]] = set()  # natural keys the gold names in parts
        self.identity: dict[str, tuple] = {}  # table -> (text columns naming one entity, all its
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
        return self._one(
            sql + (" AND rowid <> ?" if rowid is not None else ""),
            (value,) + ((rowid,) if rowid is not None else ()),
        )

    def fresh(self, t: str, c: str, like, unlike: bool = False):
        """A value the column does not hold (and was not given before): max + 1, or `like ~n` (with
        `unlike`, `~n like`: no prefix in common with `like`)."""
        col, key = self.schema[t].cols[c], (t, c)
        if col.kind in ("int", "real") or isinstance(like, (int, float)) and not isinstance(like, bool):
            if key not in self._next:
                top = self.conn.execute(
                    f"SELECT MAX({_q(col.name)}) FROM {_q(self.schema[t].name)} "
                    f"WHERE typeof({_q(col.name)}) IN ('integer', 'real')"
                ).fetchone()[0]
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
            self._domains[t, c] = [
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT {_q(col.name)} FROM {_q(table.name)} "
                    f"WHERE {_q(col.name)} IS NOT NULL LIMIT {n}"
                )
            ]
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
        parts = sorted(
            (c for c in table.pk if c not in changes),
            key=lambda c: ((t, c) in self.filtered, table.cols[c].ref is not None),
        )
        for c in parts:
            extra = [] if table.cols[c].ref else [self.fresh(t, c, new[c])]
            for v in self.domain(t, c) + extra:
                trial = new | {c: v}
                key = {k: trial[k] for k in table.pk}
                if v != new[c] and self.allowed(t, c, v) and not self._row_exists(table, key):
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
        return [
            f"INSERT INTO {_q(table.name)} ({names}) VALUES ({', '.join('?' * len(cols))})",
            [new[c] for c in cols],
        ]

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
        ok = {
            c: v
            for c, v in changes.items()
            if not self.schema[t].cols[c].key
            and not self.is_parent_key(t, c)
            and self.allowed(t, c, v, rowid)
        }
        if not ok or (len(ok) < len(changes) and not partial):
            return None
        table = self.schema[t]
        sets = ", ".join(f"{_q(table.cols[c].name)} = ?" for c in ok)
        return [[f"UPDATE {_q(table.name)} SET {sets} WHERE rowid = ?", [*ok.values(), rowid]]]

    def delete(self, t: str, rowid, row: dict) -> list | None:
        """Delete a row that no other row references."""
        for ct, cc, pc in self.schema[t].children:
            value = rowid if pc == "rowid" else row.get(pc)
            if value is not None and self._one(
                f"SELECT 1 FROM {_q(self.schema[ct].name)} WHERE {_q(self.schema[ct].cols[cc].name)} = ?",
                (value,),
            ):
                return None
        return [[f"DELETE FROM {_q(self.schema[t].name)} WHERE rowid = ?", [rowid]]]


# --------------------------------------------------------------------------- candidate variants

# the order candidates are tried in: the kinds that catch the most common near misses first
PRIORITY = [
    "boundary",
    "like",
    "text",
    "sibling",
    "group",
    "null",
    "fill",
    "others",
    "duplicate",
    "vary",
    "bound-update",
    "swap",
    "delete",
]


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
    return [v + s for v in p.values if isinstance(v, str) for s in (" x", "s")] + [
        "x " + v for v in p.values if isinstance(v, str)
    ]


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


def _filter_edits(
    ed: Editor, p: Pred, row: dict, rowid, kids: list, extra: dict, copies_only: bool = False
) -> list[Variant]:
    """Boundary values (copies and updates), text that matches one form of a LIKE or `=` and not
    another, and a sibling that fails only this filter; `extra` changes go into the copies."""
    t, col, out = p.table, ed.schema[p.table].cols[p.col], []
    where = f"{ed.schema[t].name} row {rowid}" + (" (with its children)" if kids else "")
    more = "".join(f", {ed.schema[t].cols[c].name} = {v!r}" for c, v in extra.items())
    if p.op in ("cmp", "between") and not copies_only:
        for v in dict.fromkeys(x for v in p.values for x in boundary_values(v, col)):
            _add(
                out,
                "boundary",
                f"a copy of {where} with {col.name} = {v!r}",
                ed.insert_copy(t, row, {p.col: v}, kids),
            )
            _add(out, "bound-update", f"{where} with {col.name} = {v!r}", ed.update(t, rowid, {p.col: v}))
    if p.op == "like" or (p.equality and col.kind in ("text", "other")):
        for v in _text_values(p):
            _add(
                out,
                "like" if p.op == "like" else "text",
                f"a copy of {where} with {col.name} = {v!r}{more}",
                ed.insert_copy(t, row, {p.col: v} | extra, kids),
            )
            if not copies_only:
                _add(out, "bound-update", f"{where} with {col.name} = {v!r}", ed.update(t, rowid, {p.col: v}))
    if p.op in ("like", "in", "null") or p.equality:
        other = (
            ed.other_value(t, p.col, row.get(p.col))
            if p.op != "null"
            else (ed.other_value(t, p.col, None) if row.get(p.col) is None else None)
        )
        _add(
            out,
            "sibling",
            f"a copy of {where} with {col.name} = {other!r}{more}",
            ed.insert_copy(t, row, {p.col: other} | extra, kids),
        )
    return out


def _children(ed: Editor, sc: Scope, pick: dict, rows: dict) -> dict[str, list]:
    """For each alias, the witness rows of other aliases that reference its row: [(table, row, column)]."""
    out: dict[str, list] = {a: [] for a in rows}
    for a, row in rows.items():
        t = sc.tables[a]
        for b, brow in rows.items():
            tb = sc.tables[b]
            for c, col in ed.schema[tb].cols.items():
                if (
                    b != a
                    and col.ref
                    and col.ref[0] == t
                    and brow.get(c) is not None
                    and brow.get(c) == (pick[a] if col.ref[1] == "rowid" else row.get(col.ref[1]))
                ):
                    out[a].append((tb, brow, c))
    return out


def _row_candidates(
    ed: Editor, t: str, row: dict, rowid, used: set[str], varied: set[str], shown: set[str], kids: list
) -> list[Variant]:
    """Edits of one witness row that no particular filter asks for (`shown`: its columns the query
    outputs and does not filter on; `varied`: the ones it aggregates or orders by)."""
    table, out = ed.schema[t], []
    where = f"{table.name} row {rowid}"
    free = [
        c for c, col in table.cols.items() if c not in used and not col.key and not ed.is_parent_key(t, c)
    ]
    nullable = [c for c in table.cols if not table.cols[c].notnull and not table.cols[c].key]
    for c in (c for c in nullable if c in used and row.get(c) is not None):
        _add(out, "null", f"{where} with {table.cols[c].name} = NULL", ed.update(t, rowid, {c: None}))
    others = {c: None for c in nullable if c not in used and row.get(c) is not None}
    _add(out, "others", f"{where} with its other columns NULL", ed.update(t, rowid, others, partial=True))
    filled = {c: ed.other_value(t, c, None) for c in free if row.get(c) is None}
    _add(
        out,
        "fill",
        f"a copy of {where} with its NULLs filled",
        ed.insert_copy(t, row, {c: v for c, v in filled.items() if v is not None and ed.allowed(t, c, v)})
        if filled
        else None,
    )
    _add(out, "duplicate", f"a copy of {where}", ed.insert_copy(t, row, {}))
    if kids:
        _add(out, "duplicate", f"a copy of {where} with its children", ed.insert_copy(t, row, {}, kids))
    for c in varied:
        change = {c: ed.other_value(t, c, row.get(c))} | {
            s: ed.other_value(t, s, row.get(s)) for s in shown - {c}
        }
        change = {k: v for k, v in change.items() if k == c or ed.allowed(t, k, v)}
        _add(
            out,
            "vary",
            f"a copy of {where} with {table.cols[c].name} = {change[c]!r}",
            ed.insert_copy(t, row, change),
        )
    scramble = {c: ed.other_value(t, c, row.get(c)) for c in free}
    _add(out, "swap", f"{where} with its other columns changed", ed.update(t, rowid, scramble, partial=True))
    for c in (c for c in used if c in table.cols and not table.cols[c].key):
        v = ed.other_value(t, c, row.get(c))
        _add(out, "swap", f"{where} with {table.cols[c].name} = {v!r}", ed.update(t, rowid, {c: v}))
    _add(out, "delete", f"{where} deleted", ed.delete(t, rowid, row))
    return out


def _group_candidates(ed: Editor, scope: Scope, agg, bound, timeout: float) -> list[Variant]:
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


def _count_to(ed: Editor, scope: Scope, bound, value, tuples: list[dict]) -> list[Variant]:
    """A group's COUNT brought to the bound and one either side: copies of one of its rows, or some of
    its rows deleted (those nothing references), at most MAX_COPIES, each kind in one statement."""
    alias = max(tuples[0], key=lambda a: len({tp[a] for tp in tuples}))
    t, out = scope.tables[alias], []
    ids = list(dict.fromkeys(tp[alias] for tp in tuples if tp[alias] is not None))
    row = fetch_row(ed.conn, ed.schema[t], ids[0])
    for target in (bound - 1, bound, bound + 1):
        k = target - value
        if not float(k).is_integer() or not 1 <= abs(k) <= MAX_COPIES:
            continue
        if k > 0:
            ops = [ed.insert_copy(t, row, {}) for _ in range(int(k))]
            _add(out, "group", f"{int(k)} copies of {ed.schema[t].name} row {ids[0]}", _one_insert(ops))
        else:
            gone = [r for r in ids if ed.delete(t, r, fetch_row(ed.conn, ed.schema[t], r))][: int(-k)]
            marks = ", ".join("?" * len(gone))
            _add(
                out,
                "group",
                f"{len(gone)} rows of {ed.schema[t].name} deleted",
                [[f"DELETE FROM {_q(ed.schema[t].name)} WHERE rowid IN ({marks})", gone]]
                if len(gone) == -k
                else None,
            )
    return out


def _one_insert(ops: list) -> list | None:
    """Single-row copies of the same table (no children) as one multi-row INSERT, or None."""
    if not ops or any(o is None or len(o) != 1 for o in ops):
        return None
    sql, _ = ops[0][0]
    row = sql[sql.index("VALUES ") + 7 :]
    return [[sql + (", " + row) * (len(ops) - 1), [v for o in ops for v in o[0][1]]]]


def _adjust_group(ed: Editor, scope: Scope, agg, bound, value, tuples: list[dict]) -> list[Variant]:
    from sqlglot import exp

    if not tuples:
        return []
    if isinstance(agg, exp.Count):
        return _count_to(ed, scope, bound, value, tuples)
    out = []
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
        _add(
            out,
            "group",
            f"{ed.schema[t].name} row {rowid} with {col.name} = {new!r}",
            ed.update(t, rowid, {c: new}),
        )
    return out


def _prepare(ed: Editor, scs: list[Scope], tree) -> None:
    """What the edits must keep (package docstring, 3): names the gold identifies an entity by, columns a
    NOT IN reads, filtered columns."""
    from sqlglot import exp

    by_select = {id(s.select): s for s in scs}
    for sc in scs:
        preds, _ = predicates(sc, ed.schema)
        ed.filtered |= {(p.table, p.col) for p in preds}
        for alias, t in sc.tables.items():
            names = [
                p
                for p in preds
                if p.alias == alias
                and p.op == "cmp"
                and p.equality
                and isinstance(p.values[0], str)
                and ed.schema[t].cols[p.col].kind in ("text", "other")
            ]
            if not names:
                continue
            where = " AND ".join(f"{_q(ed.schema[t].cols[p.col].name)} = ?" for p in names)
            n = ed.conn.execute(
                f"SELECT COUNT(*) FROM {_q(ed.schema[t].name)} WHERE {where}", [p.values[0] for p in names]
            ).fetchone()[0]
            if n == 1:
                eq = [p.col for p in preds if p.alias == alias and p.op == "cmp" and p.equality]
                ed.identity[t] = (list(dict.fromkeys(p.col for p in names)), list(dict.fromkeys(eq)))
            if len({p.col for p in names}) > 1:
                ed.exempt |= {(t, p.col) for p in names}
    for node in tree.find_all(exp.Not):
        if isinstance(node.this, exp.In):
            cols = [node.this.this] + [
                c for q in [node.this.args.get("query")] if q for c in q.find_all(exp.Column)
            ]
            for c in cols:
                if isinstance(c, exp.Column) and (r := resolve(c, scope_of(c, by_select), ed.schema)):
                    ed.no_null.add((r[1], r[2]))


def _near_witnesses(ed: Editor, sc: Scope, timeout: float) -> list[dict]:
    """For a scope no row passes (`COUNT(*) ... WHERE x < -20` is 0 today): one witness for each WHERE
    conjunct left out, rows that fail only that filter."""
    from sqlglot import exp

    where = sc.select.args.get("where")
    parts = (
        list(where.this.flatten())
        if where is not None and isinstance(where.this, exp.And)
        else ([where.this] if where is not None else [])
    )
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
    return unique, (
        Variant("hedge", "the other columns of the gold's rows changed", hedge) if hedge else None
    )


def _scope_candidates(ed: Editor, sc: Scope, pick: dict, hedge: list, timeout: float) -> list[Variant]:
    """The candidates built on one witness tuple of one scope (collecting the hedge's edits)."""
    from sqlglot import exp

    out: list[Variant] = []
    rows = {a: fetch_row(ed.conn, ed.schema[sc.tables[a]], r) for a, r in pick.items() if r is not None}
    preds, aggs = predicates(sc, ed.schema)
    used = used_columns(sc, ed.schema)
    kids = _children(ed, sc, pick, rows)
    sides = {
        r[:1] + r[2:]: "low" if isinstance(a, exp.Min) else "high"
        for a in sc.select.find_all(exp.AggFunc)
        if isinstance(a.this, exp.Column) and (r := resolve(a.this, sc, ed.schema))
    }
    for p in preds:
        if p.alias in rows:
            extreme = _extremes(ed, p.table, {c: d for (a, c), d in sides.items() if a == p.alias})
            out += _pred_candidates(ed, p, rows[p.alias], pick[p.alias], kids[p.alias], extreme)
    for agg, _, bound in aggs:
        out += _group_candidates(ed, sc, agg, bound, timeout)
    aggregated = {
        r[:1] + r[2:]
        for a in sc.select.find_all(exp.AggFunc, exp.Ordered)
        if isinstance(a.this, exp.Column) and (r := resolve(a.this, sc, ed.schema))
    }
    outputs = {
        r[:1] + r[2:]
        for e in sc.select.expressions
        for c in e.find_all(exp.Column)
        if (r := resolve(c, sc, ed.schema))
    }
    filtered = {(p.alias, p.col) for p in preds}
    for alias, row in rows.items():
        varied = {c for a, c in aggregated if a == alias}
        shown = {c for a, c in outputs - filtered if a == alias}
        row_cands = _row_candidates(
            ed, sc.tables[alias], row, pick[alias], used.get(alias, set()), varied, shown, kids[alias]
        )
        hedge += [op for v in row_cands if v.note.endswith("its other columns changed") for op in v.ops]
        out += row_cands
    return out
