"""RL algorithm pieces as small pure tensor functions, registered by name (verl's layout).

- `advantages.py`: advantage estimators `a2c`, `ppo` (GAE), `rloo`, and the `ALGOS` table saying
  which of them needs a critic, clips, or whitens.
- `kl.py`: Schulman's per-token KL estimators k1/k2/k3 and the fixed/adaptive KL coefficient.
- `shaping.py`: the per-token RL reward (-beta KL on every token, the score on the last) and the
  missing-EOS penalty.
- `losses.py`: masked means, whitening, the policy-gradient loss (optionally clipped), the value loss
  (optionally clipped), token log-probabilities and entropy from logits.

(`preference.py`, the reward-model losses, lives here too: see its docstring.)

Tensors are (B, T) over response tokens with a 0/1 `mask` (1 = a real response token, EOS included).
Nothing here imports a model: every function is tested against hand-computed values or a loop.
"""
