"""Database schemas and the prompt formats built on them.

1. A `Schema` (tables, columns, primary keys, foreign keys) comes from a SQLite file itself or from a
   Spider/BIRD `tables.json` entry (which keeps the original column spelling those sets use).
2. The prompt is DB-GPT-Hub's Spider format (METHOD.md section 1): an instruction, the *whole* schema
   in prose, `###Input:` with the question and `###Response:`. The prose comes in two styles:
   `dbgpt`, DB-GPT-Hub's own ("Table Album has columns such as AlbumId, Title, ArtistId. AlbumId is
   the primary key." ... "The ArtistId of Album is the foreign key of ArtistId of Artist."), and
   `compact`, the default ("Table Album has columns AlbumId (primary key), Title, ArtistId (foreign
   key to Artist.ArtistId)."): Chinook's 11 tables take ~390 SmolLM2 tokens instead of ~610, so a
   whole prompt stays near 500 tokens and SFT at 768 tokens keeps room for the answer. No column
   types or sample rows, for the same reason.
3. The chat variant carries the same text as a system message (instruction + schema) and a user
   message (the question), for chat-tuned models and TRL's conversational records.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

INSTRUCTION = (
    "I want you to act as a SQL terminal in front of an example database, you need only to "
    "return the sql command to me. Below is an instruction that describes a task, Write a "
    "response that appropriately completes the request."
)
CHAT_SYSTEM = "You write SQLite queries. Answer with one SQL query and nothing else. The database:"


@dataclass
class Table:
    name: str
    columns: list[str]
    primary_key: list[str] = field(default_factory=list)


@dataclass
class Schema:
    db_id: str
    tables: list[Table]
    foreign_keys: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # (table, col, ref table, ref col)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_from_sqlite(path: str | Path, db_id: str | None = None) -> Schema:
    """Tables, columns and keys read from the file (sqlite_master and PRAGMAs)."""
    path = Path(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        tables, fks = [], []
        for t in names:
            info = list(conn.execute(f"PRAGMA table_info({_q(t)})"))
            pk = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            tables.append(Table(t, [r[1] for r in info], pk))
            for r in conn.execute(f"PRAGMA foreign_key_list({_q(t)})"):
                ref_col = r[4]
                if ref_col is None:  # REFERENCES t without a column: the referenced primary key
                    ref_info = list(conn.execute(f"PRAGMA table_info({_q(r[2])})"))
                    ref_col = next((x[1] for x in ref_info if x[5]), "rowid")
                fks.append((t, r[3], r[2], ref_col))
    finally:
        conn.close()
    return Schema(db_id or path.stem, tables, fks)


def schema_from_tables_json(entry: dict) -> Schema:
    """A Spider/BIRD `tables.json` entry (column_names_original, primary_keys, foreign_keys)."""
    tnames = entry["table_names_original"]
    cols = entry["column_names_original"]  # [[table index, name], ...], index -1 is "*"
    tables = [Table(t, []) for t in tnames]
    for ti, c in cols:
        if ti >= 0:
            tables[ti].columns.append(c)
    for pk in entry.get("primary_keys", []):
        for ci in pk if isinstance(pk, list) else [pk]:
            ti, c = cols[ci]
            tables[ti].primary_key.append(c)
    fks = [
        (tnames[cols[a][0]], cols[a][1], tnames[cols[b][0]], cols[b][1])
        for a, b in entry.get("foreign_keys", [])
    ]
    return Schema(entry["db_id"], tables, fks)


def describe_schema(s: Schema, style: str = "compact") -> str:
    """The schema in prose: `dbgpt` is DB-GPT-Hub's wording; `compact` (the default) says the same
    in ~35% fewer tokens by naming keys inside the column list."""
    if style == "dbgpt":
        lines = [f"{s.db_id} contains tables such as {', '.join(t.name for t in s.tables)}."]
        for t in s.tables:
            line = f"Table {t.name} has columns such as {', '.join(t.columns)}."
            if len(t.primary_key) == 1:
                line += f" {t.primary_key[0]} is the primary key."
            elif t.primary_key:
                line += f" {', '.join(t.primary_key)} are the primary key."
            lines.append(line)
        lines += [f"The {c} of {t} is the foreign key of {rc} of {rt}." for t, c, rt, rc in s.foreign_keys]
        return "\n".join(lines)
    if style != "compact":
        raise ValueError(f"unknown schema style {style!r}; use compact or dbgpt")
    refs = {(t, c): f"{rt}.{rc}" for t, c, rt, rc in s.foreign_keys}
    lines = [f"Database {s.db_id} has {len(s.tables)} tables."]
    for t in s.tables:
        cols = []
        for c in t.columns:
            note = [" (primary key)" if t.primary_key == [c] else ""]
            note.append(f" (foreign key to {refs[t.name, c]})" if (t.name, c) in refs else "")
            cols.append(c + "".join(note))
        line = f"Table {t.name} has columns {', '.join(cols)}."
        if len(t.primary_key) > 1:
            line += f" Its primary key is ({', '.join(t.primary_key)})."
        lines.append(line)
    return "\n".join(lines)


def make_prompt(schema_text: str, question: str, fmt: str = "dbgpt", evidence: str = "") -> str | list:
    """The prompt for one question: DB-GPT-Hub text (`dbgpt`) or a chat message list (`chat`)."""
    if evidence:
        question = f"{question}\nExternal knowledge: {evidence}"
    if fmt == "dbgpt":
        return f"{INSTRUCTION}\n\n##Instruction:\n{schema_text}\n\n###Input:\n{question}\n\n###Response:\n"
    if fmt == "chat":
        return [
            {"role": "system", "content": f"{CHAT_SYSTEM}\n{schema_text}"},
            {"role": "user", "content": question},
        ]
    raise ValueError(f"unknown prompt format {fmt!r}; use dbgpt or chat")
