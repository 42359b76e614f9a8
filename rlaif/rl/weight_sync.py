"""Push the policy's weights into running vLLM servers after each RL update (`rl.weight_sync=vllm`).

This is vLLM's own weight-transfer API (see vLLM's examples/rl/rlhf_http_nccl.py); nothing here
patches vLLM. Start each server with it enabled:

    VLLM_SERVER_DEV_MODE=1 vllm serve MODEL --weight-transfer-config '{"backend": "nccl"}'

Control plane: HTTP on the server root (not /v1): GET /get_world_size, POST
/init_weight_transfer_engine, /pause, /start_weight_update, /update_weights, /finish_weight_update,
/resume. Data plane: an NCCL broadcast from the trainer (rank 0) to the server's workers (ranks 1..W),
through `vllm.distributed.weight_transfer.nccl_engine.NCCLWeightTransferEngine` on the trainer side
(so the trainer needs `pip install vllm` and a GPU; the servers may be on other machines).

1. One NCCL group per server, made on the first push (`init_weight_transfer_engine` blocks until
   the trainer joins, so it runs in a thread while the trainer calls `trainer_init`).
2. A push, per server: pause -> start_weight_update -> update_weights (in a thread: it returns
   once the broadcast has arrived) alongside `trainer_send_weights` -> finish_weight_update ->
   resume. RL here is synchronous (rollout, update, push, rollout), so no request is cut off by
   the pause and every rollout after a push comes from the new weights.
3. What is sent: the policy's parameters under their Hugging Face checkpoint names
   (`is_checkpoint_format=true`: vLLM maps them onto its fused layers), cast to `dtype` (the
   server's, usually bf16: half the bytes of the fp32 master weights). A LoRA policy is merged for
   the push (peft `merge_adapter` / `unmerge_adapter`) and sent under the base model's names.
4. Older vLLM servers without /start_weight_update and /finish_weight_update (404) are accepted:
   those two steps are skipped.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any, Iterator

from ..serving.endpoints import as_url_list

DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def server_root(url: str) -> str:
    """http://host:8000/v1 -> http://host:8000 (the weight-transfer routes are not under /v1)."""
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def _nccl_engine():
    from vllm.distributed.weight_transfer.nccl_engine import NCCLWeightTransferEngine

    return NCCLWeightTransferEngine


def _own_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # no packet is sent
        try:
            s.connect(("8.8.8.8", 80))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def named_weights(model, dtype: str = "bf16") -> Iterator[list[tuple[str, Any]]]:
    """[(checkpoint name, tensor)] of `model` cast to `dtype`; a peft model merged meanwhile."""
    import torch

    peft = hasattr(model, "merge_adapter") and hasattr(model, "get_base_model")
    if peft:
        model.merge_adapter()
    try:
        base = model.get_base_model() if peft else model
        dt = getattr(torch, DTYPES.get(dtype, dtype))
        out = []
        for name, p in base.named_parameters():
            if peft and ("lora_" in name or "modules_to_save" in name):
                continue
            out.append((name.replace(".base_layer", "") if peft else name, p.detach().to(dt)))
        yield out
    finally:
        if peft:
            model.unmerge_adapter()


class VLLMWeightSync:
    """`sync(model)`: push `model`'s weights to every vLLM server in `urls` (see the module notes)."""

    def __init__(
        self,
        urls,
        dtype: str = "bf16",
        packed: bool = True,
        timeout: float = 600.0,
        engine: Any = None,
        master_address: str | None = None,
    ):
        self.roots = [server_root(u) for u in as_url_list(urls)]
        if not self.roots:
            raise ValueError("rl.weight_sync=vllm needs the vLLM server URL(s) in rl.server_url")
        self.dtype, self.packed, self.timeout = dtype, packed, timeout
        self.engine, self.master_address = engine, master_address
        self.groups: list[Any] | None = None
        self.pushes = 0

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, root: str, path: str, body: dict | None = None, optional: bool = False):
        import httpx

        r = httpx.request(method, root + path, json=body, timeout=self.timeout)
        if optional and r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise RuntimeError(
                f"vLLM weight sync: {method} {root}{path} -> {r.status_code} {r.text[:300]}; "
                f"is the server started with VLLM_SERVER_DEV_MODE=1 and --weight-transfer-config?"
            )
        return r.json() if r.content else None

    def _in_thread(self, *args, **kw) -> tuple[threading.Thread, list]:
        errors: list = []

        def target():
            try:
                self._request(*args, **kw)
            except Exception as e:  # noqa: BLE001 - re-raised by the caller after join
                errors.append(e)

        t = threading.Thread(target=target, daemon=True)
        t.start()
        return t, errors

    @staticmethod
    def _join(t: threading.Thread, errors: list, timeout: float, what: str) -> None:
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError(f"vLLM weight sync: {what} did not finish in {timeout:.0f}s")
        if errors:
            raise errors[0]

    # ------------------------------------------------------------------ protocol

    def _init(self) -> None:
        engine = self.engine or _nccl_engine()
        addr = self.master_address or _own_address()
        self.groups = []
        for root in self.roots:
            world = self._request("GET", root, "/get_world_size")["world_size"] + 1  # + the trainer
            info = {"master_address": addr, "master_port": _free_port(), "world_size": world}
            t, errors = self._in_thread(
                "POST", root, "/init_weight_transfer_engine", {"init_info": info | {"rank_offset": 1}}
            )
            self.groups.append(engine.trainer_init(dict(info)))
            self._join(t, errors, self.timeout, f"{root}/init_weight_transfer_engine")

    def __call__(self, model) -> None:
        engine = self.engine or _nccl_engine()
        if self.groups is None:
            self._init()
        with named_weights(model, self.dtype) as weights:
            info = {
                "names": [n for n, _ in weights],
                "dtype_names": [str(t.dtype).split(".")[-1] for _, t in weights],
                "shapes": [list(t.shape) for _, t in weights],
                "packed": self.packed,
            }
            for root, group in zip(self.roots, self.groups):
                self._request("POST", root, "/pause")
                self._request(
                    "POST", root, "/start_weight_update", {"is_checkpoint_format": True}, optional=True
                )
                t, errors = self._in_thread("POST", root, "/update_weights", {"update_info": info})
                engine.trainer_send_weights(iter(weights), {"group": group, "packed": self.packed})
                self._join(t, errors, self.timeout, f"{root}/update_weights")
                self._request("POST", root, "/finish_weight_update", {}, optional=True)
                self._request("POST", root, "/resume")
        self.pushes += 1
