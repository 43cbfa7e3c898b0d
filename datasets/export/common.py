"""Pieces shared by the exporters that write VITON-HD-style split folders (StableVITON, mask-inpaint)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.manifest import placeholder_stems
from vtonkit.datasets.conversion import (
    ConversionReport,
    DatasetSample,
    copy_file,
    require_image,
    require_mask,
    run_samples,
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


def copy_garment(source: layout.SplitDir, stem: str, target_cloth: Path, target_mask: Path) -> None:
    """A garment-only sample (a shop's garment no person wears): the garment photo byte for byte,
    its mask as verified L 0/255, both checked before either is written."""
    mask = require_mask(source.cloth_mask(stem), cloth=True)
    copy_file(require_image(source.cloth(stem), layout.CLOTH), target_cloth)
    write_binary_mask(target_mask, mask)


Pairs = list[tuple[str, str]]


def dataset_pair_lists(dataset: Path) -> dict[str, Pairs | None]:
    """The dataset's pair list of each split (None where it has none), read before an export writes
    anything: a pair list the exporters cannot read stops the export before its first sample."""
    lists: dict[str, Pairs | None] = {}
    for split in layout.SPLITS:
        pairs_file = layout.DatasetLayout(dataset).pairs_file(split)
        lists[split] = read_pairs(pairs_file) if pairs_file.is_file() else None
    return lists


def exported_pairs(pairs: Pairs | None, split: str, persons: set[str], garments: set[str] = frozenset(),
                   placeholders: set[str] = frozenset()) -> Pairs:
    """A split's pair list (`dataset_pair_lists`) restricted to exported persons and garments (persons'
    own or garment-only ones); without a list, a default one of the persons whose own garment is no
    placeholder."""
    if pairs is None:
        return default_pairs(split, sorted(persons - placeholders))
    return [(person, cloth) for person, cloth in pairs
            if layout.stem_of(person) in persons and layout.stem_of(cloth) in persons | garments]


def exported_stems(report: ConversionReport, samples: list[DatasetSample], split: str) -> set[str]:
    """The stems of `samples` in `split` that the export wrote."""
    done = set(report.converted)
    return {s.stem for s in samples if s.split == split and (s.split, s.stem) in done}


def export_garments(dataset: Path, out: Path, garments: list[DatasetSample], report: ConversionReport,
                    progress: bool) -> None:
    """Write the garment-only samples (`dataset_garments`) into `out`'s VITON-HD-style split folders."""
    def export(sample: DatasetSample) -> None:
        target = layout.DatasetLayout(out).split(sample.split)
        copy_garment(layout.DatasetLayout(dataset).split(sample.split), sample.stem, target.cloth(sample.stem),
                     target.cloth_mask(sample.stem))

    run_samples(garments, export, label=label_sample, report=report, description="export garments",
                progress=progress)


def write_split_pair_lists(pair_lists: dict[str, Pairs | None], out: Path, report: ConversionReport,
                           persons: list[DatasetSample], garments: list[DatasetSample], dataset: Path,
                           extra_names: Callable[[str], tuple[str, ...]] = lambda split: ()) -> None:
    """`<out>/<split>_pairs.txt` (plus `extra_names(split)` copies) for every split with exported persons."""
    for split in layout.SPLITS:
        stems = exported_stems(report, persons, split)
        if not stems:
            continue
        pairs = exported_pairs(pair_lists[split], split, stems, exported_stems(report, garments, split),
                               placeholder_stems(dataset, split))
        for name in (f"{split}_pairs.txt", *extra_names(split)):
            write_pairs(out / name, pairs)


def garment_mask(parse: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Where the person wears the garment: `(H, W)` bool of the parse pixels with `labels`."""
    return np.isin(parse, labels)


def label_sample(sample: DatasetSample) -> tuple[str, str]:
    return sample.split, sample.stem
