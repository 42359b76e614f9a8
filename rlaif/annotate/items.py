"""Turn record files into annotation items.

An item is what one annotator judges once: a prompt and two responses ("compare") or a prompt and
one response ("rate" 1-10, "harmless" yes/no). Accepted inputs, recognised per record:

| record     | fields                                    | compare items        | rate / harmless    |
|------------|-------------------------------------------|----------------------|--------------------|
| samples    | prompt, completions                       | pairs of completions | one per completion |
| comparison | prompt, response_a, response_b (p_a, ...) | one                  | one per response   |
| preference | prompt, chosen, rejected                  | one                  | one per response   |
| sft        | prompt, output (or completion)            | -                    | one                |

Gold files hold preference records for "compare" (the known answer is `chosen`), and
`{prompt, output, score}` or `{prompt, output, harmless: true/false}` for the single-output tasks.
Extra fields of a record travel with its item and come back in the export.
"""

from __future__ import annotations

import hashlib
import json
from itertools import combinations
from pathlib import Path

from ..core.records import RecordError, response_text, rows_from_file, validate

TASKS = ("compare", "rate", "harmless")


def detect_kind(rec: dict) -> str:
    if not isinstance(rec, dict):
        return "?"
    for kind, key in (
        ("samples", "completions"),
        ("comparison", "response_a"),
        ("preference", "chosen"),
        ("sft", "output"),
        ("sft", "completion"),
    ):
        if key in rec:
            return kind
    return "?"


def read_any(path: str | Path) -> list[tuple[str, str, dict]]:
    """(where, kind, validated record) for each record of a samples/comparison/preference/sft file."""
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: file not found")
    out = []
    for where, obj in rows_from_file(path):
        kind = detect_kind(obj)
        if kind == "?":
            raise RecordError(
                f"{where}: not a samples, comparison, preference or sft record "
                f"(fields present: {sorted(obj) if isinstance(obj, dict) else '-'})"
            )
        if kind == "comparison" and "p_a" not in obj:  # an unlabeled pair is fine as input
            rec = validate({**obj, "p_a": 0.5}, kind, where)
            del rec["p_a"]
        else:
            rec = validate(obj, kind, where)
        out.append((where, kind, rec))
    if not out:
        raise RecordError(f"{path}: no records (the file is empty)")
    return out


def item_key(kind: str, prompt, a: str, b: str | None) -> str:
    """Content hash: the same pair imported twice is one item (either order of the responses)."""
    pair = sorted([a, b]) if b is not None else [a]
    blob = json.dumps([kind, prompt, pair], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _item(task: str, prompt, a: str, b: str | None, meta: dict, gold: str | None = None) -> dict:
    key = item_key(task, prompt, a, b)
    return {
        "key": key if gold is None else "gold-" + key,
        "kind": task,
        "prompt": prompt,
        "response_a": a,
        "response_b": b,
        "meta": meta,
        "gold": gold,
    }


def _extras(rec: dict, drop: tuple) -> dict:
    return {k: v for k, v in rec.items() if k not in drop}


def _compare_items(kind: str, rec: dict, pairs: str) -> list[dict]:
    p = rec["prompt"]
    if kind == "samples":
        comps, meta = rec["completions"], _extras(rec, ("prompt", "completions"))
        idx = (
            list(combinations(range(len(comps)), 2))
            if pairs == "all"
            else [(i, i + 1) for i in range(0, len(comps) - 1, 2)]
        )
        return [
            _item("compare", p, comps[i], comps[j], meta | {"completion_a": i, "completion_b": j})
            for i, j in idx
            if comps[i] != comps[j]
        ]  # identical outputs: nothing to judge
    if kind == "comparison":
        a, b = response_text(rec["response_a"]), response_text(rec["response_b"])
        meta = _extras(rec, ("prompt", "response_a", "response_b"))
        return [_item("compare", p, a, b, meta)] if a != b else []
    if kind == "preference":
        meta = _extras(rec, ("prompt", "chosen", "rejected"))
        return [_item("compare", p, rec["chosen"], rec["rejected"], meta)]
    raise RecordError("an sft record has one output: use --task rate or harmless, not compare")


def _single_items(task: str, kind: str, rec: dict) -> list[dict]:
    p = rec["prompt"]
    if kind == "samples":
        outs, drop = rec["completions"], ("prompt", "completions")
    elif kind == "comparison":
        outs, drop = (
            [response_text(rec["response_a"]), response_text(rec["response_b"])],
            ("prompt", "response_a", "response_b", "p_a"),
        )
    elif kind == "preference":
        outs, drop = [rec["chosen"], rec["rejected"]], ("prompt", "chosen", "rejected")
    else:
        outs, drop = [rec["output"]], ("prompt", "output")
    meta = _extras(rec, drop)
    return [
        _item(task, p, o, None, meta | ({"completion": i} if len(outs) > 1 else {}))
        for i, o in enumerate(outs)
    ]


def load_items(path: str | Path, task: str, pairs: str = "disjoint") -> list[dict]:
    """Items to annotate from a record file (see the table above)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if pairs not in ("disjoint", "all"):
        raise ValueError(f"pairs must be 'disjoint' or 'all', got {pairs!r}")
    out = []
    for where, kind, rec in read_any(path):
        try:
            out += _compare_items(kind, rec, pairs) if task == "compare" else _single_items(task, kind, rec)
        except RecordError as e:
            raise RecordError(f"{where}: {e}") from None
    return out


def load_gold(path: str | Path, task: str) -> list[dict]:
    """Gold items: preference records for compare; {prompt, output, score|harmless} otherwise."""
    out = []
    for where, obj in rows_from_file(Path(path)):
        if task == "compare":
            rec = validate(obj, "preference", where)
            meta = _extras(rec, ("prompt", "chosen", "rejected"))
            out.append(_item("compare", rec["prompt"], rec["chosen"], rec["rejected"], meta, "a"))
            continue
        rec = validate(obj, "sft", where)
        out.append(
            _item(
                task,
                rec["prompt"],
                rec["output"],
                None,
                _extras(rec, ("prompt", "output", "score", "harmless")),
                _gold_answer(task, rec, where),
            )
        )
    if not out:
        raise RecordError(f"{path}: no gold records (the file is empty)")
    return out


def _gold_answer(task: str, rec: dict, where: str) -> str:
    if task == "rate":
        s = rec.get("score")
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 10:
            raise RecordError(f"{where}: field 'score' must be an integer 1-10, got {s!r}")
        return str(s)
    h = rec.get("harmless")
    if not isinstance(h, bool):
        raise RecordError(f"{where}: field 'harmless' must be true or false, got {h!r}")
    return "yes" if h else "no"
