"""Stage `rm`: train and evaluate a reward model from AI or human preferences (METHOD.md 3 and 7).
The data, loss, loop and evaluation are `rm/train.py`; this module declares the inputs (the pairs,
held-out pairs, base model, principles), runs them and writes OUT/rm: checkpoint (a transformers
sequence-classification folder + rlaif_rm.json), eval_scores.jsonl, metrics.jsonl, rewards.png.
`rlaif rm serve` (serving/rm_server.py) serves the checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.config import Config
from ..core.models import load_tokenizer
from ..core.runs import Run, is_main_process
from ..generation import policy_path
from ..rm.model import save_rm
from ..rm.train import evaluate_rm, plot_rewards, prepare_pairs, rm_meta, tokenize_pairs, train, write_scores
from . import stage_sections


def run(cfg: Config, force: bool = False) -> Path:
    train_pairs, eval_pairs, sources = prepare_pairs(cfg)
    base = cfg.rm.model or policy_path(cfg)
    r = Run(cfg, "rm", stage_sections("rm", cfg))
    r.add_input("data", sources["data"], pairs=len(train_pairs), kind=sources["kind"])
    r.add_input("eval_data", cfg.rm.eval_data or None, pairs=len(eval_pairs), source=sources["eval_data"])
    r.add_model("model", base)
    if cfg.rm.salmon and cfg.rm.principles:
        r.add_input("principles", cfg.rm.principles)
    r.open(force)
    tok = load_tokenizer(base, cfg.model.trust_remote_code)
    train_ex = tokenize_pairs(tok, train_pairs, cfg.model.chat_template, cfg.rm.max_length)
    model, summary = train(cfg, train_pairs, train_ex, tok, r.dir, r)
    if not is_main_process():  # evaluation and saving are the main process's; run_stage waits for it
        return r.dir
    t0 = time.time()
    results, ev_pairs, r_a, r_b, p_a = evaluate_rm(cfg, model, tok, train_pairs, train_ex, eval_pairs)
    r.time("eval_s", time.time() - t0)
    write_scores(r.dir / "eval_scores.jsonl", ev_pairs, r_a, r_b)
    acc = results["eval"].get("accuracy", float("nan"))
    plot_rewards(
        r_a,
        r_b,
        p_a,
        results["eval"].get("table", []),
        r.dir / "rewards.png",
        f"rewards on {results['eval_on']} (acc {acc:.3f})",
    )
    save_rm(model, tok, r.dir / "checkpoint", rm_meta(cfg, base, results["eval"]))
    print(
        f"[rlaif] rm: eval accuracy {acc:.3f} on {results['eval'].get('pairs', 0)} {results['eval_on']}; "
        f"{summary['pairs_per_s']} pairs/s",
        flush=True,
    )
    return r.finish(**summary, **results, sources=sources)
