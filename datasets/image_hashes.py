"""Image fingerprints for near-duplicate search: perceptual hashes and a 4x4 colour signature.

One implementation serves both duplicate searches of vtonkit:
* the crawler (`vtonkit.crawlers.image_facts`) compares each downloaded catalog image with those
  already kept, on 512 px thumbnails, with a 64-bit pHash (stored in the catalog as 16 hex
  digits) within `VTONKIT_PHASH_DISTANCE` = 6 bits;
* the dataset validator (`vtonkit.datasets.duplicates`) compares every image of a dataset with
  every other at full resolution, with 256-bit pHash and dHash within 20 bits each (the closest
  two different VITON-HD garments are 8 bits apart in a 64-bit pHash, 66 in a 256-bit one).
The hash lengths (and so the bit thresholds) differ because the crawler's hex pHash is part of
the catalog format. The colour threshold is one: `MAX_COLOUR_DIFFERENCE` levels. Resized and
re-encoded copies of the VITON-HD garments and of the demo store's drawings (JPEG q60..90, 384 to
1024 px) differ by at most 2 levels; a garment with its red and blue channels swapped (a colour
variant of one cut, with the very same 64-bit pHash) differs by 24, which the crawler's former
threshold of 24 let through as a duplicate.
Both hashes see only grey levels, so colour variants of one cut (navy and black trousers from one
template) look alike to them: the colour signature must agree too.
"""
from __future__ import annotations

import numpy as np

MAX_COLOUR_DIFFERENCE = 12  # largest difference between two colour signatures of one picture, 0..255


def phash_bits(image, hash_size: int = 8) -> np.ndarray:
    """pHash of a PIL image (any mode): `(hash_size**2,)` bool (DCT of the grey image vs its median)."""
    import imagehash

    return imagehash.phash(image, hash_size=hash_size).hash.ravel()


def dhash_bits(image, hash_size: int = 8) -> np.ndarray:
    """dHash of a PIL image (any mode): `(hash_size**2,)` bool (sign of horizontal grey gradients)."""
    import imagehash

    return imagehash.dhash(image, hash_size=hash_size).hash.ravel()


def bits_to_hex(bits: np.ndarray) -> str:
    """`(N,)` bool hash bits -> hex digits, most significant bit first (imagehash's `str()`)."""
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):0{(len(bits) + 3) // 4}x}"


def hex_hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of the same length."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def colour_signature(image) -> np.ndarray:
    """Mean RGB of a 4x4 grid of a PIL image (any mode; box filter): `(48,)` uint8."""
    from PIL import Image

    return np.asarray(image.convert("RGB").resize((4, 4), Image.Resampling.BOX), dtype=np.uint8).ravel()


def colour_difference(a: np.ndarray, b: np.ndarray) -> int:
    """Largest absolute difference between two `(48,)` colour signatures, 0..255."""
    return int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())
