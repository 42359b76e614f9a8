"""`rlaif rm serve`: a trained reward model over HTTP (POST /score, POST /compare, GET /health), for
RL workers on other machines (`rl.rewards: [{source: rm, url: ...}]`, `rm.model.RemoteRewardModel`)."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.config import load_config, parse_stage_args
from ..core.errors import check_port_free
from ..rm.model import RewardModel

HELP = "serve a trained RM over HTTP: POST /score, POST /compare, GET /health"


def make_server(rm: RewardModel, host: str = "127.0.0.1", port: int = 8500):
    """An HTTP server (stdlib, one request at a time) for `rm`:
    POST /score {"prompts": [...], "completions": [...], "principles"?: [...]} -> {"rewards": [...]};
    POST /compare {"prompts", "responses_a", "responses_b"} -> {"p_a": [...]}; GET /health."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, obj: dict) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            if self.path == "/health":
                return self._send(200, {"ok": True, "salmon": rm.pset is not None, "meta": rm.meta})
            self._send(404, {"error": f"unknown route {self.path}"})

        def do_POST(self):  # noqa: N802
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/score":
                    out = {"rewards": rm.score(body["prompts"], body["completions"], body.get("principles"))}
                elif self.path == "/compare":
                    out = {
                        "p_a": rm.compare(
                            body["prompts"], body["responses_a"], body["responses_b"], body.get("principles")
                        )
                    }
                else:
                    return self._send(404, {"error": f"unknown route {self.path}"})
            except (KeyError, TypeError, ValueError) as e:
                return self._send(400, {"error": f"bad request: {e!r}"})
            self._send(200, out)

        def log_message(self, fmt, *args):  # quiet; RL workers call this a lot
            pass

    return HTTPServer((host, port), Handler)


def main(argv: list[str]) -> int:
    """`rlaif rm serve [--config FILE] [--rm.serve_model=DIR] [--rm.port=N] [--rm.principles=FILE]`."""
    if "-h" in argv or "--help" in argv:
        print(
            f"usage: rlaif rm serve [--config FILE.yaml] [--rm.serve_model=DIR] [--rm.host=H] [--rm.port=N] "
            f"[--rm.principles=FILE]\n\n{HELP}"
        )
        return 0
    config, _, overrides = parse_stage_args(argv)
    cfg = load_config(config, overrides)
    path = cfg.rm.serve_model or str(Path(cfg.out) / "rm" / "checkpoint")
    check_port_free(cfg.rm.host, cfg.rm.port, "rlaif rm serve")
    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path}: no reward model to serve (run `rlaif rm` first or set --rm.serve_model)"
        )
    rm = RewardModel.load(
        path,
        device=cfg.model.device,
        dtype=cfg.model.dtype,
        principles=cfg.rm.principles or None,
        batch_size=cfg.rm.eval_batch_size,
    )
    server = make_server(rm, cfg.rm.host, cfg.rm.port)
    print(
        f"[rlaif] rm serve: {path} on http://{cfg.rm.host}:{server.server_port} "
        f"(POST /score, POST /compare, GET /health)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
