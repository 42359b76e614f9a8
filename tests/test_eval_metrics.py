"""Evaluation metrics on synthetic data with known answers (METHOD.md §6)."""

import math

import numpy as np
import pytest

from rlaif.evaluation import metrics as M
from rlaif.evaluation.judges import function_judge, judge_pairs
from rlaif.evaluation.results import comparison, labeler_vs_reference, matrices


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _policy_outputs(rng, n, skill):
    """n outputs whose hidden quality is drawn around `skill`, encoded in the text the judge reads."""
    q = rng.normal(skill, 1.0, n)
    return [f"answer quality={x:.4f}" for x in q]


def _symmetric_judge(seed):
    """A noisy judge that only reads content: judge(a, b) = 1 - judge(b, a) exactly."""

    def fn(prompt, a, b):
        qa, qb = float(a.split("=")[1]), float(b.split("=")[1])
        noise = np.random.default_rng(abs(hash((prompt, min(a, b), max(a, b), seed))) % 2**32).normal(0, 1)
        noise = noise if a < b else -noise
        return float(_sigmoid(qa - qb + noise))

    return function_judge(fn)


def test_outcomes_ties_are_halves_and_judge_failures_are_not_ties():
    o = M.outcomes([0.9, 0.5, 0.1, None, 0.52, float("nan")], tie_margin=0.05)
    assert o[[0, 1, 2, 4]].tolist() == [1, 0.5, 0, 0.5]
    assert M.failures(o).tolist() == [False, False, False, True, False, True]  # None/NaN: no verdict
    assert M.win_rate([1.0, 0.0, 0.5, 0.5]) == 0.5
    assert M.win_rate([0.7, 0.6, 0.5, 0.2]) == pytest.approx(2.5 / 4)


def test_policy_against_itself_is_about_half_with_a_symmetric_judge():
    rng = np.random.default_rng(0)
    rates, covered = [], 0
    for rep in range(40):
        a, b = _policy_outputs(rng, 200, 0.0), _policy_outputs(rng, 200, 0.0)  # same policy, twice
        prompts = [f"p{rep}-{i}" for i in range(200)]
        p_ab = [r["p_a"] for r in judge_pairs(_symmetric_judge(rep), prompts, a, b)]
        p_ba = [r["p_a"] for r in judge_pairs(_symmetric_judge(rep), prompts, b, a)]
        assert M.win_rate(p_ab) + M.win_rate(p_ba) == pytest.approx(1.0)  # A-vs-B mirrors B-vs-A
        lo, hi = M.bootstrap_ci(M.outcomes(p_ab), n_boot=500, seed=rep)
        rates.append(M.win_rate(p_ab))
        covered += lo <= 0.5 <= hi
    assert abs(np.mean(rates) - 0.5) < 0.02
    assert covered >= 34  # ~95% of 40 intervals contain one half
    # the same judge does see a real difference: the test could fail
    better = _policy_outputs(rng, 200, 1.0)
    worse = _policy_outputs(rng, 200, 0.0)
    p = [r["p_a"] for r in judge_pairs(_symmetric_judge(99), [f"q{i}" for i in range(200)], better, worse)]
    assert M.win_rate(p) > 0.65


def test_identical_outputs_are_ties_without_asking_the_judge():
    asked = []
    judge = function_judge(lambda p, a, b: asked.append((a, b)) or 1.0)
    rows = judge_pairs(judge, ["x", "y"], ["same", "one"], [" same ", "two"])
    assert [r["p_a"] for r in rows] == [0.5, 1.0] and asked == [("one", "two")]


def _planted(seed, feature, n=4000, true_rate=0.59, slope=2.0):
    """Judgments where A is usually longer and length buys wins: P(A) = sigmoid(b0 + slope * x)."""
    rng = np.random.default_rng(seed)
    len_b = rng.integers(80, 200, n).astype(float)
    len_a = len_b * np.exp(rng.normal(0.35, 0.3, n))
    x = M.length_feature(len_a, len_b, feature)
    y = (rng.random(n) < _sigmoid(math.log(true_rate / (1 - true_rate)) + slope * x)).astype(float)
    return y, len_a, len_b


@pytest.mark.parametrize("feature", ["log_ratio", "ratio"])
def test_length_controlled_estimator_recovers_a_planted_effect(feature):
    covered = 0
    for seed in range(5):
        y, len_a, len_b = _planted(seed, feature)
        lc = M.length_controlled_win_rate(y, len_a, len_b, feature)
        assert y.mean() > 0.7  # the raw win rate is inflated by length ...
        assert lc["rate"] == pytest.approx(0.59, abs=0.035)  # ... the length-controlled one is not
        assert lc["slope"] == pytest.approx(2.0, rel=0.25)
        lo, hi = M.length_controlled_ci(y, len_a, len_b, feature, n_boot=200, seed=seed)
        assert hi - lo < 0.1
        covered += lo <= 0.59 <= hi
    assert covered >= 4


def test_length_control_without_a_length_effect_changes_little_and_handles_separation():
    rng = np.random.default_rng(2)
    la, lb = rng.integers(50, 150, 500), rng.integers(50, 150, 500)
    y = (rng.random(500) < 0.7).astype(float)
    assert M.length_controlled_win_rate(y, la, lb)["rate"] == pytest.approx(y.mean(), abs=0.04)
    y_sep = (la > lb).astype(float)  # perfectly separated by length: the fit must stay finite
    lc = M.length_controlled_win_rate(y_sep, la, lb)
    assert math.isfinite(lc["slope"]) and 0.2 < lc["rate"] < 0.8


def test_bootstrap_interval_covers_the_true_rate_in_a_simulation():
    rng = np.random.default_rng(3)
    true, n, sims, covered = 0.7, 150, 300, 0
    for s in range(sims):
        o = (rng.random(n) < true).astype(float)
        lo, hi = M.bootstrap_ci(o, n_boot=1000, seed=s)
        covered += lo <= true <= hi
    assert 0.90 <= covered / sims <= 0.99
    lo, hi = M.bootstrap_ci(np.ones(50), n_boot=200)
    assert lo == hi == 1.0


def test_head_to_head_matrix_is_complementary():
    pairs = {("rl", "sft"): [1, 1, 0.5, 0], ("dpo", "sft"): [1, 0, 0, 0], ("rl", "dpo"): [1, 1, 1, 1]}
    m = M.head_to_head(pairs, ["sft", "rl", "dpo"])
    assert m[1, 0] == 0.625 and m[0, 1] == 0.375 and m[2, 0] == 0.25 and m[1, 2] == 1.0 and m[2, 1] == 0.0
    assert np.isnan(m[0, 0])
    comps = [{"a": a, "b": b, "judge": "oracle", "outcomes": o} for (a, b), o in pairs.items()]
    mx = matrices(comps, ["sft", "rl", "dpo"])["oracle"]
    assert mx["rates"][0][0] is None and mx["mean_win"][1] == pytest.approx((0.625 + 1.0) / 2)


def test_comparison_counts_and_interval():
    c = comparison(
        "rl",
        "sft",
        "oracle",
        [1.0] * 6 + [0.5] * 2 + [0.0] * 2,
        ["x" * 20] * 10,
        ["y" * 10] * 10,
        n_boot=500,
        lc_boot=50,
    )
    assert (c["wins"], c["ties"], c["losses"], c["n"]) == (6, 2, 2, 10)
    assert c["win_rate"] == 0.7 and c["lo"] < 0.7 < c["hi"]
    assert c["mean_chars_a"] == 20 and "length_controlled" in c


def test_judge_failures_are_counted_apart_and_left_out_of_the_rate():
    # 6 wins and 4 failures: counting failures as ties (the old behaviour) would report 80%
    p = [1.0] * 6 + [None, float("nan")] * 2
    assert M.win_rate(p) == 1.0
    c = comparison("rl", "sft", "labeler", p, ["x" * 20] * 10, ["y" * 10] * 10, n_boot=200, lc_boot=0)
    assert (c["wins"], c["ties"], c["losses"], c["failed"], c["n"]) == (6, 0, 0, 4, 6)
    assert c["win_rate"] == 1.0 and c["lo"] == c["hi"] == 1.0
    assert len(c["outcomes"]) == 10 and c["outcomes"][6] is None  # still aligned with the prompts
    assert matrices([c], ["sft", "rl"])["labeler"]["rates"][1][0] == 1.0
    assert math.isnan(M.win_rate([None, None]))


def test_oracle_none_is_a_decided_tie_not_a_failure():
    from rlaif.evaluation.judges import oracle_judge

    class Task:
        def prefer(self, prompt, a, b, **kw):
            return None if a == "same" else 1.0

    assert oracle_judge(Task())(["p", "p"], ["same", "a"], ["x", "b"]) == [0.5, 1.0]


def test_labeler_metrics_hand_computed():
    p = [0.9, 0.8, 0.3, 0.6, 0.5]
    human = [1, 0, 0, 1, 1]
    assert M.alignment(p, human) == 0.75  # the 0.5 judgment has no argmax and is left out
    assert M.same_position_rate([0.9, 0.8, 0.2, 0.6], [0.7, 0.1, 0.4, 0.4]) == 0.5
    cal = M.calibration([0.05, 0.15, 0.95, 0.95], [0, 1, 1, 0], bins=10)
    # bins: [0,.1): pred .05 obs 0; [.1,.2): pred .15 obs 1; [.9,1]: pred .95 obs .5
    assert cal["ece"] == pytest.approx(0.25 * 0.05 + 0.25 * 0.85 + 0.5 * 0.45)
    assert [b["count"] for b in cal["bins"]] == [1, 1, 2]


def test_calibration_tells_a_calibrated_labeler_from_an_overconfident_one():
    rng = np.random.default_rng(4)
    p = rng.random(5000)
    human = (rng.random(5000) < p).astype(float)
    assert M.calibration(p, human)["ece"] < 0.03
    over = np.where(p > 0.5, 0.99, 0.01)
    assert M.calibration(over, human)["ece"] > 0.2


def test_labeler_vs_reference_skips_undecided_and_reads_both_orders():
    m = labeler_vs_reference(
        [0.8, 0.3, None, 0.6], [1.0, 1.0, 0.0, None], [0.9, 0.8, 0.5, 0.5], [0.2, 0.7, 0.5, 0.5]
    )
    assert m["n"] == 2 and m["alignment"] == 0.5 and m["same_position"] == 0.5


def test_exact_mcnemar_matches_the_binomial_test():
    """Against the exact binomial test's definition on the discordant prompts: the probability, under
    Binomial(b + c, 1/2), of every outcome no likelier than the one seen (scipy's `binomtest`)."""
    from rlaif.evaluation.metrics import mcnemar_exact

    def binomtest(k, n):
        pmf = [math.comb(n, i) / 2**n for i in range(n + 1)]
        return min(1.0, sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7)))

    for b, c in ((0, 0), (3, 0), (10, 2), (7, 7), (25, 12), (1, 30)):
        want = 1.0 if b + c == 0 else binomtest(b, b + c)
        assert abs(mcnemar_exact(b, c) - want) < 1e-12, (b, c)
    assert abs(mcnemar_exact(10, 2) - 0.0385742) < 1e-6  # 2 * (1 + 12 + 66) / 4096


def test_paired_difference_uses_the_pairing():
    """The same 0/1 outcomes paired or shuffled: the paired interval is the narrower one, and the
    discordant counts are those of the pairs."""
    import numpy as np

    from rlaif.evaluation.metrics import paired_difference

    rng = np.random.default_rng(0)
    base = (rng.random(400) < 0.6).astype(float)
    better = base.copy()
    better[np.flatnonzero(base == 0)[:12]] = 1.0  # 12 prompts fixed, none broken
    d = paired_difference(better, base, n_boot=2000, seed=0)
    assert d["delta"] == 12 / 400 and d["only_a"] == 12 and d["only_b"] == 0 and d["p_mcnemar"] < 1e-3
    assert d["lo"] > 0  # paired: every resample moves up
    shuffled = paired_difference(rng.permutation(better), base, n_boot=2000, seed=0)
    assert shuffled["lo"] < 0 < shuffled["hi"]  # unpaired, the same 3 points are within noise
    with pytest.raises(ValueError, match="same prompts"):
        paired_difference([1.0, 0.0], [1.0])
