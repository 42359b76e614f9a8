"""Prefix packing: rows that share a token prefix are computed as one sequence, the prefix once.

Text-to-SQL prompts are ~470 tokens of which ~390 are the database schema, the same for every
question on that database; RL draws n samples of every prompt; a reward model scores two responses
to one prompt. Computing the shared prefix once is exact, not an approximation:

1. `group_by_prefix` sorts the sequences lexicographically by token ids, so sequences with a common
   prefix are neighbours, and cuts the order into groups whose longest common prefix (LCP) is at
   least `min_prefix` tokens and whose packed length (LCP + every member's remainder) fits
   `max_tokens`. Sorted, a group's LCP is the LCP of its first and last member.
2. `pack` lays each group out as one row `[prefix, c_1, c_2, ...]` with a block mask (each
   continuation sees the prefix and itself, causally, never another continuation) and position ids
   that restart after the prefix for every continuation. Each token therefore gets exactly the
   keys, values and positions it has in its own row `[prefix, c_i]`: hidden states, logits and
   gradients match per-row computation (tests/test_packing.py, atol 1e-4 in fp32), while the
   prefix's activations are computed, stored and back-propagated through once. Gradients flow
   through the shared prefix as the sum over the copies it replaces.
3. `targets` says, for every continuation token from a given offset, which row position's output
   predicts it (the previous token of the same continuation, or for its first token the last
   prefix token: shared by all continuations of the row) and which token it should predict, as
   flat indices into (rows * width). Losses and log-probabilities gather only those positions, so
   the LM head runs on the tokens a loss needs and nowhere else.

The mask is boolean (rows, 1, T, T); models need it as an additive float mask
(`additive_mask`): eager attention adds whatever mask it gets to the scores, so a boolean one would
add 0/1. Pure functions over token id lists and tensors: no model is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def group_by_prefix(
    seqs: Sequence[Sequence[int]],
    max_tokens: int,
    min_prefix: int = 16,
    max_members: int = 64,
    min_share: float = 0.5,
) -> list[list[int]]:
    """Indices of `seqs` grouped so that members share a prefix of >= `min_prefix` tokens that is at
    least `min_share` of the shortest member, and a group packs into <= `max_tokens` tokens (a longer
    sequence stands alone). The share matters: prompts that share only a chat template's system
    turn would pack into one long row whose attention costs more than the prefix saves. Members keep
    their sorted order; groups come in sorted order of their first member (callers shuffle)."""
    order = sorted(range(len(seqs)), key=lambda i: list(seqs[i]))
    groups: list[list[int]] = []
    cur: list[int] = []
    lcp = total = shortest = 0  # the group's LCP, the sum and the minimum of its members' lengths
    for i in order:
        s = seqs[i]
        if cur:
            lcp_new = min(lcp, common_prefix(seqs[cur[0]], s))
            total_new, shortest_new = total + len(s), min(shortest, len(s))
            packed = lcp_new + total_new - lcp_new * (len(cur) + 1)
            if (
                lcp_new >= min_prefix
                and lcp_new >= min_share * shortest_new
                and packed <= max_tokens
                and len(cur) < max_members
            ):
                cur.append(i)
                lcp, total, shortest = lcp_new, total_new, shortest_new
                continue
            groups.append(cur)
        cur, lcp, total, shortest = [i], len(s), len(s), len(s)
    if cur:
        groups.append(cur)
    return groups


def prefix_clusters(
    seqs: Sequence[Sequence[int]], min_prefix: int = 16, min_share: float = 0.5
) -> list[list[int]]:
    """Indices of sequences that share a long prefix (Text-to-SQL: the questions on one database),
    whatever their number and total length."""
    return group_by_prefix(
        seqs, max_tokens=10**12, min_prefix=min_prefix, max_members=10**9, min_share=min_share
    )


def batches_per_epoch(clusters: Sequence[Sequence[int]], batch_size: int, min_size: int = 1) -> int:
    """Full batches inside clusters, plus the pooled remainders cut into batches (a last one
    smaller than `min_size` dropped, as `prefix_batches` does)."""
    full = sum(len(c) // batch_size for c in clusters)
    rest = sum(len(c) % batch_size for c in clusters)
    return full + rest // batch_size + (0 < rest % batch_size and rest % batch_size >= min_size)


def prefix_batches(
    clusters: Sequence[Sequence[int]], batch_size: int, epochs: float, seed: int, min_size: int = 1
) -> Iterator[list[int]]:
    """Training batches of `batch_size` whose members share a prefix where the data allows. Every
    epoch shuffles each cluster and cuts full batches from it; what is left of every cluster (and
    clusters smaller than a batch: data without shared prefixes) is pooled, shuffled and cut into
    mixed batches, so every batch but the epoch's last is full. The batch order is shuffled too:
    batches differ from epoch to epoch while most are packable. A fractional last epoch keeps that
    share of its batches; `epochs` may be huge (the caller counts steps). The pooled remainder's last
    batch is dropped when it holds fewer than `min_size` members (RL wants full batches; N data
    processes need at least N members each step)."""
    import math
    import random

    rng = random.Random(seed)
    e = 0
    while e < epochs:
        batches, rest = [], []
        for c in clusters:
            members = list(c)
            rng.shuffle(members)
            cut = len(members) - len(members) % batch_size
            batches += [members[k : k + batch_size] for k in range(0, cut, batch_size)]
            rest += members[cut:]
        rng.shuffle(rest)
        batches += [rest[k : k + batch_size] for k in range(0, len(rest), batch_size)]
        batches = [b for b in batches if len(b) >= min_size]
        rng.shuffle(batches)
        keep = len(batches) if e + 1 <= epochs else math.ceil(len(batches) * (epochs - e))
        yield from batches[:keep]
        e += 1


def split_prefix(
    seqs: Sequence[Sequence[int]], limit: int | None = None
) -> tuple[list[int], list[list[int]]]:
    """(common prefix, remainders) of a group; the prefix is cut at `limit` tokens at most (e.g. the
    shortest prompt, so that no output token ever becomes shared)."""
    n = len(seqs[0])
    for s in seqs[1:]:
        n = min(n, common_prefix(seqs[0], s))
    if limit is not None:
        n = min(n, limit)
    return list(seqs[0][:n]), [list(s[n:]) for s in seqs]


def merge_groups(
    groups: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]],
    min_prefix: int = 16,
    max_tokens: int = 10**9,
) -> tuple[list[tuple[list[int], list[list[int]]]], list[int], list[int]]:
    """Groups (prompt ids, [continuation ids]) whose prompts share a long prefix (`group_by_prefix`:
    questions on one database schema) merged into one group (shared prefix, [prompt rest + c, ...]),
    so `pack` computes the schema once for all of them. Returns the merged groups, `order` (for
    each continuation of the result, its index in the input's flat continuation order) and
    `offsets` (for each, how many leading tokens are its prompt's rest, not the continuation)."""
    firsts, k = [], 0
    for _, conts in groups:
        firsts.append(k)
        k += len(conts)
    prompts = [list(p) for p, _ in groups]
    merged, order, offsets = [], [], []
    for g in group_by_prefix(prompts, max_tokens=max_tokens, min_prefix=min_prefix, max_members=10**9):
        for part in _fit(g, prompts, groups, max_tokens):
            prefix, rests = split_prefix([prompts[i] for i in part])
            conts = []
            for i, rest in zip(part, rests):
                for j, c in enumerate(groups[i][1]):
                    conts.append(rest + list(c))
                    order.append(firsts[i] + j)
                    offsets.append(len(rest))
            merged.append((prefix, conts))
    return merged, order, offsets


def _fit(g: list[int], prompts: list[list[int]], groups: Sequence, max_tokens: int) -> list[list[int]]:
    """`group_by_prefix` caps a group by its prompts alone; cut it further so that each packed row,
    continuations included (the prefix, then every continuation after its prompt's rest), stays
    under `max_tokens` (a member too long alone stays alone). The whole group's prefix is a lower
    bound of each part's, so the estimate never undercounts."""
    prefix, rests = split_prefix([prompts[i] for i in g])
    parts, cur, size = [], [], len(prefix)
    for i, rest in zip(g, rests):
        cost = sum(len(rest) + len(c) for c in groups[i][1])
        if cur and size + cost > max_tokens:
            parts.append(cur)
            cur, size = [], len(prefix)
        cur.append(i)
        size += cost
    return parts + [cur]


@dataclass
class Packed:
    input_ids: Any  # (R, T) long, right-padded with pad_id
    position_ids: Any  # (R, T) long
    attention_mask: Any  # (R, 1, T, T) bool keep-mask (query x key)
    spans: list  # per continuation, in input order: (row, start, length) of its tokens
    prefix_last: list  # per continuation: row position of its prefix's last token (-1: no prefix)
    tokens: int  # real tokens (what the model computes, padding aside)

    @property
    def width(self) -> int:
        return int(self.input_ids.shape[1])

    def to(self, device) -> "Packed":
        return Packed(
            self.input_ids.to(device),
            self.position_ids.to(device),
            self.attention_mask.to(device),
            self.spans,
            self.prefix_last,
            self.tokens,
        )

    def last_positions(self) -> Any:
        """(N,) flat index into R*T of each continuation's last token (its prefix's last token when the
        continuation is empty): where a reward model reads its score."""
        import torch

        T = self.width
        return torch.tensor(
            [r * T + (s + n - 1 if n else p) for (r, s, n), p in zip(self.spans, self.prefix_last)],
            dtype=torch.long,
        )

    def targets(self, offsets: Sequence[int] | None = None) -> tuple[Any, Any, Any]:
        """(predictor, target, owner): for every token of continuation i from `offsets[i]` on (default
        0), the flat index (into R*T) of the position whose output predicts it, the token id, and i.
        A first token with no prefix before it has no predictor and is left out."""
        import torch

        T = self.width
        pred, tgt, owner = [], [], []
        for i, ((r, s, n), p) in enumerate(zip(self.spans, self.prefix_last)):
            for k in range(max(offsets[i] if offsets is not None else 0, 0), n):
                at = s + k - 1 if k > 0 else p
                if at >= 0:
                    pred.append(r * T + at)
                    tgt.append(r * T + s + k)
                    owner.append(i)
        as_long = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
        return as_long(pred), self.input_ids.reshape(-1)[as_long(tgt)], as_long(owner)


def pack(groups: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]], pad_id: int) -> Packed:
    """Rows `[prefix, c_1, c_2, ...]` for groups (prefix ids, [continuation ids]), with the block
    mask and restarting position ids of the module notes; continuations keep the groups' order."""
    import torch

    rows, segs, poss, spans, prefix_last = [], [], [], [], []
    for prefix, conts in groups:
        row, seg, pos = list(prefix), [0] * len(prefix), list(range(len(prefix)))
        for k, c in enumerate(conts, 1):
            spans.append((len(rows), len(row), len(c)))
            prefix_last.append(len(prefix) - 1)
            row += c
            seg += [k] * len(c)
            pos += range(len(prefix), len(prefix) + len(c))
        rows.append(row), segs.append(seg), poss.append(pos)
    T = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    seg = torch.full((len(rows), T), -1, dtype=torch.long)  # -1: padding
    pos = torch.zeros((len(rows), T), dtype=torch.long)
    for i, (r, s, q) in enumerate(zip(rows, segs, poss)):
        if r:
            ids[i, : len(r)], seg[i, : len(r)], pos[i, : len(r)] = (
                torch.tensor(r),
                torch.tensor(s),
                torch.tensor(q),
            )
    causal = torch.ones(T, T, dtype=torch.bool).tril()  # (T, T)
    visible = (seg[:, None, :] == 0) | (seg[:, :, None] == seg[:, None, :])  # (R, T, T) query x key
    keep = causal & visible & (seg[:, None, :] >= 0)  # never a padding key
    # a padding query sees only itself, so no row of the mask is empty (softmax over nothing is NaN)
    keep |= torch.eye(T, dtype=torch.bool)[None] & (seg[:, :, None] < 0)
    return Packed(ids, pos, keep[:, None], spans, prefix_last, sum(map(len, rows)))


def additive_mask(mask: Any, dtype: Any) -> Any:
    """A boolean (R, 1, T, T) keep-mask as the additive float mask every attention implementation
    reads the same way: 0 where a query may look, the dtype's most negative number where not."""
    import torch

    if mask is None or mask.dtype != torch.bool:
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)
