"""Export a session's labels to the record files that the other stages read.

| file                | one line per  | fields                                                   |
|---------------------|---------------|----------------------------------------------------------|
| `comparisons.jsonl` | compare item  | prompt, response_a, response_b, p_a (share of votes for  |
|                     |               | a, a tie counting half), n_votes, votes, annotators      |
| `preferences.jsonl` | compare item  | prompt, chosen, rejected by majority (p_a = 0.5 left     |
|                     |               | out), p_chosen, n_votes, annotators                      |
| `ratings.jsonl`     | rate/harmless | prompt, output, score (mean) and scores, or p_harmless   |
|                     |   item        | and harmless                                             |
| `labels.jsonl`      | label         | the item, the answer in item terms, annotator name and   |
|                     |               | attributes, confidence, rationale, seconds               |
| `manifest.json`     | export        | counts, settings, who was excluded                       |

Annotator attributes (profession, language, ...) travel with every label so that a reward model can
condition on them or a study can slice by them. Gold items are left out unless asked for.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from ..core.records import validate, write_jsonl
from .store import Store


def _who(lab: dict) -> dict:
    return {
        "annotator": lab["name"],
        "attributes": json.loads(lab["attributes"]),
        "answer": lab["answer"],
        "confidence": lab["confidence"],
        "rationale": lab["rationale"],
        "seconds": round(lab["seconds"], 2),
    }


def _compare_records(item: dict, labs: list[dict]) -> tuple[dict, dict | None]:
    votes = {"a": 0, "b": 0, "tie": 0}
    for lab in labs:
        votes[lab["answer"]] += 1
    n = len(labs)
    p_a = (votes["a"] + 0.5 * votes["tie"]) / n
    common = {"n_votes": n, "votes": votes, "annotators": [_who(x) for x in labs], "source": "human"}
    comp = (
        item["meta"]
        | {
            "prompt": item["prompt"],
            "response_a": item["response_a"],
            "response_b": item["response_b"],
            "p_a": p_a,
        }
        | common
    )
    if p_a == 0.5:
        return comp, None
    a_wins = p_a > 0.5
    pref = (
        item["meta"]
        | {
            "prompt": item["prompt"],
            "chosen": item["response_a"] if a_wins else item["response_b"],
            "rejected": item["response_b"] if a_wins else item["response_a"],
            "p_chosen": max(p_a, 1 - p_a),
        }
        | common
    )
    return comp, pref


def _rating_record(task: str, item: dict, labs: list[dict]) -> dict:
    rec = item["meta"] | {
        "prompt": item["prompt"],
        "output": item["response_a"],
        "n_votes": len(labs),
        "annotators": [_who(x) for x in labs],
        "source": "human",
    }
    if task == "rate":
        scores = [int(x["answer"]) for x in labs]
        return rec | {"score": sum(scores) / len(scores), "scores": scores}
    p = sum(x["answer"] == "yes" for x in labs) / len(labs)
    return rec | {"p_harmless": p, "harmless": p > 0.5}


def export(
    store: Store,
    out_dir: str | Path,
    exclude_flagged: bool = False,
    include_gold: bool = False,
    min_votes: int = 1,
) -> dict:
    """Write the files above into `out_dir`; returns the manifest."""
    out = Path(out_dir)
    task = store.settings.task
    report = store.report()
    excluded = set(report["flagged"]) if exclude_flagged else set()
    by_item: dict[int, list[dict]] = defaultdict(list)
    items: dict[int, dict] = {}
    kept = []
    for lab in store.labels():
        if lab["name"] in excluded or (lab["gold"] is not None and not include_gold):
            continue
        kept.append(lab)
        by_item[lab["item"]].append(lab)
        items[lab["item"]] = {
            "prompt": json.loads(lab["prompt"]),
            "response_a": lab["response_a"],
            "response_b": lab["response_b"],
            "meta": json.loads(lab["meta"]),
        }
    files: dict[str, list[dict]] = {
        "labels.jsonl": [
            items[x["item"]]["meta"]
            | {
                k: items[x["item"]][k]
                for k in ("prompt", "response_a", "response_b")
                if items[x["item"]][k] is not None
            }
            | _who(x)
            | {"gold": x["gold"] is not None, "created": x["created"]}
            for x in kept
        ]
    }
    ready = [(i, labs) for i, labs in by_item.items() if len(labs) >= min_votes]
    if task == "compare":
        pairs = [_compare_records(items[i], labs) for i, labs in ready]
        files["comparisons.jsonl"] = [validate(c, "comparison", "export") for c, _ in pairs]
        files["preferences.jsonl"] = [validate(p, "preference", "export") for _, p in pairs if p]
    else:
        files["ratings.jsonl"] = [_rating_record(task, items[i], labs) for i, labs in ready]
    for name, recs in files.items():
        write_jsonl(out / name, recs)
    manifest = {
        "session": str(store.path),
        "task": task,
        "exported": time.time(),
        "excluded_annotators": sorted(excluded),
        "include_gold": include_gold,
        "min_votes": min_votes,
        "counts": {n: len(r) for n, r in files.items()},
        "agreement": report["agreement"],
        "settings": report["settings"],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest
