"""AI labelers: judges are data (template + backend + parser) behind one debiasing wrapper.

| module | what |
|---|---|
| `prompts.py` | templates as files (`templates/<task>/*.txt`): preamble, exemplars, sample, ending, CoT |
| `scoring.py` | soft labels from next-token log-probs (multi-token choices), post-processing, metrics |
| `debias.py` | `score_pairs`: both orders, mapped back and averaged: the only place that swaps |
| `judges.py` | `LMJudge` (hf/openai, CoT, self-consistency), `FakeJudge`, `OracleJudge` |
| `labeler.py` | `build_labeler(cfg)`: judge + debiasing + annotation cache; fingerprint |
| `direct.py` | d-RLAIF: 1-10 score -> reward in [-1, 1]; `direct_reward_fn(cfg)` |
| `principles.py` | SALMON: logit("a") - logit("b") per principle, both orders |
| `report.py` | labeler quality report (alignment, % same position, ECE, tokens per pair) |
| `backends/` | `hf` (forward passes, shared-prefix KV cache), `openai` (async, retries) |

Nothing here imports torch at import time.
"""

from .debias import Pair, Scored, Shown, score_pairs
from .labeler import PairwiseLabeler, build_backend, build_judge, build_labeler


def direct_reward_fn(cfg=None, backend=None, **label):
    """d-RLAIF reward `fn(prompts, completions, **kw) -> list[float]` in [-1, 1] (see direct.py)."""
    from .direct import direct_reward_fn as make

    return make(cfg, backend, **label)


def build_principle_scorer(cfg, backend=None):
    """SALMON per-principle scorer: `.score(pairs) -> [{name: [s_ab, s_ba]}]` (see principles.py)."""
    from .principles import build_principle_scorer as make

    return make(cfg, backend)


__all__ = [
    "Pair",
    "Scored",
    "Shown",
    "score_pairs",
    "PairwiseLabeler",
    "build_backend",
    "build_judge",
    "build_labeler",
    "direct_reward_fn",
    "build_principle_scorer",
]
