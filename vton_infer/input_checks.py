"""Refuse pair inputs that would give a plausible-looking but empty try-on.

A file can be well-formed (right size, right mode) and still useless: an all-black cloth mask
makes the garment vanish, an all-white one pastes the garment's background over the person, and
an agnostic image without its grey region leaves the person's own garment in place. Try-on then
"works" (exit 0, an output image) while showing no try-on at all. `read_pair` calls these and
the pair is skipped with a reason that names the file (`validate` reports the same empty mask
as `mask-empty`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vtonkit.core.errors import InputError

# A garment mask covering more than this share of the frame marks the background too (genuine
# VITON-HD masks cover 36-52 %; `validate` warns above 90 %).
MAX_CLOTH_MASK_FRACTION = 0.98
# ... and one covering less than this is a few stray pixels (a garment is never 0.5 % of the frame)
MIN_CLOTH_MASK_FRACTION = 0.005
# The agnostic's grey (128, 128, 128) region covers 25-42 % of genuine VITON-HD agnostic images
# and ~0 % of a photo; JPEG moves the grey by a few levels.
GREY, GREY_TOLERANCE = 128, 8
MIN_GREY_FRACTION = 0.01


def check_cloth_mask(mask: np.ndarray, path: Path) -> np.ndarray:
    """`mask`: (H, W) bool (thresholded at 128, as the official loader does). Returns it unchanged."""
    covered = float(mask.mean()) if mask.size else 0.0
    if covered == 0.0:
        raise InputError(
            path, "cloth mask is empty (no pixel >= 128): the garment would vanish from the try-on"
        )
    if covered < MIN_CLOTH_MASK_FRACTION:
        raise InputError(
            path,
            f"cloth mask is nearly empty ({covered:.2%} of the image): the garment would vanish from the "
            "try-on; recompute it (vtonkit prep-cloth)",
        )
    if covered > MAX_CLOTH_MASK_FRACTION:
        raise InputError(
            path,
            f"cloth mask covers {covered:.1%} of the image (full frame): it marks the background as "
            "garment; recompute it (vtonkit prep-cloth)",
        )
    return mask


def grey_fraction(rgb: np.ndarray) -> float:
    """Share of pixels within GREY_TOLERANCE of the agnostic grey in every channel."""
    near = np.abs(rgb.astype(np.int16) - GREY) <= GREY_TOLERANCE
    return float(near.all(axis=2).mean())


def check_agnostic(agnostic: np.ndarray, path: Path, *, computed_from: str = "") -> np.ndarray:
    """`agnostic`: (H, W, 3) uint8 RGB. `computed_from` names the inputs when it was not read from
    `path` but computed (the message then says so). Returns it unchanged."""
    share = grey_fraction(agnostic)
    if share < MIN_GREY_FRACTION:
        source = f"the agnostic computed from {computed_from}" if computed_from else "agnostic image"
        raise InputError(
            path,
            f"{source} has no grey region ({share:.2%} grey pixels, need >= {MIN_GREY_FRACTION:.0%}): the "
            "person's own garment would stay in place",
        )
    return agnostic
