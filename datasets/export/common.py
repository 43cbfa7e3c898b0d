"""Pieces shared by the exporters that write VITON-HD-style split folders (StableVITON, mask-inpaint)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.conversion import ConversionReport, DatasetSample, copy_file, write_binary_mask
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.pairs import default_pairs, read_pairs, write_pairs


def copy_person_and_cloth(source: layout.SplitDir, target: layout.SplitDir, stem: str, folders: tuple[str, ...]) -> None:
    """Byte copies of `folders` (photos, DensePose, agnostic image); masks re-written as verified L 0/255."""
    files = {**source.person_files(stem), **source.cloth_files(stem)}
    targets = {**target.person_files(stem), **target.cloth_files(stem)}
    for folder in folders:
        if folder in (layout.CLOTH_MASK, layout.AGNOSTIC_MASK):
            write_binary_mask(targets[folder], read_mask(files[folder]))
        else:
            copy_file(files[folder], targets[folder])


def exported_pairs(dataset: Path, split: str, stems: set[str]) -> list[tuple[str, str]]:
    """The dataset's pair list of `split` restricted to exported samples (a default list when it has none)."""
    pairs_file = layout.DatasetLayout(dataset).pairs_file(split)
    if not pairs_file.is_file():
        return default_pairs(split, sorted(stems))
    return [pair for pair in read_pairs(pairs_file) if all(layout.stem_of(name) in stems for name in pair)]


def write_split_pair_lists(dataset: Path, out: Path, report: ConversionReport,
                           extra_names: Callable[[str], tuple[str, ...]] = lambda split: ()) -> None:
    """`<out>/<split>_pairs.txt` (plus `extra_names(split)` copies) for every split with exported samples."""
    for split in layout.SPLITS:
        stems = {sample for s, sample in report.converted if s == split}
        if not stems:
            continue
        pairs = exported_pairs(dataset, split, stems)
        for name in (f"{split}_pairs.txt", *extra_names(split)):
            write_pairs(out / name, pairs)


def garment_mask(parse: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Where the person wears the garment: `(H, W)` bool of the parse pixels with `labels`."""
    return np.isin(parse, labels)


def label_sample(sample: DatasetSample) -> tuple[str, str]:
    return sample.split, sample.stem
