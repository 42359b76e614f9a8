"""Schema-driven questions: query shapes instantiated from a database's keys, column types and values.

Hand-written templates (`templates.py`) do not scale to many databases; these families do. Per
database the only input is `specs.py` (nouns and column phrases); the rest comes from the file.

1. Roles come from the data: a column with a phrase is a *category* when it has few distinct values
   (at most 12; for text at most 60 or a tenth of the rows), a *measure* when it is numeric with at least 8
   distinct values (it can be both, e.g. a model year), an *attribute* when it is other text. A
   table's label columns name its rows; tables without one (facts, links) are counted, summed and
   joined through, never listed.
2. Foreign keys (read from SQLite) give the joins: child -> parent (2 tables), chains of two or three
   keys (3-4 tables), and links between two parents through a fact or link table (3 tables).
3. Seven kinds, each with several families and 3 wordings per family: filter, aggregate, group
   (GROUP BY / HAVING), order (ORDER BY ... LIMIT), join, nested (subqueries), set (INTERSECT,
   EXCEPT, UNION). Values in questions are drawn from the data (thresholds at quantiles, categories,
   labels), so every question mentions things that exist.
4. Every instance passes the template machinery's checks (`questions.usable`: runs, non-empty, not
   all NULL, no tie at a top-k cut) plus two more: at most 150 rows (a question a person would ask),
   and strictly increasing sort keys over the first k+1 rows of an ORDER BY ... LIMIT k, so the
   order inside the answer is unique too. Sampling is seeded by database and family.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .questions import param_rows, sql_literal, usable
from .schema import schema_from_sqlite
from .specs import SPECS, TableSpec
from .templates import Template

KINDS = ("filter", "aggregate", "group", "order", "join", "nested", "set")
MAX_ROWS = 150
AGGS = (("AVG", "average"), ("MAX", "maximum"), ("MIN", "minimum"), ("SUM", "total"))


@dataclass
class Table:
    name: str
    spec: TableSpec
    rows: int
    pk: list[str]
    cats: list[str]
    nums: list[str]
    attrs: list[str]

    @property
    def one(self) -> str:
        return self.spec.one

    @property
    def many(self) -> str:
        return self.spec.many

    @property
    def labelled(self) -> bool:
        return bool(self.spec.label)

    def phrase(self, col: str) -> str:
        return self.spec.columns[col]

    def sel(self, a: str = "") -> str:
        return ", ".join(a + c for c in self.spec.label)

    def where(self, a: str = "", ph: str = "l") -> str:
        return " AND ".join(f"{a}{c} = {{{ph}{i}}}" for i, c in enumerate(self.spec.label))

    def text(self, ph: str = "l") -> str:
        return " ".join("{%s%d}" % (ph, i) for i in range(len(self.spec.label)))

    def params(self, ph: str = "l", extra: str = "") -> str:
        cols = ", ".join(f"{c} AS {ph}{i}" for i, c in enumerate(self.spec.label))
        nn = " AND ".join(f"{c} IS NOT NULL" for c in self.spec.label)
        return f"SELECT DISTINCT {cols} FROM {self.name} WHERE {nn}{extra}"


@dataclass
class Link:
    child: str
    col: str
    parent: str
    pcol: str
    phrase: str


def an(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeio" else "a ") + noun


def _nice(v):
    if isinstance(v, float):
        return int(round(v)) if abs(v) >= 100 else round(v, 2)
    return v


class Generator:
    """The templates of one database (`templates()`) and their checked instances (`items()`)."""

    def __init__(self, db_id: str, path: str | Path, spec: dict[str, TableSpec] | None = None):
        self.db_id, self.path = db_id, Path(path)
        self.spec = spec if spec is not None else SPECS[db_id]
        self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        schema = schema_from_sqlite(self.path, db_id)
        fks = {(t, c) for t, c, _, _ in schema.foreign_keys}
        self.tables: dict[str, Table] = {}
        for t in schema.tables:
            if t.name in self.spec:
                self.tables[t.name] = self._table(t.name, t.primary_key, fks)
        self.links = [
            Link(t, c, rt, rc, self.spec[t].columns.get(c, self.spec[rt].one))
            for t, c, rt, rc in schema.foreign_keys
            if t in self.tables and rt in self.tables
        ]
        self.out: list[Template] = []

    def _table(self, name: str, pk: list[str], fks: set) -> Table:
        spec = self.spec[name]
        rows = self.conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        types = {r[1]: r[2].upper() for r in self.conn.execute(f"PRAGMA table_info({name})")}
        cats, nums, attrs = [], [], []
        for col in spec.columns:
            if pk == [col] or (name, col) in fks or col in spec.label:  # a year in a composite key is data
                continue
            distinct, present = self.conn.execute(
                f"SELECT COUNT(DISTINCT {col}), COUNT({col}) FROM {name}"
            ).fetchone()
            numeric = types[col] in ("INTEGER", "REAL")
            if 2 <= distinct and (
                distinct <= 12 or (not numeric and (distinct <= 60 or distinct <= present / 10))
            ):
                cats.append(col)
            if numeric and distinct >= 8:
                nums.append(col)
            if not numeric and col not in cats:
                attrs.append(col)
        return Table(name, spec, rows, pk, cats, nums, attrs)

    # ---------------------------------------------------------------- helpers

    def add(
        self, kind: str, name: str, questions: list[str], sql: str, params: str = "", limit: int = 3, **cross
    ) -> None:
        self.out.append(
            Template(self.db_id, kind, name, tuple(questions), " ".join(sql.split()), params, cross, limit)
        )

    def thresholds(self, t: Table, col: str, high: bool = True) -> list:
        vals = [
            r[0]
            for r in self.conn.execute(f"SELECT {col} FROM {t.name} WHERE {col} IS NOT NULL ORDER BY {col}")
        ]
        qs = (0.75, 0.9, 0.95) if high else (0.05, 0.1, 0.25)
        return sorted({_nice(vals[min(len(vals) - 1, int(q * len(vals)))]) for q in qs}) if vals else []

    def group_sizes(self, sql: str) -> list[int]:
        sizes = sorted(r[0] for r in self.conn.execute(sql))
        return (
            sorted({sizes[int(q * (len(sizes) - 1))] for q in (0.5, 0.75, 0.9)} - {0})
            if len(sizes) > 2
            else []
        )

    def pick(self, family: str, options: list, n: int) -> list:
        rng = random.Random(f"{self.db_id}/{family}")
        return rng.sample(options, min(n, len(options)))

    def join(self, lk: Link, c: str = "T1", p: str = "T2") -> str:
        return f"{lk.child} AS {c} JOIN {lk.parent} AS {p} ON {c}.{lk.col} = {p}.{lk.pcol}"

    def chains(self, length: int) -> list[list[Link]]:
        """Paths child -> parent -> grandparent (-> ...) of `length` keys."""
        paths = [[lk] for lk in self.links]
        for _ in range(length - 1):
            paths = [
                p + [lk]
                for p in paths
                for lk in self.links
                if lk.child == p[-1].parent and lk.parent != p[0].child
            ]
        return paths

    def bridges(self) -> list[tuple[Link, Link]]:
        """Pairs of keys out of one table to two labelled parents (players <- batting -> teams)."""
        return [
            (a, b)
            for a in self.links
            for b in self.links
            if a.child == b.child
            and a.col != b.col
            and self.tables[a.parent].labelled
            and self.tables[b.parent].labelled
        ]

    # ---------------------------------------------------------------- families

    def build(self) -> list[Template]:
        for fam in (
            self.filters,
            self.aggregates,
            self.groups,
            self.orders,
            self.joins,
            self.fact_joins,
            self.nested,
            self.sets,
        ):
            fam()
        return self.out

    def filters(self) -> None:
        ents = [t for t in self.tables.values() if t.labelled]
        for t, c in self.pick("f_cat", [(t, c) for t in ents for c in t.cats], 5):
            p = t.phrase(c)
            self.add(
                "filter",
                f"f_cat/{t.name}.{c}",
                [
                    f"Which {t.many} have {p} {{v}}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of all {t.many} whose {p} is {{v}}.",
                    f"Show the {t.spec.label_name} of the {t.many} with {p} equal to {{v}}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} = {{v}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
            )
        for t, c in self.pick("f_num", [(t, c) for t in ents for c in t.nums], 5):
            p = t.phrase(c)
            self.add(
                "filter",
                f"f_gt/{t.name}.{c}",
                [
                    f"Which {t.many} have {p} above {{x}}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of the {t.many} whose {p} is greater than {{x}}.",
                    f"Find all {t.many} with more than {{x}} {p}: their {t.spec.label_name}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} > {{x}}",
                x=self.thresholds(t, c),
            )
            self.add(
                "filter",
                f"f_lt/{t.name}.{c}",
                [
                    f"Which {t.many} have {p} below {{x}}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of the {t.many} whose {p} is less than {{x}}.",
                    f"Show the {t.spec.label_name} of every {t.one} with {p} under {{x}}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} < {{x}}",
                x=self.thresholds(t, c, high=False),
                limit=2,
            )
        combos = [(t, c, m) for t in ents for c in t.cats for m in t.nums if m != c]
        for t, c, m in self.pick("f_cat_num", combos, 4):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "filter",
                f"f_cat_num/{t.name}.{c}.{m}",
                [
                    f"Which {t.many} with {pc} {{v}} have {pm} above {{x}}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of {t.many} whose {pc} is {{v}} and whose {pm} is greater than {{x}}.",
                    f"Among the {t.many} with {pc} {{v}}, which have more than {{x}} {pm}?",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} = {{v}} AND {m} > {{x}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
                x=self.thresholds(t, m)[:1] + self.thresholds(t, m, high=False)[-1:],
            )

    def aggregates(self) -> None:
        tabs = list(self.tables.values())
        for t, c in self.pick("a_count", [(t, c) for t in tabs for c in t.cats], 5):
            p = t.phrase(c)
            self.add(
                "aggregate",
                f"a_count/{t.name}.{c}",
                [
                    f"How many {t.many} have {p} {{v}}?",
                    f"Count the {t.many} whose {p} is {{v}}.",
                    f"What is the number of {t.many} with {p} {{v}}?",
                ],
                f"SELECT COUNT(*) FROM {t.name} WHERE {c} = {{v}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
            )
        for t, m in self.pick("a_count_gt", [(t, m) for t in tabs for m in t.nums], 3):
            p = t.phrase(m)
            self.add(
                "aggregate",
                f"a_count_gt/{t.name}.{m}",
                [
                    f"How many {t.many} have {p} above {{x}}?",
                    f"Count the {t.many} with more than {{x}} {p}.",
                    f"What is the number of {t.many} whose {p} is greater than {{x}}?",
                ],
                f"SELECT COUNT(*) FROM {t.name} WHERE {m} > {{x}}",
                x=self.thresholds(t, m),
                limit=2,
            )
        for (fn, word), (t, m) in zip(
            AGGS * 3, self.pick("a_all", [(t, m) for t in tabs for m in t.nums], 6)
        ):
            if fn == "SUM" and m not in t.spec.sums:  # a total of densities means nothing
                fn, word = AGGS[0]
            p = t.phrase(m)
            self.add(
                "aggregate",
                f"a_all/{fn}.{t.name}.{m}",
                [
                    f"What is the {word} {p} of all {t.many}?",
                    f"Compute the {word} {p} over the {t.many}.",
                    f"Give the {word} {p} across every {t.one}.",
                ],
                f"SELECT {fn}({m}) FROM {t.name}",
            )
        combos = [(t, c, m) for t in tabs for c in t.cats for m in t.nums if m != c]
        for (fn, word), (t, c, m) in zip(AGGS[:3] * 3, self.pick("a_cat", combos, 6)):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "aggregate",
                f"a_cat/{fn}.{t.name}.{c}.{m}",
                [
                    f"What is the {word} {pm} of {t.many} with {pc} {{v}}?",
                    f"For the {t.many} whose {pc} is {{v}}, give the {word} {pm}.",
                    f"Among {t.many} with {pc} {{v}}, what is the {word} {pm}?",
                ],
                f"SELECT {fn}({m}) FROM {t.name} WHERE {c} = {{v}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
            )

    def groups(self) -> None:
        tabs = list(self.tables.values())
        for t, c in self.pick("g_count", [(t, c) for t in tabs for c in t.cats], 3):
            p = t.phrase(c)
            self.add(
                "group",
                f"g_count/{t.name}.{c}",
                [
                    f"How many {t.many} are there for each {p}?",
                    f"For every {p}, count the {t.many}.",
                    f"Give each {p} and its number of {t.many}.",
                ],
                f"SELECT {c}, COUNT(*) FROM {t.name} GROUP BY {c}",
            )
        for t, c in self.pick("g_having", [(t, c) for t in tabs for c in t.cats], 4):
            p = t.phrase(c)
            self.add(
                "group",
                f"g_having/{t.name}.{c}",
                [
                    f"Which values of {p} have more than {{n}} {t.many}?",
                    f"List every {p} shared by over {{n}} {t.many}.",
                    f"Find the {p} values that occur in more than {{n}} {t.many}.",
                ],
                f"SELECT {c} FROM {t.name} GROUP BY {c} HAVING COUNT(*) > {{n}}",
                n=self.group_sizes(f"SELECT COUNT(*) FROM {t.name} GROUP BY {c}"),
                limit=2,
            )
        combos = [(t, c, m) for t in tabs for c in t.cats for m in t.nums if m != c]
        for t, c, m in self.pick("g_avg", combos, 3):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "group",
                f"g_avg/{t.name}.{c}.{m}",
                [
                    f"What is the average {pm} of {t.many} for each {pc}?",
                    f"For every {pc}, give the mean {pm} of its {t.many}.",
                    f"Show each {pc} with the average {pm} of the {t.many} that have it.",
                ],
                f"SELECT {c}, AVG({m}) FROM {t.name} GROUP BY {c}",
            )
        small = [
            lk for lk in self.links if self.tables[lk.parent].labelled and self.tables[lk.parent].rows <= 300
        ]
        for lk in self.pick("g_join_count", small, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "group",
                f"g_join_count/{lk.child}.{lk.col}",
                [
                    f"How many {ch.many} does each {lk.phrase} have? Give the {pa.spec.label_name} and the count.",
                    f"For every {lk.phrase}, count its {ch.many}.",
                    f"List each {lk.phrase} with the number of {ch.many} it has.",
                ],
                f"SELECT {pa.sel('T2.')}, COUNT(*) FROM {self.join(lk)} GROUP BY T2.{lk.pcol}",
            )
        having = [lk for lk in self.links if self.tables[lk.parent].labelled]
        for lk in self.pick("g_join_having", having, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "group",
                f"g_join_having/{lk.child}.{lk.col}",
                [
                    f"Which {pa.many} have more than {{n}} {ch.many} as {lk.phrase}? Give their {pa.spec.label_name}.",
                    f"List the {pa.spec.label_name} of the {pa.many} that are the {lk.phrase} of over {{n}} {ch.many}.",
                    f"Find every {lk.phrase} with more than {{n}} {ch.many}.",
                ],
                f"SELECT {pa.sel('T2.')} FROM {self.join(lk)} GROUP BY T2.{lk.pcol} HAVING COUNT(*) > {{n}}",
                n=self.group_sizes(f"SELECT COUNT(*) FROM {lk.child} GROUP BY {lk.col}"),
                limit=2,
            )
        sums = [
            (lk, m)
            for lk in small
            for m in self.tables[lk.child].nums
            if m in self.tables[lk.child].spec.sums
        ]
        for lk, m in self.pick("g_join_sum", sums, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            pm = ch.phrase(m)
            self.add(
                "group",
                f"g_join_sum/{lk.child}.{lk.col}.{m}",
                [
                    f"What is the total {pm} of the {ch.many} of each {lk.phrase}? "
                    f"Give the {pa.spec.label_name} and the total.",
                    f"For every {lk.phrase}, sum the {pm} of its {ch.many}.",
                    f"List each {lk.phrase} with the sum of {pm} over its {ch.many}.",
                ],
                f"SELECT {pa.sel('T2.')}, SUM(T1.{m}) FROM {self.join(lk)} GROUP BY T2.{lk.pcol}",
            )

    def orders(self) -> None:
        ents = [t for t in self.tables.values() if t.labelled]
        for t, m in self.pick("o_top", [(t, m) for t in ents for m in t.nums], 5):
            p = t.phrase(m)
            self.add(
                "order",
                f"o_top/{t.name}.{m}",
                [
                    f"Which {{k}} {t.many} have the highest {p}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of the {{k}} {t.many} with the largest {p}, largest first.",
                    f"Name the top {{k}} {t.many} by {p}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} ORDER BY {m} DESC LIMIT {{k}}",
                k=[2, 3, 5],
                limit=2,
            )
        for t, m in self.pick("o_bottom", [(t, m) for t in ents for m in t.nums], 4):
            p = t.phrase(m)
            self.add(
                "order",
                f"o_bottom/{t.name}.{m}",
                [
                    f"Which {{k}} {t.many} have the lowest {p}? Give their {t.spec.label_name} and {p}.",
                    f"List the {{k}} {t.many} with the smallest {p}, smallest first, with the {p}.",
                    f"Show the bottom {{k}} {t.many} by {p} and their {p}.",
                ],
                f"SELECT {t.sel()}, {m} FROM {t.name} WHERE {m} IS NOT NULL ORDER BY {m} ASC LIMIT {{k}}",
                k=[2, 3, 5],
                limit=2,
            )
        for t, c in self.pick("o_group", [(t, c) for t in self.tables.values() for c in t.cats], 3):
            p = t.phrase(c)
            self.add(
                "order",
                f"o_group/{t.name}.{c}",
                [
                    f"Which {{k}} values of {p} have the most {t.many}? Give each with its count.",
                    f"List the top {{k}} {p} values by number of {t.many}, with the counts.",
                    f"What are the {{k}} most common {p} values among the {t.many}, and how many {t.many} have each?",
                ],
                f"SELECT {c}, COUNT(*) FROM {t.name} GROUP BY {c} ORDER BY COUNT(*) DESC LIMIT {{k}}",
                k=[2, 3],
            )
        joins = [lk for lk in self.links if self.tables[lk.parent].labelled]
        for lk in self.pick("o_join", joins, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "order",
                f"o_join/{lk.child}.{lk.col}",
                [
                    f"Which {{k}} {pa.many} are the {lk.phrase} of the most {ch.many}? "
                    f"Give their {pa.spec.label_name} and the counts.",
                    f"List the top {{k}} {lk.phrase} values by number of {ch.many}, with the counts.",
                    f"Name the {{k}} {pa.many} with the largest number of {ch.many} as {lk.phrase}, and that number.",
                ],
                f"SELECT {pa.sel('T2.')}, COUNT(*) FROM {self.join(lk)} GROUP BY T2.{lk.pcol} "
                f"ORDER BY COUNT(*) DESC LIMIT {{k}}",
                k=[2, 3, 5],
                limit=2,
            )
        combos = [(t, c, m) for t in ents for c in t.cats for m in t.nums if m != c]
        for t, c, m in self.pick("o_cat", combos, 3):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "order",
                f"o_cat/{t.name}.{c}.{m}",
                [
                    f"Among the {t.many} with {pc} {{v}}, which {{k}} have the highest {pm}?",
                    f"List the {{k}} {t.many} with the largest {pm} among those whose {pc} is {{v}}.",
                    f"Name the top {{k}} {t.many} by {pm} among those with {pc} {{v}}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} = {{v}} ORDER BY {m} DESC LIMIT {{k}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
                k=[2, 3],
                limit=3,
            )

    def joins(self) -> None:
        labelled = [lk for lk in self.links if self.tables[lk.parent].labelled]
        for lk in self.pick("j_list", [lk for lk in labelled if self.tables[lk.child].labelled], 4):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "join",
                f"j_list/{lk.child}.{lk.col}",
                [
                    f"Which {ch.many} have the {lk.phrase} {pa.text()}? Give their {ch.spec.label_name}.",
                    f"List the {ch.spec.label_name} of the {ch.many} whose {lk.phrase} is {pa.text()}.",
                    f"Show the {ch.many} of the {lk.phrase} {pa.text()}.",
                ],
                f"SELECT {ch.sel('T1.')} FROM {self.join(lk)} WHERE {pa.where('T2.')}",
                pa.params(),
            )
        for lk in self.pick("j_count", labelled, 4):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "join",
                f"j_count/{lk.child}.{lk.col}",
                [
                    f"How many {ch.many} have the {lk.phrase} {pa.text()}?",
                    f"Count the {ch.many} whose {lk.phrase} is {pa.text()}.",
                    f"What is the number of {ch.many} of the {lk.phrase} {pa.text()}?",
                ],
                f"SELECT COUNT(*) FROM {self.join(lk)} WHERE {pa.where('T2.')}",
                pa.params(),
            )
        attrs = [
            (lk, a) for lk in self.links if self.tables[lk.child].labelled for a in self._attrs(lk.parent)
        ]
        for lk, a in self.pick("j_attr", attrs, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            pa_phrase = pa.spec.columns.get(a, "name")
            self.add(
                "join",
                f"j_attr/{lk.child}.{lk.col}.{a}",
                [
                    f"What is the {pa_phrase} of the {lk.phrase} of the {ch.one} {ch.text()}?",
                    f"Give the {pa_phrase} of the {lk.phrase} that the {ch.one} {ch.text()} has.",
                    f"For the {ch.one} {ch.text()}, what is its {lk.phrase}'s {pa_phrase}?",
                ],
                f"SELECT T2.{a} FROM {self.join(lk)} WHERE {ch.where('T1.')}",
                ch.params(extra=f" GROUP BY {ch.sel()} HAVING COUNT(*) = 1"),
            )
        chains = [p for p in self.chains(2) if self.tables[p[-1].parent].labelled]
        for a, b in self.pick("j_chain3", chains, 4):
            ch, top = self.tables[a.child], self.tables[b.parent]
            self.add(
                "join",
                f"j_chain3/{a.child}.{a.col}.{b.col}",
                [
                    f"How many {ch.many} have {an(a.phrase)} whose {b.phrase} is {top.text()}?",
                    f"Count the {ch.many} whose {a.phrase} belongs to the {b.phrase} {top.text()}.",
                    f"What is the number of {ch.many} with {an(a.phrase)} in the {b.phrase} {top.text()}?",
                ],
                f"SELECT COUNT(*) FROM {self.join(a)} JOIN {b.parent} AS T3 ON T2.{b.col} = T3.{b.pcol} "
                f"WHERE {top.where('T3.')}",
                top.params(),
            )
        chains4 = [p for p in self.chains(3) if self.tables[p[-1].parent].labelled]
        for a, b, c in self.pick("j_chain4", chains4, 3):
            ch, top = self.tables[a.child], self.tables[c.parent]
            self.add(
                "join",
                f"j_chain4/{a.child}.{a.col}.{b.col}.{c.col}",
                [
                    f"How many {ch.many} have {an(a.phrase)} whose {b.phrase} has the {c.phrase} {top.text()}?",
                    f"Count the {ch.many} whose {a.phrase} is in {an(b.phrase)} of the {c.phrase} {top.text()}.",
                    f"What is the number of {ch.many} that lead, through {a.phrase} "
                    f"and {b.phrase}, to the {c.phrase} {top.text()}?",
                ],
                f"SELECT COUNT(*) FROM {self.join(a)} JOIN {b.parent} AS T3 ON T2.{b.col} = T3.{b.pcol} "
                f"JOIN {c.parent} AS T4 ON T3.{c.col} = T4.{c.pcol} WHERE {top.where('T4.')}",
                top.params(),
            )
        for a, b in self.pick("j_bridge", self.bridges(), 4):
            mid, left, right = self.tables[a.child], self.tables[a.parent], self.tables[b.parent]
            self.add(
                "join",
                f"j_bridge/{a.child}.{a.col}.{b.col}",
                [
                    f"Which {left.many} have {mid.many} with the {b.phrase} "
                    f"{right.text()}? Give their {left.spec.label_name}.",
                    f"List the distinct {left.spec.label_name} of the {left.many} "
                    f"linked by {mid.many} to the {b.phrase} {right.text()}.",
                    f"Show every {a.phrase} that has {an(mid.one)} whose {b.phrase} is {right.text()}.",
                ],
                f"SELECT DISTINCT {left.sel('T1.')} FROM {a.parent} AS "
                f"T1 JOIN {a.child} AS T2 ON T2.{a.col} = T1.{a.pcol} "
                f"JOIN {b.parent} AS T3 ON T2.{b.col} = T3.{b.pcol} WHERE {right.where('T3.')}",
                right.params(),
            )

    def fact_joins(self) -> None:
        facts = [
            (lk, c, m)
            for lk in self.links
            if self.tables[lk.parent].labelled
            for c in self.tables[lk.child].cats
            for m in self.tables[lk.child].nums
            if m != c
        ]
        for lk, c, m in self.pick("j_fact", facts, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            pc, pm = ch.phrase(c), ch.phrase(m)
            self.add(
                "join",
                f"j_fact/{lk.child}.{lk.col}.{c}.{m}",
                [
                    f"Which {pa.many} have {an(ch.one)} with {pc} {{v}} and "
                    f"{pm} above {{x}}? Give their {pa.spec.label_name}.",
                    f"List the distinct {pa.spec.label_name} of the {pa.many} that are the {lk.phrase} "
                    f"of {an(ch.one)} whose {pc} is {{v}} and whose {pm} is greater than {{x}}.",
                    f"Find the {pa.many} with at least one {ch.one} of {pc} {{v}} and more than {{x}} {pm}.",
                ],
                f"SELECT DISTINCT {pa.sel('T2.')} FROM {self.join(lk)} WHERE T1.{c} = {{v}} AND T1.{m} > {{x}}",
                f"SELECT DISTINCT {c} AS v FROM {lk.child} WHERE {c} IS NOT NULL",
                x=self.thresholds(ch, m)[-2:],
            )

    def _attrs(self, table: str) -> list[str]:
        t = self.tables[table]
        return t.attrs + t.cats + (list(t.spec.label) if len(t.spec.label) == 1 else [])

    def nested(self) -> None:
        ents = [t for t in self.tables.values() if t.labelled]
        combos = [(t, c, m) for t in ents for c in t.cats for m in t.nums if m != c]
        for t, c, m in self.pick("n_avg", combos, 4):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "nested",
                f"n_avg/{t.name}.{c}.{m}",
                [
                    f"Which {t.many} with {pc} {{v}} have {pm} above the average of all {t.many}?",
                    f"List the {t.spec.label_name} of {t.many} whose {pc} is "
                    f"{{v}} and whose {pm} exceeds the overall average {pm}.",
                    f"Among {t.many} with {pc} {{v}}, which have more {pm} than the average {t.one}?",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} = {{v}} AND {m} > (SELECT AVG({m}) FROM {t.name})",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
            )
        for t, m in self.pick("n_than", [(t, m) for t in ents for m in t.nums], 4):
            pm = t.phrase(m)
            self.add(
                "nested",
                f"n_than/{t.name}.{m}",
                [
                    f"Which {t.many} have more {pm} than {t.text()}?",
                    f"List the {t.spec.label_name} of the {t.many} whose {pm} is greater than that of {t.text()}.",
                    f"Find every {t.one} with a higher {pm} than the {t.one} {t.text()}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {m} > (SELECT {m} FROM {t.name} WHERE {t.where()})",
                t.params(
                    extra=f" AND {m} IS NOT NULL GROUP BY {t.sel()} HAVING COUNT(*) = 1 "
                    f"ORDER BY MAX({m}) DESC LIMIT 40"
                ),
            )
        parents = [lk for lk in self.links if self.tables[lk.parent].labelled]
        for lk in self.pick("n_none", parents, 3):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            self.add(
                "nested",
                f"n_none/{lk.child}.{lk.col}",
                [
                    f"How many {pa.many} are not the {lk.phrase} of any {ch.one}?",
                    f"Count the {pa.many} that no {ch.one} has as its {lk.phrase}.",
                    f"What is the number of {pa.many} without a single {ch.one} as {lk.phrase}?",
                ],
                f"SELECT COUNT(*) FROM {lk.parent} WHERE {lk.pcol} NOT IN "
                f"(SELECT {lk.col} FROM {lk.child} WHERE {lk.col} IS NOT NULL)",
            )
        ins = [(lk, c) for lk in parents for c in self.tables[lk.child].cats]
        for lk, c in self.pick("n_in", ins, 4):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            pc = ch.phrase(c)
            self.add(
                "nested",
                f"n_in/{lk.child}.{lk.col}.{c}",
                [
                    f"Which {pa.many} are the {lk.phrase} of some {ch.one} "
                    f"with {pc} {{v}}? Give their {pa.spec.label_name}.",
                    f"List the {pa.spec.label_name} of {pa.many} that have at least one {ch.one} whose {pc} is {{v}}.",
                    f"Find the {pa.many} with {an(ch.one)} of {pc} {{v}}.",
                ],
                f"SELECT {pa.sel()} FROM {lk.parent} WHERE {lk.pcol} IN "
                f"(SELECT {lk.col} FROM {lk.child} WHERE {c} = {{v}})",
                f"SELECT DISTINCT {c} AS v FROM {lk.child} WHERE {c} IS NOT NULL",
            )

    def sets(self) -> None:
        pairs = [
            (lk, c)
            for lk in self.links
            if self.tables[lk.parent].labelled
            for c in self.tables[lk.child].cats
        ]
        two = (
            "SELECT a.v AS a, b.v AS b FROM (SELECT DISTINCT {c} AS v FROM {t}) AS a, "
            "(SELECT DISTINCT {c} AS v FROM {t}) AS b WHERE a.v IS NOT NULL AND b.v IS NOT NULL AND a.v <> b.v"
        )
        for lk, c in self.pick("s_both", pairs, 4):
            ch, pa = self.tables[lk.child], self.tables[lk.parent]
            pc, side = ch.phrase(c), f"SELECT {pa.sel('T2.')} FROM {self.join(lk)} WHERE T1.{c} = "
            self.add(
                "set",
                f"s_both/{lk.child}.{lk.col}.{c}",
                [
                    f"Which {pa.many} have {ch.many} with {pc} {{a}} and also {ch.many} with {pc} {{b}}?",
                    f"List the {pa.spec.label_name} of {pa.many} that are the {lk.phrase} "
                    f"of both {an(ch.one)} with {pc} {{a}} and one with {pc} {{b}}.",
                    f"Find the {pa.many} having {ch.many} of {pc} {{a}} as well as of {pc} {{b}}.",
                ],
                f"{side}{{a}} INTERSECT {side}{{b}}",
                two.format(c=c, t=lk.child),
            )
            self.add(
                "set",
                f"s_except/{lk.child}.{lk.col}.{c}",
                [
                    f"Which {pa.many} have {ch.many} with {pc} {{a}} but none with {pc} {{b}}?",
                    f"List the {pa.spec.label_name} of {pa.many} that have {an(ch.one)} "
                    f"whose {pc} is {{a}} and no {ch.one} whose {pc} is {{b}}.",
                    f"Find the {pa.many} with {ch.many} of {pc} {{a}} except "
                    f"those that also have {ch.many} of {pc} {{b}}.",
                ],
                f"{side}{{a}} EXCEPT {side}{{b}}",
                two.format(c=c, t=lk.child),
            )
        ents = [t for t in self.tables.values() if t.labelled]
        combos = [(t, c, m) for t in ents for c in t.cats for m in t.nums if m != c]
        for t, c, m in self.pick("s_union", combos, 3):
            pc, pm = t.phrase(c), t.phrase(m)
            self.add(
                "set",
                f"s_union/{t.name}.{c}.{m}",
                [
                    f"Which {t.many} either have {pc} {{v}} or {pm} above {{x}}? Give their {t.spec.label_name}.",
                    f"List the {t.spec.label_name} of {t.many} whose {pc} is {{v}}, "
                    f"together with those whose {pm} is greater than {{x}}.",
                    f"Find all {t.many} with {pc} {{v}} or with more than {{x}} {pm}.",
                ],
                f"SELECT {t.sel()} FROM {t.name} WHERE {c} = {{v}} UNION "
                f"SELECT {t.sel()} FROM {t.name} WHERE {m} > {{x}}",
                f"SELECT DISTINCT {c} AS v FROM {t.name} WHERE {c} IS NOT NULL",
                x=self.thresholds(t, m)[-1:],
            )
        cc = [(t, c1, c2) for t in self.tables.values() for c1 in t.cats for c2 in t.cats if c1 != c2]
        for t, c1, c2 in self.pick("s_cats", cc, 3):
            p1, p2 = t.phrase(c1), t.phrase(c2)
            self.add(
                "set",
                f"s_cats/{t.name}.{c1}.{c2}",
                [
                    f"Which values of {p1} occur among {t.many} with {p2} {{a}} and also among {t.many} with {p2} {{b}}?",
                    f"List each {p1} that has {t.many} of {p2} {{a}} as well as {t.many} of {p2} {{b}}.",
                    f"Find the {p1} values shared by {t.many} whose {p2} is {{a}} and {t.many} whose {p2} is {{b}}.",
                ],
                f"SELECT {c1} FROM {t.name} WHERE {c2} = {{a}} INTERSECT SELECT {c1} FROM {t.name} WHERE {c2} = {{b}}",
                two.format(c=c2, t=t.name),
            )

    # ---------------------------------------------------------------- instances

    def _strict_order(self, sql: str) -> bool:
        """For ORDER BY ... LIMIT k: the first k+1 sort keys all differ (the answer's order is unique)."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="sqlite")
        order, limit = tree.args.get("order"), tree.args.get("limit")
        if order is None or limit is None or not isinstance(tree, exp.Select):
            return True
        k = int(limit.expression.name)
        probe = tree.copy()
        probe.set("expressions", [o.this.copy() for o in order.expressions])
        keys = self.conn.execute(probe.limit(k + 1).sql(dialect="sqlite")).fetchall()
        return len(set(keys)) == len(keys)

    def instantiate(self, t: Template) -> list[dict]:
        """Like `questions.instantiate`, with the two extra checks of the module docstring."""
        rng = random.Random(f"{self.db_id}/{t.name}")
        cands = param_rows(self.conn, t) if t.cross or t.params else [{}]
        if not cands:
            return []
        if cands == [{}]:
            ok = (
                usable(self.conn, t.sql) and len(self.conn.execute(t.sql).fetchmany(MAX_ROWS + 1)) <= MAX_ROWS
            )
            return [{"question": q, "gold_sql": t.sql} for q in t.questions] if ok else []
        rng.shuffle(cands)
        out, seen = [], set()
        for p in cands[:200]:
            sql = t.sql.format(**{k: sql_literal(v) for k, v in p.items()})
            if sql in seen:
                continue
            seen.add(sql)
            if (
                not usable(self.conn, sql)
                or len(self.conn.execute(sql).fetchmany(MAX_ROWS + 1)) > MAX_ROWS
                or not self._strict_order(sql)
            ):
                continue
            q = t.questions[(len(out) + rng.randrange(len(t.questions))) % len(t.questions)]
            out.append(
                {"question": q.format(**{k: "" if v is None else v for k, v in p.items()}), "gold_sql": sql}
            )
            if len(out) >= t.limit:
                break
        return out

    def items(self) -> list[dict]:
        items = []
        try:
            for t in self.build():
                for i, inst in enumerate(self.instantiate(t)):
                    items.append(
                        {
                            "id": f"{self.db_id}/{t.name}/{i}",
                            "db_id": self.db_id,
                            **inst,
                            "template": t.name,
                            "kind": t.kind,
                        }
                    )
        finally:
            self.conn.close()
        return items


def generate(db_paths: dict[str, Path]) -> list[dict]:
    """Every generated question of the given catalog databases: {id, db_id, question, gold_sql, template, kind}."""
    return [it for db_id, path in db_paths.items() for it in Generator(db_id, path).items()]
