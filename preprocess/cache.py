"""Content-addressed cache of stage outputs: `<dataset>/.vtonkit/cache/<stage>/<key>.npz`.

A stage's key hashes everything its output depends on: the input file's bytes (sha256), the
stage name, the backend's name, version and options, and the keys of the stages it reads. So a
re-run finds every finished stage, and changing one backend changes the keys of its stage and of
the stages downstream only (pose -> parse -> densepose, agnostic; cloth-mask alone).

Expected failures (`VtonkitError`: no person, several persons, ...) are cached too, as
`<key>.error.json`, so a re-run reports them again without recomputing them. Files are written
atomically: a `kill -9` leaves either a whole entry or none.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from vtonkit.datasets.io.files import atomic_write_bytes, atomic_write_json

logger = logging.getLogger(__name__)


def stage_key(stage: str, backend_id: str, *upstream: str) -> str:
    """Key of one stage output: sha256 over the stage, its backend identity and upstream keys."""
    digest = hashlib.sha256()
    for part in (stage, backend_id, *upstream):
        digest.update(part.encode("utf-8", "surrogateescape"))  # a path standing in for an unreadable file's bytes
        digest.update(b"\0")
    return digest.hexdigest()


class CachedError(Exception):
    """A stage failure read back from the cache; carries the original type name and reason."""

    def __init__(self, error_type: str, reason: str) -> None:
        self.error_type = error_type
        self.reason = reason
        super().__init__(reason)


class StageCache:
    """Arrays of finished stages under `root/<stage>/<key>.npz` (compressed, atomic)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, stage: str, key: str, suffix: str) -> Path:
        return self.root / stage / f"{key}{suffix}"

    def load(self, stage: str, key: str) -> dict[str, np.ndarray] | None:
        """The cached arrays, or None when absent or unreadable (then the stage is recomputed).

        Raises:
            CachedError: the stage failed for this key before (an expected, input-caused failure).
        """
        error_path = self._path(stage, key, ".error.json")
        if error_path.is_file():
            try:
                record = json.loads(error_path.read_text(encoding="utf-8"))
                raise CachedError(record["error_type"], record["reason"])
            except (OSError, ValueError, KeyError):
                logger.warning("ignoring unreadable cache entry %s", error_path)
        path = self._path(stage, key, ".npz")
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except Exception:  # a foreign or damaged file: recompute rather than fail the sample
            logger.warning("ignoring unreadable cache entry %s", path)
            return None

    def save(self, stage: str, key: str, arrays: Mapping[str, Any]) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
        atomic_write_bytes(self._path(stage, key, ".npz"), buffer.getvalue())

    def save_error(self, stage: str, key: str, error_type: str, reason: str) -> None:
        atomic_write_json(self._path(stage, key, ".error.json"), {"error_type": error_type, "reason": reason})
