"""Prefix packing (rlaif/algos/packing.py) is exact: the same log-probabilities, hidden states and
gradients as computing every row on its own, under every attention implementation."""

import pytest
import torch

from rlaif.algos.packing import additive_mask, common_prefix, group_by_prefix, pack, split_prefix


def test_common_prefix_and_split():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2 and common_prefix([], [1]) == 0
    assert split_prefix([[1, 2, 3], [1, 2, 4, 5], [1, 2]]) == ([1, 2], [[3], [4, 5], []])
    assert split_prefix([[1, 2, 3], [1, 2, 3, 4]], limit=1) == ([1], [[2, 3], [2, 3, 4]])


def test_group_by_prefix_by_hand():
    schema_a, schema_b = list(range(100, 120)), list(range(200, 220))
    seqs = [schema_b + [1, 2], schema_a + [3], schema_a + [4, 5], [9, 9, 9], schema_b + [6]]
    groups = group_by_prefix(seqs, max_tokens=1000, min_prefix=16)
    assert sorted(map(sorted, groups)) == [[0, 4], [1, 2], [3]]
    # the token budget splits a group: 20 + 1 + 2 = 23 fits, a third member would not
    seqs3 = [schema_a + [3], schema_a + [4, 5], schema_a + [6, 7, 8]]
    assert group_by_prefix(seqs3, max_tokens=23, min_prefix=16) == [[0, 1], [2]]
    assert group_by_prefix(seqs3, max_tokens=1000, min_prefix=16, max_members=2) == [[0, 1], [2]]
    # a short common prefix is not worth a group
    assert group_by_prefix([[1, 2, 3], [1, 2, 4]], max_tokens=100, min_prefix=16) == [[0], [1]]


def test_mask_positions_and_targets_by_hand():
    p = pack([([7, 8], [[1, 2], [3]]), ([9], [[4, 5, 6]])], pad_id=0)
    assert p.input_ids.tolist() == [[7, 8, 1, 2, 3], [9, 4, 5, 6, 0]]
    assert p.position_ids.tolist() == [[0, 1, 2, 3, 2], [0, 1, 2, 3, 0]]
    keep = p.attention_mask[0, 0].int().tolist()
    assert keep == [[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 0, 0, 1]]
    assert p.spans == [(0, 2, 2), (0, 4, 1), (1, 1, 3)] and p.prefix_last == [1, 1, 0]
    pred, tgt, owner = p.targets()
    T = 5
    assert pred.tolist() == [1, 2, 1, T + 0, T + 1, T + 2] and tgt.tolist() == [1, 2, 3, 4, 5, 6]
    assert owner.tolist() == [0, 0, 1, 2, 2, 2]
    pred, tgt, owner = p.targets(offsets=[1, 1, 2])  # e.g. the loss starts after a question suffix
    assert tgt.tolist() == [2, 6] and owner.tolist() == [0, 2]
    assert p.last_positions().tolist() == [3, 4, T + 3]
    assert p.tokens == 9


@pytest.fixture(scope="module")
def models(tiny_model):
    from transformers import AutoModelForCausalLM

    out = {}
    for impl in ("eager", "sdpa"):
        torch.manual_seed(0)
        out[impl] = AutoModelForCausalLM.from_pretrained(
            tiny_model, attn_implementation=impl, dtype=torch.float32
        ).eval()
    return out


def _rows_logprobs(model, groups):
    """Reference: every [prefix, c_i] as its own unpadded row; log p of each continuation token."""
    out = []
    for prefix, conts in groups:
        for c in conts:
            ids = torch.tensor([prefix + c])
            logits = model(input_ids=ids).logits[0].float()
            lp = torch.log_softmax(logits, -1)
            out.append(torch.stack([lp[len(prefix) + k - 1, t] for k, t in enumerate(c)]))
    return out


def _packed_logprobs(model, groups):
    p = pack(groups, pad_id=0)
    h = model.model(
        input_ids=p.input_ids,
        position_ids=p.position_ids,
        attention_mask=additive_mask(p.attention_mask, torch.float32),
    ).last_hidden_state
    pred, tgt, owner = p.targets()
    lp = torch.log_softmax(model.lm_head(h.reshape(-1, h.shape[-1])[pred]).float(), -1)
    vals = lp.gather(1, tgt[:, None])[:, 0]
    return [vals[owner == i] for i in range(len(p.spans))], p


GROUPS = [
    ([5, 6, 7, 8, 9, 10, 11, 12], [[20, 21, 22], [23], [24, 25, 26, 27, 28]]),
    ([30, 31, 32], [[40, 41]]),
    ([50, 51, 52, 53, 54], [[60, 61, 62, 63], [64, 65]]),
]


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_packed_logprobs_and_gradients_equal_separate_rows(models, impl):
    model = models[impl]
    ref = _rows_logprobs(model, GROUPS)
    got, p = _packed_logprobs(model, GROUPS)
    assert p.tokens < sum(len(pre) + len(c) for pre, cs in GROUPS for c in cs)  # the prefixes once
    for a, b in zip(ref, got):
        assert torch.allclose(a, b, atol=1e-4), (a, b)
    # gradients through the shared prefix equal the sum over the copies it replaces
    grads = []
    for fn in (_rows_logprobs, lambda m, g: _packed_logprobs(m, g)[0]):
        model.zero_grad()
        torch.cat(fn(model, GROUPS)).sum().backward()
        grads.append({n: q.grad.clone() for n, q in model.named_parameters() if q.grad is not None})
        model.zero_grad()
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]:
        assert torch.allclose(grads[0][n], grads[1][n], atol=1e-4), n


def test_grouped_then_packed_matches_rows_on_shared_schema_prompts(models):
    """The whole path a trainer takes: group real-looking prompts by prefix, split, pack."""
    model = models["sdpa"]
    schema = list(range(3, 40))
    prompts = [schema + [60 + i, 70 + i] for i in range(4)] + [[90, 91, 92, 93]]
    outputs = [[100 + i, 101, 102] for i in range(5)]
    groups = []
    for g in group_by_prefix(prompts, max_tokens=512, min_prefix=16):
        prefix, rests = split_prefix([prompts[i] for i in g])
        groups.append((g, prefix, [r + outputs[i] for i, r in zip(g, rests)]))
    assert sorted(len(g) for g, _, _ in groups) == [1, 4]
    p = pack([(pre, conts) for _, pre, conts in groups], pad_id=0)
    offsets = [len(c) - 3 for _, _, conts in groups for c in conts]  # loss on the 3 output tokens only
    h = model.model(
        input_ids=p.input_ids,
        position_ids=p.position_ids,
        attention_mask=additive_mask(p.attention_mask, torch.float32),
    ).last_hidden_state
    pred, tgt, owner = p.targets(offsets)
    lp = torch.log_softmax(model.lm_head(h.reshape(-1, h.shape[-1])[pred]), -1).gather(1, tgt[:, None])[:, 0]
    order = [i for g, _, _ in groups for i in g]
    for k, i in enumerate(order):
        ids = torch.tensor([prompts[i] + outputs[i]])
        ref = torch.log_softmax(model(input_ids=ids).logits[0], -1)
        want = torch.stack([ref[len(prompts[i]) + j - 1, t] for j, t in enumerate(outputs[i])])
        assert torch.allclose(lp[owner == k], want, atol=1e-4)
