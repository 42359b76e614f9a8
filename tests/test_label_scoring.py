"""Labeler maths against hand-computed values: choice probabilities, post-processing, metrics."""

import math

import pytest

from rlaif.labelers.scoring import (
    NEG_INF,
    alignment,
    choice_logprobs,
    expected_calibration_error,
    expected_score,
    fit_temperature,
    logit,
    postprocess,
    sigmoid,
    soft_label,
)


def table_backend(table):
    """next_logprobs from {continuation: {token text: prob}}; records the calls it gets."""
    calls = []

    def next_logprobs(texts, conts, targets):
        calls.append(list(conts))
        return [{t: math.log(table[c][t]) if table[c].get(t) else NEG_INF for t in targets} for c in conts]

    return next_logprobs, calls


def test_single_token_choices_are_a_softmax_over_their_logprobs():
    nl, calls = table_backend({"": {"1": 0.3, "2": 0.1, "x": 0.6}})
    [[l1, l2]] = choice_logprobs(nl, ["t"], ["1", "2"])
    assert math.exp(l1) == pytest.approx(0.3) and math.exp(l2) == pytest.approx(0.1)
    dist, mass = soft_label([l1, l2])
    assert dist == pytest.approx([0.75, 0.25]) and mass == pytest.approx(0.4)
    assert calls == [[""]]  # one call, no follow-up for single-token choices


def test_multi_token_choice_is_followed_and_its_prefix_choice_loses_that_mass():
    # a tokenizer that writes "10" as "1" + "0": P("10") = P("1") P("0" | "1"); P(exactly "1") = the rest
    nl, calls = table_backend({"": {"1": 0.5, "2": 0.2}, "1": {"0": 0.4}})
    [[l1, l2, l10]] = choice_logprobs(nl, ["t"], ["1", "2", "10"])
    assert math.exp(l10) == pytest.approx(0.5 * 0.4)
    assert math.exp(l1) == pytest.approx(0.5 * 0.6)
    assert math.exp(l2) == pytest.approx(0.2)
    assert calls == [[""], ["1"]]


def test_single_token_ten_and_split_ten_add_up():
    nl, _ = table_backend({"": {"1": 0.5, "10": 0.1}, "1": {"0": 0.2}})
    [[l1, l10]] = choice_logprobs(nl, ["t"], ["1", "10"])
    assert math.exp(l10) == pytest.approx(0.1 + 0.5 * 0.2)
    assert math.exp(l1) == pytest.approx(0.5 * 0.8)


def test_expected_score_rescales_like_the_paper():
    lps = [math.log(p) if p else NEG_INF for p in [0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0]]
    s = expected_score(lps, list(range(1, 11)))
    assert s == pytest.approx(7.5)
    assert (s - 5.5) / 4.5 == pytest.approx(2 / 4.5)


def test_postprocess_modes():
    assert postprocess(0.6, "none") == 0.6
    assert postprocess(0.52, "threshold", threshold=0.05) is None
    assert postprocess(0.56, "threshold", threshold=0.05) == 0.56
    assert postprocess(0.51, "hard") == 1.0 and postprocess(0.49, "hard") == 0.0
    assert postprocess(0.6, "temperature", temperature=0.5) == pytest.approx(sigmoid(2 * logit(0.6)))
    with pytest.raises(ValueError):
        postprocess(0.6, "sharpen")


def test_fitted_temperature_recovers_a_known_flattening():
    # gold labels drawn exactly at sigmoid(z); the labeler reports sigmoid(z / 4): T should be ~1/4
    zs = [(-3 + 6 * i / 199) for i in range(200)]
    p_true = [sigmoid(z) for z in zs]
    p_flat = [sigmoid(z / 4) for z in zs]
    t = fit_temperature(p_flat, p_true)
    assert t == pytest.approx(0.25, rel=0.02)


def test_alignment_and_ece_by_hand():
    p = [0.9, 0.8, 0.3, 0.6]
    gold = [1.0, 0.0, 0.0, None]
    assert alignment(p, gold) == pytest.approx(2 / 3)
    # bins: 0.9 (right) in [0.9,0.95), 0.8 (wrong) in [0.8,0.85), 0.7 (right) in [0.7,0.75)
    ece = expected_calibration_error(p, gold)
    assert ece == pytest.approx((abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.7)) / 3)
