"""Hex digest of a file's bytes, read in 1 MiB chunks (any size, constant memory).

The one implementation behind the stage-cache keys (`vtonkit.preprocess.cache`), the model
checksums (`vtonkit.preprocess.models`) and the validator's exact-duplicate search
(`vtonkit.datasets.duplicates`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of the file at `path` with `algorithm` (any `hashlib.new` name: sha256, md5, sha512)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
