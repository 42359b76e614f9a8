"""Reinforcement learning: the trainer (one RL step), rollouts (the policy or an OpenAI-compatible
server), reward sources (RM, direct LLM score, SALMON, oracle, python function) and weight sync to
a serving engine. `stages/rl.py` only wires these together."""
