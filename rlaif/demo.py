"""`rlaif demo`: RLHF vs RLAIF vs d-RLAIF vs DPO on text2sql, measured against the execution oracle.

The paper's comparison, run end to end on a CPU with the bundled models. One SFT policy and one set
of sampled pairs are shared; each *arm* then labels those pairs its own way and trains its own
policy from the same SFT checkpoint; `eval` judges every arm against SFT on held-out questions.

| arm             | preferences from                                          | then        |
|-----------------|-----------------------------------------------------------|-------------|
| rlhf            | the execution oracle (plays the human)                    | RM -> RL    |
| rlaif           | Qwen2.5-Coder-0.5B, execution results in its prompt       | RM -> RL    |
| rlaif-same-size | SmolLM2-135M labeling its own pairs                       | RM -> RL    |
| rlaif-sim78     | the `fake` labeler: 78% accurate, position-biased          | RM -> RL    |
| d-rlaif         | no RM: the labeler's 1-10 score is the reward             | RL          |
| dpo             | the rlaif arm's AI preferences (sim78 in --quick)          | DPO         |

Folders: OUT/sft, OUT/sample (shared), OUT/arms/ARM/{label,rm,rl,dpo}, OUT/eval (report.html).
Every stage skips itself when complete and resumes when not, so a killed demo continues where it was.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
import time
from pathlib import Path

from .core.config import Config, ConfigError, load_config
from .core.records import RecordError

# sizes: --quick must finish in ~10 minutes on 2 CPU cores, the full demo in ~60
SIZES = {
    "quick": {
        "sft.limit": 48,
        "sft.batch_size": 8,
        "sample.limit": 24,
        "sample.max_new_tokens": 64,
        "rm.epochs": 1.0,
        "rl.steps": 4,
        "rl.batch_size": 4,
        "rl.max_new_tokens": 48,
        "eval.limit": 24,
        "eval.max_new_tokens": 64,
        "dpo.max_steps": 6,
    },
    "full": {
        "sft.limit": 160,
        "sft.batch_size": 8,
        "sample.limit": 96,
        "sample.max_new_tokens": 96,
        "rm.epochs": 1.0,
        "rl.steps": 16,
        "rl.batch_size": 4,
        "rl.max_new_tokens": 64,
        "eval.limit": 60,
        "eval.max_new_tokens": 96,
        "dpo.max_steps": 24,
    },
}
QUICK_ARMS = ["rlhf", "rlaif-same-size", "rlaif-sim78", "dpo"]
FULL_ARMS = ["rlhf", "rlaif", "rlaif-same-size", "rlaif-sim78", "d-rlaif", "dpo"]
BIG_LABELER = "qwen2.5-coder-0.5b"

BASE = {
    "task": "text2sql",
    "model.name": "smollm2-135m",
    "sft.epochs": 1.0,
    "sft.lr": 5e-5,
    "sft.max_length": 768,
    "sample.n": 2,
    "sample.temperature": 1.0,
    "sample.batch_size": 8,
    "label.orders": "both",
    "rm.batch_size": 4,
    "rm.lr": 2e-5,
    "rm.max_length": 768,
    "rl.algo": "a2c",
    "rl.critic": "shared",
    "rl.kl_coef": 0.05,
    "rl.temperature": 0.9,
    "rl.lr": 5e-6,
    "rl.save_every": 0,
    "eval.temperature": 0.0,
    "eval.judges": ["oracle"],
    "dpo.batch_size": 4,
    "dpo.max_length": 1024,
}


def _labeler(arm: str, big: str) -> dict:
    """The label-section overrides that define an arm's preferences."""
    if arm == "rlhf":
        return {"label.backend": "oracle"}
    if arm == "rlaif-sim78":
        return {"label.backend": "fake", "label.fake.accuracy": 0.78, "label.fake.position_bias": 1.0}
    if arm == "rlaif-same-size":
        return {"label.backend": "hf", "label.model": "smollm2-135m", "label.execution_results": True}
    return {"label.backend": "hf", "label.model": big, "label.execution_results": True}


def arm_plan(arm: str, quick: bool, big: str) -> tuple[dict, list[str]]:
    """(overrides, stages) for one arm; its `out` is set by the caller."""
    if arm in ("rlhf", "rlaif", "rlaif-same-size", "rlaif-sim78"):
        return _labeler(arm, big) | {"rl.rewards": [{"source": "rm"}]}, ["label", "rm", "rl"]
    if arm == "d-rlaif":
        return _labeler("rlaif", big) | {"rl.rewards": [{"source": "direct"}]}, ["rl"]
    if arm == "dpo":  # full: learns from the rlaif arm's labels; quick: labels its own (sim78, instant)
        return _labeler("rlaif-sim78" if quick else "rlaif", big), ["label", "dpo"] if quick else ["dpo"]
    raise ConfigError(f"unknown demo arm {arm!r}; arms: {', '.join(FULL_ARMS)}")


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


def build_configs(
    out: str, quick: bool, arms: list[str], big: str, extra: list[str]
) -> tuple[Config, dict[str, Config]]:
    """The shared config (sft, sample, eval) and one config per arm, all validated."""
    size = SIZES["quick" if quick else "full"]
    base = _merge(_tree(BASE | size), {"out": out})
    user = _tree(_flags(extra))  # the user's flags apply to every config
    shared = load_config(None, _merge(base, user))
    sft_ckpt = str(Path(out) / "sft" / "checkpoint")
    samples = str(Path(out) / "sample" / "samples.jsonl")
    per_arm = {}
    for arm in arms:
        overrides, _ = arm_plan(arm, quick, big)
        # arms' labelers see ties broken by validity (a query that runs beats one that errors), as a
        # person would judge; evaluation (the shared config) counts correct answers only
        tree = _merge(
            base,
            _tree(
                overrides
                | {
                    "task": "text2sql:tie_break=valid",
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
        per_arm[arm] = load_config(None, _merge(tree, user))
    return shared, per_arm


def _flags(extra: list[str]) -> dict:
    from .core.config import parse_flag_value, parse_stage_args

    _, _, overrides = parse_stage_args(extra)
    return {k: parse_flag_value(v) for k, _, v in (o.partition("=") for o in overrides)}


def _installed(model: str) -> bool:
    from .core.models import BUILTINS

    return model not in BUILTINS or all(importlib.util.find_spec(p) for p in BUILTINS[model].packages)


def run_demo(
    out: str = "runs/demo",
    quick: bool = False,
    arms: list[str] | None = None,
    big: str = BIG_LABELER,
    extra: list[str] | None = None,
    force_eval: bool = True,
) -> Path:
    """Run the demo; returns the eval folder (report.html, summary.md, results.json)."""
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
    shared, per_arm = build_configs(out, quick, arms, big, extra or [])
    t0 = time.time()
    plan = ["sft", "sample"] + [f"{a}:{s}" for a in arms for s in arm_plan(a, quick, big)[1]] + ["eval"]
    print(f"[rlaif] demo ({'quick' if quick else 'full'}): {len(plan)} steps: {', '.join(plan)}", flush=True)
    failed: dict[str, str] = {}
    for i, step in enumerate(plan, 1):
        arm, _, stage = step.rpartition(":")
        t = time.time()
        if arm in failed:
            continue
        print(f"[rlaif] demo step {i}/{len(plan)}: {step} (elapsed {time.time() - t0:.0f}s)", flush=True)
        if stage == "eval":
            shared.eval.policies = {"sft": str(Path(out) / "sft" / "checkpoint")} | {
                a: str(Path(out) / "arms" / a / ("dpo" if a == "dpo" else "rl"))
                for a in arms
                if a not in failed
            }
            shared.eval.title = f"rlaif demo: text2sql, SmolLM2-135M policy ({'quick' if quick else 'full'})"
            folder = run_stage("eval", shared, force=force_eval)
        elif arm:
            try:
                folder = run_stage(stage, per_arm[arm])
            except (RecordError, ValueError) as e:  # e.g. a labeler that labeled nothing: report, go on
                failed[arm] = f"{stage}: {e}"
                print(f"[rlaif] demo: arm {arm} stopped at {stage}: {e}", flush=True)
                continue
        else:
            folder = run_stage(stage, shared)
        print(f"[rlaif] demo step {step} done in {time.time() - t:.0f}s -> {folder}", flush=True)
    for arm, why in failed.items():
        print(f"[rlaif] demo: arm {arm} did not finish ({why})", flush=True)
    print(f"[rlaif] demo finished in {time.time() - t0:.0f}s; report: {folder / 'report.html'}", flush=True)
    return folder


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
        help="fewer prompts and arms (rlhf, rlaif-same-size, rlaif-sim78, dpo): ~7 min on 2 cores",
    )
    ap.add_argument(
        "--out", default="runs/demo", help="run root (default: runs/demo; --quick: runs/demo-quick)"
    )
    ap.add_argument("--arms", help=f"comma-separated subset of: {', '.join(FULL_ARMS)}")
    ap.add_argument(
        "--labeler",
        default=BIG_LABELER,
        help=f"the large labeler (default {BIG_LABELER}); any built-in name, HF id or folder",
    )
    args, extra = ap.parse_known_args(argv)
    out = args.out if args.out != "runs/demo" or not args.quick else "runs/demo-quick"
    try:
        run_demo(out, args.quick, args.arms.split(",") if args.arms else None, args.labeler, extra)
    except ConfigError as e:
        print(f"rlaif demo: config error: {e}", file=sys.stderr)
        return 2
    return 0
