"""Run folders: where stages hand off to each other.

Each stage writes `OUT/STAGE/` with its JSONL outputs and a `manifest.json`:
resolved config, input paths and their hashes, package versions, git revision, timings, status.

1. A stage whose manifest says `complete` for the same config is skipped (no recomputation);
   the same folder with a different config is an error unless `--force`, so stale outputs are
   never mixed with new ones silently.
2. Under `accelerate launch` / torchrun only the main process (RANK 0) writes the folder and its
   manifest; the other processes check it read-only (skip, stale) and leave the writing alone.
3. Long stages append to JSONL as they go (`JsonlAppender`: flushed and fsynced per batch) and
   on restart read back what is there (`read_done`), dropping a torn last line: a kill loses at
   most the batch in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from .config import Config, section_hash, to_dict

PACKAGES = ("rlaif", "torch", "transformers", "peft", "accelerate", "datasets", "trl", "openai")


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process under torchrun / `accelerate launch`; (0, 1) otherwise."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return process_rank()[0] == 0


class StaleRunError(RuntimeError):
    """The stage folder holds output made with another configuration."""


class StageDone(Exception):
    """Raised by `Run.open` when the stage is already complete; carries the folder."""


def file_hash(path: str | Path, limit_mb: int = 256) -> str:
    """sha256 of a file (or of a folder's file list and sizes: checkpoints are large)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(path)}:{p.stat().st_size}\n".encode())
    elif path.is_file():
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    else:
        return ""
    return h.hexdigest()[:16]


def _versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def _git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class Run:
    """One stage's output folder and manifest."""

    def __init__(self, cfg: Config, stage: str, sections: Iterable[str]):
        self.cfg, self.stage = cfg, stage
        self.dir = Path(cfg.out) / stage
        self.config_hash = section_hash(cfg, list(sections) + ["task", "seed"])
        self.manifest_path = self.dir / "manifest.json"
        self.t0 = time.time()
        self.inputs: dict[str, dict] = {}
        self.timings: dict[str, float] = {}

    def manifest(self) -> dict | None:
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text())

    def open(self, force: bool = False) -> "Run":
        """Prepare the folder: skip if complete, refuse stale, wipe on `force`, resume otherwise."""
        old = self.manifest()
        if not is_main_process():  # the main process owns the folder; the others only look
            if old and not force and old.get("config_hash") != self.config_hash:
                raise StaleRunError(f"{self.dir} holds a '{self.stage}' run with a different configuration")
            if old and not force and old.get("status") == "complete":
                raise StageDone(self.dir)
            return self
        if old and force:
            shutil.rmtree(self.dir)
            old = None
        if old and old.get("config_hash") != self.config_hash:
            raise StaleRunError(
                f"{self.dir} holds a '{self.stage}' run with a different configuration "
                f"(hash {old.get('config_hash')} vs {self.config_hash}); pass --force to redo it "
                f"or choose another --out")
        if old and old.get("status") == "complete":
            raise StageDone(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write("running")
        return self

    def add_input(self, name: str, path: str | Path | None, **extra: Any) -> None:
        entry = {"path": str(path) if path else None, **extra}
        if path and Path(path).exists():
            entry["sha256"] = file_hash(path)
        self.inputs[name] = entry

    def time(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 3)

    def _write(self, status: str, **extra: Any) -> None:
        if not is_main_process():
            return
        m = {"stage": self.stage, "status": status, "config_hash": self.config_hash,
             "config": to_dict(self.cfg), "inputs": self.inputs, "versions": _versions(),
             "git_revision": _git_revision(), "started": self.t0,
             "timings": self.timings | {"total_s": round(time.time() - self.t0, 3)}, **extra}
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(m, indent=2, default=str))
        tmp.replace(self.manifest_path)

    def finish(self, **results: Any) -> Path:
        self._write("complete", results=results)
        return self.dir


def is_complete(folder: str | Path) -> bool:
    m = Path(folder) / "manifest.json"
    return m.exists() and json.loads(m.read_text()).get("status") == "complete"


class JsonlAppender:
    """Append records durably: each `write_many` is flushed and fsynced before returning."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(self.path)
        self.f = self.path.open("a", encoding="utf-8")

    def write_many(self, records: Iterable[dict]) -> None:
        for r in records:
            self.f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())

    def write(self, record: dict) -> None:
        self.write_many([record])

    def close(self) -> None:
        self.f.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """A kill mid-write can leave a last line without its newline: cut it off."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    with path.open("r+b") as f:
        f.truncate(cut)


def read_done(path: str | Path) -> list[dict]:
    """Records already written by an interrupted run (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            if line.strip():
                out.append(json.loads(line))
    return out
