"""Evaluating policies (`rlaif eval`): did alignment work? Win rates, oracle scores, labeler quality.

1. Policies are named (`eval.policies: {sft: OUT/sft/checkpoint, rlaif: runs/x/rl, ...}`); the first
   (or `eval.baseline`) is the baseline. A policy is a checkpoint, a stage or run folder (its
   checkpoint is found), a model name, or a JSONL file of outputs made elsewhere.
2. Outputs for the held-out prompts come from `generation.sample_records`, the one sampling routine,
   into OUT/eval/outputs/NAME.jsonl: cached and resumable like every long stage.
3. Judges follow one protocol (evaluation/judges.py); each judgment is appended to
   OUT/eval/judgments/JUDGE/A__B.jsonl as soon as it is made, so a killed run resumes. Each pair of
   policies is judged once; B-vs-A is 1 - A-vs-B. The labeler judge is the label stage's labeler
   (both orders averaged there, the one place position debiasing lives).
4. All numbers come from pure functions (evaluation/results.py, metrics.py) and go to
   results.json; report.html and summary.md are rendered from that file alone (evaluation/report.py).
5. Earlier stages' reports (label quality, RM accuracy, RL curves) are collected from OUT and from
   each policy's own run folder; a stage that has not run is a section that says so, not a crash.
"""

from __future__ import annotations

import dataclasses
import json
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

from ..core.config import Config, SampleConfig
from ..core.runs import JsonlAppender, Run, read_done
from ..tasks import supports, task_kind

CHECKPOINT_NAMES = ("checkpoint", "final", "policy", "model")
OUTPUT_FIELDS = ("completion", "output", "response")


@dataclass
class Policy:
    name: str
    spec: str  # what the user wrote
    model: str | None = None  # a loadable model path or name
    outputs_file: Path | None = None  # precomputed outputs instead of a model
    root: Path | None = None  # the run root it came from (for its label/rm/rl reports)
    stage_dir: Path | None = None  # the stage folder holding its checkpoint


# --------------------------------------------------------------------------- policies


def is_checkpoint(p: Path) -> bool:
    return (p / "config.json").exists() or (p / "adapter_config.json").exists()


def find_checkpoint(stage_dir: Path) -> Path | None:
    """The checkpoint inside a stage folder: a conventional name, else the highest-numbered one."""
    for n in CHECKPOINT_NAMES:
        if is_checkpoint(stage_dir / n):
            return stage_dir / n
    found = [p for p in stage_dir.iterdir() if p.is_dir() and is_checkpoint(p)] if stage_dir.is_dir() else []
    digits = lambda p: int("".join(c for c in p.name if c.isdigit()) or -1)
    return max(found, key=lambda p: (digits(p), p.name)) if found else None


def resolve_policy(name: str, spec: str) -> Policy:
    """A policy from a spec: outputs file, checkpoint, stage folder, run root, or a model name."""
    p = Path(spec)
    if p.suffix in (".jsonl", ".json") and p.is_file():
        return Policy(name, spec, outputs_file=p)
    if p.is_dir() and is_checkpoint(p):
        stage = p.parent if (p.parent / "manifest.json").exists() else None
        return Policy(name, spec, model=str(p), stage_dir=stage, root=stage.parent if stage else None)
    if p.is_dir() and (p / "manifest.json").exists():
        ckpt = find_checkpoint(p)
        if ckpt is None:
            raise FileNotFoundError(
                f"eval.policies.{name}: {p} holds no checkpoint (looked for "
                f"{', '.join(CHECKPOINT_NAMES)} or checkpoint-N folders)"
            )
        return Policy(name, spec, model=str(ckpt), stage_dir=p, root=p.parent)
    if p.is_dir() and any((p / s).is_dir() for s in ("rl", "sft")):
        return resolve_policy(name, str(p / ("rl" if (p / "rl").is_dir() else "sft")))
    if p.exists() or spec.startswith((".", "/")):
        raise FileNotFoundError(
            f"eval.policies.{name}: {spec} is neither a checkpoint, a stage or run "
            f"folder, nor a .jsonl file of outputs"
        )
    return Policy(name, spec, model=spec)  # a hub id or a built-in name


def default_policies(cfg: Config) -> dict[str, str]:
    """sft, rl and dpo from this run folder where they exist, else the configured model itself."""
    out = Path(cfg.out)
    found = {}
    if is_checkpoint(out / "sft" / "checkpoint"):
        found["sft"] = str(out / "sft" / "checkpoint")
    for stage in ("rl", "dpo"):
        if (out / stage).is_dir() and find_checkpoint(out / stage):
            found[stage] = str(out / stage)
    return found or {"base": cfg.model.name}


def pairs_to_judge(names: list[str], baseline: str, head_to_head: bool) -> list[tuple[str, str]]:
    """(A, B) pairs: each policy against the baseline (A = the other one), then the rest if asked."""
    pairs = [(n, baseline) for n in names if n != baseline]
    if head_to_head:
        pairs += [(a, b) for a, b in combinations([n for n in names if n != baseline], 2)]
    return pairs


# --------------------------------------------------------------------------- outputs


def read_outputs_file(path: Path, records: list[dict]) -> list[str]:
    """Outputs made elsewhere, matched to the eval prompts by prompt text."""
    from ..core.records import iter_jsonl, response_text

    by_prompt = {}
    for line, r in iter_jsonl(path):
        field = next((f for f in OUTPUT_FIELDS if f in r), None)
        text = r[field] if field else (r.get("completions") or [None])[0]
        if "prompt" not in r or text is None:
            raise ValueError(f"{path}:{line}: needs 'prompt' and one of {OUTPUT_FIELDS} or 'completions'")
        by_prompt[json.dumps(r["prompt"], sort_keys=True)] = response_text(text)
    missing = [i for i, r in enumerate(records) if json.dumps(r["prompt"], sort_keys=True) not in by_prompt]
    if missing:
        raise ValueError(
            f"{path}: no output for {len(missing)} of the {len(records)} eval prompts "
            f"(first: prompt {missing[0]})"
        )
    return [by_prompt[json.dumps(r["prompt"], sort_keys=True)] for r in records]


def policy_outputs(cfg: Config, policy: Policy, records: list[dict], folder: Path) -> list[str]:
    """One output per prompt: generated (cached in folder/NAME.jsonl, resumable) or read from a file."""
    from .. import generation
    from ..core.records import write_jsonl

    if policy.outputs_file:
        return read_outputs_file(policy.outputs_file, records)
    final, partial = folder / f"{policy.name}.jsonl", folder / f"{policy.name}.partial.jsonl"
    if final.exists():
        return [r["completions"][0] for r in read_done(final)]
    e = cfg.eval
    s = SampleConfig(
        n=1,
        temperature=e.temperature,
        top_p=e.top_p,
        max_new_tokens=e.max_new_tokens,
        batch_size=e.batch_size,
        max_prompt_length=e.max_prompt_length,
    )
    print(f"[rlaif] eval: generating {len(records)} outputs with {policy.name} ({policy.model})", flush=True)
    # a seed per policy name: two names for one model are two independent samples of it, which is
    # what "a policy against itself" means (with greedy decoding the seed does not matter)
    seeded = dataclasses.replace(cfg, seed=cfg.seed + zlib.crc32(policy.name.encode()) % 100_000)
    rows = generation.sample_records(seeded, records, partial, policy.model, s)
    write_jsonl(
        final, [{"index": r["index"], "prompt": r["prompt"], "completions": r["completions"]} for r in rows]
    )
    partial.unlink(missing_ok=True)
    return [r["completions"][0] for r in rows]


def record_columns(records: list[dict]) -> dict[str, list]:
    """The prompt records' other fields as columns (gold SQL, db id, ...), for oracles and judges."""
    keys = [
        k for k in dict.fromkeys(k for r in records for k in r) if k not in ("prompt", "index", "completions")
    ]
    return {k: [r.get(k) for r in records] for k in keys}


# --------------------------------------------------------------------------- judges


def load_task(cfg: Config, notes: list[str]):
    from ..tasks import get_task

    try:
        return get_task(cfg.task)
    except (KeyError, ImportError, FileNotFoundError) as e:
        notes.append(f"task '{cfg.task}' is not available ({e}); no oracle scores or oracle judge")
        return None


def labeler_config(cfg: Config):
    """The label section with eval.labeler's overrides applied (validated like any config)."""
    from ..core.config import eval_labeler_config

    return eval_labeler_config(cfg)


def make_labeler_judge(cfg: Config, task):
    """The label stage's pairwise labeler (labelers.build_labeler) as a judge: P(a better), both
    orders averaged by its debiasing wrapper; per-order scores kept for the position-bias metric."""
    from ..labelers.debias import Pair
    from ..labelers.labeler import build_labeler

    lc = labeler_config(cfg)
    labeler = build_labeler(dataclasses.replace(cfg, label=lc))
    # the fake labeler simulates a judge of known accuracy *against the truth*, and the oracle
    # backend is the truth: both need the task's verdict; a real labeler never sees it
    needs_gold = lc.backend in ("fake", "oracle") and supports(task, "prefer")

    # text2sql's tool-augmented labeler sees what each query returns, as in the label stage
    show = lc.execution_results and supports(task, "execution_summary")

    def judge(prompts, a, b, **columns):
        rows = [{k: v[i] for k, v in columns.items()} for i in range(len(prompts))]
        gold = [task.prefer(p, x, y, **r) if needs_gold else None for p, x, y, r in zip(prompts, a, b, rows)]
        res = [
            (task.execution_summary({"prompt": p, **r}, x), task.execution_summary({"prompt": p, **r}, y))
            if show
            else None
            for p, x, y, r in zip(prompts, a, b, rows)
        ]
        pairs = [
            Pair(p, x, y, gold=g, results=e, extra=r)
            for p, x, y, g, e, r in zip(prompts, a, b, gold, res, rows)
        ]
        keep = ("p_ab", "p_ba", "same_position", "problem")
        return [
            {"p_a": r["p_a"], **{k: r.get(k) for k in keep if r.get(k) is not None}}
            for r in labeler.label(pairs)
        ]

    return judge


def build_judges(cfg: Config, task, notes: list[str]) -> dict:
    from .judges import oracle_judge

    judges = {}
    for name in cfg.eval.judges:
        if name == "oracle":
            if supports(task, "prefer"):
                judges[name] = oracle_judge(task)
            else:
                notes.append(f"judge 'oracle' skipped: task '{cfg.task}' has no preference oracle")
        elif name == "labeler":
            judges[name] = make_labeler_judge(cfg, task)
        else:
            raise ValueError(f"eval.judges: unknown judge {name!r}; known: oracle, labeler")
    return judges


def judge_pair(
    judge,
    name: str,
    a: str,
    b: str,
    prompts: list,
    out_a: list[str],
    out_b: list[str],
    columns: dict[str, list],
    folder: Path,
    batch_size: int,
) -> list[dict]:
    """Judgments of A's vs B's outputs, one per prompt, appended to folder/JUDGE/A__B.jsonl as made."""
    from .judges import judge_pairs

    path = folder / name / f"{a}__{b}.jsonl"
    done = {r["index"]: r for r in read_done(path)}
    todo = [i for i in range(len(prompts)) if i not in done]
    if todo:
        print(f"[rlaif] eval: judge {name}: {a} vs {b}, {len(todo)} pairs", flush=True)
        with JsonlAppender(path) as out:
            for k in range(0, len(todo), batch_size):
                idx = todo[k : k + batch_size]
                got = judge_pairs(
                    judge,
                    [prompts[i] for i in idx],
                    [out_a[i] for i in idx],
                    [out_b[i] for i in idx],
                    {c: [v[i] for i in idx] for c, v in columns.items()},
                )
                rows = [{"index": i, **g} for i, g in zip(idx, got)]
                out.write_many(rows)
                done.update({r["index"]: r for r in rows})
    return [done[i] for i in range(len(prompts))]


# --------------------------------------------------------------------------- evaluate


def policy_summaries(
    cfg: Config,
    task,
    policies: list[Policy],
    outputs: dict[str, list[str]],
    records: list[dict],
    notes: list[str],
) -> list[dict]:
    """Each policy's lengths, oracle score, harmless rate and the task's own evaluation."""
    from . import results as R
    from .judges import oracle_scores, task_rater

    e, summaries = cfg.eval, []
    prompts, columns = [r["prompt"] for r in records], record_columns(records)
    for p in policies:
        oracle = oracle_scores(task, prompts, outputs[p.name], columns) if task is not None else None
        rater = task_rater(task) if e.harmless == "task" and task is not None else None
        harmless = rater(prompts, outputs[p.name], **columns) if rater else None
        extra = task_evaluation(task, records, outputs[p.name])
        summaries.append(
            R.policy_summary(
                p.name,
                outputs[p.name],
                oracle,
                harmless,
                n_boot=e.bootstrap,
                seed=cfg.seed,
                source=p.spec,
                model=p.model or str(p.outputs_file),
                **({"task_eval": extra} if extra else {}),
            )
        )
    if e.harmless == "task" and task is not None and task_rater(task) is None:
        notes.append(f"harmless rate not measured: task '{cfg.task}' has no `harmless` judgment")
    return summaries


def eval_records(cfg: Config) -> tuple[list[dict], str]:
    """(held-out prompt records, their source): eval.prompts, every eval.stride-th, the first eval.limit."""
    from ..tasks import resolve_records

    e = cfg.eval
    records, source = resolve_records(e.prompts, "prompt", cfg.task, "test", 0 if e.stride > 1 else e.limit)
    if e.stride > 1:  # an even spread over a split that is ordered (e.g. by database)
        records = records[:: e.stride][: e.limit or None]
    return records, source


def evaluate(cfg: Config, folder: Path, run: Run | None = None) -> dict:
    """Generate, judge and measure; return the results dict (also written to folder/results.json)."""
    from . import results as R

    e, notes = cfg.eval, []
    records, source = eval_records(cfg)
    specs = e.policies or default_policies(cfg)
    policies = [resolve_policy(n, str(s)) for n, s in specs.items()]
    names = [p.name for p in policies]
    baseline = e.baseline or names[0]
    if baseline not in names:
        raise ValueError(f"eval.baseline {baseline!r} is not one of the policies: {', '.join(names)}")
    task = load_task(cfg, notes)
    prompts, columns = [r["prompt"] for r in records], record_columns(records)

    t0 = time.time()
    outputs = {p.name: policy_outputs(cfg, p, records, folder / "outputs") for p in policies}
    if run:
        run.time("generate_s", time.time() - t0)

    summaries = policy_summaries(cfg, task, policies, outputs, records, notes)

    t0 = time.time()
    judges = build_judges(cfg, task, notes)
    comparisons, judged = [], {}
    for jname, judge in judges.items():
        for a, b in pairs_to_judge(names, baseline, e.head_to_head):
            rows = judge_pair(
                judge,
                jname,
                a,
                b,
                prompts,
                outputs[a],
                outputs[b],
                columns,
                folder / "judgments",
                e.judge_batch_size,
            )
            judged[(jname, a, b)] = rows
            comparisons.append(
                R.comparison(
                    a,
                    b,
                    jname,
                    [r["p_a"] for r in rows],
                    outputs[a],
                    outputs[b],
                    e.tie_margin,
                    e.bootstrap,
                    min(500, e.bootstrap),
                    e.length_feature,
                    cfg.seed,
                )
            )
    if run:
        run.time("judge_s", time.time() - t0)

    return {
        "title": e.title or f"Evaluation of {Path(cfg.out).name}",
        "task": cfg.task,
        "out": str(cfg.out),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "prompts": {"source": source, "n": len(records)},
        "baseline": baseline,
        "generation": {"temperature": e.temperature, "top_p": e.top_p, "max_new_tokens": e.max_new_tokens},
        "bootstrap": f"{e.bootstrap} resamples, 95% percentile intervals over prompts",
        "oracle_name": getattr(task, "oracle_name", None)
        or ("execution accuracy" if task_kind(cfg.task) == "text2sql" else "oracle score"),
        "policies": summaries,
        "paired": R.paired_vs_baseline(summaries, baseline, e.bootstrap, cfg.seed),
        "judges": list(judges),
        "comparisons": comparisons,
        "matrices": R.matrices(comparisons, names) if len(names) > 1 and comparisons else {},
        "labeler_on_eval": labeler_on_eval(judged),
        "stages": collect_stages(cfg, policies),
        "examples": examples(records, outputs, summaries, e.examples),
        "notes": notes,
    }


def task_evaluation(task, records: list[dict], outputs: list[str]) -> dict | None:
    """The task's own evaluation summary, if it has one (text2sql: valid-SQL rate, accuracy by
    database and question kind); numbers only."""
    if not supports(task, "evaluate"):
        return None
    got = task.evaluate(records, outputs)
    keep = lambda v: (
        isinstance(v, (int, float))
        or isinstance(v, dict)
        and all(isinstance(x, (int, float)) for x in v.values())
    )
    return {k: v for k, v in got.items() if keep(v)} if isinstance(got, dict) else None


def labeler_on_eval(judged: dict) -> dict:
    """Each non-oracle judge against the oracle on the same evaluation pairs, pooled over pairs."""
    from .results import labeler_vs_reference

    out = {}
    for jname in dict.fromkeys(j for j, _, _ in judged):
        if jname == "oracle":
            continue
        p, ref, s1, s2 = [], [], [], []
        for (j, a, b), rows in judged.items():
            if j != jname or ("oracle", a, b) not in judged:
                continue
            for r, o in zip(rows, judged[("oracle", a, b)]):
                if r.get("identical") or o["p_a"] == 0.5:  # an oracle tie: no right answer to align with
                    continue
                p.append(r["p_a"])
                ref.append(o["p_a"])
                s1.append(r.get("p_ab"))  # raw P(slot 1) with a shown first ...
                s2.append(r.get("p_ba"))  # ... and with b shown first (labelers.debias)
        m = labeler_vs_reference(p, ref, s1, s2)
        if m:
            out[jname] = m
    return out


def collect_stages(cfg: Config, policies: list[Policy]) -> dict:
    """Label quality, RM evaluation and RL curves from OUT and from each policy's own run folder."""
    from . import collect

    roots = {Path(cfg.out).resolve(): "this run"}
    for p in policies:
        if p.root and p.root.resolve() not in roots:
            roots[p.root.resolve()] = p.name
    label = {name: collect.collect_label(root) for root, name in roots.items()}
    rm = {name: collect.collect_rm(root) for root, name in roots.items()}
    rl_dirs = {p.name: p.stage_dir for p in policies if p.stage_dir and p.stage_dir.name.startswith("rl")}
    if (Path(cfg.out) / "rl").is_dir() and not any(
        d.resolve() == (Path(cfg.out) / "rl").resolve() for d in rl_dirs.values()
    ):
        rl_dirs["rl"] = Path(cfg.out) / "rl"
    return {"label": label, "rm": rm, "rl": collect.collect_rl(rl_dirs)}


def examples(records: list[dict], outputs: dict[str, list[str]], summaries: list[dict], k: int) -> list[dict]:
    from ..core.records import prompt_text

    oracle = {s["name"]: (s.get("oracle") or {}) for s in summaries}
    scores = {s["name"]: s.get("oracle_scores") for s in summaries}
    out = []
    for i in range(min(k, len(records))):
        text = prompt_text(records[i]["prompt"])
        out.append(
            {
                "index": i,
                "prompt": text if len(text) < 2000 else text[:1000] + "\n[...]\n" + text[-800:],
                "outputs": {n: o[i] for n, o in outputs.items()},
                "oracle": {n: s[i] for n, s in scores.items() if s} if any(oracle.values()) else {},
            }
        )
    return out
