"""Pieces shared by the exporters that write VITON-HD-style split folders (StableVITON, mask-inpaint)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.conversion import (
    ConversionReport,
    DatasetSample,
    copy_file,
    require_image,
    require_mask,
    write_binary_mask,
)
from vtonkit.datasets.pairs import default_pairs, read_pairs, write_pairs


_MASKS = (layout.CLOTH_MASK, layout.AGNOSTIC_MASK)


def copy_person_and_cloth(source: layout.SplitDir, target: layout.SplitDir, stem: str, folders: tuple[str, ...]) -> None:
    """Byte copies of `folders` (photos, DensePose, agnostic image; each checked to decode); masks
    re-written as verified L 0/255.

    Every input is read or checked before the first file is written: a sample with a missing or
    unreadable file leaves nothing behind.
    """
    files = {**source.person_files(stem), **source.cloth_files(stem)}
    targets = {**target.person_files(stem), **target.cloth_files(stem)}
    masks = {folder: require_mask(files[folder], cloth=folder == layout.CLOTH_MASK) for folder in folders
             if folder in _MASKS}
    copies = [(require_image(files[folder], folder), targets[folder]) for folder in folders if folder not in _MASKS]
    for source_file, target_file in copies:
        copy_file(source_file, target_file)
    for folder, mask in masks.items():
        write_binary_mask(targets[folder], mask)


Pairs = list[tuple[str, str]]


def dataset_pair_lists(dataset: Path) -> dict[str, Pairs | None]:
    """The dataset's pair list of each split (None where it has none), read before an export writes
    anything: a pair list the exporters cannot read stops the export before its first sample."""
    lists: dict[str, Pairs | None] = {}
    for split in layout.SPLITS:
        pairs_file = layout.DatasetLayout(dataset).pairs_file(split)
        lists[split] = read_pairs(pairs_file) if pairs_file.is_file() else None
    return lists


def exported_pairs(pairs: Pairs | None, split: str, stems: set[str]) -> Pairs:
    """A split's pair list (`dataset_pair_lists`) restricted to exported samples (a default list when it has none)."""
    if pairs is None:
        return default_pairs(split, sorted(stems))
    return [pair for pair in pairs if all(layout.stem_of(name) in stems for name in pair)]


def write_split_pair_lists(pair_lists: dict[str, Pairs | None], out: Path, report: ConversionReport,
                           extra_names: Callable[[str], tuple[str, ...]] = lambda split: ()) -> None:
    """`<out>/<split>_pairs.txt` (plus `extra_names(split)` copies) for every split with exported samples."""
    for split in layout.SPLITS:
        stems = {sample for s, sample in report.converted if s == split}
        if not stems:
            continue
        pairs = exported_pairs(pair_lists[split], split, stems)
        for name in (f"{split}_pairs.txt", *extra_names(split)):
            write_pairs(out / name, pairs)


def garment_mask(parse: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Where the person wears the garment: `(H, W)` bool of the parse pixels with `labels`."""
    return np.isin(parse, labels)


def label_sample(sample: DatasetSample) -> tuple[str, str]:
    return sample.split, sample.stem
