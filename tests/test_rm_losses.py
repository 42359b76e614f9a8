"""Reward-model losses and metrics (rlaif/algos/preference.py) against hand-computed values."""

import math

import pytest
import torch

from rlaif.algos.preference import (
    bradley_terry_loss,
    calibration,
    center_penalty,
    hard_labels,
    pairwise_accuracy,
    preference_loss,
    soft_preference_loss,
)

T = torch.tensor


def test_soft_loss_hand_computed():
    # -(0.7 log sigma(1) + 0.3 log sigma(-1)) with log sigma(1) = -0.3132617, log sigma(-1) = -1.3132617
    got = soft_preference_loss(T([1.0]), T([0.0]), T([0.7]))
    assert got.item() == pytest.approx(0.7 * 0.3132617 + 0.3 * 1.3132617, abs=1e-6)
    # equal rewards cost log 2 whatever the label
    assert soft_preference_loss(T([0.3]), T([0.3]), T([0.9])).item() == pytest.approx(math.log(2), abs=1e-6)


def test_soft_loss_matches_a_python_loop():
    g = torch.Generator().manual_seed(0)
    r_a, r_b, p = (
        torch.randn(64, generator=g) * 3,
        torch.randn(64, generator=g) * 3,
        torch.rand(64, generator=g),
    )
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    loop = [
        -(pi * math.log(sig(a - b)) + (1 - pi) * math.log(sig(b - a)))
        for a, b, pi in zip(r_a.tolist(), r_b.tolist(), p.tolist())
    ]
    assert soft_preference_loss(r_a, r_b, p).tolist() == pytest.approx(loop, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_soft_loss_is_bradley_terry_for_hard_labels(margin):
    r_a, r_b = T([2.0, -1.0, 0.5]), T([0.0, 1.5, 0.5])
    assert torch.allclose(
        soft_preference_loss(r_a, r_b, T([1.0, 1.0, 1.0]), margin), bradley_terry_loss(r_a, r_b, margin)
    )
    assert torch.allclose(
        soft_preference_loss(r_a, r_b, T([0.0, 0.0, 0.0]), margin), bradley_terry_loss(r_b, r_a, margin)
    )


def test_margin_and_bradley_terry_hand_computed():
    assert bradley_terry_loss(T([2.0]), T([0.0]), 1.0).item() == pytest.approx(0.3132617, abs=1e-6)
    assert bradley_terry_loss(T([0.0]), T([0.0])).item() == pytest.approx(math.log(2), abs=1e-6)


def test_soft_loss_gradient_is_sigmoid_minus_label():
    # d/dd of the cross-entropy is sigmoid(d) - p: the optimum distils the labeler, sigma(d) = p
    d = T([0.4, -1.0, 2.0], requires_grad=True)
    p = T([0.7, 0.2, 0.5])
    soft_preference_loss(d, torch.zeros(3), p).sum().backward()
    assert torch.allclose(d.grad, torch.sigmoid(d.detach()) - p, atol=1e-6)


def test_hard_loss_uses_argmax_and_drops_ties():
    r_a, r_b = T([1.0, 0.0, 5.0]), T([0.0, 1.0, -5.0])
    assert hard_labels(T([0.8, 0.3, 0.5])).tolist() == [1.0, 0.0, 0.5]
    hard = preference_loss(r_a, r_b, T([0.8, 0.3, 0.5]), "hard")
    # the tie contributes nothing: the mean over the two decided pairs, both -log sigma(1)
    assert hard.item() == pytest.approx(0.3132617, abs=1e-6)
    soft = preference_loss(r_a, r_b, T([0.8, 0.3, 0.5]), "soft")
    assert soft.item() == pytest.approx(soft_preference_loss(r_a, r_b, T([0.8, 0.3, 0.5])).mean().item())
    with pytest.raises(ValueError, match="unknown RM loss"):
        preference_loss(r_a, r_b, T([1.0, 1.0, 1.0]), "hinge")


def test_centering():
    assert center_penalty(T([1.0, -1.0]), T([2.0, 0.0])).item() == pytest.approx(5.0)
    base = preference_loss(T([1.0, -1.0]), T([2.0, 0.0]), T([1.0, 0.0]))
    got = preference_loss(T([1.0, -1.0]), T([2.0, 0.0]), T([1.0, 0.0]), center_coef=0.1)
    assert got.item() == pytest.approx(base.item() + 0.5, abs=1e-6)


def test_pairwise_accuracy_skips_label_ties_and_halves_reward_ties():
    acc, n = pairwise_accuracy(T([1.0, 0.0, 2.0, 3.0]), T([0.0, 1.0, 2.0, 3.0]), T([1.0, 1.0, 0.5, 0.0]))
    assert n == 3 and acc == pytest.approx((1 + 0 + 0.5) / 3)
    assert math.isnan(pairwise_accuracy(T([1.0]), T([0.0]), T([0.5]))[0])


def test_calibration_hand_computed():
    d = math.log(3)  # sigmoid(d) = 0.75
    out = calibration(T([d, 0.0]), T([0.0, d]), T([1.0, 1.0]), bins=5)
    # pair 1: conf 0.75, right; pair 2: conf 0.75, wrong -> one bin, accuracy 0.5, ECE |0.75 - 0.5|
    assert out["ece"] == pytest.approx(0.25, abs=1e-6)
    assert out["brier"] == pytest.approx((0.25**2 + 0.75**2) / 2, abs=1e-6)
    assert out["soft_mae"] == pytest.approx(0.5, abs=1e-6)
    assert out["table"] == [(0.75, 0.5, 2)]
