"""Spider and BIRD folders: load any database and question file in that layout; write one.

Layout read (every part optional except questions and databases):

    ROOT/tables.json | *_tables.json            schemas (Spider: tables.json; BIRD: dev_tables.json)
    ROOT/train_spider.json, train_others.json,  questions: JSON lists (or .jsonl) of objects with
         train.json, dev.json, test.json         db_id, question and the gold SQL in `query` (Spider)
                                                 or `SQL` (BIRD); BIRD's `evidence` is kept
    ROOT/database/ | *_database(s)/             DB_ID/DB_ID.sqlite

Question files whose name starts with `train` form the training pool (split into sft / preference /
rl); `dev*`, `test*` and `validation*` files form the test split. With only one kind present, its
questions are split four ways. Splits group questions by gold SQL, stratified by database.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ...core.records import RecordError, rows_from_file
from .questions import SHARES, SPLITS, assign_splits
from .schema import Schema, schema_from_sqlite, schema_from_tables_json

QUESTION_FILES = (
    "train_spider.json",
    "train_others.json",
    "train.json",
    "train.jsonl",
    "dev.json",
    "dev.jsonl",
    "test.json",
    "test.jsonl",
    "validation.json",
    "validation.jsonl",
)


def _question(where: str, obj, n: int, evidence: bool) -> dict:
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    gold = obj.get("query", obj.get("SQL"))
    for key, val in (
        ("db_id", obj.get("db_id")),
        ("question", obj.get("question")),
        ("query' or 'SQL", gold),
    ):
        if not isinstance(val, str) or not val.strip():
            raise RecordError(f"{where}: field '{key}' is missing or not a string")
    out = {
        "id": str(obj.get("question_id", n)),
        "db_id": obj["db_id"],
        "question": obj["question"].strip(),
        "gold_sql": gold.strip().rstrip(";").strip(),
    }
    if evidence and obj.get("evidence"):
        out["evidence"] = obj["evidence"]
    if obj.get("difficulty"):
        out["kind"] = obj["difficulty"]
    return out


class SpiderData:
    """Questions, schemas and database files of one Spider/BIRD-style folder."""

    def __init__(
        self,
        root: str | Path,
        files: list[str] | None = None,
        evidence: bool = True,
        shares: tuple = SHARES,
        seed: int = 0,
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"Spider/BIRD folder not found: {self.root}")
        self.db_dirs = sorted(p for p in self.root.iterdir() if p.is_dir() and "database" in p.name)
        self.tables = self._read_tables()
        names = files or [f for f in QUESTION_FILES if (self.root / f).exists()]
        if not names:
            raise FileNotFoundError(f"{self.root}: no question file ({', '.join(QUESTION_FILES)})")
        self.items = self._read_questions(names, evidence)
        self._split(shares, seed)

    def _read_tables(self) -> dict[str, dict]:
        out = {}
        for f in sorted(self.root.glob("*tables.json")):
            for where, entry in rows_from_file(f):
                if not isinstance(entry, dict) or "db_id" not in entry:
                    raise RecordError(f"{where}: a tables.json entry needs 'db_id'")
                out.setdefault(entry["db_id"], entry)
        return out

    def _read_questions(self, names: list[str], evidence: bool) -> list[dict]:
        items = []
        for name in names:
            path = self.root / name
            if not path.exists():
                raise FileNotFoundError(f"{path}: question file not found")
            pool = "train" if name.startswith("train") else "test"
            for where, obj in rows_from_file(path):
                q = _question(where, obj, len(items), evidence) | {"pool": pool, "source": name}
                if self.find_db(q["db_id"]) is None:
                    raise RecordError(
                        f"{where}: database '{q['db_id']}' not found under "
                        f"{', '.join(str(d) for d in self.db_dirs) or self.root} "
                        f"(expected DB_ID/DB_ID.sqlite)"
                    )
                items.append(q)
        ids = [q["id"] for q in items]
        if len(set(ids)) != len(ids):  # question_id may repeat across files: make ids unique
            for i, q in enumerate(items):
                q["id"] = f"{q['source']}/{i}"
        return items

    def _split(self, shares: tuple, seed: int) -> None:
        train = [q for q in self.items if q["pool"] == "train"]
        test = [q for q in self.items if q["pool"] == "test"]
        if train and test:
            head = tuple(s / sum(shares[:3]) for s in shares[:3]) + (0.0,)
            assign_splits(train, head, seed, stratum="db_id")
            for q in test:
                q["split"] = "test"
        else:
            assign_splits(self.items, shares, seed, stratum="db_id")

    def find_db(self, db_id: str) -> Path | None:
        for d in self.db_dirs:
            p = d / db_id / f"{db_id}.sqlite"
            if p.exists():
                return p
        return None

    def db_path(self, db_id: str) -> Path:
        p = self.find_db(db_id)
        if p is None:
            raise FileNotFoundError(f"{self.root}: no database {db_id}")
        return p

    def schema(self, db_id: str) -> Schema:
        if db_id in self.tables:
            return schema_from_tables_json(self.tables[db_id])
        return schema_from_sqlite(self.db_path(db_id), db_id)


def tables_entry(s: Schema) -> dict:
    """A Spider `tables.json` entry for a schema."""
    cols = [[-1, "*"]] + [[i, c] for i, t in enumerate(s.tables) for c in t.columns]
    index = {(s.tables[i].name, c): n for n, (i, c) in enumerate(cols) if i >= 0}
    pks = [[index[t.name, c] for c in t.primary_key] for t in s.tables if t.primary_key]
    return {
        "db_id": s.db_id,
        "table_names_original": [t.name for t in s.tables],
        "table_names": [t.name.lower() for t in s.tables],
        "column_names_original": cols,
        "column_names": [[i, c.lower()] for i, c in cols],
        "column_types": ["text"] * len(cols),
        "primary_keys": [p[0] if len(p) == 1 else p for p in pks],
        "foreign_keys": [
            [index[t, c], index[rt, rc]]
            for t, c, rt, rc in s.foreign_keys
            if (t, c) in index and (rt, rc) in index
        ],
    }


def write_spider(
    out: str | Path, items: list[dict], schemas: dict[str, Schema], db_paths: dict[str, Path]
) -> Path:
    """Write questions, tables.json and database/ in the Spider layout (test split -> dev.json)."""
    out = Path(out)
    (out / "database").mkdir(parents=True, exist_ok=True)
    (out / "tables.json").write_text(json.dumps([tables_entry(s) for s in schemas.values()], indent=1))
    for name, keep in (
        ("train_spider.json", lambda q: q["split"] != "test"),
        ("dev.json", lambda q: q["split"] == "test"),
    ):
        rows = [
            {"db_id": q["db_id"], "question": q["question"], "query": q["gold_sql"]} for q in items if keep(q)
        ]
        (out / name).write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    for db_id, path in db_paths.items():
        (out / "database" / db_id).mkdir(exist_ok=True)
        shutil.copyfile(path, out / "database" / db_id / f"{db_id}.sqlite")
    return out


__all__ = ["SpiderData", "write_spider", "tables_entry", "SPLITS"]
