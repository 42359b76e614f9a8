"""`rlaif demo`: RLVR vs RLHF vs RLAIF vs d-RLAIF vs DPO on text2sql, measured against the execution oracle.

The paper's comparison, run end to end on a CPU with the bundled models. One SFT policy and one set
of sampled completions (n per prompt, every distinct pair labeled) are shared; each *arm* then labels
those pairs its own way and trains its own policy from the same SFT checkpoint; `eval` measures every
arm against SFT on unseen questions of the training databases and, in `eval-heldout`, on databases
never trained on, with paired intervals and exact McNemar tests.

| arm             | feedback                                                    | then        |
|-----------------|-------------------------------------------------------------|-------------|
| rlvr            | none learned: the execution oracle's 0/1 is the RL reward    | RL          |
| rlhf            | the execution oracle's preferences (plays the human)         | RM -> RL    |
| rlaif           | Qwen2.5-Coder-0.5B, execution results in its prompt          | RM -> RL    |
| rlaif-same-size | SmolLM2-135M labeling its own pairs                          | RM -> RL    |
| rlaif-simNN     | the `fake` labeler, NN% accurate, position-biased (any NN)   | RM -> RL    |
| d-rlaif         | no RM: the labeler's 1-10 score is the reward                | RL          |
| dpo             | the rlaif arm's AI preferences (sim78 in --quick)            | DPO         |

rlvr is the ceiling of what RL can do here with perfect feedback; rlhf is the ceiling of learning
from preferences; the simNN arms at several NN give the labeler-quality curve.

Folders: OUT/sft, OUT/sample (shared), OUT/arms/ARM/{label,rm,rl,dpo}, OUT/eval and, where the task
has held-out databases, OUT/heldout/eval (report.html, summary.md, results.json). Every stage skips
itself when complete and resumes when not, so a killed demo continues where it was. `--policy PATH`
starts from an SFT checkpoint you already have. `--until rm` stops every arm after its reward model
(no RL, no eval): labeler alignment and RM accuracy against the oracle for a fraction of the cost;
a later run without it reuses those stages. OUT/study.md keeps every arm run in OUT.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import re
import sys
import time
from pathlib import Path

from .core.config import Config, ConfigError, load_config
from .core.records import RecordError
from .core.runs import StaleRunError

# sizes: --quick must finish in ~10 minutes on 2 CPU cores; the full demo in ~3 hours
SIZES = {
    "quick": {
        "sft.limit": 48,
        "sft.batch_size": 8,
        "sample.limit": 24,
        "sample.n": 2,  # one pair per prompt: the same-size labeler's pairs stay few
        "sample.max_new_tokens": 64,
        "rm.epochs": 1.0,
        "rl.steps": 4,
        "rl.batch_size": 4,
        "rl.max_new_tokens": 48,
        "eval.limit": 24,
        "eval.max_new_tokens": 64,
        "dpo.max_steps": 6,
    },
    "full": {  # the recipe measured to move the ceiling (results/text2sql_rlvr_120steps): a 1-epoch SFT
        # policy that still explores, then 120 RLOO steps at lr 3e-5 (from a 2-epoch policy, or with 40
        # steps, RLVR's gain was not significant: results/text2sql_rlvr, text2sql_rlvr_sft1epoch)
        "sft.epochs": 1.0,
        "sft.lr": 1e-4,
        "sft.batch_size": 8,
        "sample.max_new_tokens": 96,
        "rm.epochs": 1.0,
        "rl.steps": 120,
        "rl.lr": 3e-5,
        "rl.batch_size": 8,
        "rl.max_new_tokens": 96,
        "eval.max_new_tokens": 128,
        "eval.batch_size": 16,
        "dpo.max_steps": 60,
    },
}
HELDOUT = {"quick": {"eval.limit": 24, "eval.stride": 40}, "full": {"eval.stride": 3}}
QUICK_ARMS = ["rlvr", "rlhf", "rlaif-same-size", "rlaif-sim78", "dpo"]
FULL_ARMS = ["rlvr", "rlhf", "rlaif", "rlaif-same-size", "rlaif-sim70", "rlaif-sim90", "d-rlaif", "dpo"]
BIG_LABELER = "qwen2.5-coder-0.5b"
SIM = re.compile(r"rlaif-sim(\d{1,3})$")

BASE = {
    "task": "text2sql:dbs=all",
    "model.name": "smollm2-135m",
    "sft.epochs": 1.0,
    "sft.lr": 5e-5,
    "sft.max_length": 768,
    "sample.n": 4,
    "sample.temperature": 1.0,
    "sample.batch_size": 8,
    "label.orders": "both",
    "label.pairs": "all",
    "rm.batch_size": 4,
    "rm.lr": 2e-5,
    "rm.max_length": 768,
    # RLOO: n samples of a prompt share its prefix (computed once) and baseline each other; a 0/1
    # reward needs no learned critic. The paper's A2C: --rl.algo=a2c --rl.n=1
    "rl.algo": "rloo",
    "rl.n": 4,
    "rl.kl_coef": 0.05,
    "rl.temperature": 1.0,
    "rl.lr": 2e-5,
    "rl.save_every": 10,
    "eval.temperature": 0.0,
    "eval.judges": ["oracle"],
    "dpo.batch_size": 4,
    "dpo.max_length": 1024,
}


def known_arm(arm: str) -> bool:
    return arm in FULL_ARMS or arm in QUICK_ARMS or bool(SIM.match(arm))


def _labeler(arm: str, big: str) -> dict:
    """The label-section overrides that define an arm's preferences."""
    if arm == "rlhf":
        return {"label.backend": "oracle"}
    m = SIM.match(arm)
    if m:
        acc = int(m.group(1))
        if not 50 <= acc <= 100:
            raise ConfigError(f"demo arm {arm}: a simulated labeler's accuracy must be 50-100%")
        return {"label.backend": "fake", "label.fake.accuracy": acc / 100, "label.fake.position_bias": 1.0}
    if arm == "rlaif-same-size":
        return {"label.backend": "hf", "label.model": "smollm2-135m", "label.execution_results": True}
    return {"label.backend": "hf", "label.model": big, "label.execution_results": True}


def arm_plan(arm: str, quick: bool, big: str) -> tuple[dict, list[str]]:
    """(overrides, stages) for one arm; its `out` is set by the caller."""
    if arm == "rlvr":
        return {"rl.rewards": [{"source": "oracle"}]}, ["rl"]
    if arm in ("rlhf", "rlaif", "rlaif-same-size") or SIM.match(arm):
        # standardised (mean 0, std 1 on the RM's held-out pairs): a raw RM's spread (std ~2 here,
        # against 0.4-0.5 for RLVR's 0/1) scales every step and shrinks the KL penalty's weight beside
        # the reward, so the same lr and beta overshoot (measured: KL 3x RLVR's within 25 steps)
        return _labeler(arm, big) | {"rl.rewards": [{"source": "rm", "normalize": True}]}, [
            "label",
            "rm",
            "rl",
        ]
    if arm == "d-rlaif":
        return _labeler("rlaif", big) | {"rl.rewards": [{"source": "direct"}]}, ["rl"]
    if arm == "dpo":  # full: learns from the rlaif arm's labels; quick: labels its own (sim78, instant)
        return _labeler("rlaif-sim78" if quick else "rlaif", big), ["label", "dpo"] if quick else ["dpo"]
    raise ConfigError(
        f"unknown demo arm {arm!r}; arms: {', '.join(FULL_ARMS)}, rlaif-simNN (50 <= NN <= 100)"
    )


UNTIL = ("label", "rm")


def _until(stages: list[str], until: str) -> list[str]:
    """An arm's stages up to and including `until` (all of them without it; none if it lacks it)."""
    if not until:
        return stages
    return stages[: stages.index(until) + 1] if until in stages else []


def _tree(flat: dict) -> dict:
    out: dict = {}
    for k, v in flat.items():
        node = out
        *parents, leaf = k.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = v
    return out


def _merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def arm_task(task: str) -> str:
    """The arms' task: the same, with oracle ties broken by validity (a query that runs beats one
    that errors), as a person would judge; evaluation counts correct answers only."""
    if not task.startswith("text2sql"):
        return task
    return task + ("," if ":" in task else ":") + "tie_break=valid"


def build_configs(
    out: str, quick: bool, arms: list[str], big: str, extra: list[str], policy: str = ""
) -> tuple[Config, dict[str, Config], Config]:
    """The shared config (sft, sample, eval), one config per arm, and the held-out-database
    evaluation's config, all validated."""
    size = "quick" if quick else "full"
    base = _merge(_tree(BASE | SIZES[size]), {"out": out})
    user = _tree(_flags(extra))  # the user's flags apply to every config
    shared = load_config(None, _merge(base, user))
    # the user's flags win here too (e.g. --eval.limit), but the prompts are the held-out split
    held = _merge(_merge(_merge(base, _tree(HELDOUT[size])), user), _tree({"eval.prompts": "task:heldout"}))
    heldout = load_config(None, held)
    sft_ckpt = policy or str(Path(out) / "sft" / "checkpoint")
    if policy:
        shared.sample.model = policy
    samples = str(Path(out) / "sample" / "samples.jsonl")
    per_arm = {}
    for arm in arms:
        overrides, _ = arm_plan(arm, quick, big)
        tree = _merge(
            base,
            _tree(
                overrides
                | {
                    "out": str(Path(out) / "arms" / arm),
                    "label.input": samples,
                    "rm.model": sft_ckpt,
                    "rl.policy": sft_ckpt,
                    "dpo.policy": sft_ckpt,
                }
            ),
        )
        if arm == "dpo" and not quick:  # DPO learns from the rlaif arm's labels, not its own copy
            tree = _merge(
                tree, {"dpo": {"data": str(Path(out) / "arms" / "rlaif" / "label" / "comparisons.jsonl")}}
            )
        tree = _merge(tree, user)
        tree["task"] = arm_task(tree["task"])
        per_arm[arm] = load_config(None, tree)
    return shared, per_arm, heldout


def _flags(extra: list[str]) -> dict:
    from .core.config import parse_flag_value, parse_stage_args

    _, _, overrides = parse_stage_args(extra)
    return {k: parse_flag_value(v) for k, _, v in (o.partition("=") for o in overrides)}


def _installed(model: str) -> bool:
    from .core.models import BUILTINS

    return model not in BUILTINS or all(importlib.util.find_spec(p) for p in BUILTINS[model].packages)


def has_heldout(task: str) -> bool:
    """Whether the task has a split of databases never trained on (text2sql:dbs=all, spider:...)."""
    from .tasks import get_task

    try:
        return "heldout" in get_task(task).splits
    except Exception:  # an unknown or unavailable task: the stages themselves will say why
        return False


def run_demo(
    out: str = "runs/demo",
    quick: bool = False,
    arms: list[str] | None = None,
    big: str = BIG_LABELER,
    extra: list[str] | None = None,
    force_eval: bool = True,
    policy: str = "",
    until: str = "",
) -> Path:
    """Run the demo; returns the eval folder (report.html, summary.md, results.json). `until`
    (label or rm): every arm stops after that stage and nothing is evaluated, to measure labelers
    and reward models against the oracle before paying for RL."""
    from .stages import run_stage

    arms = list(arms or (QUICK_ARMS if quick else FULL_ARMS))
    needs_big = [a for a in arms if a in ("rlaif", "d-rlaif") or (a == "dpo" and not quick)]
    if needs_big and not _installed(big):
        print(
            f"[rlaif] demo: the labeler {big} is not installed (pip install -e .[qwen]); "
            f"skipping arms {needs_big}",
            flush=True,
        )
        arms = [a for a in arms if a not in needs_big]
    if "dpo" in arms and not quick and "rlaif" not in arms:
        arms.insert(arms.index("dpo"), "rlaif")  # DPO reads the rlaif arm's labels
    shared, per_arm, heldout = build_configs(out, quick, arms, big, extra or [], policy)
    sft_ckpt = policy or str(Path(out) / "sft" / "checkpoint")
    needs_samples = any("label" in arm_plan(a, quick, big)[1] for a in arms)
    evals = ["eval"] + (["eval-heldout"] if has_heldout(shared.task) else [])
    if until and until not in UNTIL:
        raise ConfigError(f"demo --until: {until!r}; use one of {', '.join(UNTIL)}")
    plan = (
        ([] if policy else ["sft"])
        + (["sample"] if needs_samples else [])
        + [f"{a}:{s}" for a in arms for s in _until(arm_plan(a, quick, big)[1], until)]
        + ([] if until else evals)
    )
    t0 = time.time()
    print(f"[rlaif] demo ({'quick' if quick else 'full'}): {len(plan)} steps: {', '.join(plan)}", flush=True)
    failed: dict[str, str] = {}
    folder = Path(out)
    for i, step in enumerate(plan, 1):
        arm, _, stage = step.rpartition(":")
        t = time.time()
        if arm in failed:
            continue
        print(f"[rlaif] demo step {i}/{len(plan)}: {step} (elapsed {time.time() - t0:.0f}s)", flush=True)
        if stage in ("eval", "eval-heldout"):
            cfg = shared if stage == "eval" else heldout
            cfg.eval.policies = {"sft": sft_ckpt} | {
                a: str(Path(out) / "arms" / a / ("dpo" if a == "dpo" else "rl"))
                for a in arms
                if a not in failed
            }
            where = "unseen questions" if stage == "eval" else "held-out databases"
            cfg.eval.title = (
                f"rlaif demo: text2sql, SmolLM2-135M policy ({'quick' if quick else 'full'}), {where}"
            )
            if stage == "eval-heldout":
                cfg.out = str(Path(out) / "heldout")  # -> OUT/heldout/eval
            done = run_stage("eval", cfg, force=force_eval)
            folder = done if stage == "eval" else folder
        elif arm:
            try:
                done = run_stage(stage, per_arm[arm])
            # e.g. a labeler that labeled nothing, or an arm folder made with another config (an
            # older version's): report, go on with the other arms
            except (RecordError, ValueError, StaleRunError) as e:
                failed[arm] = f"{stage}: {e}"
                print(f"[rlaif] demo: arm {arm} stopped at {stage}: {e}", flush=True)
                continue
        else:
            done = run_stage(stage, shared)
        print(f"[rlaif] demo step {step} done in {time.time() - t:.0f}s -> {done}", flush=True)
    for arm, why in failed.items():
        print(f"[rlaif] demo: arm {arm} did not finish ({why})", flush=True)
    from .evaluation.study import write_study

    study = write_study(Path(out), [a for a in arms if a not in failed] + _other_arms(Path(out), arms))
    print(f"[rlaif] demo: the study's summary, arm by arm: {study}", flush=True)
    where = f"study: {study}" if until else f"report: {folder / 'report.html'}"
    print(f"[rlaif] demo finished in {time.time() - t0:.0f}s; {where}", flush=True)
    return folder


def _other_arms(out: Path, arms: list[str]) -> list[str]:
    """Arms of earlier runs in the same folder (a study built arm by arm, or --until first): the
    summary keeps their rows, each read from its own stages' files."""
    folder = out / "arms"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in arms and known_arm(p.name))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="rlaif demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Extra --section.key=value flags apply to every stage, e.g. --model.threads=2 --rl.algo=rloo",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer prompts, steps and arms ({', '.join(QUICK_ARMS)})",
    )
    ap.add_argument(
        "--out", default="runs/demo", help="run root (default: runs/demo; --quick: runs/demo-quick)"
    )
    ap.add_argument(
        "--arms",
        help=f"comma-separated arms (default: {', '.join(FULL_ARMS)}); rlaif-simNN for any "
        "simulated labeler accuracy NN in 50-100, e.g. rlaif-sim55,rlaif-sim62 for the labeler-quality curve",
    )
    ap.add_argument(
        "--policy",
        default="",
        help="start from this SFT checkpoint instead of training one (the sft stage is skipped)",
    )
    ap.add_argument(
        "--until",
        choices=UNTIL,
        default="",
        help="stop every arm after this stage and skip the evaluation: labeler alignment and RM accuracy "
        "against the oracle (OUT/study.md) for the cost of labeling, before any RL",
    )
    ap.add_argument(
        "--labeler",
        default=BIG_LABELER,
        help=f"the large labeler (default {BIG_LABELER}); any built-in name, HF id or folder",
    )
    args, extra = ap.parse_known_args(argv)
    out = args.out if args.out != "runs/demo" or not args.quick else "runs/demo-quick"
    try:
        arms = args.arms.split(",") if args.arms else None
        unknown = [a for a in arms or [] if not known_arm(a)]
        if unknown:
            raise ConfigError(f"unknown demo arm(s) {unknown}; arms: {', '.join(FULL_ARMS)}, rlaif-simNN")
        run_demo(out, args.quick, arms, args.labeler, extra, policy=args.policy, until=args.until)
    except ConfigError as e:
        print(f"rlaif demo: config error: {e}", file=sys.stderr)
        return 2
    return 0
