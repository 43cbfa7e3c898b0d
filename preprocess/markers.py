"""Completion markers: what makes a batch resumable (`<dataset>/.vtonkit/done/<split>/<kind>/<stem>.json`).

A marker holds the key of everything the sample depends on (inputs, backends, versions) and the
files it wrote with their sizes (an output emptied or cut short since then makes the sample incomplete). The batch runner (`batch.attempt`) removes it before the sample's files are
rewritten and writes it (atomically) after the last of them, so a sample whose marker holds the
current key is complete even after a `kill -9`, and a re-run skips it (`completed_warnings`).
"""
from __future__ import annotations

import json
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vtonkit.datasets.io.files import atomic_write_json
from vtonkit.datasets.layout import DatasetLayout

from vtonkit.core.paths import state_dir


def marker_path(dataset: str | Path, split: str, kind: str, stem: str) -> Path:
    """Completion marker of a sample: `<dataset>/.vtonkit/done/<split>/<kind>/<stem>.json`."""
    return state_dir(dataset) / "done" / split / kind / f"{stem}.json"


def sample_files(dataset: str | Path, split: str, kind: str, stem: str) -> dict[str, Path]:
    """Every file a person or cloth sample can write (what a failed sample leaves behind is removed)."""
    layout = DatasetLayout(dataset).split(split)
    return layout.person_files(stem) if kind == "person" else layout.cloth_files(stem)


def completed_warnings(dataset: str | Path, split: str, kind: str, stem: str, sample_key: str) -> list[str] | None:
    """The warnings the sample recorded when it was written, when its marker holds `sample_key` and
    all its outputs are whole (a re-run skips it and reports them again); None when it is not complete."""
    marker = _marker(dataset, split, kind, stem, sample_key)
    if marker is None or _damaged(dataset, split, kind, stem, marker):
        return None
    notes = marker.get("warnings")
    return [note for note in notes if isinstance(note, str)] if isinstance(notes, list) else []


def damaged_outputs(dataset: str | Path, split: str, kind: str, stem: str, sample_key: str) -> list[str]:
    """The outputs of a sample whose marker holds `sample_key` that are missing or no longer as written
    (emptied, cut short): why a re-run rebuilds a sample its marker calls complete. [] for any other sample."""
    marker = _marker(dataset, split, kind, stem, sample_key)
    return [] if marker is None else _damaged(dataset, split, kind, stem, marker)


def _marker(dataset: str | Path, split: str, kind: str, stem: str, sample_key: str) -> dict | None:
    """The sample's marker when it holds `sample_key`, else None."""
    try:
        marker = json.loads(marker_path(dataset, split, kind, stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("key") == sample_key else None


def _damaged(dataset: str | Path, split: str, kind: str, stem: str, marker: dict) -> list[str]:
    """The outputs `marker` lists that are missing or changed size; one stat each, so a re-run stays fast.
    Markers of older versions hold no sizes: a file of any size but 0 passes."""
    sizes, files = marker.get("sizes"), marker.get("files")
    if isinstance(sizes, dict):
        expected = {Path(dataset) / name: size for name, size in sizes.items()}
    elif isinstance(files, list):  # what the sample wrote (a person whose agnostic cannot be computed has 5 files)
        expected = {Path(dataset) / name: None for name in files}
    else:
        expected = {path: None for path in sample_files(dataset, split, kind, stem).values()}
    return [str(path) for path, size in expected.items() if not _whole(path, size)]


def _whole(path: Path, size: int | None) -> bool:
    """`path` is a file of `size` bytes (None: of any size but 0: an empty output is never whole)."""
    try:
        found = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and (found.st_size == size if size is not None else found.st_size > 0)


@dataclass(frozen=True)
class CompletionMarker:
    """The marker of one sample: `path`, the `key` it must hold, the dataset `root` its file list is relative to."""

    path: Path
    key: str
    root: Path

    def clear(self) -> None:
        """Before the sample's files change: it no longer counts as complete."""
        self.path.unlink(missing_ok=True)

    def write(self, source: str, warnings: list[str], files: Iterable[Path]) -> None:
        """After the sample's last file: it is complete for `key`."""
        # Each file's size as written: an output emptied or cut short later no longer passes (`_damaged`).
        sizes = {str(Path(p).relative_to(self.root)): Path(p).stat().st_size for p in files}
        atomic_write_json(self.path, {"key": self.key, "source": source, "warnings": warnings,
                                      "files": sorted(sizes), "sizes": dict(sorted(sizes.items()))})
