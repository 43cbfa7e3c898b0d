"""Drop-shadow trim of a product shot's cloth mask (lower garments of the warp baseline)."""
from __future__ import annotations

import cv2
import numpy as np
from vtonkit.vton_infer.warp_geometry import MIN_REGION_PIXELS

SHADOW_BAND = 24  # px from the mask's edge where a drop shadow may have joined the cloth mask


def trim_shadow(cloth: np.ndarray, cloth_mask: np.ndarray) -> np.ndarray:
    """(H, W) bool cloth mask without the product shot's drop shadow along its edge.

    Drawn and studio shots often cast a soft grey shadow that a cloth masker takes for garment; warped
    onto a person it shows as a light rim. Trimmed: mask pixels within `SHADOW_BAND` of the mask edge
    that are neutral grey, close to the photo background and unlike the garment's own interior colour
    (so a grey or white garment keeps its edges). cloth: (H, W, 3) uint8; cloth_mask: (H, W) bool.
    """
    if cloth_mask.all() or not cloth_mask.any():
        return cloth_mask
    pixels = cloth.astype(np.int16)
    background = np.median(pixels[~cloth_mask], axis=0)
    depth = cv2.distanceTransform(cloth_mask.astype(np.uint8), cv2.DIST_L2, 5)
    interior = depth > SHADOW_BAND
    garment_colour = np.median(pixels[interior], axis=0) if interior.sum() > MIN_REGION_PIXELS else background
    neutral = np.ptp(pixels, axis=2) < 12
    near_background = np.abs(pixels - background).max(axis=2) < 60
    unlike_garment = np.abs(pixels - garment_colour).max(axis=2) > 40
    shadow = cloth_mask & (depth <= SHADOW_BAND) & neutral & near_background & unlike_garment
    if shadow.sum() > 0.25 * cloth_mask.sum():  # not a rim any more: rather keep the masker's answer
        return cloth_mask
    return cloth_mask & ~shadow
