"""Identities of files: the digest of their bytes, or the cheap one of their sizes and times.

`file_digest` (the bytes, read in 1 MiB chunks: any size, constant memory) is the one
implementation behind the stage-cache keys (`vtonkit.preprocess.cache`), the model checksums
(`vtonkit.preprocess.models`) and the validator's exact-duplicate search
(`vtonkit.datasets.duplicates`). `stat_identity` is what a resume compares to notice inputs
changed since (a training run's dataset, an `infer` pair's files).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of the file at `path` with `algorithm` (any `hashlib.new` name: sha256, md5, sha512)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stat_identity(paths: Iterable[Path], root: Path) -> str:
    """`stat:<16 hex digits>`: the paths (relative to `root`) with their sizes and modification times, hashed.

    Not their bytes: hashing every image at each resume would take minutes on a big dataset, and a
    file rewritten in place (another prep, an edited photo) gets a new time anyway. A missing file
    counts as such (it is named as an error when it is read)."""
    digest = hashlib.sha256()
    for path in paths:
        name = path.relative_to(root) if path.is_relative_to(root) else path
        try:
            stat = path.stat()
            digest.update(f"{name} {stat.st_size} {stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            digest.update(f"{name} missing\n".encode("utf-8", "surrogateescape"))
    return f"stat:{digest.hexdigest()[:16]}"
