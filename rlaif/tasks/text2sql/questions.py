"""Generate the built-in question set from the templates, and split it.

1. Each template is instantiated with parameter values drawn from the database (seeded, so the set
   is the same on every machine). An instance is kept only if its gold query returns a non-empty,
   not-all-NULL result, and, for ORDER BY ... LIMIT k, only if the k-th and (k+1)-th rows differ in
   the sort key: otherwise "the top 3" would have no single right answer.
2. A template without parameters contributes each of its wordings as a question (same gold SQL).
3. Splits group questions by (database, gold SQL), so two wordings of one query never land in two
   splits, and are stratified by template (each split sees every query shape). Default shares:
   sft 50%, preference 20%, rl 15%, test 15%. RL prompts never overlap SFT data (METHOD.md section 1).
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections import defaultdict
from pathlib import Path

from ...core.hashing import hash_unit
from .templates import TEMPLATES, Template

SPLITS = ("sft", "preference", "rl", "test")
SHARES = (0.5, 0.2, 0.15, 0.15)


def sql_literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def param_rows(conn: sqlite3.Connection, t: Template) -> list[dict]:
    rows = [{}]
    if t.params:
        cur = conn.execute(t.params)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    keys = list(t.cross)
    return [r | dict(zip(keys, combo)) for r in rows for combo in itertools.product(*t.cross.values())]


def _ambiguous_top_k(conn: sqlite3.Connection, sql: str) -> bool:
    """For ORDER BY ... LIMIT k: whether rows k and k+1 tie on the sort key."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="sqlite")
    order, limit = tree.args.get("order"), tree.args.get("limit")
    if order is None or limit is None or not isinstance(tree, exp.Select):
        return False
    k = int(limit.expression.name)
    probe = tree.copy()
    n_out = len(probe.expressions)
    probe = probe.select(*[o.this.copy() for o in order.expressions], append=True).limit(k + 1)
    rows = conn.execute(probe.sql(dialect="sqlite")).fetchall()
    return len(rows) > k and rows[k - 1][n_out:] == rows[k][n_out:]


def usable(conn: sqlite3.Connection, sql: str) -> bool:
    rows = conn.execute(sql).fetchall()
    if not rows or all(v is None for r in rows for v in r):
        return False
    return not _ambiguous_top_k(conn, sql)


def instantiate(t: Template, conn: sqlite3.Connection) -> list[dict]:
    """The kept instances of one template: [{question, gold_sql, params}]."""
    rng = random.Random(f"{t.db_id}/{t.name}")
    cands = param_rows(conn, t)
    if cands == [{}]:
        return [{"question": q, "gold_sql": t.sql, "params": {}} for q in t.questions]
    rng.shuffle(cands)
    out, seen = [], set()
    for p in cands:
        sql = t.sql.format(**{k: sql_literal(v) for k, v in p.items()})
        if sql in seen or not usable(conn, sql):
            continue
        seen.add(sql)
        q = t.questions[(len(out) + rng.randrange(len(t.questions))) % len(t.questions)]
        out.append(
            {
                "question": q.format(**{k: "" if v is None else v for k, v in p.items()}),
                "gold_sql": sql,
                "params": p,
            }
        )
        if len(out) >= t.limit:
            break
    return out


def generate(db_paths: dict[str, Path], templates: list[Template] = TEMPLATES) -> list[dict]:
    """Every question of the built-in set: {id, db_id, question, gold_sql, template, kind}."""
    items = []
    for t in templates:
        conn = sqlite3.connect(f"{Path(db_paths[t.db_id]).resolve().as_uri()}?mode=ro", uri=True)
        try:
            for i, inst in enumerate(instantiate(t, conn)):
                items.append(
                    {
                        "id": f"{t.db_id}/{t.name}/{i}",
                        "db_id": t.db_id,
                        "question": inst["question"],
                        "gold_sql": inst["gold_sql"],
                        "template": t.name,
                        "kind": t.kind,
                    }
                )
        finally:
            conn.close()
    return items


def _unit(text: str) -> float:
    return hash_unit(text)


def assign_splits(
    items: list[dict], shares: tuple = SHARES, seed: int = 0, stratum: str = "template"
) -> list[dict]:
    """Add `split` to each item: (db_id, gold_sql) groups spread over the splits within each stratum."""
    groups: dict[str, dict[tuple, list[dict]]] = defaultdict(dict)
    for it in items:
        groups[it.get(stratum, "")].setdefault((it["db_id"], it["gold_sql"]), []).append(it)
    bounds = list(itertools.accumulate(shares))
    for name, by_sql in sorted(groups.items()):
        keys = sorted(by_sql, key=lambda k: _unit(f"{seed}:{k}"))
        offset = _unit(f"{seed}:{name}")
        for i, key in enumerate(keys):
            pos = ((i + 0.5) / len(keys) + offset) % 1.0
            split = SPLITS[next((j for j, b in enumerate(bounds) if pos < b), len(SPLITS) - 1)]
            for it in by_sql[key]:
                it["split"] = split
    return items
