"""RL pieces against hand-computed values and plain loops (rlaif/algos)."""

import math

import pytest
import torch

from rlaif.algos.advantages import (
    ALGOS,
    a2c_advantages,
    discounted_returns,
    gae_advantages,
    get_algo,
    rloo_advantages,
)
from rlaif.algos.kl import KLController, k1, k2, k3, kl_estimator
from rlaif.algos.losses import (
    entropy_from_logits,
    masked_mean,
    masked_whiten,
    policy_loss,
    token_logprobs,
    value_loss,
)

MASK = torch.tensor([[1.0, 1, 1], [1, 1, 0]])


def test_a2c_returns_and_advantages_by_hand():
    rewards = torch.tensor([[0.0, 0, 1], [0, 2, 5]])  # the 5 is past EOS: must be ignored
    values = torch.tensor([[0.5, 0.2, 0.1], [0, 1, 9]])
    adv, ret = a2c_advantages(rewards, MASK, values)
    assert torch.allclose(ret, torch.tensor([[1.0, 1, 1], [2, 2, 0]]))
    assert torch.allclose(adv, torch.tensor([[0.5, 0.8, 0.9], [2, 1, 0]]))
    ret = discounted_returns(rewards, MASK, gamma=0.5)
    assert torch.allclose(ret, torch.tensor([[0.25, 0.5, 1], [1, 2, 0]]))


def test_rloo_leave_one_out_by_hand():
    mask = torch.ones(3, 2)
    rewards = torch.tensor([[0.0, 1], [1, 1], [0, 6]])  # sequence returns 1, 2, 6
    adv, ret = rloo_advantages(rewards, mask, group_size=3)
    # baselines (2+6)/2=4, (1+6)/2=3.5, (1+2)/2=1.5
    assert torch.allclose(adv[:, 0], torch.tensor([-3.0, -1.5, 4.5]))
    assert torch.allclose(adv[:, 1], adv[:, 0])  # one advantage per sequence, on every token
    assert torch.allclose(ret[:, 0], torch.tensor([1.0, 2, 6]))
    two_groups, _ = rloo_advantages(torch.tensor([[1.0], [3], [10], [20]]), torch.ones(4, 1), group_size=2)
    assert two_groups[:, 0].tolist() == [-2.0, 2.0, -10.0, 10.0]  # groups never mix
    with pytest.raises(ValueError, match="at least 2"):
        rloo_advantages(rewards, mask, group_size=1)


def _gae_loop(rewards, values, lengths, gamma, lam):
    """GAE the textbook way: one row at a time, python floats."""
    out = []
    for r, v, n in zip(rewards.tolist(), values.tolist(), lengths):
        adv, last = [0.0] * len(r), 0.0
        for t in reversed(range(n)):
            nv = v[t + 1] if t + 1 < n else 0.0
            last = r[t] + gamma * nv - v[t] + gamma * lam * last
            adv[t] = last
        out.append(adv)
    return torch.tensor(out)


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.9, 0.5), (1.0, 1.0)])
def test_gae_matches_a_plain_loop(gamma, lam):
    g = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    lengths = [7, 1, 4, 6, 3]
    mask = torch.tensor([[1.0] * n + [0.0] * (7 - n) for n in lengths])
    adv, ret = gae_advantages(rewards, mask, values, gamma=gamma, lam=lam)
    want = _gae_loop(rewards, values, lengths, gamma, lam)
    assert torch.allclose(adv, want, atol=1e-5)
    assert torch.allclose(ret, (want + values) * mask, atol=1e-5)


def test_gae_with_lambda_one_is_a2c():
    g = torch.Generator().manual_seed(1)
    rewards, values = torch.randn(2, 3, generator=g), torch.randn(2, 3, generator=g)
    a, _ = gae_advantages(rewards, MASK, values, lam=1.0)
    b, _ = a2c_advantages(rewards, MASK, values)
    assert torch.allclose(a, b, atol=1e-6)


def test_algo_table():
    assert get_algo("a2c").critic and not get_algo("a2c").clip  # the paper: no clipping
    assert get_algo("ppo").clip and get_algo("ppo").critic
    assert not get_algo("rloo").critic and get_algo("rloo").default_samples >= 2
    with pytest.raises(KeyError, match="known: a2c, ppo, rloo"):
        get_algo("trpo")
    assert set(ALGOS) == {"a2c", "ppo", "rloo"}


def test_kl_estimators_against_closed_form():
    p = torch.tensor([0.1, 0.2, 0.3, 0.4])
    q = torch.tensor([0.25, 0.25, 0.4, 0.1])
    closed = float((p * (p / q).log()).sum())
    lp, lq = p.log(), q.log()
    # k1 and k3 are unbiased: their expectation under p is exactly KL(p || q)
    assert math.isclose(float((p * k1(lp, lq)).sum()), closed, rel_tol=1e-5)
    assert math.isclose(float((p * k3(lp, lq)).sum()), closed, rel_tol=1e-5)
    assert (k3(lp, lq) >= 0).all() and (k2(lp, lq) >= 0).all() and (k1(lp, lq) < 0).any()
    # k2 is biased but close for nearby distributions
    q2 = torch.tensor([0.11, 0.19, 0.31, 0.39])
    near = float((p * (p / q2).log()).sum())
    assert math.isclose(float((p * k2(lp, q2.log())).sum()), near, rel_tol=0.05)
    assert kl_estimator("k3") is k3
    with pytest.raises(KeyError):
        kl_estimator("k4")


def test_adaptive_kl_controller_by_hand():
    c = KLController(0.1, target=1.0, horizon=100)
    assert math.isclose(c.update(2.0, 10), 0.1 * 1.02)  # error clipped to +0.2
    assert math.isclose(c.update(0.9, 10), 0.1 * 1.02 * 0.99)
    fixed = KLController(0.05)
    assert fixed.update(100.0, 10) == 0.05
    c2 = KLController(1.0)
    c2.load_state_dict(c.state_dict())
    assert c2 == c


def test_policy_loss_reinforce_and_clipping():
    mask = torch.tensor([[1.0, 1, 0]])
    adv = torch.tensor([[1.0, -2.0, 7.0]])
    logp = torch.tensor([[-1.0, -2.0, -3.0]], requires_grad=True)
    loss, _ = policy_loss(logp, logp.detach(), adv, mask)
    assert math.isclose(loss.item(), (-1 + 2) / 2)
    loss.backward()  # at ratio 1 the gradient is REINFORCE's: -A / N on each real token
    assert torch.allclose(logp.grad, torch.tensor([[-0.5, 1.0, 0.0]]))
    old = torch.tensor([[-1.5, -2.5, 0.0]])  # ratio e^0.5 = 1.6487 on both tokens
    loss, stats = policy_loss(logp.detach(), old, adv, mask, clip_range=0.2)
    # token 1 (A=+1): max(-1.6487, -1.2) = -1.2 (clipped); token 2 (A=-2): max(3.297, 2.4) = 3.297
    assert math.isclose(loss.item(), (-1.2 + 2 * math.exp(0.5)) / 2, rel_tol=1e-5)
    assert math.isclose(stats["clipfrac"].item(), 0.5)


def test_value_loss_by_hand():
    mask = torch.tensor([[1.0, 1]])
    v, old, ret = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 1.0]])
    loss, _ = value_loss(v, old, ret, mask)
    assert math.isclose(loss.item(), 0.5 * (4 + 1) / 2)
    loss, stats = value_loss(v, old, ret, mask, clip_range=0.5)  # v clipped to 0.5: (2.5)^2 > 2^2
    assert math.isclose(loss.item(), 0.5 * (6.25 + 1) / 2)
    assert stats["clipfrac"].item() == 0.5


def test_masked_stats_and_logprobs():
    x = torch.tensor([[1.0, 2, 100], [3, 4, 100]])
    mask = torch.tensor([[1.0, 1, 0], [1, 1, 0]])
    assert masked_mean(x, mask).item() == 2.5
    w = masked_whiten(x, mask)
    assert abs(masked_mean(w, mask).item()) < 1e-6 and w[0, 2] == 0
    logits = torch.tensor([[[0.0, math.log(3.0)]]])  # p = [0.25, 0.75]
    assert math.isclose(token_logprobs(logits, torch.tensor([[1]])).item(), math.log(0.75), rel_tol=1e-6)
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert math.isclose(entropy_from_logits(logits).item(), h, rel_tol=1e-5)


def test_reward_shaping_by_hand():
    from rlaif.algos.shaping import penalize_missing_eos, token_rewards

    scores = torch.tensor([2.0, -1.0])
    # a response cut off without EOS loses the penalty; one that ended keeps its score
    assert penalize_missing_eos(scores, torch.tensor([True, False]), 0.5).tolist() == [2.0, -1.5]
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 9.0]])  # the 9.0 sits on padding: never counted
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    r = token_rewards(scores, kl, mask, beta=0.1)
    # -beta KL_t on every real token; (1 - beta) * score added on the last real one (0.9 * 2 - 0.03 = 1.77)
    assert torch.allclose(r, torch.tensor([[-0.01, -0.02, 1.77], [-0.04, -0.95, 0.0]]))
    # with gamma = 1 the row sums are the objective (1 - beta) r - beta KL
    assert torch.allclose(r.sum(-1), 0.9 * scores - 0.1 * (kl * mask).sum(-1))
