"""Completion markers: what makes a batch resumable (`<dataset>/.vtonkit/done/<split>/<kind>/<stem>.json`).

A marker holds the key of everything the sample depends on (inputs, backends, versions) and the
files it wrote. The batch runner (`batch.attempt`) removes it before the sample's files are
rewritten and writes it (atomically) after the last of them, so a sample whose marker holds the
current key is complete even after a `kill -9`, and a re-run skips it (`completed_warnings`).
"""
from __future__ import annotations

import json
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
    all its files exist (a re-run skips it and reports them again); None when it is not complete."""
    path = marker_path(dataset, split, kind, stem)
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("key") != sample_key:
        return None
    if "files" in marker:  # what the sample wrote (a person whose agnostic cannot be computed has 5 files)
        complete = all((Path(dataset) / name).is_file() for name in marker["files"])
    else:
        complete = all(p.is_file() for p in sample_files(dataset, split, kind, stem).values())
    notes = marker.get("warnings")
    return ([note for note in notes if isinstance(note, str)] if isinstance(notes, list) else []) if complete else None


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
        atomic_write_json(self.path, {"key": self.key, "source": source, "warnings": warnings,
                                      "files": sorted(str(Path(p).relative_to(self.root)) for p in files)})
