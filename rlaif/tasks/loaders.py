"""Loaders for the paper's public data sets, mapped to the project's record formats.

| name         | data set (through `datasets`, needs the internet)           | records    |
|--------------|--------------------------------------------------------------|------------|
| tldr         | CarperAI/openai_summarize_tldr (train/valid/test)            | sft        |
| tldr-prefs   | openai/summarize_from_feedback, config `comparisons`          | preference |
|              | (train/validation): the human preference pairs                |            |
| hh-helpful   | Anthropic/hh-rlhf, data_dir `helpful-base` (train/test)       | preference |
| hh-harmless  | Anthropic/hh-rlhf, data_dir `harmless-base` (train/test)      | preference |

The human pairs are the reference labels for labeler alignment (`label.labels=FILE`) and the RLHF
arm's preferences. Every loader also reads a local .jsonl/.json/.parquet file with the same
columns (`path=`), which is how they are tested offline; a row that does not fit names its file and
line. TL;DR prompts follow CarperAI's `SUBREDDIT: r/... TITLE: ... POST: ... TL;DR:` layout; HH
prompts become chat message lists (everything before the last assistant turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..core.records import RecordError, rows_from_file, validate


@dataclass(frozen=True)
class Loader:
    hub: str
    config: str | None
    data_dir: str | None
    kind: str
    splits: tuple[str, ...]
    convert: Callable[[dict, str], dict | None]


def _need(row: dict, key: str, where: str, types=(str,)):
    if key not in row:
        raise RecordError(f"{where}: field '{key}' is missing (fields present: {sorted(row)})")
    if not isinstance(row[key], types):
        raise RecordError(f"{where}: field '{key}' has type {type(row[key]).__name__}")
    return row[key]


def tldr_prompt(subreddit: str | None, title: str | None, post: str) -> str:
    head = (f"SUBREDDIT: r/{subreddit}\n" if subreddit else "") + (f"TITLE: {title}\n" if title else "")
    return f"{head}POST: {post.strip()}\nTL;DR:"


def _tldr_sft(row: dict, where: str) -> dict:
    return {"prompt": _need(row, "prompt", where), "output": _need(row, "label", where).strip()}


def _tldr_comparison(row: dict, where: str) -> dict:
    info = _need(row, "info", where, (dict,))
    summaries = _need(row, "summaries", where, (list,))
    choice = _need(row, "choice", where, (int,))
    if (
        len(summaries) != 2
        or choice not in (0, 1)
        or not all(isinstance(s, dict) and "text" in s for s in summaries)
    ):
        raise RecordError(f"{where}: expected two summaries with 'text' and a choice of 0 or 1")
    text = info.get("post") or info.get("article")
    if not isinstance(text, str):
        raise RecordError(f"{where}: field 'info' has neither a 'post' nor an 'article'")
    prompt = (
        tldr_prompt(info.get("subreddit"), info.get("title"), text)
        if info.get("post")
        else f"{text.strip()}\nTL;DR:"
    )
    extra = row.get("extra") or {}
    return {
        "id": info.get("id"),
        "prompt": prompt,
        "chosen": summaries[choice]["text"].strip(),
        "rejected": summaries[1 - choice]["text"].strip(),
        "text": text.strip(),
        "worker": row.get("worker"),
        "confidence": extra.get("confidence"),
        "policies": [s.get("policy") for s in summaries],
    }


def parse_hh(transcript: str, where: str) -> tuple[list[dict], str]:
    """An HH transcript ("\\n\\nHuman: ...\\n\\nAssistant: ...") as (context messages, last reply)."""
    import re

    parts = re.split(r"\n\n(Human|Assistant): ?", "\n\n" + transcript.lstrip("\n"))
    turns = [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    if not turns or turns[-1][0] != "Assistant":
        raise RecordError(f"{where}: transcript does not end with an 'Assistant:' turn")
    msgs = [
        {"role": "user" if who == "Human" else "assistant", "content": text.strip()}
        for who, text in turns[:-1]
    ]
    if not msgs or msgs[0]["role"] != "user":
        raise RecordError(f"{where}: transcript does not start with a 'Human:' turn")
    return msgs, turns[-1][1].strip()


def _hh(row: dict, where: str) -> dict | None:
    context, chosen = parse_hh(_need(row, "chosen", where), where)
    context_r, rejected = parse_hh(_need(row, "rejected", where), where)
    if context != context_r:  # a few HH pairs differ before the last turn: not a clean comparison
        return None
    return {"prompt": context, "chosen": chosen, "rejected": rejected}


LOADERS = {
    "tldr": Loader(
        "CarperAI/openai_summarize_tldr", None, None, "sft", ("train", "valid", "test"), _tldr_sft
    ),
    "tldr-prefs": Loader(
        "openai/summarize_from_feedback",
        "comparisons",
        None,
        "preference",
        ("train", "validation"),
        _tldr_comparison,
    ),
    "hh-helpful": Loader("Anthropic/hh-rlhf", None, "helpful-base", "preference", ("train", "test"), _hh),
    "hh-harmless": Loader("Anthropic/hh-rlhf", None, "harmless-base", "preference", ("train", "test"), _hh),
}


def _hub_rows(ld: Loader, split: str) -> Iterator[tuple[str, dict]]:
    import datasets

    ds = datasets.load_dataset(ld.hub, ld.config, data_dir=ld.data_dir, split=split)
    for i, row in enumerate(ds):
        yield f"{ld.hub}[{split}] row {i}", row


def load(name: str, split: str = "train", path: str | Path | None = None, limit: int = 0) -> list[dict]:
    """Records from loader `name`: the hub data set's `split`, or the local file `path`."""
    if name not in LOADERS:
        raise KeyError(f"unknown data set {name!r}; loaders: {', '.join(LOADERS)}")
    ld = LOADERS[name]
    if path is None and split not in ld.splits:
        raise ValueError(f"{name}: unknown split {split!r}; splits: {', '.join(ld.splits)}")
    if path is not None and not Path(path).exists():
        raise RecordError(f"{path}: file not found")
    rows = rows_from_file(Path(path)) if path is not None else _hub_rows(ld, split)
    out = []
    for where, row in rows:
        if not isinstance(row, dict):
            raise RecordError(f"{where}: expected a JSON object, got {type(row).__name__}")
        rec = ld.convert(row, where)
        if rec is not None:
            out.append(validate(rec, ld.kind, where))
        if limit and len(out) >= limit:
            break
    if not out:
        raise RecordError(f"{path or ld.hub}: no usable records")
    return out
