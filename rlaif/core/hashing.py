"""Deterministic numbers from text: the one way the package turns content into a coin flip, a
split, a seed or a point in [0, 1), so that choices keyed on content (which slot a response goes
in, which split a prompt lands in, which pairs a fake judge gets right) are reproducible and
independent of order or process."""

from __future__ import annotations

import hashlib


def hash_int(key: str | bytes, hex_digits: int = 12) -> int:
    """The first `hex_digits` hex digits of sha256(key) as an integer."""
    data = key if isinstance(key, bytes) else key.encode()
    return int(hashlib.sha256(data).hexdigest()[:hex_digits], 16)


def hash_unit(key: str | bytes, hex_digits: int = 12) -> float:
    """A number in [0, 1) from `key`: hash_int / 16**hex_digits."""
    return hash_int(key, hex_digits) / 16**hex_digits
