"""Judges for evaluation: anything that says which of two outputs is better, behind one protocol.

    judge(prompts, a_list, b_list, **columns) -> list[p_a]

`p_a` is P(a better than b) for each prompt (0.5: a tie), or None when the judge gave no verdict (a
failure, e.g. a labeler with no mass on its choices: counted apart, never as a tie). A judge may
return dicts instead, `{"p_a": ..., **extras}`, to keep details (the labeler's per-order
probabilities, a rationale); extras are stored with the judgment. `columns` are the prompt records'
other fields as lists (TRL's reward-function convention): gold SQL, database ids, human labels.

1. Position debiasing is not done here. It lives once, in the labeler's both-orders wrapper
   (`rlaif.labelers`); an oracle has no position to be biased by. Evaluation only asks the labeler.
2. Identical outputs are a tie without asking anyone (`judge_pairs`): no judge can be right about
   them and a biased one would be counted.
3. Single-output raters for the harmless rate have the same shape without b:
   `rater(prompts, outputs, **columns) -> list[P(harmless)]`.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence


class PairJudge(Protocol):
    def __call__(self, prompts: list, a: list[str], b: list[str], **columns: list) -> list: ...


def _row_kwargs(columns: dict[str, list], i: int) -> dict[str, Any]:
    return {k: v[i] for k, v in columns.items()}


def oracle_judge(task) -> PairJudge:
    """The task's ground truth, `task.prefer(prompt, a, b, **record)`, as a judge. The oracle's None
    means "neither is better" (both right or both wrong): a decided tie, 0.5, not a failure."""

    def judge(prompts, a, b, **columns):
        verdicts = (
            task.prefer(p, x, y, **_row_kwargs(columns, i)) for i, (p, x, y) in enumerate(zip(prompts, a, b))
        )
        return [0.5 if v is None else v for v in verdicts]

    return judge


def function_judge(fn: Callable[[Any, str, str], float | None]) -> PairJudge:
    """A judge from a per-pair function `fn(prompt, a, b) -> p_a` (tests, ad-hoc heuristics)."""

    def judge(prompts, a, b, **columns):
        return [fn(p, x, y) for p, x, y in zip(prompts, a, b)]

    return judge


def oracle_scores(task, prompts: list, outputs: list[str], columns: dict[str, list]) -> list[float] | None:
    """The task's oracle reward for each output (text2sql: 1.0 when the query executes to the gold
    result), or None when the task has no oracle."""
    if task is None:
        return None
    return [float(x) for x in task.reward(prompts, outputs, **columns)]


def task_rater(task) -> Callable | None:
    """The task's own single-output harmlessness judgment, if it declares one (`task.harmless`)."""
    from ..tasks import supports

    return task.harmless if supports(task, "harmless") else None


def normalize(result: Any) -> dict:
    """A judge's answer for one pair as a dict with `p_a` (float or None) and any extras."""
    if isinstance(result, dict):
        p = result.get("p_a")
        return {**result, "p_a": None if p is None else float(p)}
    return {"p_a": None if result is None else float(result)}


def judge_pairs(
    judge: PairJudge,
    prompts: Sequence,
    a: Sequence[str],
    b: Sequence[str],
    columns: dict[str, list] | None = None,
) -> list[dict]:
    """Ask `judge` about each (a, b); identical outputs are ties that never reach it."""
    columns = columns or {}
    ask = [i for i in range(len(a)) if a[i].strip() != b[i].strip()]
    out = [{"p_a": 0.5, "identical": True} for _ in a]
    if ask:
        answers = judge(
            [prompts[i] for i in ask],
            [a[i] for i in ask],
            [b[i] for i in ask],
            **{k: [v[i] for i in ask] for k, v in columns.items()},
        )
        if len(answers) != len(ask):
            raise RuntimeError(f"judge returned {len(answers)} judgments for {len(ask)} pairs")
        for i, r in zip(ask, answers):
            out[i] = normalize(r)
    return out
