"""RL training (`rlaif rl`): maximise reward with a KL penalty to the SFT policy — A2C (the paper),
PPO or RLOO.

Objective (Lee et al. 2023 §4, METHOD.md §4): J = E[(1 - beta) r - beta KL(pi || pi_sft)], beta = 0.05,
temperature 0.9, the reward on the last token, gamma = 1. One step is:

  1. roll out n completions for each of `batch_size` prompts (`rollouts.py`: the policy itself with
     the KV cache, or an OpenAI-compatible server);
  2. score them with the configured reward sources (`rewards.py`; the trainer does not know which);
     a response cut off without EOS loses `missing_eos_penalty`;
  3. one no-grad pass for the policy's and the reference's log-probabilities and the critic's values;
  4. per-token rewards: -beta * KL_t on every token (estimator k1/k3), + (1 - beta) * r on the last;
  5. advantages by algorithm name (`algos/advantages.py`: a2c, ppo/GAE, rloo), whitened for ppo;
  6. policy-gradient and value updates (`algos/losses.py`; clipped for ppo only);
  7. the adaptive KL controller, logging, checkpointing.

Design decisions:
1. Policy, critic and reference all start from the SFT checkpoint (`generation.policy_path`). With LoRA,
   an adapter SFT checkpoint is merged first and fresh adapters are trained on top; the reference
   is then the same weights with the adapters switched off — no second copy in memory.
2. fp32 master weights, every forward under the accelerator's bf16 autocast (measured on this CPU:
   generation 1.5 s vs 2.5 s in fp32 and 15 s with bf16 weights). The reference is kept in fp32
   under the same autocast, so at step 0 the KL is exactly 0.
3. Forward passes use position ids from the attention mask (left padding would otherwise shift
   every position against generation), and only the response positions reach the vocabulary
   projection, which matters for text2sql's long schema prompts. That projection runs in fp32
   (bf16 logits of 16-32 are off by up to ~0.06 nats, noise in every ratio and KL) and is
   followed by the model's own final-logit processing (`models.final_logits`).
4. Log-probabilities are those of the distribution the rollouts were sampled from: logits divided
   by `rl.temperature` for the policy, the old policy, the reference, the KL and the entropy (as
   TRL and OpenRLHF do). Scored at T = 1 instead, the policy gradient has a non-zero mean even
   under a zero advantage and the KL penalty measures another pair of distributions. Greedy
   rollouts (temperature 0) and nucleus sampling (top_p < 1) have no such log-probabilities and
   are refused at the start (`check_sampling`).
5. Resumable and deterministic: step k's prompts are a fixed function of (seed, k), its sampling is
   seeded with seed + k, and a checkpoint holds the trainable weights, the optimizer, the scheduler
   and the KL coefficient. Rerunning the same command continues from the last checkpoint and
   makes exactly the steps an unbroken run would have made (`--force` starts over).
6. Prompt sharing (`rl.share_prefix`, on by default): every training-side pass (reference, policy,
   critic) packs the n samples of a prompt, and prompts that share a database schema, into one row
   (a step's prompts are drawn from one database where the data allows: `prompt_batches`)
   with a block mask (`packed_trunk_hidden`, algos/packing.py), and rollouts compute a prompt once
   for its n samples (`generation.shared_prefill`). Same log-probabilities, values and gradients as
   padded rows (tests/test_rl.py, atol 1e-4 in fp32); a text2sql prompt of ~470 tokens is computed
   once per group instead of n times, and response padding is not computed at all.
7. Guard rails: a NaN/inf reward, loss or gradient stops the run naming the step; the last good
   checkpoint is kept, so fixing the cause and rerunning resumes from it. With fp16 autocast the
   accelerator's loss scaler is honoured: gradients are unscaled before clipping and logging, and
   an overflowing step is skipped by the scaler rather than treated as divergence.

Output: OUT/rl/checkpoint (the final policy, full weights), checkpoints/step-N (resumable state),
metrics.jsonl (reward/, monitor/, kl/, loss/, policy/, value/, response/, perf/), samples.jsonl.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from pathlib import Path

from ..core.config import Config
from ..core.runs import Run


class NonFiniteError(RuntimeError):
    """A reward, loss or gradient became NaN or inf."""


# --------------------------------------------------------------------------- models


def load_policy(cfg: Config, path: str):
    """The trainable policy in fp32: an adapter checkpoint is merged, then LoRA added if enabled."""
    from ..core.models import add_lora, checkpoint_activations_in_eval, load_causal_lm

    model = load_causal_lm(dataclasses.replace(cfg.model, dtype="fp32"), path)  # merged, frozen, eval
    if cfg.model.lora.enabled:
        model = add_lora(model, cfg.model)
    else:
        model.requires_grad_(True)
    model.eval()  # no dropout: old and new log-probs must agree before the first update
    if cfg.rl.gradient_checkpointing:
        checkpoint_activations_in_eval(model)
    return model


def check_sampling(rl) -> None:
    """Rollout settings whose log-probabilities the trainer can compute (see design decision 4);
    also checked when a config loads, this covers a Trainer built from Python."""
    from ..core.config import check_rl

    check_rl(rl, "rl")


def head_logits(model, h):
    """fp32 logits (..., V) from last hidden states (..., H): the LM head outside autocast, then the
    model's own final-logit processing."""
    import torch

    from ..core.models import final_logits

    with torch.autocast(h.device.type, enabled=False):
        return final_logits(model.config, model.get_output_embeddings()(h.float()).float())


def forward(model, ids, attn, R: int, hidden: bool = False, temperature: float = 1.0, share_prefix: int = 0):
    """fp32 logits at the sampling temperature predicting the last R tokens (N, R, V) and, if asked,
    the hidden states there (N, R, H)."""
    h = trunk_hidden(model, ids, attn, R, share_prefix)
    return head_logits(model, h) / temperature, (h if hidden else None)


def trunk_hidden(lm, ids, attn, R: int, share_prefix: int = 0):
    """Last hidden states of a causal LM's decoder at the positions that predict the last R tokens
    (rows: a left-padded prompt, then R response tokens). With `share_prefix` > 0, rows whose prompts
    share at least that many tokens are packed (`packed_trunk_hidden`): the same values, the
    prompt computed once."""
    if share_prefix > 0:
        return packed_trunk_hidden(lm, ids, attn, R, share_prefix)
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    out = lm.get_decoder()(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=False)
    return out.last_hidden_state[:, -R - 1 : -1]


def packed_trunk_hidden(lm, ids, attn, R: int, min_prefix: int = 16, max_tokens: int = 4096):
    """`trunk_hidden` with prompt sharing (algos/packing.py): the n samples of a prompt, and prompts on
    one database schema, become one row `[shared prefix, rest_1 + response_1, rest_2 + response_2,
    ...]`. Each response token sees exactly its own prompt and its own earlier tokens at the positions
    it had in its padded row, so hidden states (and gradients, summed over the copies the prefix
    replaces) match per-row computation at every position the mask keeps; the prefix's activations
    are computed once instead of n times, and response padding not at all (its positions in the
    (N, R) output repeat the last real one: every loss masks them)."""
    import torch

    from ..algos.packing import additive_mask, merge_groups, pack

    N, P = ids.size(0), ids.size(1) - R
    keep = attn.bool().cpu()
    rows = ids.cpu()
    prompts = [rows[i, :P][keep[i, :P]].tolist() for i in range(N)]
    lengths = keep[:, P:].sum(-1).tolist()  # real response tokens (the mask runs through EOS)
    # the one packing routine: one group per sample, merged by shared prompt prefix, packed rows
    # capped at max_tokens responses included (attention is quadratic in the row)
    groups, order, offsets = merge_groups(
        [(prompts[i], [rows[i, P : P + lengths[i]].tolist()]) for i in range(N)], min_prefix, max_tokens
    )
    p = pack(groups, pad_id=0)
    T = p.width
    index = torch.empty(N, R, dtype=torch.long)
    for j, i in enumerate(order):
        (r, s, _), off, last = p.spans[j], offsets[j], p.prefix_last[j]
        for k in range(R):
            k_ = off + min(k, max(lengths[i] - 1, 0))  # padding: the last real token's predictor
            index[i, k] = r * T + (s + k_ - 1 if k_ > 0 else last)
    if min(p.prefix_last) < 0:
        raise ValueError("packed_trunk_hidden: a row with an empty prompt has nothing to predict from")
    dtype = next(lm.parameters()).dtype
    out = lm.get_decoder()(
        input_ids=p.input_ids.to(ids.device),
        position_ids=p.position_ids.to(ids.device),
        attention_mask=additive_mask(p.attention_mask.to(ids.device), dtype),
        use_cache=False,
    ).last_hidden_state
    return out.reshape(-1, out.size(-1))[index.view(-1).to(ids.device)].view(N, R, -1)


class Trainer:
    """The models, optimizer and one RL step. `state_dict()` is everything a resume needs."""

    def __init__(
        self, cfg: Config, policy_path: str, records: list[dict], reward, acc, tokenizer, monitor=None
    ):
        import torch

        from ..algos.advantages import get_algo
        from ..algos.kl import KLController, kl_estimator
        from ..core.models import check_head

        check_sampling(cfg.rl)
        self.cfg, self.rl, self.acc, self.tok = cfg, cfg.rl, acc, tokenizer
        self.temperature = cfg.rl.temperature
        self.algo = get_algo(self.rl.algo)
        self.n = self.rl.n or self.algo.default_samples
        if self.rl.algo == "rloo" and self.n < 2:
            raise ValueError("rl.algo=rloo needs rl.n >= 2 completions per prompt")
        if self.rl.critic not in ("separate", "shared"):
            raise ValueError(f"rl.critic must be separate or shared, got {self.rl.critic!r}")
        self.kl_fn = kl_estimator(self.rl.kl_estimator)
        self.kl_ctl = KLController(self.rl.kl_coef, self.rl.kl_target, self.rl.kl_horizon)
        self.records, self.reward = records, reward
        self.monitor = monitor  # the task's oracle, logged beside a learned reward (rewards.oracle_monitor)
        self.last_monitor: float | None = None
        self.policy = load_policy(cfg, policy_path).to(acc.device)
        check_head(self.policy, lambda h: head_logits(self.policy, h), "policy")
        self.lora = cfg.model.lora.enabled
        # with LoRA the reference is the policy with its adapters off; otherwise a frozen fp32 copy
        self.ref = None if self.lora else self._frozen(policy_path)
        self.critic_lm, self.value_head = None, None
        if self.algo.critic:
            if self.rl.critic == "separate":
                self.critic_lm = load_policy(cfg, policy_path).to(acc.device)
            hidden = self.policy.config.hidden_size
            self.value_head = torch.nn.Linear(hidden, 1).to(acc.device)
            torch.nn.init.zeros_(self.value_head.weight)  # V = 0 at first: no random baseline noise
            torch.nn.init.zeros_(self.value_head.bias)
        self.opt, self.sched = self._optimizer()
        self.autocast = acc.autocast
        rl = self.rl
        # prompt sharing in every training-side pass (0: off); the min prefix is in tokens
        self.share = rl.min_prefix if rl.share_prefix else 0
        self.fused = rl.fused and rl.epochs == 1 and rl.mini_batches == 1 and not self.algo.whiten
        # rows per forward: the fused update keeps prompt groups whole; the reference is scored in
        # the same chunks, since a different batch shape changes the float rounding and the KL at
        # step 0 would no longer be exactly 0
        self.chunk = (
            max(self.n, rl.micro_batch_size // self.n * self.n) if self.fused else rl.micro_batch_size
        )

    def _frozen(self, path: str):
        from ..core.models import load_causal_lm

        return load_causal_lm(dataclasses.replace(self.cfg.model, dtype="fp32"), path).to(self.acc.device)

    def policy_params(self):
        return [p for p in self.policy.parameters() if p.requires_grad]

    def critic_params(self):
        if self.value_head is None:
            return []
        trunk = (
            [p for p in self.critic_lm.parameters() if p.requires_grad] if self.critic_lm is not None else []
        )
        return trunk + list(self.value_head.parameters())

    def _optimizer(self):
        from ..core.training import optimizer_for_groups

        rl = self.rl
        groups = [{"params": self.policy_params(), "lr": rl.lr}]
        if self.critic_params():
            groups.append({"params": self.critic_params(), "lr": rl.critic_lr or rl.lr})
        total = max(1, rl.steps * rl.epochs * rl.mini_batches)
        return optimizer_for_groups(groups, rl.lr, rl.weight_decay, total, rl.warmup_ratio)

    # ------------------------------------------------------------------ passes

    def _values(self, ids, attn, R, hidden):
        h = hidden if self.critic_lm is None else trunk_hidden(self.critic_lm, ids, attn, R, self.share)
        return self.value_head(h).squeeze(-1).float()  # (N, R)

    def _ref_logits(self, ids, attn, R):
        kw = dict(temperature=self.temperature, share_prefix=self.share)
        if self.ref is not None:
            return forward(self.ref, ids, attn, R, **kw)[0]
        with self.policy.disable_adapter():
            return forward(self.policy, ids, attn, R, **kw)[0]

    def score(self, ids, attn, resp, R, policy: bool = True):
        """No-grad pass: policy and reference log-probs (N, R) and values (N, R) or None
        (with `policy=False` only the reference: the fused update makes the rest itself)."""
        import torch

        from ..algos.losses import token_logprobs

        mbs = self.chunk
        old, ref, values = [], [], []
        with torch.no_grad(), self.autocast():
            for s in range(0, ids.size(0), mbs):
                i, a, r = ids[s : s + mbs], attn[s : s + mbs], resp[s : s + mbs]
                ref.append(token_logprobs(self._ref_logits(i, a, R), r))
                if not policy:
                    continue
                shared = self.value_head is not None and self.critic_lm is None
                logits, h = forward(
                    self.policy, i, a, R, hidden=shared, temperature=self.temperature, share_prefix=self.share
                )
                old.append(token_logprobs(logits, r))
                if self.value_head is not None:
                    values.append(self._values(i, a, R, h))
        return (torch.cat(old) if old else None), torch.cat(ref), torch.cat(values) if values else None

    # ------------------------------------------------------------------ one step

    def rollout_rewards(self, engine, idx: list[int], texts: list[str], step: int):
        """1-2. completions for the prompts `idx` and their scores (no-EOS penalty applied)."""
        import torch

        from ..algos.shaping import penalize_missing_eos
        from .rewards import RewardError

        ro = engine.generate([texts[i] for i in idx], self.n, seed=self.cfg.seed + step)
        recs = [self.records[i] for i in idx for _ in range(self.n)]
        extra = sorted({k for r in recs for k in r if k != "prompt"})
        prompts, kw = [r["prompt"] for r in recs], {k: [r.get(k) for r in recs] for k in extra}
        try:
            totals, parts = self.reward(prompts, ro.texts, **kw)
        except RewardError as e:
            raise NonFiniteError(f"step {step}: {e}") from None
        scores = torch.tensor(totals, dtype=torch.float32, device=ro.response_ids.device)
        scores = penalize_missing_eos(scores, ro.ended, self.rl.missing_eos_penalty)
        self.last_monitor = self._monitor(prompts, ro.texts, kw)
        return ro, scores, parts

    def _monitor(self, prompts: list, completions: list[str], kw: dict) -> float | None:
        """Mean oracle reward of the rollouts (logged only), called like the reward; a monitor that
        fails is switched off with one line, it never stops training."""
        if self.monitor is None:
            return None
        try:
            got = self.monitor(prompts, completions, **kw)
            vals = [float(v) for v in got if v is not None]
            return sum(vals) / len(vals) if vals else None
        except Exception as e:  # e.g. prompts without the fields the task's reward reads
            print(f"[rlaif] rl: monitor/oracle switched off: the task's reward failed ({e})", flush=True)
            self.monitor = None
            return None

    def step(self, engine, idx: list[int], texts: list[str], step: int) -> tuple[dict, list[dict]]:
        """One RL step on prompts `idx`; returns (metrics, a few logged samples)."""
        import torch

        from ..algos.kl import k3
        from ..algos.losses import masked_mean

        t0 = time.time()
        ro, scores, parts = self.rollout_rewards(engine, idx, texts, step)
        t_gen = time.time() - t0
        mask = ro.response_mask.float()
        R = int(mask.sum(-1).max())
        resp, mask = ro.response_ids[:, :R], mask[:, :R]
        ids = torch.cat([ro.prompt_ids, resp], 1)
        attn = torch.cat([ro.prompt_mask, mask.long()], 1)
        if self.fused:  # 3-6 in one pass: its own detached log-probs are the "old" ones
            ref_logp = self.score(ids, attn, resp, R, policy=False)[1]
            old_logp, kl, adv, stats = self.fused_update(ids, attn, resp, mask, ref_logp, scores, step)
        else:
            # 3. log-probs of the policy and the reference, values
            old_logp, ref_logp, values = self.score(ids, attn, resp, R)
            # 4-5. per-token rewards and advantages
            kl, adv, returns = self.advantages(old_logp, ref_logp, values, scores, mask)
            # 6. updates
            stats = self.update(ids, attn, resp, mask, old_logp, values, adv, returns, step)
        # 7. KL controller, rollout weights
        beta = self.kl_ctl.value
        seq_kl = kl.sum(-1)
        self.kl_ctl.update(float(seq_kl.mean()), len(seq_kl))
        engine.sync(self.policy)
        lengths = mask.sum(-1)
        m = {
            "reward/mean": float(scores.mean()),
            "reward/std": float(scores.std()) if len(scores) > 1 else 0.0,
            **{f"reward/{k}": sum(v) / len(v) for k, v in parts.items()},
            **({"monitor/oracle": self.last_monitor} if self.last_monitor is not None else {}),
            "objective/mean": float(((1 - beta) * scores - beta * seq_kl).mean()),
            "kl/mean": float(seq_kl.mean()),
            "kl/coef": beta,
            "kl/k3": float((k3(old_logp, ref_logp) * mask).sum(-1).mean()),
            "response/length": float(lengths.mean()),
            "response/no_eos": float((~ro.ended).float().mean()),
            "advantage/mean": float(masked_mean(adv, mask)),
            **stats,
            "lr": self.sched.get_last_lr()[0],
            "perf/gen_s": t_gen,
            "perf/step_s": time.time() - t0,
            "perf/gen_tokens_per_s": ro.n_tokens / max(t_gen, 1e-9),
        }
        samples = [
            {
                "step": step,
                "prompt_index": idx[i // self.n],
                "completion": ro.texts[i],
                "reward": float(scores[i]),
                **{k: v[i] for k, v in parts.items()},
            }
            for i in range(min(self.rl.log_samples, len(ro.texts)))
        ]
        return m, samples

    def advantages(self, old_logp, ref_logp, values, scores, mask):
        """4-5. Per-token rewards (-beta KL_t everywhere, (1 - beta) r on the last token) and advantages."""
        from ..algos.losses import masked_whiten
        from ..algos.shaping import token_rewards

        beta = self.kl_ctl.value
        kl = self.kl_fn(old_logp, ref_logp) * mask  # (N, R)
        rewards = token_rewards(scores, kl, mask, beta)
        adv, returns = self.algo.advantage(
            rewards, mask, values, group_size=self.n, gamma=self.rl.gamma, lam=self.rl.gae_lambda
        )
        if self.algo.whiten:
            adv = masked_whiten(adv, mask)
        return kl, adv, returns

    def fused_update(self, ids, attn, resp, mask, ref_logp, scores, step: int):
        """3-6 for one epoch and one mini-batch (a2c, rloo): the training forward is also the scoring
        pass. Its detached log-probs and values are the "old" ones, so the ratio is exactly 1 and the
        gradient is the same as after a separate no-grad pass, one policy forward cheaper.
        Micro-batches hold whole prompt groups, so RLOO's baselines never straddle two of them."""
        import torch

        from ..algos.losses import entropy_from_logits, masked_mean, policy_loss, token_logprobs, value_loss

        N, R = ids.size(0), resp.size(1)
        mbs = self.chunk
        shared = self.value_head is not None and self.critic_lm is None
        acc: dict[str, list[float]] = {}
        olds, kls, advs = [], [], []
        for s in range(0, N, mbs):
            sl, m = slice(s, s + mbs), mask[s : s + mbs]
            with self.autocast():
                logits, h = forward(
                    self.policy,
                    ids[sl],
                    attn[sl],
                    R,
                    hidden=shared,
                    temperature=self.temperature,
                    share_prefix=self.share,
                )
                logp = token_logprobs(logits, resp[sl])
                v = self._values(ids[sl], attn[sl], R, h) if self.value_head is not None else None
            old = logp.detach()
            kl, adv, ret = self.advantages(
                old, ref_logp[sl], v.detach() if v is not None else None, scores[sl], m
            )
            pl, ps = policy_loss(logp, old, adv, m)
            loss = pl
            if v is not None:
                vl, _ = value_loss(v, v.detach(), ret, m)
                loss = loss + self.rl.vf_coef * vl
            self._check(loss, step, "loss")
            self.acc.backward(loss * m.size(0) / N)
            with torch.no_grad():
                ent = masked_mean(entropy_from_logits(logits.detach()), m)
            _add(
                acc,
                {
                    "loss/policy": pl,
                    "loss/total": loss,
                    "policy/entropy": ent,
                    "policy/approx_kl": ps["approx_kl"],
                    **({"loss/value": vl, "value/mean": masked_mean(v.detach(), m)} if v is not None else {}),
                },
            )
            olds.append(old), kls.append(kl), advs.append(adv)
        _add(acc, self._opt_step(step))
        stats = {k: sum(v) / len(v) for k, v in acc.items()}
        return torch.cat(olds), torch.cat(kls), torch.cat(advs), stats

    def update(self, ids, attn, resp, mask, old_logp, old_values, adv, returns, step: int) -> dict:
        """6. `epochs` passes over the batch, `mini_batches` optimizer steps each."""
        import torch

        from ..algos.losses import entropy_from_logits, masked_mean, policy_loss, token_logprobs, value_loss

        rl, N, R = self.rl, ids.size(0), resp.size(1)
        g = torch.Generator().manual_seed(self.cfg.seed * 100003 + step)
        clip = rl.clip_range if self.algo.clip else None
        vclip = rl.value_clip if self.algo.clip and rl.value_clip else None
        shared = self.value_head is not None and self.critic_lm is None
        acc: dict[str, list[float]] = {}
        for _ in range(rl.epochs):
            perm = torch.randperm(N, generator=g) if rl.epochs > 1 or rl.mini_batches > 1 else torch.arange(N)
            for mb in perm.chunk(rl.mini_batches):
                for micro in mb.split(rl.micro_batch_size):
                    m = mask[micro]
                    with self.autocast():
                        logits, h = forward(
                            self.policy,
                            ids[micro],
                            attn[micro],
                            R,
                            hidden=shared,
                            temperature=self.temperature,
                            share_prefix=self.share,
                        )
                        logp = token_logprobs(logits, resp[micro])
                        pl, ps = policy_loss(logp, old_logp[micro], adv[micro], m, clip)
                        loss, vl = pl, None
                        if self.value_head is not None:
                            v = self._values(ids[micro], attn[micro], R, h)
                            vl, vs = value_loss(v, old_values[micro], returns[micro], m, vclip)
                            loss = loss + rl.vf_coef * vl
                    self._check(loss, step, "loss")
                    self.acc.backward(loss * len(micro) / len(mb))
                    with torch.no_grad():
                        ent = masked_mean(entropy_from_logits(logits.detach()), m)
                    _add(
                        acc,
                        {
                            "loss/policy": pl,
                            "loss/total": loss,
                            "policy/entropy": ent,
                            "policy/approx_kl": ps["approx_kl"],
                            **({"policy/clipfrac": ps["clipfrac"]} if clip else {}),
                            **(
                                {"loss/value": vl, "value/mean": masked_mean(v.detach(), m)}
                                if vl is not None
                                else {}
                            ),
                            **({"value/clipfrac": vs["clipfrac"]} if vclip else {}),
                        },
                    )
                _add(acc, self._opt_step(step))
        return {k: sum(v) / len(v) for k, v in acc.items()}

    def _opt_step(self, step: int) -> dict:
        """Clip, step, schedule. `acc.backward` multiplies the loss by the fp16 loss scale, and this
        optimizer is not wrapped by accelerate, so the scaler's part is done here: unscale before
        clipping (or the norm is x65536 and clipping always fires), and let it step, skipping a
        step whose gradients overflowed (the scaler then lowers its scale)."""
        import torch

        scaler = getattr(self.acc, "scaler", None)
        if scaler is not None:
            scaler.unscale_(self.opt)
        out = {}
        for name, params in (("policy", self.policy_params()), ("value", self.critic_params())):
            if not params:
                continue
            norm = torch.nn.utils.clip_grad_norm_(params, self.rl.grad_clip or float("inf"))
            if scaler is None:
                self._check(norm, step, f"{name} gradient norm")
            if math.isfinite(float(norm)):
                out[f"{name}/grad_norm"] = float(norm)
        skipped = False
        if scaler is not None:
            scale = scaler.get_scale()
            scaler.step(self.opt)
            scaler.update()
            skipped = scaler.get_scale() < scale  # it lowers the scale exactly when it skipped
            out["perf/skipped_step"] = float(skipped)
        else:
            self.opt.step()
        if not skipped:  # as accelerate does: the schedule follows the steps actually taken
            self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        return out

    @staticmethod
    def _check(x, step: int, what: str) -> None:
        x = float(x.detach() if hasattr(x, "detach") else x)
        if not math.isfinite(x):
            raise NonFiniteError(
                f"step {step}: {what} is {x}; stopping (the last good checkpoint "
                f"is kept: fix the cause, e.g. a lower rl.lr, and rerun to resume)"
            )

    # ------------------------------------------------------------------ state

    def state_dict(self, step: int) -> dict:
        def trainable(m):
            return {k: v.detach().clone() for k, v in m.named_parameters() if v.requires_grad}

        return {
            "step": step,
            "policy": trainable(self.policy),
            "critic": trainable(self.critic_lm) if self.critic_lm is not None else None,
            "value_head": self.value_head.state_dict() if self.value_head is not None else None,
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "kl": self.kl_ctl.state_dict(),
        }

    def load_state_dict(self, state: dict) -> int:
        import torch

        with torch.no_grad():
            for model, key in ((self.policy, "policy"), (self.critic_lm, "critic")):
                if model is not None and state.get(key) is not None:
                    params = dict(model.named_parameters())
                    for k, v in state[key].items():
                        params[k].copy_(v)
        if self.value_head is not None:
            self.value_head.load_state_dict(state["value_head"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.kl_ctl.load_state_dict(state["kl"])
        return state["step"]

    def export(self, dest: Path):
        """The final policy as full weights: what `sample`, `eval` and users load."""
        from ..core.models import save_model

        model = self.policy.merge_and_unload() if self.lora else self.policy
        return save_model(model, self.tok, dest)


def _add(acc: dict, values: dict) -> None:
    for k, v in values.items():
        acc.setdefault(k, []).append(float(v.detach() if hasattr(v, "detach") else v))


# --------------------------------------------------------------------------- checkpoints


def checkpoints(folder: Path) -> list[Path]:
    """Complete resumable checkpoints, oldest first."""
    d = folder / "checkpoints"
    found = [p for p in d.glob("step-*") if (p / "trainer.pt").exists()] if d.exists() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def save_checkpoint(trainer: Trainer, folder: Path, step: int, keep: int) -> Path:
    """Written to a temporary folder then renamed: a kill mid-save never leaves a half checkpoint."""
    import torch

    dest = folder / "checkpoints" / f"step-{step:06d}"
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(trainer.state_dict(step), tmp / "trainer.pt")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    for old in checkpoints(folder)[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def truncate_log(path: Path, last_step: int) -> None:
    """Drop lines logged after the checkpoint we resume from: the log matches an unbroken run."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= last_step]
    path.write_text("".join(ln + "\n" for ln in keep))


# --------------------------------------------------------------------------- trackers


class Trackers:
    """Optional metric sinks besides metrics.jsonl; a requested one that is not installed is skipped."""

    def __init__(self, names: list[str], logdir: Path, config: dict, enabled: bool = True):
        self.sinks = []
        for name in names if enabled else []:
            try:
                self.sinks.append(self._open(name, logdir, config))
            except ImportError as e:
                print(
                    f"[rlaif] rl: tracker {name!r} is not installed ({e}); logging to metrics.jsonl only",
                    flush=True,
                )

    @staticmethod
    def _open(name: str, logdir: Path, config: dict):
        if name == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            w = SummaryWriter(str(logdir / "tensorboard"))
            return lambda step, m: [w.add_scalar(k, v, step) for k, v in m.items()] and w.flush()
        if name == "trackio":
            import trackio

            trackio.init(project="rlaif", config=config)
            return lambda step, m: trackio.log(m, step=step)
        if name == "wandb":
            import wandb

            wandb.init(project="rlaif", config=config, dir=str(logdir))
            return lambda step, m: wandb.log(m, step=step)
        raise ValueError(f"unknown tracker {name!r}; known: tensorboard, trackio, wandb")

    def log(self, step: int, metrics: dict) -> None:
        for sink in self.sinks:
            sink(step, metrics)


# --------------------------------------------------------------------------- the stage


def make_engine(cfg: Config, trainer: Trainer, model_path: str):
    from .rollouts import HFRollout, OpenAIRollout

    rl = cfg.rl
    if rl.rollout == "hf":
        return HFRollout(
            trainer.policy,
            trainer.tok,
            rl.temperature,
            rl.top_p,
            rl.max_new_tokens,
            rl.max_prompt_length,
            autocast=trainer.autocast,
        )
    if rl.rollout == "openai":
        if not rl.server_url:
            raise ValueError("rl.rollout=openai needs rl.server_url (e.g. http://localhost:8000/v1)")
        return OpenAIRollout(
            trainer.tok,
            rl.server_url,
            rl.server_model or model_path,
            rl.temperature,
            rl.top_p,
            rl.max_new_tokens,
            rl.max_prompt_length,
            sync_fn=weight_sync(rl),
        )
    raise ValueError(f"rl.rollout must be hf or openai, got {rl.rollout!r}")


def weight_sync(rl):
    """The hook that pushes fresh weights to the rollout servers after each update, or None."""
    if rl.weight_sync == "none":
        return None
    if rl.weight_sync == "vllm":
        from .weight_sync import VLLMWeightSync

        return VLLMWeightSync(rl.weight_sync_url or rl.server_url, rl.weight_sync_dtype)
    raise ValueError(f"rl.weight_sync must be none or vllm, got {rl.weight_sync!r}")


def prompt_batches(
    prompts: list[list[int]], batch_size: int, steps: int, seed: int, min_prefix: int = 0
) -> list[list[int]]:
    """Step k's prompt indices, a fixed function of the seed: shuffled passes over the prompts.

    With `min_prefix` > 0 a step's prompts share a long prefix where the data allows (one database's
    schema: `algos.packing.prefix_batches`, as SFT batches), so the rollout prefills the schema once
    and the training passes pack it once for the whole batch instead of once per prompt. Only full
    batches are kept (a pooled remainder may leave one short batch per pass)."""
    import itertools

    from ..algos.packing import prefix_batches, prefix_clusters
    from ..core.training import epoch_batches

    n_records = len(prompts)
    if batch_size > n_records:
        raise ValueError(f"rl.batch_size={batch_size} is larger than the {n_records} RL prompts")
    if min_prefix > 0:
        clusters = prefix_clusters(prompts, min_prefix=min_prefix)
        return list(itertools.islice(prefix_batches(clusters, batch_size, 1e9, seed, batch_size), steps))
    return list(
        itertools.islice(
            epoch_batches(n_records, batch_size, steps * batch_size / n_records + 1, seed), steps
        )
    )


def train(cfg: Config, records: list[dict], out_dir: Path, model_path: str, run: Run | None = None) -> dict:
    from ..core.config import to_dict
    from ..core.models import describe_model, encode_prompt, load_tokenizer, render_prompt
    from ..core.runs import JsonlAppender
    from ..core.training import MetricLog, Progress, accelerator
    from .rewards import build_rewards, oracle_monitor

    rl = cfg.rl
    acc = accelerator(cfg.seed, cfg.model)
    tok = load_tokenizer(model_path, cfg.model.trust_remote_code)
    reward = build_rewards(rl.rewards, cfg)
    trainer = Trainer(cfg, model_path, records, reward, acc, tok, oracle_monitor(rl.rewards, cfg))
    texts = [render_prompt(tok, r["prompt"], cfg.model.chat_template) for r in records]
    batches = prompt_batches(
        [encode_prompt(tok, t) for t in texts], rl.batch_size, rl.steps, cfg.seed, trainer.share
    )
    start = 0
    if checkpoints(out_dir):
        import torch

        last = checkpoints(out_dir)[-1]
        start = trainer.load_state_dict(torch.load(last / "trainer.pt", weights_only=False))
        print(f"[rlaif] rl: resuming from {last} (step {start} of {rl.steps})", flush=True)
    truncate_log(out_dir / "metrics.jsonl", start)
    truncate_log(out_dir / "samples.jsonl", start - 1)
    engine = make_engine(cfg, trainer, model_path)
    log = MetricLog(out_dir / "metrics.jsonl", acc.is_main_process)
    trackers = Trackers(rl.trackers, out_dir, to_dict(cfg), acc.is_main_process)
    bar = Progress(rl.steps, "rl", disable=not acc.is_local_main_process)
    bar.update(start)
    history: list[dict] = []
    t0 = time.time()
    with JsonlAppender(out_dir / "samples.jsonl") as samples_out:
        for step in range(start, rl.steps):
            metrics, samples = trainer.step(engine, batches[step], texts, step)
            history.append(metrics)
            done = step + 1
            if done % rl.log_every == 0 or done == rl.steps:
                log.write(done, metrics)
                trackers.log(done, metrics)
            samples_out.write_many(samples)
            bar.update(
                1,
                tokens=int(metrics["response/length"] * len(batches[step]) * trainer.n),
                reward=metrics["reward/mean"],
                kl=metrics["kl/mean"],
            )
            if (rl.save_every and done % rl.save_every == 0) or done == rl.steps:
                save_checkpoint(trainer, out_dir, done, rl.keep_checkpoints)
    bar.close()
    if run:
        run.time("train_s", time.time() - t0)
    if acc.is_main_process:
        trainer.export(out_dir / "checkpoint")
    return summarize(out_dir / "metrics.jsonl") | {
        "steps": rl.steps,
        "resumed_from": start,
        "prompts": len(records),
        "samples_per_prompt": trainer.n,
        "model": describe_model(trainer.policy),
    }


def summarize(metrics_file: Path) -> dict:
    """Reward and KL at the start and the end of training (means over the first/last tenth)."""
    rows = (
        [json.loads(x) for x in metrics_file.read_text().splitlines() if x.strip()]
        if metrics_file.exists()
        else []
    )
    if not rows:
        return {}
    k = max(1, len(rows) // 10)

    def mean(part: list[dict], key: str) -> float | None:
        vals = [r[key] for r in part if key in r]
        return sum(vals) / len(vals) if vals else None

    return {
        "reward_first": mean(rows[:k], "reward/mean"),
        "reward_last": mean(rows[-k:], "reward/mean"),
        "kl_last": mean(rows[-k:], "kl/mean"),
        # the task's own reward of the rollouts where the training reward was learned: did it follow?
        "oracle_first": mean(rows[:k], "monitor/oracle"),
        "oracle_last": mean(rows[-k:], "monitor/oracle"),
        "step_s": mean(rows, "perf/step_s"),
    }
