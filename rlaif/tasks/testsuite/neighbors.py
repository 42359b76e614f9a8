"""The gold query's side: constants, scopes and column resolution, and neighbor queries (near-miss
mutations made with sqlglot)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import date, timedelta

from .facts import DATE, Col, Table, decimal_places

# --------------------------------------------------------------------------- constants and steps


_CONST_DB = sqlite3.connect(":memory:", check_same_thread=False)
_CONST_LOCK = threading.Lock()


def const_value(node):
    """The value of a constant expression (`10 * 60000`, `'%' || 'x' || '%'`), or None."""
    from sqlglot import exp

    if node is None or any(
        isinstance(n, (exp.Column, exp.Select, exp.Subquery, exp.Star, exp.Func))
        and not isinstance(n, exp.DPipe)
        for n in node.walk()
    ):
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
    places = decimal_places(value)
    return 10.0 ** -min(places, 4) if places else 1


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
            vals = (
                {int(value) - 1, int(value), int(value) + 1}
                if float(value).is_integer()
                else {int(value // 1), int(value // 1) + 1}
            )
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
    tables: dict[str, str]  # alias (lower) -> table (lower); only real tables of the schema
    parent: "Scope | None" = None


def scopes(tree, schema: dict[str, Table]) -> list[Scope]:
    """Every SELECT of the query, outermost first, with the schema tables of its FROM and JOINs."""
    from sqlglot import exp

    out: dict[int, Scope] = {}
    for sel in tree.find_all(exp.Select):
        frm = sel.args.get("from_") or sel.args.get("from")
        sources = ([frm.this] if frm is not None else []) + [j.this for j in sel.args.get("joins") or []]
        tables = {
            s.alias_or_name.lower(): s.name.lower()
            for s in sources
            if isinstance(s, exp.Table) and s.name.lower() in schema and not s.args.get("db")
        }
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
            yield (
                "like",
                lambda n, c=col_side, p=p: n.replace(exp.Like(this=n.args[c].copy(), expression=literal(p))),
            )
    if isinstance(other, exp.Column):
        for alt in ctx.similar_columns(other):
            yield "column", lambda n, c=col_side, alt=alt: n.args[c].replace(alt.copy())


def _mut_between(node, ctx):
    from sqlglot import exp

    for part in ("low", "high"):
        for v in literal_shifts(const_value(node.args.get(part))):
            yield "shift", lambda n, p=part, v=v: n.set(p, literal(v))
    for lo, hi in ((exp.GT, exp.LTE), (exp.GTE, exp.LT)):
        yield (
            "op",
            lambda n, lo=lo, hi=hi: n.replace(
                exp.and_(
                    lo(this=n.this.copy(), expression=n.args["low"].copy()),
                    hi(this=n.this.copy(), expression=n.args["high"].copy()),
                )
            ),
        )


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
            yield (
                "drop",
                lambda n, i=i: n.set(
                    "this", joiner(*[p.copy() for j, p in enumerate(list(n.this.flatten())) if j != i])
                ),
            )


def _mut_group(node, ctx):
    from sqlglot import exp

    for i, e in enumerate(node.expressions):
        if isinstance(e, exp.Column):
            for alt in ctx.other_columns(e):
                yield "group", lambda n, i=i, alt=alt: n.expressions[i].replace(alt.copy())


def _mut_ordered(node, ctx):
    yield (
        "desc",
        lambda n: (n.set("desc", not n.args.get("desc")), n.set("nulls_first", bool(n.args.get("desc")))),
    )
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

    return [
        (tuple(_cmp_classes()), _mut_compare),
        (exp.Between, _mut_between),
        (exp.Like, _mut_like),
        (exp.Select, _mut_distinct),
        (exp.Count, _mut_count),
        (exp.Join, _mut_join),
        ((exp.Where, exp.Having), _mut_drop),
        (exp.Group, _mut_group),
        (exp.Ordered, _mut_ordered),
        (exp.Limit, _mut_limit),
        ((exp.Min, exp.Max, exp.Avg, exp.Sum), _mut_agg),
        ((exp.Not, exp.Is, exp.In), _mut_negation),
    ]


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
        names = [
            c
            for c, x in sorted(table.cols.items(), key=lambda kv: not kv[1].nulls)
            if c != r[2] and not x.key and ((not x.notnull) if nullable else x.kind == me.kind)
        ][:n]
        return [exp.column(table.cols[c].name, table=col.table or None) for c in names]

    def nullable_columns(self, node, n: int = 6) -> list:
        from sqlglot import exp

        scope = scope_of(node, self.by_select)
        out = []
        for alias, t in scope.tables.items() if scope else []:
            cols = [c for c in self.schema[t].cols.values() if not c.notnull and not c.key][:n]
            qual = alias if len(scope.tables) > 1 else None
            out += [exp.column(c.name, table=qual) for c in cols]
        return out


def neighbors(tree, schema: dict[str, Table]) -> list[Neighbor]:
    """Near-miss mutations of a query (package docstring, 1), each a distinct SQL text."""
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
