"""Run folders: where stages hand off to each other.

Each stage writes `OUT/STAGE/` with its JSONL outputs and a `manifest.json`:
resolved config, input paths and their hashes, package versions, git revision, timings, status.

1. A stage whose manifest says `complete` for the same config **and the same inputs** is skipped
   (no recomputation). Inputs are everything the stage reads besides its config: data files, the
   previous stage's outputs, checkpoints, reward and labeler models; each is recorded with a content
   fingerprint (`fingerprint`), as DVC's lock file or Snakemake's rerun triggers do. An input whose
   fingerprint changed makes the stage redo itself from scratch, saying which input changed; in a
   pipeline that cascades to exactly the stages downstream of the change. The same folder with a
   different config is an error unless `--force`, so stale outputs are never mixed with new ones.
   Stages declare their inputs (`add_input`) before `open`.
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
from .errors import UserError

PACKAGES = ("rlaif", "torch", "transformers", "peft", "accelerate", "datasets", "trl", "openai")


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process under torchrun / `accelerate launch`; (0, 1) otherwise."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return process_rank()[0] == 0


class StaleRunError(UserError, RuntimeError):
    """The stage folder holds output made with another configuration."""


class StageDone(Exception):
    """Raised by `Run.open` when the stage is already complete; carries the folder."""


# Files a folder fingerprint leaves out: bookkeeping that changes without the content changing.
CHECKED = ".checked"  # when the main process last found the stage up to date
_UNHASHED = {"manifest.json", "manifest.tmp", CHECKED}


def _content_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


class _DigestCache:
    """sha256 of large files, remembered by (path, size, mtime) in `$RLAIF_CACHE/digests.json`, so a
    checkpoint of gigabytes is read once, not every time a stage checks whether it is up to date."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.data: dict[str, list] = {}

    def _load(self) -> None:
        from .models import cache_dir

        path = cache_dir() / "digests.json"
        if path != self.path:
            self.path = path
            try:
                self.data = json.loads(path.read_text())
            except (OSError, ValueError):
                self.data = {}

    def digest(self, file: Path) -> str:
        st = file.stat()
        if st.st_size < (1 << 24):  # small files: reading them is as cheap as a cache look-up
            return _content_sha256(file)
        self._load()
        key, stamp = str(file.resolve()), [st.st_size, st.st_mtime_ns]
        hit = self.data.get(key)
        if hit and hit[:2] == stamp:
            return hit[2]
        d = _content_sha256(file)
        self.data[key] = stamp + [d]
        try:  # best effort: a lost update only costs a re-read next time
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"digests.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self.path)
        except OSError:
            pass
        return d


_DIGESTS = _DigestCache()


def file_hash(path: str | Path) -> str:
    """Content fingerprint of a file, or of a folder (every file's relative name, size and content
    digest, bookkeeping files aside); "" when the path does not exist."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and p.name not in _UNHASHED:
                h.update(f"{p.relative_to(path)}:{p.stat().st_size}:{_DIGESTS.digest(p)}\n".encode())
    elif path.is_file():
        h.update(_DIGESTS.digest(path).encode())
    else:
        return ""
    return h.hexdigest()[:16]


def records_hash(records: list) -> str:
    """Content fingerprint of records that do not come from one file (a task's split)."""
    blob = json.dumps(records, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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

    def last_checked(self) -> float:
        """When the main process last found this stage complete and up to date (0: never)."""
        try:
            return float((self.dir / CHECKED).read_text())
        except (OSError, ValueError):
            return 0.0

    def manifest(self) -> dict | None:
        if not self.manifest_path.exists():
            return None
        return json.loads(self.manifest_path.read_text())

    def open(self, force: bool = False) -> "Run":
        """Prepare the folder: skip if complete and up to date, redo if an input changed, refuse a
        different config, wipe on `force`, resume otherwise. Call after declaring the inputs."""
        old = self.manifest()
        changed = self.changed_inputs(old) if old else []
        if not is_main_process():  # the main process owns the folder; the others only look
            if old and not force and old.get("config_hash") != self.config_hash:
                raise StaleRunError(f"{self.dir} holds a '{self.stage}' run with a different configuration")
            if old and not force and not changed and old.get("status") == "complete":
                raise StageDone(self.dir)
            return self
        if old and not force and old.get("config_hash") != self.config_hash:
            raise StaleRunError(
                f"{self.dir} holds a '{self.stage}' run with a different configuration "
                f"(hash {old.get('config_hash')} vs {self.config_hash}); pass --force to redo it "
                f"or choose another --out"
            )
        if old and not force and changed:
            what = ", ".join(changed)
            print(f"[rlaif] {self.stage}: input {what} changed since the last run; redoing", flush=True)
            force = True  # what was made from the old inputs, finished or partial, is stale
        if old and force:
            shutil.rmtree(self.dir)
            old = None
        if old and old.get("status") == "complete":
            # for processes waiting on this decision (run_stage under torchrun): up to date as of now;
            # a file beside the manifest, which stays as it was
            (self.dir / CHECKED).write_text(f"{time.time()}\n")
            raise StageDone(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write("running")
        return self

    def add_input(
        self, name: str, path: str | Path | None, records: list | None = None, **extra: Any
    ) -> None:
        """Declare an input: a file or folder (fingerprinted by content), else records that come
        from no single file (fingerprinted by their content), else an identifier such as a hub model
        id (its text is the fingerprint). `extra` is recorded beside it, for people."""
        entry = {"path": str(path) if path else None, **extra}
        if records is not None:
            entry["records"] = len(records)
        if path and Path(path).exists():
            entry["fingerprint"] = entry["sha256"] = file_hash(path)
        elif records is not None:
            entry["fingerprint"] = "records:" + records_hash(records)
        else:
            entry["fingerprint"] = "id:" + str(extra.get("source", path))
        self.inputs[name] = entry

    def add_model(self, name: str, spec: str) -> None:
        """A model input: its folder's content where it is local (a built-in once converted), else
        its hub id."""
        from .models import resolve_model_path

        path = resolve_model_path(spec) if spec else ""
        self.add_input(name, path if path and Path(path).exists() else None, source=spec)

    def changed_inputs(self, old: dict) -> list[str]:
        """Names (with their file) of the inputs whose fingerprint differs from the manifest's."""
        before = old.get("inputs") or {}
        out = []
        for name in sorted(set(before) | set(self.inputs)):
            a, b = before.get(name) or {}, self.inputs.get(name) or {}
            if a.get("fingerprint") != b.get("fingerprint"):
                where = b.get("path") or a.get("path")
                out.append(f"{name} ({Path(where).name})" if where else name)
        return out

    def time(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 3)

    def _write(self, status: str, **extra: Any) -> None:
        if not is_main_process():
            return
        m = {
            "stage": self.stage,
            "status": status,
            "config_hash": self.config_hash,
            "config": to_dict(self.cfg),
            "inputs": self.inputs,
            "versions": _versions(),
            "git_revision": _git_revision(),
            "started": self.t0,
            "timings": self.timings | {"total_s": round(time.time() - self.t0, 3)},
            **extra,
        }
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(m, indent=2, default=str))
        tmp.replace(self.manifest_path)

    def finish(self, **results: Any) -> Path:
        self._write("complete", results=results)
        return self.dir


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
