"""Small file helpers shared by rooms that must not import each other (data, metrics).

No TensorFlow.
"""
from __future__ import annotations

import hashlib


def sha256_of(path: str) -> str:
    """The hex sha256 of the file at `path`, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
