"""Are the stored agnostic files consistent with the sample's parse and pose?

The parse-agnostic, the agnostic mask and the grey agnostic image are recomputed with the
official upper-body recipe (`vtonkit.preprocess.agnostic.compute_agnostic`) and compared with the
stored files. The comparison tolerates what genuine VITON-HD files legitimately differ by:

* parse-agnostic: the shipped files additionally set arm labels (14/15) to 0 inside the grey
  region of the image agnostic (see ../shared/reference/agnostic/README.md); those pixels are
  allowed, plus a few boundary pixels (rasterisation, at most 19 on the reference samples).
* agnostic image: JPEG ringing around the grey region, so the grey test skips a boundary band.
* agnostic mask: 0.998 IoU on samples whose keypoints were re-estimated.

A wrong file (another sample's agnostic, nothing removed, garbage) differs by thousands of
pixels and is reported as `agnostic-mismatch`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.datasets.mask_geometry import mask_iou

# parse-agnostic: pixels that may differ beyond the known arm removal (reference max: 19).
MAX_PARSE_MISMATCH_PIXELS = 400
BOUNDARY_BAND_PX = 8
GREY, GREY_TOLERANCE = 128, 16
MIN_GREY_FRACTION = 0.95  # inside the eroded mask, stored agnostic pixels that are grey
MAX_CHANGED_OUTSIDE = 0.01  # outside the dilated mask, pixels changed vs. the photo
CHANGED_THRESHOLD = 48
MIN_MASK_IOU = 0.98


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Dilation by a diamond of radius `steps` (OpenCV: ~10x faster than scipy.ndimage here)."""
    return cv2.dilate(mask.astype(np.uint8), _CROSS, iterations=steps).astype(bool)


def _erode(mask: np.ndarray, steps: int) -> np.ndarray:
    # Outside the image counts as background, so the region also shrinks away from the frame.
    return cv2.erode(
        mask.astype(np.uint8), _CROSS, iterations=steps, borderType=cv2.BORDER_CONSTANT, borderValue=0
    ).astype(bool)


@dataclass(frozen=True)
class AgnosticMismatch:
    """One disagreement: which stored artifact (`layout` folder name) and why."""

    folder: str
    message: str


def parse_agnostic_mismatch(stored: np.ndarray, expected: np.ndarray, grey_mask: np.ndarray) -> int:
    """Pixels where `stored` differs from `expected`, not counting the known shipped difference.

    Args:
        stored, expected: `(H, W)` uint8 CIHP ids.
        grey_mask: `(H, W)` bool grey region of the image agnostic (recomputed).
    """
    differ = stored != expected
    grey_zone = _dilate(grey_mask, 2)
    arms_removed = (
        (stored == Cihp.BACKGROUND) & np.isin(expected, (Cihp.LEFT_ARM, Cihp.RIGHT_ARM)) & grey_zone
    )
    return int((differ & ~arms_removed).sum())


def grey_fraction_inside(agnostic_rgb: np.ndarray, grey_mask: np.ndarray) -> float:
    """Share of the eroded grey region that is (128 +- 16) grey in the stored `(H, W, 3)` image."""
    core = _erode(grey_mask, BOUNDARY_BAND_PX)
    if not core.any():
        return 1.0
    grey = (np.abs(agnostic_rgb[core].astype(np.int16) - GREY) <= GREY_TOLERANCE).all(axis=1)
    return float(grey.mean())


def changed_fraction_outside(agnostic_rgb: np.ndarray, photo_rgb: np.ndarray, grey_mask: np.ndarray) -> float:
    """Share of pixels away from the grey region where the stored agnostic differs from the photo."""
    outside = ~_dilate(grey_mask, BOUNDARY_BAND_PX)
    if not outside.any():
        return 0.0
    diff = cv2.absdiff(agnostic_rgb, photo_rgb).max(axis=2)
    return float((diff[outside] > CHANGED_THRESHOLD).mean())


def compare_agnostic(
    image_rgb: np.ndarray,
    parse: np.ndarray,
    body25: np.ndarray,
    *,
    stored_parse_agnostic: np.ndarray | None,
    stored_agnostic: np.ndarray | None,
    stored_agnostic_mask: np.ndarray | None,
    category: str = "upper",
) -> list[AgnosticMismatch]:
    """Recompute the agnostic and compare every stored artifact that is present.

    Args:
        image_rgb: `(H, W, 3)` uint8 person photo.
        parse: `(H, W)` uint8 CIHP ids (image-parse-v3).
        body25: `(25, 3)` keypoints.
        stored_parse_agnostic: `(H, W)` uint8 ids or None.
        stored_agnostic: `(H, W, 3)` uint8 grey-filled photo or None.
        stored_agnostic_mask: `(H, W)` uint8 grey levels (>= 128 = masked) or None.
        category: garment category of the dataset ("upper" = VITON-HD / HR-VITON).
    Raises:
        ValueError (incl. `MissingKeypointsError`): the recipe cannot run on this pose.
    """
    from vtonkit.preprocess.agnostic import compute_agnostic

    expected = compute_agnostic(image_rgb, parse, body25, category)
    found: list[AgnosticMismatch] = []
    if stored_parse_agnostic is not None:
        mismatch = parse_agnostic_mismatch(stored_parse_agnostic, expected.parse_agnostic, expected.mask)
        if mismatch > MAX_PARSE_MISMATCH_PIXELS:
            found.append(
                AgnosticMismatch(
                    "image-parse-agnostic-v3.2",
                    f"{mismatch} pixels differ from the parse-agnostic recomputed from image-parse-v3 "
                    f"and the pose (tolerance {MAX_PARSE_MISMATCH_PIXELS} beyond the known arm removal)",
                )
            )
    if stored_agnostic is not None:
        inside = grey_fraction_inside(stored_agnostic, expected.mask)
        outside = changed_fraction_outside(stored_agnostic, image_rgb, expected.mask)
        if inside < MIN_GREY_FRACTION or outside > MAX_CHANGED_OUTSIDE:
            found.append(
                AgnosticMismatch(
                    "agnostic-v3.2",
                    f"grey region disagrees with the recomputed one: {inside:.1%} grey inside "
                    f"(need >= {MIN_GREY_FRACTION:.0%}), {outside:.2%} changed outside "
                    f"(max {MAX_CHANGED_OUTSIDE:.0%})",
                )
            )
    if stored_agnostic_mask is not None:
        iou = mask_iou(stored_agnostic_mask >= 128, expected.mask)
        if iou < MIN_MASK_IOU:
            found.append(
                AgnosticMismatch(
                    "agnostic-mask",
                    f"IoU {iou:.3f} with the recomputed agnostic mask (need >= {MIN_MASK_IOU})",
                )
            )
    return found
