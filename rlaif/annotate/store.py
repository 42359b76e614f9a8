"""The annotation session: one SQLite file holding items, annotators, assignments and labels.

Design decisions:
1. SQLite in WAL mode with `synchronous=FULL`: a submission is committed and fsynced before the
   server answers, so an acknowledged label survives a crash or a `kill -9`. WAL lets `status` and
   `export` read a live session (train the reward model while labels are still coming in).
2. Every write runs in `BEGIN IMMEDIATE` under a process lock: choosing an item and recording the
   assignment is atomic, so no item is ever handed to more annotators than its target, even with
   the CLI writing to the same file from another process.
3. An assignment is the unit of work and its random id is the idempotency key: submitting the same
   assignment twice stores one label and answers "duplicate". Unanswered assignments expire after
   `lease_minutes` and their slot goes back to the pool; a late answer to a reclaimed one is refused.
4. The display order of a pair is drawn per assignment and kept server-side: the page only knows
   "response 1" and "response 2", and gold answers never leave the database.
5. Items with `target > 1` (the overlap share) are handed out first once started, so agreement
   figures appear early; otherwise the least-covered item comes next, in an order shuffled per
   annotator.
6. Tokens are stored as sha256 hashes; the plain token is shown once, when it is created.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..core.config import opt
from ..core.hashing import hash_unit
from . import quality

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  prompt TEXT NOT NULL, response_a TEXT NOT NULL, response_b TEXT, meta TEXT NOT NULL,
  gold TEXT, target INTEGER NOT NULL, n_assigned INTEGER NOT NULL DEFAULT 0, added REAL NOT NULL);
CREATE INDEX IF NOT EXISTS items_open ON items (gold, n_assigned);
CREATE TABLE IF NOT EXISTS annotators (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
  attributes TEXT NOT NULL, salt INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (
  id TEXT PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id),
  annotator_id INTEGER NOT NULL REFERENCES annotators(id), swapped INTEGER NOT NULL,
  served REAL NOT NULL, expires REAL NOT NULL, done INTEGER NOT NULL DEFAULT 0,
  UNIQUE (item_id, annotator_id));
CREATE INDEX IF NOT EXISTS assignments_pending ON assignments (done, expires);
CREATE INDEX IF NOT EXISTS assignments_by_annotator ON assignments (annotator_id, done);
CREATE TABLE IF NOT EXISTS labels (
  id INTEGER PRIMARY KEY, assignment_id TEXT NOT NULL UNIQUE REFERENCES assignments(id),
  item_id INTEGER NOT NULL, annotator_id INTEGER NOT NULL, answer TEXT NOT NULL,
  shown TEXT NOT NULL, confidence INTEGER, rationale TEXT NOT NULL DEFAULT '',
  seconds REAL NOT NULL, created REAL NOT NULL, UNIQUE (item_id, annotator_id));
"""


@dataclass
class Settings:
    """A session's settings, fixed by `rlaif annotate init` and stored in the database."""

    task: str = opt(
        "compare",
        "compare (two responses: 1, 2 or tie), rate (one response, 1-10) or harmless (one response: yes/no)",
    )
    overlap: int = opt(3, "annotators per item for the overlap share of items")
    overlap_fraction: float = opt(
        0.2,
        "share of items shown to `overlap` annotators (agreement is "
        "measured on these); the rest go to one annotator each",
    )
    gold_rate: float = opt(0.1, "chance that the next item served is a gold item (with --gold)")
    pairs: str = opt("disjoint", "samples files: pair completions disjoint (1-2, 3-4, ...) or all")
    lease_minutes: float = opt(30.0, "an unanswered item goes back to the pool after this long")
    min_gold_accuracy: float = opt(0.7, "flag annotators whose gold accuracy is below this")
    min_gold: int = opt(4, "gold answers needed before gold accuracy can flag someone")
    min_seconds: float = opt(3.0, "flag annotators whose median time per item is below this")
    max_same_answer: float = opt(
        0.9,
        "flag annotators who give the same displayed side (compare) "
        "or the same score (rate) at least this often",
    )
    min_kappa: float = opt(
        0.2,
        "compare: flag annotators whose chance-corrected agreement with the "
        "others (kappa; 0 = no better than not reading) is below this",
    )
    min_labels: int = opt(
        10, "labels (or shared labels, for kappa) needed before speed, same-answer and kappa can flag someone"
    )
    max_rationale: int = opt(2000, "longest rationale accepted, in characters")
    seed: int = opt(0, "seeds the choice of overlap items")

    def check(self) -> "Settings":
        if self.task not in quality.CATEGORIES:
            raise ValueError(f"task must be one of {', '.join(quality.CATEGORIES)}, got {self.task!r}")
        if self.overlap < 1 or not 0 <= self.overlap_fraction <= 1 or not 0 <= self.gold_rate < 1:
            raise ValueError("need overlap >= 1, 0 <= overlap_fraction <= 1, 0 <= gold_rate < 1")
        if self.pairs not in ("disjoint", "all"):
            raise ValueError(f"pairs must be 'disjoint' or 'all', got {self.pairs!r}")
        return self


class SessionError(RuntimeError):
    """A missing, duplicate or malformed session, annotator or assignment."""


class Conflict(SessionError):
    """The assignment is unknown to this annotator, or expired and went to someone else."""


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unit(key: str, seed: int) -> float:
    return hash_unit(f"{seed}:{key}")


class Store:
    """One session file. Thread-safe: the server shares one Store between request threads."""

    def __init__(self, path: str | Path, rng: random.Random | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise SessionError(f"{self.path}: no such session (create it with `rlaif annotate init`)")
        self.rng = rng or random.SystemRandom()
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # fsync at every commit: durable before ack
        self.db.execute("PRAGMA foreign_keys=ON")
        meta = self._meta()
        if "settings" not in meta:
            raise SessionError(f"{self.path}: not an annotation session")
        self.settings = Settings(**json.loads(meta["settings"]))

    # ------------------------------------------------------------------ creation and admin

    @classmethod
    def create(cls, path: str | Path, settings: Settings) -> tuple["Store", str]:
        """A new session file; returns the store and the admin token (shown once)."""
        path = Path(path)
        if path.exists():
            raise SessionError(f"{path} already exists; add items with `rlaif annotate add-items`")
        settings.check()
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        token = secrets.token_urlsafe(24)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema_version", str(SCHEMA_VERSION)),
                ("created", str(time.time())),
                ("settings", json.dumps(dataclasses.asdict(settings))),
                ("admin_token_hash", _hash_token(token)),
            ],
        )
        db.close()
        return cls(path), token

    def _meta(self) -> dict[str, str]:
        try:
            return {r["key"]: r["value"] for r in self.db.execute("SELECT key, value FROM meta")}
        except sqlite3.DatabaseError as e:
            raise SessionError(f"{self.path}: not an annotation session ({e})") from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def add_items(self, items: list[dict]) -> tuple[int, int]:
        """Insert items (the same content twice is one item); returns (added, already there)."""
        s, now = self.settings, time.time()
        regular = sorted((it for it in items if it["gold"] is None), key=lambda it: _unit(it["key"], s.seed))
        n_overlap = round(s.overlap_fraction * len(regular))
        overlap_keys = {it["key"] for it in regular[:n_overlap]}
        added = 0
        with self._tx() as db:
            for it in items:
                target = 0 if it["gold"] is not None else (s.overlap if it["key"] in overlap_keys else 1)
                cur = db.execute(
                    "INSERT OR IGNORE INTO items (key, kind, prompt, response_a, response_b, meta, gold,"
                    " target, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        it["key"],
                        it["kind"],
                        json.dumps(it["prompt"], ensure_ascii=False),
                        it["response_a"],
                        it["response_b"],
                        json.dumps(it["meta"], ensure_ascii=False),
                        it["gold"],
                        target,
                        now,
                    ),
                )
                added += cur.rowcount
        return added, len(items) - added

    def add_annotator(self, name: str, attributes: dict[str, str] | None = None) -> str:
        """Register an annotator; returns their token (shown once)."""
        if not name or len(name) > 100:
            raise SessionError("an annotator needs a name of 1-100 characters")
        token = secrets.token_urlsafe(24)
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO annotators (name, token_hash, attributes, salt, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        name,
                        _hash_token(token),
                        json.dumps(attributes or {}, ensure_ascii=False),
                        secrets.randbelow(2**31),
                        time.time(),
                    ),
                )
        except sqlite3.IntegrityError:
            raise SessionError(
                f"an annotator named {name!r} already exists "
                f"(`rlaif annotate token --name {name}` gives them a new token)"
            ) from None
        return token

    def new_token(self, name: str) -> str:
        """A fresh token for an existing annotator (the old one stops working); reactivates them."""
        token = secrets.token_urlsafe(24)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE annotators SET token_hash = ?, active = 1 WHERE name = ?", (_hash_token(token), name)
            )
        if cur.rowcount == 0:
            raise SessionError(f"no annotator named {name!r}")
        return token

    def revoke(self, name: str) -> None:
        """Lock an annotator out and free the items they were holding; their labels stay."""
        with self._tx() as db:
            row = db.execute("SELECT id FROM annotators WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise SessionError(f"no annotator named {name!r}")
            db.execute("UPDATE annotators SET active = 0 WHERE id = ?", (row["id"],))
            self._release(db, "annotator_id = ? AND done = 0", (row["id"],))

    def new_admin_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._tx() as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'admin_token_hash'", (_hash_token(token),))
        return token

    def annotators(self) -> list[dict]:
        rows = self.db.execute("SELECT id, name, attributes, active, created FROM annotators ORDER BY id")
        return [dict(r) | {"attributes": json.loads(r["attributes"])} for r in rows]

    # ------------------------------------------------------------------ authentication

    def authenticate(self, token: str | None) -> dict | None:
        """The active annotator holding `token`, or None."""
        if not token:
            return None
        row = self.db.execute(
            "SELECT id, name, attributes, salt FROM annotators WHERE token_hash = ? AND active = 1",
            (_hash_token(token),),
        ).fetchone()
        return dict(row) if row else None

    def is_admin(self, token: str | None) -> bool:
        expected = self._meta().get("admin_token_hash", "")
        return bool(token) and secrets.compare_digest(_hash_token(token), expected)

    # ------------------------------------------------------------------ serving and labeling

    def _release(self, db: sqlite3.Connection, where: str, args: tuple) -> None:
        """Delete unanswered assignments matching `where` and give their slots back."""
        rows = db.execute(f"SELECT id, item_id FROM assignments WHERE {where}", args).fetchall()
        for r in rows:
            db.execute("DELETE FROM assignments WHERE id = ?", (r["id"],))
            db.execute("UPDATE items SET n_assigned = n_assigned - 1 WHERE id = ?", (r["item_id"],))

    def next_item(self, annotator: dict, now: float | None = None) -> dict | None:
        """The annotator's current item (the same one until answered), or None when all is done."""
        now = time.time() if now is None else now
        lease = self.settings.lease_minutes * 60
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM assignments WHERE annotator_id = ? AND done = 0", (annotator["id"],)
            ).fetchone()
            if row is not None:  # a reload shows the same item; keep holding it
                db.execute("UPDATE assignments SET expires = ? WHERE id = ?", (now + lease, row["id"]))
                return self._view(db, row)
            self._release(db, "done = 0 AND expires < ?", (now,))
            item_id = self._pick(db, annotator)
            if item_id is None:
                return None
            aid = secrets.token_urlsafe(16)
            swapped = int(self.rng.random() < 0.5)
            db.execute(
                "INSERT INTO assignments (id, item_id, annotator_id, swapped, served, expires) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (aid, item_id, annotator["id"], swapped, now, now + lease),
            )
            db.execute("UPDATE items SET n_assigned = n_assigned + 1 WHERE id = ?", (item_id,))
            return self._view(db, db.execute("SELECT * FROM assignments WHERE id = ?", (aid,)).fetchone())

    def _pick(self, db: sqlite3.Connection, annotator: dict) -> int | None:
        mine = "SELECT item_id FROM assignments WHERE annotator_id = :me"
        args = {"me": annotator["id"], "salt": annotator["salt"]}
        regular = db.execute(
            f"SELECT id FROM items WHERE gold IS NULL AND n_assigned < target AND id NOT IN ({mine}) "
            "ORDER BY (n_assigned > 0) DESC, n_assigned, (id * 2654435761 + :salt) % 4294967296 "
            "LIMIT 1",
            args,
        ).fetchone()
        if regular is None:
            return None  # gold items alone are not work: stop here
        if self.settings.gold_rate > 0 and self.rng.random() < self.settings.gold_rate:
            golds = db.execute(
                f"SELECT id FROM items WHERE gold IS NOT NULL AND id NOT IN ({mine})", args
            ).fetchall()
            if golds:
                return self.rng.choice(golds)["id"]
        return regular["id"]

    def _view(self, db: sqlite3.Connection, a: sqlite3.Row) -> dict:
        """What the page may see: no item id, no gold answer, responses in display order."""
        it = db.execute(
            "SELECT kind, prompt, response_a, response_b FROM items WHERE id = ?", (a["item_id"],)
        ).fetchone()
        responses = (
            [it["response_a"]]
            if it["response_b"] is None
            else (
                [it["response_b"], it["response_a"]] if a["swapped"] else [it["response_a"], it["response_b"]]
            )
        )
        return {
            "assignment": a["id"],
            "kind": it["kind"],
            "prompt": _turns(json.loads(it["prompt"])),
            "responses": responses,
        }

    def submit(
        self,
        annotator: dict,
        assignment: str,
        answer: str,
        confidence: int | None = None,
        rationale: str = "",
        now: float | None = None,
    ) -> dict:
        """Record an answer; durable when this returns. Submitting again is a harmless no-op."""
        now = time.time() if now is None else now
        with self._tx() as db:
            a = db.execute(
                "SELECT a.*, i.kind FROM assignments a JOIN items i ON i.id = a.item_id "
                "WHERE a.id = ? AND a.annotator_id = ?",
                (assignment, annotator["id"]),
            ).fetchone()
            if a is None:
                raise Conflict(
                    "this item is no longer yours (it expired and went back to the pool); load the next one"
                )
            if a["done"]:
                old = db.execute("SELECT shown FROM labels WHERE assignment_id = ?", (assignment,)).fetchone()
                return {"ok": True, "duplicate": True, "stored": old["shown"]}
            canonical = _canonical(a["kind"], answer, bool(a["swapped"]))
            db.execute(
                "INSERT INTO labels (assignment_id, item_id, annotator_id, answer, shown, confidence,"
                " rationale, seconds, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    assignment,
                    a["item_id"],
                    annotator["id"],
                    canonical,
                    answer,
                    confidence,
                    rationale,
                    max(0.0, now - a["served"]),
                    now,
                ),
            )
            db.execute("UPDATE assignments SET done = 1 WHERE id = ?", (assignment,))
        return {"ok": True, "duplicate": False}

    def progress(self, annotator: dict) -> dict:
        done = self.db.execute(
            "SELECT COUNT(*) FROM labels WHERE annotator_id = ?", (annotator["id"],)
        ).fetchone()[0]
        left = self.db.execute(
            "SELECT COUNT(*) FROM items WHERE gold IS NULL AND n_assigned < target AND id NOT IN "
            "(SELECT item_id FROM assignments WHERE annotator_id = ?)",
            (annotator["id"],),
        ).fetchone()[0]
        return {"done": done, "available": left}

    # ------------------------------------------------------------------ reading back

    def labels(self, texts: bool = True) -> list[dict]:
        """Every label with its item and annotator; `texts=False` leaves out the item's texts
        (the report, refreshed every few seconds, needs only answers and timings)."""
        item_cols = "i.prompt, i.response_a, i.response_b, i.meta, " if texts else ""
        rows = self.db.execute(
            f"SELECT l.*, i.kind, {item_cols}i.gold, i.key, n.name, n.attributes, n.active "
            "FROM labels l JOIN items i ON i.id = l.item_id "
            "JOIN annotators n ON n.id = l.annotator_id ORDER BY l.id"
        ).fetchall()
        return [dict(r) | {"item": r["item_id"], "annotator": r["annotator_id"]} for r in rows]

    def item_counts(self) -> dict:
        q = "SELECT COUNT(*), COALESCE(SUM(target), 0) FROM items WHERE gold IS NULL"
        n_items, wanted = self.db.execute(q).fetchone()
        n_gold = self.db.execute("SELECT COUNT(*) FROM items WHERE gold IS NOT NULL").fetchone()[0]
        return {"items": n_items, "gold_items": n_gold, "labels_wanted": wanted}

    def report(self) -> dict:
        """Progress, agreement and per-annotator quality with flags: the admin page's content."""
        s = dataclasses.asdict(self.settings)
        labs = self.labels(texts=False)
        regular = [x for x in labs if x["gold"] is None]
        per_item: dict[int, int] = {}
        for x in regular:
            per_item[x["item"]] = per_item.get(x["item"], 0) + 1
        targets = dict(self.db.execute("SELECT id, target FROM items WHERE gold IS NULL").fetchall())
        stats = quality.annotator_stats(self.settings.task, labs, s)
        people = []
        for a in self.annotators():
            st = stats.get(a["id"]) or {
                "labels": 0,
                "gold_n": 0,
                "gold_accuracy": None,
                "median_seconds": None,
                "same_answer": None,
                "shared": 0,
                "agreement": None,
                "kappa": None,
                "flags": [],
            }
            people.append(
                {"name": a["name"], "attributes": a["attributes"], "active": bool(a["active"])} | st
            )
        flagged = [p["name"] for p in people if p["flags"]]
        agreement = quality.agreement_report(self.settings.task, labs)
        if flagged:  # the same figures once the flagged annotators' labels are set aside
            kept = [x for x in labs if x["name"] not in flagged]
            agreement["without_flagged"] = quality.agreement_report(self.settings.task, kept)
        return {
            "settings": s,
            "progress": self.item_counts()
            | {
                "labels": len(regular),
                "gold_labels": len(labs) - len(regular),
                "items_started": len(per_item),
                "items_complete": sum(per_item.get(i, 0) >= t for i, t in targets.items()),
            },
            "agreement": agreement,
            "annotators": people,
            "flagged": flagged,
        }

    def close(self) -> None:
        self.db.close()


def _turns(prompt: Any) -> list[dict]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


def _canonical(kind: str, answer: str, swapped: bool) -> str:
    """The answer in item terms: compare answers name the slot a/b, not the displayed side."""
    if kind == "compare":
        if answer not in ("1", "2", "tie"):
            raise SessionError("a comparison answer is 1, 2 or tie")
        return "tie" if answer == "tie" else ("a" if (answer == "1") != swapped else "b")
    allowed = quality.CATEGORIES[kind]
    if answer not in allowed:
        raise SessionError(f"a {kind} answer is one of {', '.join(allowed)}")
    return answer
