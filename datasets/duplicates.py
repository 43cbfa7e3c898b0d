"""Exact (sha256) and near-duplicate (perceptual hash) images, and train/test leakage.

Near duplicates are pairs whose 256-bit pHash AND dHash (imagehash, hash_size=16) both lie within
`MAX_HAMMING` bits: a re-encoded or resized copy is at 0-2 bits; the closest two different garments
among the VITON-HD samples are 66 bits apart (8-bit pHash would put them at 8, hence 16x16 hashes).
Both hashes see only grey levels, so colour variants of one cut (navy, black and khaki trousers
from one template) look alike to them; a 4x4 mean-colour signature must agree too: no cell channel
may differ by more than `MAX_COLOUR_DIFFERENCE` levels (a re-encoded, resized copy differs by 1).
The hashes and the colour signature come from `vtonkit.datasets.image_hashes`, shared with the
crawler's dedupe (64-bit pHash) with the same colour threshold.
Comparisons run on packed bits with numpy in blocks of ~64 MB, so 10k x 10k images fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.image_hashes import (
    MAX_COLOUR_DIFFERENCE,
    colour_difference,
    colour_signature,
    dhash_bits,
    phash_bits,
)

HASH_SIZE = 16
MAX_HAMMING = 20
CHUNK_BYTES = 64_000_000  # XOR block kept in memory at a time


@dataclass(frozen=True)
class HashedImage:
    """One image file: `kind` ("image" or "cloth"), split, stem, its path and hashes."""

    kind: str
    split: str
    stem: str
    path: Path
    sha256: str
    bits: np.ndarray  # (2 * HASH_SIZE**2,) bool: pHash bits then dHash bits
    colour: np.ndarray  # (48,) uint8: mean RGB of a 4x4 grid (`image_hashes.colour_signature`)


def perceptual_bits(image) -> np.ndarray:
    """pHash + dHash bits of a PIL image (any mode): `(512,)` bool."""
    return np.concatenate([phash_bits(image, HASH_SIZE), dhash_bits(image, HASH_SIZE)])


def hash_image(kind: str, split: str, stem: str, path: Path) -> HashedImage | None:
    """Hash one file; None when it cannot be decoded (the format check reports that)."""
    from vtonkit.datasets.io.images import open_image

    from vtonkit.core.errors import InputError

    try:
        image = open_image(path)
    except InputError:
        return None
    return HashedImage(kind, split, stem, path, file_digest(path), perceptual_bits(image), colour_signature(image))


def near_pairs(items: list[HashedImage]) -> list[tuple[int, int, int, bool]]:
    """Index pairs (i < j) that are exact or near duplicates: (i, j, hamming distance, exact)."""
    if len(items) < 2:
        return []
    # 256-bit hashes as 4 uint64 words each: XOR + popcount on words, pHash first, dHash on candidates.
    packed = np.stack([np.packbits(item.bits) for item in items]).view(np.uint64)  # (N, 8)
    phash_words, dhash_words = packed[:, :4], packed[:, 4:]
    out = []
    chunk = max(1, CHUNK_BYTES // (len(items) * 8))
    for start in range(0, len(items), chunk):
        block = phash_words[start : start + chunk]
        phash = np.zeros((len(block), len(items)), dtype=np.uint16)
        for word in range(4):  # 2-D per word: far faster than one 3-D XOR + sum
            phash += np.bitwise_count(block[:, word, None] ^ phash_words[None, :, word])
        rows, cols = np.nonzero(phash <= MAX_HAMMING)
        keep = start + rows < cols
        rows, cols = rows[keep], cols[keep]
        if not rows.size:
            continue
        dhash = np.bitwise_count(dhash_words[start + rows] ^ dhash_words[cols]).sum(-1)
        for row, col, near in zip(rows.tolist(), cols.tolist(), (dhash <= MAX_HAMMING).tolist()):
            if near and colour_difference(items[start + row].colour, items[col].colour) <= MAX_COLOUR_DIFFERENCE:
                i = start + row
                out.append((i, col, int(phash[row, col]), items[i].sha256 == items[col].sha256))
    return out


@dataclass(frozen=True)
class DuplicatePair:
    first: HashedImage
    second: HashedImage
    distance: int
    exact: bool

    @property
    def cross_split(self) -> bool:
        return self.first.split != self.second.split


def find_duplicates(items: Iterable[HashedImage]) -> list[DuplicatePair]:
    """Exact and near duplicates among images of the same kind (persons with persons, cloths with cloths)."""
    by_kind: dict[str, list[HashedImage]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    pairs = []
    for group in by_kind.values():
        pairs += [
            DuplicatePair(group[i], group[j], distance, exact) for i, j, distance, exact in near_pairs(group)
        ]
    return pairs


def shared_names(stems_by_split: dict[str, set[str]]) -> set[str]:
    """Stems present in more than one split."""
    seen: dict[str, int] = {}
    for stems in stems_by_split.values():
        for stem in stems:
            seen[stem] = seen.get(stem, 0) + 1
    return {stem for stem, count in seen.items() if count > 1}
