"""Pieces shared by the exporters that write VITON-HD-style split folders (StableVITON, mask-inpaint)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest
from vtonkit.datasets.conversion import (
    ConversionReport,
    DatasetSample,
    copy_file,
    require_image,
    require_mask,
    run_samples,
    write_binary_mask,
)
from vtonkit.datasets.pairs import read_pairs, write_pairs


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


def placeholder_records(dataset: Path, split: str) -> dict[str, dict]:
    """`{person stem: record}` of the persons of `split` whose `cloth/<stem>` is a copy `vtonkit pairs`
    made (`copied_from`; `own`: a copy of the person's own product garment, so still its garment)."""
    return Manifest.load(dataset).entries(split, PLACEHOLDERS)


def borrowed(placeholders: dict[str, dict]) -> set[str]:
    """The persons whose placeholder is another garment's copy: they do not wear it."""
    return {stem for stem, record in placeholders.items() if not record.get("own")}


def default_pairs(split: str, persons: set[str], garments: set[str], placeholders: dict[str, dict]) -> Pairs:
    """The pair list of a split the dataset has none for, shaped like the official lists (and like
    `pairs.default_pairs` when no garment is a placeholder): train paired, each person in its own
    garment unless that is another's copy; test unpaired, each person with the next real garment
    (persons' own and garment-only ones, never a placeholder copy) that is not its own, or its own
    when there is no other (StableVITON's paired test reads its persons from this list too).

    Every exporter uses this one: Dress Code's listed a person's copy as a garment (someone in its own
    garment's twin) and StableVITON's left out the persons with a placeholder."""
    if split == "train":
        return [(f"{stem}.jpg", f"{stem}.jpg") for stem in sorted(persons - borrowed(placeholders))]
    pool = sorted((persons | garments) - placeholders.keys())
    pairs: Pairs = []
    cursor = 1  # the rotation of `pairs.default_pairs`: the first person gets the second garment
    for person in sorted(persons):
        record = placeholders.get(person, {})
        own = {person, record.get("copied_from")} if record.get("own") else {person}
        step = next((k for k in range(len(pool)) if pool[(cursor + k) % len(pool)] not in own), None)
        if step is not None:
            pairs.append((f"{person}.jpg", f"{pool[(cursor + step) % len(pool)]}.jpg"))
            cursor += step + 1
        elif person not in borrowed(placeholders):
            pairs.append((f"{person}.jpg", f"{person}.jpg"))
    return pairs


def exported_pairs(pairs: Pairs | None, split: str, persons: set[str], garments: set[str] = frozenset(),
                   placeholders: dict[str, dict] | None = None) -> Pairs:
    """A split's pair list (`dataset_pair_lists`) restricted to exported persons and garments (persons'
    own or garment-only ones); without a list, `default_pairs`."""
    if pairs is None:
        return default_pairs(split, persons, garments, placeholders or {})
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
                               placeholder_records(dataset, split))
        for name in (f"{split}_pairs.txt", *extra_names(split)):
            write_pairs(out / name, pairs)


def garment_mask(parse: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Where the person wears the garment: `(H, W)` bool of the parse pixels with `labels`."""
    return np.isin(parse, labels)


def label_sample(sample: DatasetSample) -> tuple[str, str]:
    return sample.split, sample.stem
