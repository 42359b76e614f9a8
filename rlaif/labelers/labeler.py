"""The pairwise labeler: judge + debiasing + annotation cache, built from the `label` config.

    from rlaif.config import load_config
    from rlaif.labelers import build_labeler, Pair
    labeler = build_labeler(load_config("configs/demo.yaml"))
    [lab] = labeler.label([Pair("Summarize: ...", "summary one", "summary two")])
    lab["p_a"], lab["p_ab"], lab["p_ba"], lab["same_position"]

1. Identical responses are a tie (p_a = 0.5) without a call (AlpacaFarm).
2. The cache is keyed by (labeler fingerprint, prompt, a, b): the fingerprint hashes every setting
   that changes a label (backend, model and its files, template text, orders, CoT...), so a cached
   label is never reused by a different labeler, and the same labeler never pays twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..core.config import Config, LabelConfig
from .debias import Pair, score_pairs


class LabelCache:
    """Append-only JSONL of labels by key; safe to share between runs of the same labeler."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.data: dict[str, dict] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    if line.endswith("\n") and line.strip():
                        rec = json.loads(line)
                        self.data[rec["key"]] = rec["label"]
        self.hits = 0

    def get(self, key: str) -> dict | None:
        v = self.data.get(key)
        self.hits += v is not None
        return v

    def put_many(self, items: dict[str, dict]) -> None:
        if not items:
            return
        with self.path.open("a", encoding="utf-8") as f:
            for k, v in items.items():
                f.write(json.dumps({"key": k, "label": v}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.data.update(items)


def model_identity(name: str) -> str:
    """Model name plus, for a local folder, its files' names, sizes and mtimes (retrained = new)."""
    from ..core.models import BUILTINS

    p = Path(name)
    if name in BUILTINS or not p.exists():
        return name
    files = sorted(q for q in p.rglob("*") if q.is_file())
    return (
        name
        + ":"
        + hashlib.sha256(
            "".join(
                f"{q.relative_to(p)}:{q.stat().st_size}:{int(q.stat().st_mtime)}\n" for q in files
            ).encode()
        ).hexdigest()[:16]
    )


class PairwiseLabeler:
    """Soft labels for pairs: `label(pairs) -> [{p_a, p_ab, p_ba, same_position, ...}]`."""

    def __init__(
        self,
        judge,
        orders: str = "both",
        fingerprint: str = "",
        cache: LabelCache | None = None,
        backend=None,
    ):
        self.judge, self.orders, self.fingerprint, self.cache = judge, orders, fingerprint, cache
        self.backend = backend
        self.calls = 0

    def key(self, pair: Pair) -> str:
        blob = json.dumps([self.fingerprint, pair.prompt, pair.a, pair.b, pair.results], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def label(self, pairs: list[Pair]) -> list[dict]:
        """One label per pair, in order: cached, tie, or freshly judged (all orders in one judge call)."""
        out: list[dict | None] = [None] * len(pairs)
        todo = []
        for i, p in enumerate(pairs):
            cached = self.cache.get(self.key(p)) if self.cache else None
            if cached is not None:
                out[i] = cached | {"cached": True}
            elif p.a.strip() == p.b.strip():
                out[i] = {
                    "p_a": 0.5,
                    "p_ab": None,
                    "p_ba": None,
                    "same_position": None,
                    "tie": True,
                    "mass": None,
                    "problem": None,
                }
            else:
                todo.append(i)
        if todo:
            self.calls += 1
            fresh = score_pairs(self.judge, [pairs[i] for i in todo], self.orders, kind="prob")
            new = {}
            for i, r in zip(todo, fresh):
                lab = {
                    "p_a": r["score"],
                    "p_ab": r.get("ab"),
                    "p_ba": r.get("ba"),
                    "same_position": r["same_position"],
                    "tie": False,
                    "mass": r["mass"],
                    "problem": r["problem"],
                }
                if r["rationales"]:
                    lab["rationales"] = r["rationales"]
                out[i] = lab
                new[self.key(pairs[i])] = lab
            if self.cache:
                self.cache.put_many(new)
        return out  # type: ignore[return-value]


# --------------------------------------------------------------------------- construction


def labeler_model(cfg: Config) -> str:
    return cfg.label.model or cfg.model.name


_BACKENDS: dict[tuple, Any] = {}


def build_backend(cfg: Config):
    """The hf or openai backend of `cfg.label` (hf models are loaded once per process)."""
    lc = cfg.label
    if lc.backend == "hf":
        from .backends.hf import HFBackend

        key = (
            "hf",
            labeler_model(cfg),
            lc.dtype,
            cfg.model.device,
            lc.chat_template,
            lc.batch_size,
            lc.share_prefix,
            cfg.model.threads,
        )
        if key not in _BACKENDS:
            _BACKENDS.clear()  # one labeler model in memory at a time
            _BACKENDS[key] = HFBackend(
                labeler_model(cfg),
                lc.dtype,
                cfg.model.device,
                lc.chat_template,
                lc.batch_size,
                lc.share_prefix,
                cfg.model.threads,
                cfg.model.trust_remote_code,
            )
        return _BACKENDS[key]
    if lc.backend == "openai":
        from .backends.openai import OpenAIBackend

        return OpenAIBackend(lc.openai, labeler_model(cfg) if lc.model else "")
    raise ValueError(f"label.backend {lc.backend!r} has no language-model backend")


def build_judge(cfg: Config, backend=None):
    """The per-presentation judge for `cfg.label.backend` (hf/openai: an LMJudge on the template)."""
    from .judges import FakeJudge, LMJudge, OracleJudge
    from .prompts import load_template

    lc = cfg.label
    if lc.backend == "fake":
        return FakeJudge(lc.fake.accuracy, lc.fake.confidence, lc.fake.position_bias, cfg.seed)
    if lc.backend == "oracle":
        return OracleJudge()
    if lc.backend not in ("hf", "openai"):
        raise ValueError(f"label.backend: unknown {lc.backend!r}; use hf, openai, fake or oracle")
    template = load_template(lc.template, cfg.task, lc.preamble, lc.exemplars, lc.shots)
    return LMJudge(
        template,
        backend or build_backend(cfg),
        lc.cot,
        lc.cot_max_tokens,
        lc.self_consistency,
        lc.sc_temperature,
        lc.min_choice_mass,
        cfg.seed,
    )


def fingerprint(cfg: Config, judge=None) -> str:
    """A hash of everything that changes a label (not batch size, cache or progress settings)."""
    lc = cfg.label
    parts: dict[str, Any] = {"backend": lc.backend, "orders": lc.orders, "version": 1}
    if lc.backend == "fake":
        parts |= {"fake": [lc.fake.accuracy, lc.fake.confidence, lc.fake.position_bias], "seed": cfg.seed}
    elif lc.backend in ("hf", "openai"):
        t = judge.t if judge is not None else None
        parts |= {
            "model": model_identity(labeler_model(cfg)),
            "dtype": lc.dtype,
            "chat": lc.chat_template,
            "template": [
                t.preamble,
                t.sample,
                t.ending,
                t.cot,
                t.choices,
                t.invert,
                [vars(e) for e in t.exemplars],
            ]
            if t
            else None,
            "cot": [lc.cot, lc.cot_max_tokens, lc.self_consistency, lc.sc_temperature],
            "min_mass": lc.min_choice_mass,
            "seed": cfg.seed,
        }
        if lc.backend == "openai":
            from ..serving.endpoints import as_url_list

            urls = sorted(as_url_list(lc.openai.base_url))  # which servers answer a request does not matter
            parts |= {
                "server": [
                    urls[0] if len(urls) == 1 else urls if urls else "",
                    lc.openai.model,
                    lc.openai.api,
                    lc.openai.top_logprobs,
                ]
            }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def open_cache(lc: LabelConfig, fp: str) -> LabelCache | None:
    from ..core.models import cache_dir

    if lc.cache in (False, "off", "none", "") or lc.cache is None:
        return None
    folder = cache_dir() / "labels" if lc.cache == "auto" else Path(lc.cache)
    return LabelCache(folder / f"{fp}.jsonl")


def build_labeler(cfg: Config, cache: bool = True) -> PairwiseLabeler:
    """The pairwise labeler described by `cfg.label` (oracle and fake labels are not cached)."""
    lc = cfg.label
    backend = build_backend(cfg) if lc.backend in ("hf", "openai") else None
    judge = build_judge(cfg, backend)
    fp = fingerprint(cfg, judge)
    use_cache = cache and lc.backend in ("hf", "openai")
    return PairwiseLabeler(judge, lc.orders, fp, open_cache(lc, fp) if use_cache else None, backend)
