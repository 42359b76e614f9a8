"""The pairs the `label` stage labels, and labeling them (METHOD.md 2; SALMON 7).

Input: samples {prompt, completions} (the first two completions are the pair, or with
label.pairs=all every pair of distinct completions), unlabeled or
human-labeled comparisons {prompt, response_a, response_b[, p_a]}, or preferences {prompt,
chosen, rejected}. Output in OUT/label/:
- `comparisons.jsonl`: {prompt, response_a, response_b, p_a, p_ab, p_ba, same_position, ...}, input
  order; `principles.jsonl` instead with label.mode=principles ({..., principle_scores});
- `unlabeled.jsonl`: pairs that got no label, with the reason (degenerate labeler output, no
  oracle label) — counted in the report, never turned into a 50/50;
- `report.json` / `report.md`: alignment with reference labels, % same position, ECE, tokens per
  pair, pairs/s, and plain-language findings.

1. Preferences are put in slots by a content hash, never chosen-first: a position-biased labeler
   must not look aligned because the gold answer always sits in slot 1.
2. Reference labels (for the report, the oracle backend and temperature fitting): a record's own
   `gold_p_a`, a preference's chosen side, a comparison's `p_a`, else the task's oracle.
3. Resumable and deterministic: pairs are length-sorted and cut into fixed chunks; each finished
   chunk is appended (fsynced) to `comparisons.partial.jsonl`; a restart skips finished chunks, so
   a killed run ends with the same file as one that never stopped. The annotation cache
   additionally shares labels across runs and stages.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import Config
from ..core.runs import JsonlAppender, read_done
from ..tasks import supports

# --------------------------------------------------------------------------- input


def record_to_pair_fields(rec: dict, where: str) -> dict:
    """{prompt, response_a, response_b, gold_p_a?, ...extras} from any accepted input record."""
    from ..core.records import RecordError, preference_to_comparison, response_text

    extras = {
        k: v
        for k, v in rec.items()
        if k not in ("completions", "chosen", "rejected", "response_a", "response_b", "p_a", "index")
    }
    if "completions" in rec:
        c = rec["completions"]
        if not isinstance(c, list) or len(c) < 2:
            raise RecordError(f"{where}: a samples record needs at least 2 completions to make a pair")
        return extras | {"response_a": response_text(c[0]), "response_b": response_text(c[1])}
    if "chosen" in rec and "rejected" in rec:
        c = preference_to_comparison(
            {
                "prompt": rec["prompt"],
                "chosen": response_text(rec["chosen"]),
                "rejected": response_text(rec["rejected"]),
            },
            balanced=True,
        )
        return extras | {"response_a": c["response_a"], "response_b": c["response_b"], "gold_p_a": c["p_a"]}
    if "response_a" in rec and "response_b" in rec:
        out = extras | {
            "response_a": response_text(rec["response_a"]),
            "response_b": response_text(rec["response_b"]),
        }
        if isinstance(rec.get("p_a"), (int, float)) and "gold_p_a" not in rec:
            out["gold_p_a"] = float(rec["p_a"])
        return out
    raise RecordError(
        f"{where}: expected samples (completions), comparisons (response_a, response_b) or "
        f"preferences (chosen, rejected); fields present: {sorted(rec)}"
    )


def sample_pairs(completions: list, how: str) -> list[tuple[int, int]]:
    """Which completions of a samples record are compared: `first` the first two (the paper's two
    samples per prompt); `all` every pair of distinct completions (n samples give up to n(n-1)/2
    pairs; a completion repeated word for word is compared once, and a prompt whose samples are all
    the same gives none: there is nothing to prefer)."""
    from itertools import combinations

    from ..core.records import response_text

    if how == "first":
        return [(0, 1)]
    first: dict[str, int] = {}
    for i, c in enumerate(completions):
        first.setdefault(response_text(c).strip(), i)
    return list(combinations(sorted(first.values()), 2))


def record_to_pairs(rec: dict, where: str, how: str = "first") -> list[dict]:
    """`record_to_pair_fields`, with a samples record expanded into its pairs (`sample_pairs`)."""
    c = rec.get("completions")
    if how == "first" or not isinstance(c, list) or len(c) < 2:
        return [record_to_pair_fields(rec, where)]
    return [
        record_to_pair_fields({**rec, "completions": [c[i], c[j]], "sample_pair": [i, j]}, where)
        for i, j in sample_pairs(c, how)
    ]


def read_pairs(cfg: Config) -> tuple[list[dict], str]:
    from ..core.records import read_records

    src = cfg.label.input or str(Path(cfg.out) / "sample" / "samples.jsonl")
    if not cfg.label.input and not Path(src).exists():
        raise FileNotFoundError(f"{src}: no samples to label; run `rlaif sample` first or set --label.input")
    rows = read_records(src, "prompt", cfg.label.limit)
    return [p for i, r in enumerate(rows) for p in record_to_pairs(r, f"{src}[{i}]", cfg.label.pairs)], src


def attach_gold(cfg: Config, rows: list[dict]) -> str:
    """Fill `gold_p_a` from the configured source; returns a description of the source."""
    how = cfg.label.gold
    if how == "none":
        for r in rows:
            r.pop("gold_p_a", None)
        return "none"
    if cfg.label.labels:
        return _gold_from_file(cfg.label.labels, rows)
    have = sum(1 for r in rows if r.get("gold_p_a") is not None)
    if how == "field" or (how == "auto" and have):
        return f"record fields ({have} pairs)"
    task = _task(cfg)
    if not supports(task, "prefer"):
        return "none (no reference labels and no task oracle)"
    found = unknown = 0
    for r in rows:
        extras = {k: v for k, v in r.items() if k not in ("prompt", "response_a", "response_b", "gold_p_a")}
        try:
            g = task.prefer(r["prompt"], r["response_a"], r["response_b"], **extras)
        except KeyError:  # a prompt the task does not know (no reference for it)
            unknown += 1
            continue
        if g is not None:
            r["gold_p_a"], found = float(g), found + 1
    return f"task oracle ({cfg.task}): {found} pairs labeled, {unknown} prompts unknown to the task"


def _gold_from_file(path: str, rows: list[dict]) -> str:
    """Human labels {prompt, chosen, rejected} or comparisons with p_a, matched by content."""
    from ..core.records import RecordError, read_records

    known: dict[str, float] = {}
    try:
        for r in read_records(path, "preference"):
            known[_k(r["prompt"], r["chosen"], r["rejected"])] = 1.0
    except RecordError:
        for r in read_records(path, "comparison"):
            known[_k(r["prompt"], r["response_a"], r["response_b"])] = r["p_a"]
    found = 0
    for r in rows:
        g = known.get(_k(r["prompt"], r["response_a"], r["response_b"]))
        if g is None and (h := known.get(_k(r["prompt"], r["response_b"], r["response_a"]))) is not None:
            g = 1.0 - h
        if g is not None:
            r["gold_p_a"], found = g, found + 1
    return f"{path} ({found} of {len(rows)} pairs matched)"


def _k(prompt, a: str, b: str) -> str:
    return json.dumps([prompt, a, b], ensure_ascii=False)


def _task(cfg: Config):
    from ..tasks import get_task

    try:
        return get_task(cfg.task)
    except KeyError:
        return None


def attach_results(cfg: Config, rows: list[dict]) -> None:
    """text2sql: each query's execution result, shown under it (a tool-augmented labeler)."""
    task = _task(cfg)
    if not supports(task, "execution_summary"):
        raise ValueError(
            f"label.execution_results needs a task that can execute responses "
            f"(execution_summary); task {cfg.task!r} cannot"
        )
    for r in rows:
        r["_results"] = [
            task.execution_summary(r, r["response_a"]),
            task.execution_summary(r, r["response_b"]),
        ]


# --------------------------------------------------------------------------- labeling


def _pair(r: dict):
    from . import Pair

    res = r.get("_results")
    return Pair(r["prompt"], r["response_a"], r["response_b"], r.get("gold_p_a"), tuple(res) if res else None)


def _chunks(rows: list[dict], cfg: Config) -> list[list[int]]:
    """Fixed chunks of pair indices (both orders of a pair stay together). Pairs whose prompts share a
    long prefix (one database's schema) are neighbours, so a batch encodes that prefix once for all
    its pairs (the hf backend's group level); within and between such clusters, longest first."""
    from ..algos.packing import prefix_clusters

    per = max(1, cfg.label.batch_size // (2 if cfg.label.orders == "both" else 1))
    if cfg.label.cot:
        per = max(per, cfg.label.batch_size)
    size = [len(str(r["prompt"])) + len(r["response_a"]) + len(r["response_b"]) for r in rows]
    clusters = prefix_clusters([str(r["prompt"]) for r in rows], min_prefix=64)  # characters
    clusters.sort(key=lambda c: (-max(size[i] for i in c), min(c)))
    order = [i for c in clusters for i in sorted(c, key=lambda i: (-size[i], i))]
    return [order[k : k + per] for k in range(0, len(order), per)]


def label_rows(cfg: Config, rows: list[dict], out_file: Path, scorer) -> list[dict]:
    """Label `rows` chunk by chunk into `out_file`, resuming what is there; all results by index."""
    from tqdm import tqdm

    done = {r["index"]: r for r in read_done(out_file)}
    chunks = _chunks(rows, cfg)
    todo = [c for c in chunks if any(i not in done for i in c)]
    bar = tqdm(
        total=len(rows),
        desc="label",
        unit="pair",
        disable=not cfg.label.progress,
        dynamic_ncols=True,
        initial=len(rows) - sum(len(c) for c in todo),
    )
    with JsonlAppender(out_file) as out:
        for chunk in todo:
            labs = scorer([_pair(rows[i]) for i in chunk])
            new = [{"index": i, **lab} for i, lab in zip(chunk, labs) if i not in done]
            out.write_many(new)
            done.update({r["index"]: r for r in new})
            bar.update(len(chunk))
    bar.close()
    return [done[i] for i in range(len(rows))]


def public_fields(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


def fit_label_temperature(cfg: Config, rows, labs, fit) -> tuple[float, str]:
    if cfg.label.calibration:
        from ..core.records import read_records
        from . import build_labeler

        recs = [
            record_to_pair_fields(r, cfg.label.calibration)
            for r in read_records(cfg.label.calibration, "prompt")
        ]
        got = build_labeler(cfg).label([_pair(r) for r in recs])
        xs = [
            (g["p_a"], r.get("gold_p_a"))
            for r, g in zip(recs, got)
            if g["p_a"] is not None and not g.get("tie")
        ]
        where = cfg.label.calibration
    else:
        xs = [
            (lab["p_a"], r.get("gold_p_a"))
            for r, lab in zip(rows, labs)
            if lab["p_a"] is not None and not lab.get("tie")
        ]
        where = "the input pairs' reference labels (in-sample)"
    xs = [(p, g) for p, g in xs if g is not None]
    return fit([p for p, _ in xs], [g for _, g in xs]), where


def backend_counters(backend) -> dict:
    """The backend's running counters (tokens, calls): an hf backend is loaded once per process and
    shared by every label run in it, so a run reports the difference from before it started."""
    return dict(getattr(backend, "stats", {}) or {})


def _since(now: dict, before: dict) -> dict:
    """Counters minus their values before (nested per-server dicts too); other values as they are."""
    out = {}
    for k, v in now.items():
        b = before.get(k)
        if isinstance(v, dict):
            out[k] = _since(v, b if isinstance(b, dict) else {})
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(b, (int, float)):
            out[k] = v - b
        else:
            out[k] = v
    return out


def label_stats(cfg: Config, backend, labs: list[dict], elapsed: float, before: dict | None = None) -> dict:
    fresh = [lab for lab in labs if not lab.get("cached") and not lab.get("tie")]
    st = _since(backend_counters(backend), before or {})
    toks = st.get("prompt_tokens", 0) + st.get("generated_tokens", 0)
    lc = cfg.label
    return {
        "labeler": f"{lc.backend}:{lc.model or cfg.model.name}"
        if lc.backend in ("hf", "openai")
        else lc.backend,
        "orders": lc.orders,
        "cot": lc.cot,
        "template": lc.template or cfg.task,
        "preamble": lc.preamble,
        "seconds": round(elapsed, 2),
        "pairs_per_s": round(len(fresh) / elapsed, 3) if fresh and elapsed else None,
        "tokens_per_pair": round(toks / len(fresh), 1) if fresh and toks else None,
        "backend_stats": st,
    }


def postprocess_labels(
    cfg: Config, rows: list[dict], labs: list[dict], stats: dict
) -> tuple[list, list, dict]:
    """(labeled, unlabeled, stats): labels post-processed as configured (temperature fitted when
    asked); a pair without a label is kept apart with its reason, never turned into a 50/50."""
    from .scoring import fit_temperature, postprocess

    lc = cfg.label
    temperature = 1.0
    if lc.postprocess == "temperature":
        temperature, stats["temperature_fitted_on"] = fit_label_temperature(cfg, rows, labs, fit_temperature)
        stats["temperature"] = round(temperature, 4)
    labeled, unlabeled, dropped = [], [], 0
    for r, lab in zip(rows, labs):
        base = public_fields(r) | {k: v for k, v in lab.items() if k != "index"}
        if lab["p_a"] is None:
            unlabeled.append(base)
            continue
        p = (
            lab["p_a"]
            if lab.get("tie")
            else postprocess(lab["p_a"], lc.postprocess, lc.threshold, temperature)
        )
        if p is None:
            dropped += 1
            continue
        labeled.append(base | {"p_a": p, "p_a_raw": lab["p_a"]})
    return labeled, unlabeled, stats | {"dropped_by_postprocess": dropped}


def score_principles(cfg: Config, rows: list[dict], out_file: Path) -> tuple[list[dict], object]:
    """SALMON's principle scores for every pair (resumable into `out_file`): (rows, scorer)."""
    from .principles import build_principle_scorer

    scorer = build_principle_scorer(cfg)

    def score(pairs):
        return [{"principle_scores": s} for s in scorer.score(pairs)]

    res = label_rows(cfg, rows, out_file, score)
    return [
        public_fields(row) | {"principle_scores": x["principle_scores"]} for row, x in zip(rows, res)
    ], scorer
