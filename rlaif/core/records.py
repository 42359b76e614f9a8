"""Record formats shared by every stage, validated on read.

| kind        | fields                                                          |
|-------------|-----------------------------------------------------------------|
| sft         | prompt, output (`completion` accepted as an alias)              |
| prompt      | prompt                                                          |
| samples     | prompt, completions: [str, ...]                                 |
| preference  | prompt, chosen, rejected                                        |
| comparison  | prompt, response_a, response_b, p_a (soft label: P(a preferred)) |

`prompt` is a plain string or a chat message list (`[{"role", "content"}, ...]`, TRL's
"conversational" form); responses are strings or an assistant message list. Extra fields are kept
(ids, metadata, gold SQL, ...) so that stages can pass them through.

Errors name the file, the line and the field: `data.jsonl:17: field 'output' is missing`.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import UserError
from .hashing import hash_int


class RecordError(UserError, ValueError):
    """A malformed record, with file, line and field in the message."""


# --------------------------------------------------------------------------- field checks


def _is_messages(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) > 0
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in v
        )
    )


def check_text(rec: dict, key: str, where: str) -> None:
    if key not in rec:
        raise RecordError(f"{where}: field '{key}' is missing (fields present: {sorted(rec)})")
    v = rec[key]
    if not (isinstance(v, str) or _is_messages(v)):
        raise RecordError(
            f"{where}: field '{key}' must be a string or a list of "
            f"{{role, content}} messages, got {type(v).__name__}"
        )


def response_text(v: str | list) -> str:
    """A response as plain text: strings pass through, message lists give the assistant's content."""
    if isinstance(v, str):
        return v
    return "".join(m["content"] for m in v if m.get("role", "assistant") == "assistant")


def prompt_text(v: str | list) -> str:
    """A prompt as plain text for judges and reports (message lists are joined turn by turn)."""
    if isinstance(v, str):
        return v
    if len(v) == 1:
        return v[0]["content"]
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in v)


def _norm_sft(rec: dict, where: str) -> dict:
    if "output" not in rec and "completion" in rec:
        rec["output"] = rec.pop("completion")
    if "prompt" not in rec and "messages" in rec and _is_messages(rec["messages"]):
        msgs = rec.pop("messages")  # TRL's language-modeling conversational form
        if msgs[-1]["role"] != "assistant":
            raise RecordError(f"{where}: field 'messages' must end with an assistant turn")
        rec["prompt"], rec["output"] = msgs[:-1], msgs[-1]["content"]
    check_text(rec, "prompt", where)
    check_text(rec, "output", where)
    rec["output"] = response_text(rec["output"])
    return rec


def _norm_prompt(rec: dict, where: str) -> dict:
    check_text(rec, "prompt", where)
    return rec


def _norm_samples(rec: dict, where: str) -> dict:
    check_text(rec, "prompt", where)
    c = rec.get("completions")
    if not isinstance(c, list) or not c or not all(isinstance(x, str) for x in c):
        raise RecordError(f"{where}: field 'completions' must be a non-empty list of strings")
    return rec


def _norm_preference(rec: dict, where: str) -> dict:
    for k in ("prompt", "chosen", "rejected"):
        check_text(rec, k, where)
    rec["chosen"], rec["rejected"] = response_text(rec["chosen"]), response_text(rec["rejected"])
    return rec


def _norm_comparison(rec: dict, where: str) -> dict:
    for k in ("prompt", "response_a", "response_b"):
        check_text(rec, k, where)
    p = rec.get("p_a")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise RecordError(f"{where}: field 'p_a' must be a number in [0, 1], got {p!r}")
    rec["p_a"] = float(p)
    return rec


def combine_orders(value: Any) -> float | None:
    """One principle's score from a labeler record field (see the module docstring), or None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        s_ab, s_ba = float(value[0]), float(value[1])
        if (s_ab > 0 > s_ba) or (s_ab < 0 < s_ba):
            return (s_ab - s_ba) / 2
        return None
    raise ValueError(f"a principle score must be a number, null or [s_ab, s_ba], got {value!r}")


def _norm_salmon(rec: dict, where: str) -> dict:
    """Record kind `salmon` (SALMON's principle scores, rm/salmon.py):
    {prompt, response_a, response_b, principle_scores: {name: score}}; a score is a number, null or
    [s_ab, s_ba] (both orders, `combine_orders`)."""
    for k in ("prompt", "response_a", "response_b"):
        check_text(rec, k, where)
    ps = rec.get("principle_scores")
    if not isinstance(ps, dict) or not ps:
        raise RecordError(
            f"{where}: field 'principle_scores' must be a non-empty mapping "
            f"{{principle name: score}}, got {ps!r}"
        )
    for name, v in ps.items():
        try:
            combine_orders(v)
        except (ValueError, TypeError) as e:
            raise RecordError(f"{where}: field 'principle_scores.{name}': {e}") from None
    rec["response_a"], rec["response_b"] = response_text(rec["response_a"]), response_text(rec["response_b"])
    return rec


NORMALIZERS = {
    "sft": _norm_sft,
    "prompt": _norm_prompt,
    "samples": _norm_samples,
    "preference": _norm_preference,
    "comparison": _norm_comparison,
    "salmon": _norm_salmon,
}


def validate(rec: Any, kind: str, where: str) -> dict:
    """Check one record of `kind` and return it normalised (aliases resolved)."""
    if kind not in NORMALIZERS:
        raise ValueError(f"unknown record kind {kind!r}; known: {sorted(NORMALIZERS)}")
    if not isinstance(rec, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    return NORMALIZERS[kind](dict(rec), where)


def slot_swap(prompt: Any, x: str, y: str) -> bool:
    """A coin flip keyed on the pair's content (not on which response is which), so a balanced
    slotting puts the chosen response first in about half of the pairs, reproducibly."""
    return hash_int(json.dumps([prompt, sorted([x, y])], ensure_ascii=False), 8) % 2 == 1


def preference_to_comparison(rec: dict, balanced: bool = False) -> dict:
    """A hard preference as a comparison: chosen in slot a with p_a = 1; with `balanced`, in slot b
    with p_a = 0 where `slot_swap` says so (what a labeler is shown: a position-biased judge must not
    look right just by picking slot a)."""
    out = {k: v for k, v in rec.items() if k not in ("chosen", "rejected")}
    a, b = rec["chosen"], rec["rejected"]
    if balanced and slot_swap(rec["prompt"], response_text(a), response_text(b)):
        return out | {"response_a": b, "response_b": a, "p_a": 0.0}
    return out | {"response_a": a, "response_b": b, "p_a": 1.0}


# --------------------------------------------------------------------------- files


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; bad JSON names file and line."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(f"{path}:{i}: not valid JSON ({e.msg} at column {e.colno})") from None


def rows_from_file(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object) for each record of a .jsonl(.gz)/.json/.parquet file; `where` names file and line."""
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffix in (".jsonl", ".jsonl.gz") or suffix == "" and path.is_file():
        for i, obj in iter_jsonl(path):
            yield f"{path}:{i}", obj
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise RecordError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(data, list):
            raise RecordError(f"{path}: a .json file must hold a list of records")
        for i, obj in enumerate(data):
            yield f"{path}[{i}]", obj
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, obj in enumerate(pq.read_table(path).to_pylist()):
            yield f"{path} row {i}", obj
    else:
        raise RecordError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")


def _rows_from_hub(spec: str) -> Iterator[tuple[str, Any]]:
    """`hf:NAME[:SPLIT]` or `hf:NAME/CONFIG[:SPLIT]` through `datasets` (needs the internet)."""
    import datasets

    name, _, split = spec.partition(":")
    config = None
    if name.count("/") == 2:
        name, config = name.rsplit("/", 1)
    ds = datasets.load_dataset(name, config, split=split or "train")
    for i, obj in enumerate(ds):
        yield f"{spec} row {i}", obj


def read_records(source: str | Path, kind: str, limit: int = 0) -> list[dict]:
    """Records of `kind` from a .jsonl/.json/.parquet file or `hf:NAME[:SPLIT]`, validated.

    An empty source is an error naming the source: a stage must never run on nothing."""
    spec = str(source)
    if spec.startswith("hf:"):
        rows = _rows_from_hub(spec[3:])
    else:
        path = Path(spec)
        if not path.exists():
            raise RecordError(f"{path}: file not found")
        rows = rows_from_file(path)
    out = []
    for where, obj in rows:
        out.append(validate(obj, kind, where))
        if limit and len(out) >= limit:
            break
    if not out:
        raise RecordError(f"{spec}: no records (the file is empty)")
    return out


def write_jsonl(path: str | Path, records: Iterable[dict]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
