"""Typed configuration: nested dataclasses, loaded from YAML, overridden by dotted flags.

Design decisions:
1. One `Config` for the whole pipeline, one dataclass per concern (`model`, `sft`, `sample`, ...).
   A stage reads only the sections it names, so one YAML file can drive one stage or all of them.
2. Every field carries a one-line help text (`opt(default, "help")`); `rlaif STAGE --help` is
   generated from these, so the documentation cannot drift from the code.
3. Unknown keys, wrong types and values outside an option's choices (`opt(..., choices=...)`, and
   the structured options checked in `check_config`: reward entries, the eval labeler's overrides,
   eval policies) are errors that name the key, where it came from (file or flag) and the allowed
   values, raised when the config loads: a typo must never be silently ignored, nor found only
   after an hour of work.
4. No torch here: parsing a config (and `--help`) stays instant.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration problem, with the key and its origin in the message."""


def opt(default: Any, help: str, choices: tuple | None = None, or_path: bool = False) -> Any:
    """A dataclass field with a default and a help line (mutable defaults are copied).

    `choices`: the allowed values (for a list field, of each element); `or_path`: an existing file
    or folder is allowed besides them (a preamble .txt, a template folder)."""
    meta = {"help": help, "choices": choices, "or_path": or_path}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    if dataclasses.is_dataclass(default):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- sections

DTYPES = ("auto", "bf16", "fp16", "fp32")


@dataclass
class LoraConfig:
    enabled: bool = opt(False, "train LoRA adapters (peft) instead of all weights")
    r: int = opt(16, "LoRA rank")
    alpha: int = opt(32, "LoRA scaling alpha")
    dropout: float = opt(0.05, "dropout on the LoRA path")
    target_modules: list = opt(
        ["q_proj", "k_proj", "v_proj", "o_proj"], "module names to adapt, or ['all-linear']"
    )


@dataclass
class ModelConfig:
    name: str = opt(
        "smollm2-135m",
        "policy model: Hugging Face id, local folder, or built-in name (smollm2-135m, qwen2.5-coder-0.5b)",
    )
    dtype: str = opt(
        "auto", "auto (bf16 where the hardware supports it, else fp32), bf16, fp16, fp32", choices=DTYPES
    )
    device: str = opt("auto", "auto (cuda if available, else cpu), cpu, cuda, cuda:1, ...")
    chat_template: bool = opt(True, "wrap prompts in the tokenizer's chat template when it has one")
    trust_remote_code: bool = opt(False, "allow custom modeling code from the hub")
    threads: int = opt(0, "torch CPU threads (0: torch's default)")
    lora: LoraConfig = opt(LoraConfig(), "LoRA settings")


@dataclass
class SFTConfig:
    data: str = opt(
        "",
        "SFT records {prompt, output}: .jsonl/.json/.parquet file, a `datasets` "
        "name (hf:NAME[:SPLIT]), or task:SPLIT; empty: the task's `sft` split",
    )
    limit: int = opt(0, "use only the first N records (0: all)")
    epochs: float = opt(1.0, "passes over the data")
    max_steps: int = opt(0, "stop after this many optimizer steps (0: from epochs)")
    batch_size: int = opt(8, "sequences per micro-batch, across all processes (each takes a share)")
    grad_accum: int = opt(1, "micro-batches per optimizer step")
    lr: float = opt(5e-5, "peak learning rate (AdamW, linear warm-up then linear decay)")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    warmup_ratio: float = opt(0.05, "share of steps used for warm-up")
    max_length: int = opt(512, "truncate prompt+output to this many tokens")
    grad_clip: float = opt(1.0, "clip the gradient norm to this (0: off)")
    log_every: int = opt(10, "log loss every N optimizer steps")
    share_prefix: bool = opt(
        True,
        "batch examples whose prompts share a prefix (a database schema) and "
        "compute that prefix once per batch: one sequence [prefix, rest_1 + output_1, "
        "...] with a block mask; the same loss and gradients as separate rows",
    )
    min_prefix: int = opt(16, "share_prefix: shortest common prompt prefix (tokens) worth sharing")
    gradient_checkpointing: bool = opt(
        True, "recompute activations in the backward pass (less memory, ~25% more compute)"
    )


@dataclass
class SampleConfig:
    prompts: str = opt(
        "",
        "prompts to sample for: records with a `prompt` field (file, hf:NAME, "
        "task:SPLIT); empty: the task's `preference` split",
    )
    model: str = opt(
        "", "policy to sample from; empty: the sft stage's checkpoint if it exists, else model.name"
    )
    limit: int = opt(0, "use only the first N prompts (0: all)")
    n: int = opt(2, "completions per prompt")
    temperature: float = opt(1.0, "sampling temperature (0: greedy)")
    top_p: float = opt(1.0, "nucleus sampling threshold")
    max_new_tokens: int = opt(128, "maximum generated tokens per completion")
    batch_size: int = opt(8, "prompts per generate() call")
    max_prompt_length: int = opt(1024, "truncate prompts to their last N tokens")
    server_url: Union[str, list] = opt(
        "",
        "sample through OpenAI-compatible servers instead of loading the "
        "model: a base URL or a list (load spread, failover); empty: local",
    )
    server_model: str = opt("", "model name on the sampling servers; empty: the policy path")


@dataclass
class RMConfig:
    data: str = opt(
        "",
        "comparisons {prompt, response_a, response_b, p_a}, preferences {prompt, chosen, "
        "rejected} or SALMON records {prompt, response_a, response_b, principle_scores} "
        "(file or hf:NAME); empty: OUT/label/comparisons.jsonl",
    )
    eval_data: str = opt(
        "",
        "held-out pairs (comparisons or preferences, e.g. human/oracle labels); "
        "empty: hold out eval_fraction of `data`",
    )
    eval_fraction: float = opt(0.1, "share of `data` held out for evaluation when eval_data is empty")
    limit: int = opt(0, "use only the first N training records (0: all)")
    model: str = opt("", "base model for the RM; empty: the sft checkpoint if it exists, else model.name")
    loss: str = opt(
        "soft",
        "soft: cross-entropy against p_a (RLAIF, METHOD.md 3); hard: Bradley-Terry "
        "on argmax labels (p_a = 0.5 pairs dropped)",
        choices=("soft", "hard"),
    )
    margin: float = opt(
        0.0, "required reward margin inside the log-sigmoids (records may carry their own `margin`)"
    )
    center_coef: float = opt(0.0, "reward centering: add coef * mean((r_a + r_b)^2) to the loss")
    lora: bool = opt(
        False, "train LoRA adapters (settings from model.lora) plus the head instead of all weights"
    )
    epochs: float = opt(1.0, "passes over the training pairs")
    max_steps: int = opt(0, "stop after this many optimizer steps (0: from epochs)")
    batch_size: int = opt(8, "pairs per micro-batch")
    grad_accum: int = opt(1, "micro-batches per optimizer step")
    lr: float = opt(2e-5, "peak learning rate (AdamW, linear warm-up then linear decay)")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    warmup_ratio: float = opt(0.03, "share of steps used for warm-up")
    max_length: int = opt(1024, "truncate prompt+response to this many tokens (prompt loses tokens first)")
    grad_clip: float = opt(1.0, "clip the gradient norm to this (0: off)")
    gradient_checkpointing: bool = opt(
        True, "recompute activations in the backward pass (less memory, ~25% more compute)"
    )
    share_prompt: bool = opt(
        True,
        "encode a pair's prompt once: one row [prompt, a, b] with a block mask "
        "(same rewards as two rows, fewer tokens); false: two rows per pair",
    )
    min_prefix: int = opt(
        16,
        "share_prompt: pairs whose prompts share this many tokens (a database schema) are drawn "
        "into one batch (not with rm.salmon) and packed into one row, the schema encoded once "
        "(0: per pair only)",
    )
    log_every: int = opt(10, "log loss every N optimizer steps")
    eval_batch_size: int = opt(32, "sequences per forward pass when evaluating and scoring")
    salmon: bool = opt(
        False,
        "principle-following RM: build training pairs from `principle_scores` "
        "(METHOD.md 7); the RM prompt carries the principles",
    )
    principles: str = opt(
        "", "principle file (YAML) for SALMON; empty: the built-in rlaif/principles/default.yaml"
    )
    principles_per_example: int = opt(3, "SALMON: principles sampled into each training prompt")
    negate_prob: float = opt(0.5, "SALMON: probability of negating each sampled principle")
    label_noise: float = opt(0.05, "SALMON: share of synthetic labels flipped at random")
    rl_sampled: int = opt(
        3,
        "SALMON at use time: principles sampled by weight per prompt, added to the "
        "file's fixed anti-reward-hacking ones",
    )
    host: str = opt("127.0.0.1", "`rlaif rm serve`: address to listen on")
    port: int = opt(8500, "`rlaif rm serve`: port to listen on")
    serve_model: str = opt("", "`rlaif rm serve`: RM folder to serve; empty: OUT/rm/checkpoint")


@dataclass
class OpenAIBackendConfig:
    base_url: Union[str, list] = opt(
        "",
        "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, "
        "llama.cpp server, Ollama), or a list of them: requests spread over "
        "the healthy ones, failed ones move on; empty: OPENAI_BASE_URL or api.openai.com",
    )
    api_key_env: str = opt(
        "OPENAI_API_KEY", "environment variable holding the API key ('none' if the server needs none)"
    )
    model: str = opt("", "model name the server knows; empty: label.model")
    api: str = opt(
        "completions",
        "completions (raw prompt, the paper's format) or chat (the ending goes "
        "into the user turn; for servers without /v1/completions)",
        choices=("completions", "chat"),
    )
    top_logprobs: int = opt(20, "log-probabilities requested per position (the choices must be among them)")
    concurrency: int = opt(8, "requests in flight at once, per server")
    max_retries: int = opt(
        6,
        "retries on 429, 5xx, timeouts and connection errors, beyond one try per "
        "server (a failing server cools down, doubling each time)",
    )
    timeout: float = opt(60.0, "seconds per request")
    backoff: float = opt(1.0, "first retry delay in seconds (doubles each retry, with jitter)")


@dataclass
class FakeBackendConfig:
    accuracy: float = opt(0.8, "share of pairs where the fake labeler prefers the gold-better response")
    confidence: float = opt(0.75, "P(preferred) the fake labeler assigns, before position bias")
    position_bias: float = opt(0.0, "logit added to slot 1 (positive: prefers whatever is shown first)")


@dataclass
class LabelConfig:
    input: str = opt(
        "",
        "pairs to label: samples {prompt, completions} (first two completions), "
        "comparisons {prompt, response_a, response_b}, preferences {prompt, chosen, "
        "rejected}; file or hf:NAME; empty: OUT/sample/samples.jsonl",
    )
    limit: int = opt(0, "label only the first N pairs (0: all)")
    pairs: str = opt(
        "first",
        "samples input: first (the first two completions: the paper's pair) or all (every pair "
        "of distinct completions: up to n(n-1)/2 per prompt; identical samples give none)",
        choices=("first", "all"),
    )
    mode: str = opt(
        "pairwise",
        "pairwise (soft labels, METHOD.md 2) or principles (SALMON per-principle scores, METHOD.md 7)",
        choices=("pairwise", "principles"),
    )
    backend: str = opt(
        "hf",
        "hf (local transformers model), openai (any OpenAI-compatible server), fake "
        "(deterministic, set accuracy and position bias), oracle (task ground truth or "
        "human labels: the RLHF arm)",
        choices=("hf", "openai", "fake", "oracle"),
    )
    model: str = opt("", "labeler model for hf (HF id, folder, built-in name); empty: model.name")
    dtype: str = opt("auto", "labeler dtype for hf: auto (bf16 where fast), bf16, fp16, fp32", choices=DTYPES)
    template: str = opt(
        "",
        "prompt template: a built-in (summarize, helpful, harmless, text2sql) or a "
        "folder of .txt files like rlaif/labelers/templates/summarize; empty: the task's",
        choices=("", "summarize", "helpful", "harmless", "text2sql"),
        or_path=True,
    )
    preamble: str = opt(
        "detailed",
        "base, detailed (v1: 'OpenAI'), or a path to a .txt preamble",
        choices=("base", "detailed", "openai"),
        or_path=True,
    )
    exemplars: str = opt(
        "",
        "few-shot exemplars {prompt, response_1, response_2, preferred: 1|2, "
        "rationale?} (JSONL); empty: 0-shot (the paper's default)",
    )
    shots: int = opt(0, "number of exemplars to include (0: none)")
    chat_template: bool = opt(
        True,
        "hf: put preamble+sample in a user turn and the ending at the start "
        "of the assistant turn, when the tokenizer has a chat template",
    )
    orders: str = opt(
        "both",
        "both (score (a,b) and (b,a), average: removes position bias), one (a single "
        "order, chosen per pair from a content hash), ab (always a first)",
        choices=("both", "one", "ab"),
    )
    cot: bool = opt(False, "two-step chain of thought: greedy rationale, then the ending and the scores")
    cot_max_tokens: int = opt(512, "longest rationale in tokens")
    self_consistency: int = opt(
        1, "rationales sampled per order and averaged (1: off; the paper found it hurts)"
    )
    sc_temperature: float = opt(1.0, "sampling temperature for self-consistency rationales")
    execution_results: bool = opt(False, "text2sql: show each query's execution result under it")
    postprocess: str = opt(
        "none",
        "none (the paper), temperature (sharpen p_a with a temperature fitted "
        "on gold labels), threshold (drop pairs with |p_a - 0.5| < threshold), hard "
        "(argmax: p_a in {0, 1})",
        choices=("none", "temperature", "threshold", "hard"),
    )
    threshold: float = opt(0.05, "confidence threshold for postprocess=threshold")
    calibration: str = opt(
        "",
        "gold-labeled pairs (preferences or comparisons) to fit the temperature on; "
        "empty: the gold-labeled input pairs themselves (in-sample)",
    )
    gold: str = opt(
        "auto",
        "reference labels for the quality report: auto (record fields chosen/gold_p_a, "
        "else the task's oracle), field, task, or none",
        choices=("auto", "field", "task", "none"),
    )
    labels: str = opt(
        "",
        "oracle backend: human labels {prompt, chosen, rejected} or comparisons with "
        "p_a; empty: the task's oracle",
    )
    principles: str = opt(
        "",
        "mode=principles: principle file (YAML list of {name, definition, weight}); empty: the built-in list",
    )
    batch_size: int = opt(8, "hf: prompts per forward pass (both orders of a pair count as two)")
    share_prefix: bool = opt(
        True,
        "hf: encode a shared prefix once and reuse its KV cache (the preamble once per run, a text2sql "
        "schema once per database, a pair's text once for both orders)",
    )
    min_choice_mass: float = opt(
        1e-4,
        "a prompt whose choice tokens get less total probability than "
        "this is degenerate: counted and reported, not labeled",
    )
    max_length: int = opt(2048, "hf: truncate each response to fit prompts in this many tokens")
    cache: Union[str, bool] = opt(
        "auto",
        "annotation cache keyed by (labeler, prompt, a, b): auto ($RLAIF_CACHE/labels), a folder, or off",
    )
    progress: bool = opt(True, "show a progress bar (pairs/s, ETA)")
    openai: OpenAIBackendConfig = opt(OpenAIBackendConfig(), "openai backend")
    fake: FakeBackendConfig = opt(FakeBackendConfig(), "fake backend")


@dataclass
class EvalConfig:
    policies: dict = opt(
        {},
        "policies to compare, name -> checkpoint folder, stage folder (OUT/rl), run "
        "root, model name, or a .jsonl of outputs {prompt, completion}; empty: sft "
        "(OUT/sft/checkpoint), rl and dpo (OUT/rl, OUT/dpo) where present, else model.name",
    )
    baseline: str = opt("", "the policy the others are compared with; empty: the first")
    head_to_head: bool = opt(True, "judge every pair of policies, not only each one against the baseline")
    prompts: str = opt("", "held-out prompts (file, hf:NAME, task:SPLIT); empty: the task's `test` split")
    limit: int = opt(0, "use only the first N prompts (0: all)")
    stride: int = opt(
        1, "use every k-th prompt (then `limit`): an even sample of a split ordered by database or kind"
    )
    temperature: float = opt(0.0, "sampling temperature of the policies' outputs (0: greedy)")
    top_p: float = opt(1.0, "nucleus sampling threshold")
    max_new_tokens: int = opt(128, "maximum generated tokens per output")
    batch_size: int = opt(8, "prompts per generate() call")
    max_prompt_length: int = opt(1024, "truncate prompts to their last N tokens")
    judges: list = opt(
        ["oracle"],
        "pairwise judges: oracle (the task's ground truth, e.g. text2sql "
        "execution match), labeler (the label section's labeler, both orders averaged)",
        choices=("oracle", "labeler"),
    )
    labeler: dict = opt(
        {},
        "overrides of the label section for the labeler judge, e.g. {backend: "
        "openai, model: NAME} to judge with a stronger model than the one that labeled",
    )
    judge_batch_size: int = opt(16, "pairs per judge call (each call's judgments are saved at once)")
    harmless: str = opt(
        "",
        "single-output harmlessness rater: empty (off) or task (the task's `harmless` judgment)",
        choices=("", "task"),
    )
    tie_margin: float = opt(0.0, "a judgment within this of 0.5 counts as a tie (half a win)")
    bootstrap: int = opt(2000, "bootstrap resamples for the 95% intervals")
    length_feature: str = opt(
        "log_ratio",
        "length control regressor: log_ratio or ratio (of A's to B's "
        "length in characters), read where the lengths are equal",
        choices=("log_ratio", "ratio"),
    )
    examples: int = opt(5, "prompts whose outputs the report shows side by side")
    title: str = opt("", "report title; empty: from the run folder name")
    report: bool = opt(True, "write report.html and summary.md")


@dataclass
class RLConfig:
    prompts: str = opt(
        "",
        "RL prompts {prompt, ...} (file, hf:NAME, task:SPLIT); extra fields go to the "
        "reward functions; empty: the task's `rl` split (disjoint from SFT data)",
    )
    limit: int = opt(0, "use only the first N prompts (0: all)")
    policy: str = opt(
        "", "initial policy and reference; empty: the sft checkpoint if it exists, else model.name"
    )
    algo: str = opt(
        "a2c",
        "a2c (the paper: learned value baseline, no clipping), ppo (GAE, clipped "
        "objectives), rloo (k samples per prompt, leave-one-out baseline, no critic)",
        choices=("a2c", "ppo", "rloo"),
    )
    rewards: list = opt(
        [{"source": "oracle", "weight": 1.0}],
        "reward sources, summed with weights: [{source, weight, name, ...options}]; "
        "sources: oracle, python (function: pkg.mod:fn), rm (path), salmon (path, "
        "principles), direct (labeler d-RLAIF score)",
    )
    steps: int = opt(100, "RL steps (one rollout batch and its updates each)")
    batch_size: int = opt(8, "prompts per step")
    n: int = opt(0, "completions per prompt (0: the algorithm's default, 1 for a2c/ppo, 4 for rloo)")
    temperature: float = opt(0.9, "rollout sampling temperature (the paper: 0.9)")
    top_p: float = opt(1.0, "rollout nucleus sampling threshold")
    max_new_tokens: int = opt(64, "maximum generated tokens per completion")
    max_prompt_length: int = opt(1024, "truncate prompts to their last N tokens")
    kl_coef: float = opt(0.05, "beta in J = E[(1 - beta) r - beta KL(pi || pi_sft)] (the paper: 0.05)")
    kl_estimator: str = opt(
        "k1", "per-token KL estimator in the reward: k1 (log ratio), k2, k3", choices=("k1", "k2", "k3")
    )
    kl_target: float = opt(0.0, "adaptive KL controller target (nats per response; 0: fixed beta)")
    kl_horizon: int = opt(10000, "adaptive KL controller horizon (samples)")
    gamma: float = opt(1.0, "discount (the paper: 1)")
    gae_lambda: float = opt(0.95, "GAE lambda (ppo)")
    epochs: int = opt(1, "passes over each rollout batch (PPO's K epochs; a2c and rloo: 1)")
    mini_batches: int = opt(1, "optimizer steps per pass over a rollout batch")
    micro_batch_size: int = opt(8, "sequences per forward/backward (gradient accumulation below it)")
    clip_range: float = opt(0.2, "PPO policy ratio clip (ppo only)")
    value_clip: float = opt(0.2, "PPO value clip (ppo only; 0: off)")
    vf_coef: float = opt(0.1, "value loss weight")
    fused: bool = opt(
        True,
        "with one epoch and one mini-batch, let the training forward double as the "
        "scoring pass (same gradients, one policy forward fewer per step)",
    )
    share_prefix: bool = opt(
        True,
        "draw a step's prompts from one database where the data allows, and compute a prompt "
        "shared by a group's samples (and a schema shared by prompts) once in every "
        "training-side pass: one packed row per shared prefix with a block mask; the same "
        "log-probs, values and gradients as separate rows",
    )
    min_prefix: int = opt(16, "share_prefix: shortest common prompt prefix (tokens) worth sharing")
    gradient_checkpointing: bool = opt(
        True, "recompute the policy's (and critic's) activations in the backward pass: less memory"
    )
    critic: str = opt(
        "separate",
        "separate (a second copy of the SFT model with a value head, as in "
        "the paper) or shared (a value head on the policy's trunk: half the compute)",
        choices=("separate", "shared"),
    )
    lr: float = opt(1e-5, "policy learning rate (AdamW, linear decay to 0)")
    critic_lr: float = opt(0.0, "critic learning rate (0: same as lr)")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    warmup_ratio: float = opt(0.0, "share of optimizer steps used for warm-up")
    grad_clip: float = opt(1.0, "clip the gradient norm to this (0: off)")
    missing_eos_penalty: float = opt(0.0, "subtracted from the reward of a response cut off without EOS")
    rollout: str = opt(
        "hf",
        "where rollouts come from: hf (the policy in this process, KV cache) or "
        "openai (an OpenAI-compatible server such as vLLM: server_url, server_model)",
        choices=("hf", "openai"),
    )
    server_url: Union[str, list] = opt(
        "",
        "rollout server base URL, e.g. http://localhost:8000/v1, or a list "
        "of them: load spread, failover (rollout: openai)",
    )
    server_model: str = opt("", "model name on the rollout server (rollout: openai)")
    weight_sync: str = opt(
        "none",
        "after each update push the policy's weights to the rollout servers: none "
        "(the server keeps its weights: off-policy), vllm (vLLM's weight-transfer API over "
        "NCCL; see README 'Scaling out')",
        choices=("none", "vllm"),
    )
    weight_sync_url: Union[str, list] = opt("", "vLLM server(s) to push weights to; empty: rl.server_url")
    weight_sync_dtype: str = opt(
        "bf16",
        "dtype of the pushed weights: bf16, fp16, fp32 (the server's dtype)",
        choices=("bf16", "fp16", "fp32"),
    )
    save_every: int = opt(
        25, "checkpoint every N steps (0: only at the end); rerunning resumes from the last"
    )
    keep_checkpoints: int = opt(
        1, "resumable checkpoints kept (older ones are deleted once a newer one is complete)"
    )
    log_every: int = opt(1, "log metrics every N steps")
    log_samples: int = opt(2, "completions per step written to samples.jsonl (0: none)")
    trackers: list = opt(
        [],
        "extra metric sinks besides metrics.jsonl: tensorboard, trackio, wandb",
        choices=("tensorboard", "trackio", "wandb"),
    )


@dataclass
class DPOConfig:
    data: str = opt(
        "",
        "comparisons {prompt, response_a, response_b, p_a} or preferences {prompt, chosen, "
        "rejected}; empty: OUT/label/comparisons.jsonl",
    )
    limit: int = opt(0, "use only the first N pairs (0: all)")
    policy: str = opt(
        "", "initial policy and reference; empty: the sft checkpoint if it exists, else model.name"
    )
    min_confidence: float = opt(0.0, "drop pairs with |p_a - 0.5| below this (ties are always dropped)")
    beta: float = opt(0.1, "DPO beta: strength of the implicit KL to the reference")
    epochs: float = opt(1.0, "passes over the pairs")
    max_steps: int = opt(0, "stop after this many optimizer steps (0: from epochs)")
    batch_size: int = opt(4, "pairs per device per micro-batch")
    grad_accum: int = opt(1, "micro-batches per optimizer step")
    lr: float = opt(5e-6, "learning rate")
    max_length: int = opt(1024, "truncate prompt+response to this many tokens")
    log_every: int = opt(5, "log every N steps")


@dataclass
class PipelineConfig:
    stages: list = opt(
        ["sft", "sample", "label", "rm", "rl", "eval"],
        "stages `rlaif run` runs in order (each skipped when its output is complete)",
    )


@dataclass
class Config:
    out: str = opt("runs/default", "run root: each stage writes OUT/STAGE/")
    seed: int = opt(0, "random seed for everything")
    task: str = opt("text2sql", "built-in task supplying default data and the oracle")
    model: ModelConfig = opt(ModelConfig(), "the policy model")
    sft: SFTConfig = opt(SFTConfig(), "supervised fine-tuning")
    sample: SampleConfig = opt(SampleConfig(), "sampling candidate completions")
    label: LabelConfig = opt(LabelConfig(), "AI preference labeling (the labeler)")
    rm: RMConfig = opt(RMConfig(), "reward models: soft-label, hard-label, SALMON principle-following")
    rl: RLConfig = opt(RLConfig(), "RL against any reward source with a KL penalty to the SFT policy")
    eval: EvalConfig = opt(EvalConfig(), "evaluation: win rates, oracle scores, labeler quality, the report")
    dpo: DPOConfig = opt(DPOConfig(), "DPO from preferences (TRL's DPOTrainer), the RL-free alternative")
    pipeline: PipelineConfig = opt(PipelineConfig(), "the whole chain (`rlaif run`)")


# --------------------------------------------------------------------------- loading


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str, origin: str) -> Any:
    """Check (and gently coerce: int->float, str from flags) `value` against annotation `tp`."""
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{origin}: '{key}' must be a mapping of {tp.__name__} fields, got {value!r}")
        return _build(tp, value, origin, prefix=key + ".")
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key, origin)
            except ConfigError:
                pass
        raise ConfigError(f"{origin}: '{key}' must be {tp}, got {value!r}")
    base = typing.get_origin(tp) or tp
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is float and isinstance(value, str):  # YAML 1.1 reads `3e-4` (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if base is bool and not isinstance(value, bool):
        raise ConfigError(f"{origin}: '{key}' must be true or false, got {value!r}")
    if base in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{origin}: '{key}' must be {base.__name__}, got {value!r}")
    if base is Any or isinstance(value, base):
        return value
    raise ConfigError(f"{origin}: '{key}' must be {_type_name(base)}, got {type(value).__name__} {value!r}")


def _build(cls: type, data: dict, origin: str, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key '{prefix}{unknown[0]}' "
            f"(known in this section: {', '.join(sorted(names))})"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k, origin) for k, v in data.items()}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in kwargs.items():
        _check_choices(v, fields[k].metadata, prefix + k, origin)
    built = cls(**kwargs)
    if cls is Config:
        check_config(built, origin)
    return built


def _check_choices(value: Any, meta: Any, key: str, origin: str) -> None:
    choices = meta.get("choices")
    if not choices:
        return
    for v in value if isinstance(value, list) else [value]:
        if v in choices or (meta.get("or_path") and isinstance(v, str) and Path(v).expanduser().exists()):
            continue
        allowed = ", ".join(repr(c) if c == "" else str(c) for c in choices)
        also = ", or an existing file/folder" if meta.get("or_path") else ""
        raise ConfigError(f"{origin}: '{key}' must be one of {allowed}{also}; got {v!r}")


def eval_labeler_config(cfg: "Config", origin: str = "eval.labeler") -> "LabelConfig":
    """The label section with eval.labeler's overrides applied (validated like any config)."""
    merged = to_dict(cfg.label)
    for k, v in cfg.eval.labeler.items():
        merged[k] = {**merged[k], **v} if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return _build(LabelConfig, merged, origin, prefix="eval.labeler.")


def check_rl(rl: "RLConfig", origin: str) -> None:
    """RL settings the trainer cannot honour: rollouts whose log-probabilities it cannot compute
    (greedy, nucleus) and RLOO without a group to leave one out of."""
    if not rl.temperature > 0:
        raise ConfigError(
            f"{origin}: 'rl.temperature'={rl.temperature}: RL needs sampled rollouts (temperature "
            f"> 0, the paper: 0.9); greedy decoding has no policy log-probabilities to train on"
        )
    if rl.top_p != 1.0:
        raise ConfigError(
            f"{origin}: 'rl.top_p'={rl.top_p}: nucleus sampling draws from a truncated "
            f"distribution whose log-probabilities, ratios and KL the trainer does not compute; "
            f"use rl.top_p=1.0 (a lower rl.temperature also sharpens the samples)"
        )
    if rl.algo == "rloo" and rl.n == 1:
        raise ConfigError(f"{origin}: rl.algo=rloo needs rl.n >= 2 completions per prompt (0: 4)")


def check_config(cfg: "Config", origin: str) -> None:
    """The structured options no type annotation can check: reward entries and their options, the
    eval labeler's overrides, eval policies."""
    from ..rl.rewards import RewardError, check_spec

    check_rl(cfg.rl, origin)
    if not isinstance(cfg.rl.rewards, list) or not cfg.rl.rewards:
        raise ConfigError(f"{origin}: 'rl.rewards' must be a non-empty list of {{source, weight, ...}}")
    for i, spec in enumerate(cfg.rl.rewards):
        try:
            check_spec(spec, f"{origin}: 'rl.rewards[{i}]'")
        except RewardError as e:
            raise ConfigError(str(e)) from None
        if spec["source"] == "direct":  # its options are label fields: check their values too
            _build(
                LabelConfig,
                _merge(
                    to_dict(cfg.label),
                    {k: v for k, v in spec.items() if k not in ("source", "weight", "name")},
                ),
                origin,
                prefix=f"rl.rewards[{i}].",
            )
    if cfg.eval.labeler:
        eval_labeler_config(cfg, origin)
    for name, spec in cfg.eval.policies.items():
        if not isinstance(name, str) or not name or not isinstance(spec, (str, Path)) or not str(spec):
            raise ConfigError(
                f"{origin}: 'eval.policies' maps a name to a checkpoint, run folder, model name "
                f"or outputs .jsonl; got {name!r}: {spec!r}"
            )


def parse_flag_value(text: str) -> Any:
    """`--sft.lr=1e-4` -> 0.0001; YAML rules, so lists ([a, b]) and booleans work too."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"flag --{dotted}: '{p}' is not a section")
    node[parts[-1]] = value


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(
    path: str | Path | None = None, overrides: list[str] | dict | None = None, cls: type = None
) -> Config:
    """Config from an optional YAML file plus overrides (`["sft.lr=1e-4", ...]` or a nested dict).

    Types are checked for the file and the overrides separately so errors name their origin."""
    cls = cls or Config
    data: dict = {}
    if path:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:  # one line: file:line:column and the problem
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            what = " ".join(str(getattr(e, "problem", None) or e).split())
            raise ConfigError(f"{where}: not valid YAML: {what}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        _build(cls, data, str(path))  # validate the file on its own
    if isinstance(overrides, dict):
        _build(cls, overrides, "overrides")
        data = _merge(data, overrides)
    else:
        flags: dict = {}
        for item in overrides or []:
            if "=" not in item:
                raise ConfigError(f"flag --{item}: expected --section.key=value")
            k, v = item.split("=", 1)
            _set_dotted(flags, k.lstrip("-"), parse_flag_value(v))
        if flags:
            _build(cls, _merge(data, flags), "command-line flags")
            data = _merge(data, flags)
    return _build(cls, data, str(path) if path else "defaults")


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def section_hash(cfg: Config, sections: typing.Iterable[str]) -> str:
    """A short stable hash of the named sections: what decides whether a stage's output is stale."""
    blob = json.dumps(
        {
            s: to_dict(getattr(cfg, s)) if dataclasses.is_dataclass(getattr(cfg, s)) else getattr(cfg, s)
            for s in sections
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, help) for every field, nested sections flattened."""
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            rows += describe(type(default), prefix + f.name + ".")
        else:
            rows.append((prefix + f.name, json.dumps(default), f.metadata.get("help", "")))
    return rows


def parse_stage_args(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    """`[--config FILE] [--force] [--section.key=value | --section.key value ...]`
    -> (config, force, overrides)."""
    config, force, overrides = None, False, []
    it = iter(argv)
    for a in it:
        if a == "--config":
            config = next(it, None)
            if config is None:
                raise ConfigError("--config needs a file")
        elif a.startswith("--config="):
            config = a.split("=", 1)[1]
        elif a == "--force":
            force = True
        elif a.startswith("--") and "=" in a:
            overrides.append(a[2:])
        elif a.startswith("--"):
            value = next(it, None)  # `--sft.lr 1e-4` form
            if value is None:
                raise ConfigError(f"flag {a} needs a value")
            overrides.append(f"{a[2:]}={value}")
        else:
            raise ConfigError(f"unexpected argument {a!r}; options look like --section.key=value")
    return config, force, overrides
