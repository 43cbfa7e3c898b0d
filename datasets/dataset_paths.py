"""Where things are in a dataset folder: its splits (also when one split folder is given) and the stored validate report."""

from __future__ import annotations

from pathlib import Path

from vtonkit.datasets.layout import SPLITS

from vtonkit.core.paths import state_dir

REPORT_NAME = "validate.json"


def report_path(dataset_root: str | Path) -> Path:
    """`<dataset>/.vtonkit/validate.json`: the report `validate` stores and `review` reads."""
    return state_dir(dataset_root) / REPORT_NAME


def dataset_and_splits(path: Path, splits: list[str] | None) -> tuple[Path, list[str] | None]:
    """(dataset root, splits to use) for a dataset folder or one split folder (`DATASET/test`).

    `splits` None or empty means the splits the dataset has (only the given one for a split folder).

    Raises:
        ValueError: a split name that is not one of `SPLITS`.
    """
    chosen = list(splits) if splits else None
    if (path / "image").is_dir() and path.name in SPLITS and not chosen:
        path, chosen = path.parent, [path.name]
    for name in chosen or ():
        if name not in SPLITS:
            raise ValueError(f"--split must be one of {SPLITS}, got {name!r}")
    return path, chosen
