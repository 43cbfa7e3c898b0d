"""Test helper: a throw-away VITON-HD dataset copied from ../shared/data/vitonhd into a tmp dir.

The genuine files are copied at test time (never into the repo); pair lists are written here
because the sample set ships none: train is paired, test pairs each person with the next
person's garment (unpaired, as the official test list does).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from vtonkit.datasets import layout
from vtonkit.datasets.pairs import write_pairs


def copy_vitonhd(source: Path, target: Path) -> Path:
    """Copy the layout folders of both splits and write train/test pair lists; returns `target`."""
    for split in layout.SPLITS:
        for folder in layout.ALL_FOLDERS:
            shutil.copytree(source / split / folder, target / split / folder)
    data = layout.DatasetLayout(target)
    train = data.split("train").person_stems()
    write_pairs(data.pairs_file("train"), [(f"{s}.jpg", f"{s}.jpg") for s in train])
    test = data.split("test").person_stems()
    write_pairs(data.pairs_file("test"),
                [(f"{s}.jpg", f"{test[(i + 1) % len(test)]}.jpg") for i, s in enumerate(test)])
    return target
