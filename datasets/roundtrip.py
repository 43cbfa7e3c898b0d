"""Compare two vtonkit datasets file by file: which files are byte-identical, which differ and how.

Used to list what a round trip (HR-VITON -> Dress Code -> HR-VITON) loses: `compare_datasets`
returns one `FileDifference` per file that is not byte-identical (or missing on one side), with a
measured description (parse pixels per label change, mask IoU, keypoint distances per joint,
DensePose part agreement, image max difference).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.io.densepose import read_densepose
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import BODY25_NAMES, read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse


@dataclass(frozen=True)
class FileDifference:
    """One file of one sample that is not byte-identical between the two datasets."""

    split: str
    sample: str
    folder: str
    detail: str


@dataclass
class Comparison:
    """Outcome of `compare_datasets`: identical files counted, every other file described."""

    identical: Counter
    differences: list[FileDifference]

    def by_folder(self) -> dict[str, list[FileDifference]]:
        grouped: dict[str, list[FileDifference]] = {}
        for item in self.differences:
            grouped.setdefault(item.folder, []).append(item)
        return grouped


def _parse_detail(a: Path, b: Path) -> str:
    first, second = read_parse(a), read_parse(b)
    changed = first != second
    if not changed.any():
        return "same label ids, different bytes (palette or compression)"
    moves = Counter(zip(first[changed].tolist(), second[changed].tolist()))
    listed = ", ".join(f"{x}->{y}: {n} px" for (x, y), n in moves.most_common(4))
    return f"{int(changed.sum())} px relabelled ({listed})"


def _mask_detail(a: Path, b: Path) -> str:
    first, second = read_mask(a), read_mask(b)
    union = np.logical_or(first, second).sum()
    iou = 1.0 if union == 0 else float(np.logical_and(first, second).sum() / union)
    return f"mask IoU {iou:.4f} ({int((first != second).sum())} px differ)"


def _keypoint_detail(a: Path, b: Path) -> str:
    first, second = read_keypoints(a, fmt="body25"), read_keypoints(b, fmt="body25")
    distance = np.linalg.norm(first[:, :2] - second[:, :2], axis=1)
    moved = [BODY25_NAMES[i] for i in np.flatnonzero((distance > 0.01) | (np.abs(first[:, 2] - second[:, 2]) > 1e-3))]
    if not moved:
        return "same joints and scores (document differs: version, rounding, face/hand keypoints)"
    return f"joints differ: {', '.join(moved)} (max {distance.max():.2f} px)"


def _densepose_detail(a: Path, b: Path) -> str:
    first, second = read_densepose(a), read_densepose(b)
    return f"part ids agree on {float((first == second).mean()):.2%} of pixels"


def _image_detail(a: Path, b: Path) -> str:
    first, second = read_rgb(a).astype(np.int16), read_rgb(b).astype(np.int16)
    if first.shape != second.shape:
        return f"sizes differ: {first.shape} vs {second.shape}"
    diff = np.abs(first - second)
    return f"max pixel difference {int(diff.max())}, mean {float(diff.mean()):.2f}"


DETAILS = {
    layout.PARSE: _parse_detail, layout.PARSE_AGNOSTIC: _parse_detail,
    layout.CLOTH_MASK: _mask_detail, layout.AGNOSTIC_MASK: _mask_detail,
    layout.OPENPOSE_JSON: _keypoint_detail, layout.DENSEPOSE: _densepose_detail,
}


def compare_datasets(first: str | Path, second: str | Path) -> Comparison:
    """Compare every layout file and pair list of two dataset roots."""
    data_a, data_b = layout.DatasetLayout(first), layout.DatasetLayout(second)
    identical: Counter = Counter()
    differences: list[FileDifference] = []
    for split in layout.SPLITS:
        a_pairs, b_pairs = data_a.pairs_file(split), data_b.pairs_file(split)
        if a_pairs.is_file() or b_pairs.is_file():
            if a_pairs.is_file() and b_pairs.is_file() and a_pairs.read_bytes() == b_pairs.read_bytes():
                identical["pairs"] += 1
            else:
                differences.append(FileDifference(split, "", "pairs", f"{a_pairs.name} differs"))
        split_a, split_b = data_a.split(split), data_b.split(split)
        persons = set(split_a.person_stems()) | set(split_b.person_stems())
        # a shop's garments no person wears are compared too (a round trip once dropped them unsaid)
        for stem in sorted(persons | set(split_a.cloth_stems()) | set(split_b.cloth_stems())):
            files_a = {**split_a.person_files(stem), **split_a.cloth_files(stem)}
            files_b = {**split_b.person_files(stem), **split_b.cloth_files(stem)}
            for folder in layout.ALL_FOLDERS if stem in persons else layout.CLOTH_FOLDERS:
                a, b = files_a[folder], files_b[folder]
                if not (a.is_file() and b.is_file()):
                    if a.is_file() or b.is_file():
                        side = "second" if a.is_file() else "first"
                        differences.append(FileDifference(split, stem, folder, f"missing in the {side} dataset"))
                    continue
                if a.read_bytes() == b.read_bytes():
                    identical[folder] += 1
                    continue
                detail = DETAILS.get(folder, _image_detail)(a, b)
                differences.append(FileDifference(split, stem, folder, detail))
    return Comparison(identical, differences)
