"""Filling what the warp baseline's new garment leaves uncovered: inpainting and a skin-coloured fill."""
from __future__ import annotations

import cv2
import numpy as np
from vtonkit.datasets.labels import Cihp

def fill_holes(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Inpaint `hole` (H, W) bool of an (H, W, 3) uint8 image (Telea, at half resolution for speed)."""
    if not hole.any():
        return rgb
    height, width = hole.shape
    small = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8), (width // 2, height // 2), interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    filled = cv2.resize(cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA), (width, height),
                        interpolation=cv2.INTER_LINEAR)
    out = rgb.copy()
    out[hole] = filled[hole]
    return out


SKIN_LABELS = (Cihp.FACE, Cihp.NECK, Cihp.LEFT_ARM, Cihp.RIGHT_ARM, Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
MIN_SKIN_PIXELS = 200


def skin_fill(rgb: np.ndarray, hole: np.ndarray, image: np.ndarray, parse: np.ndarray) -> np.ndarray:
    """Paint `hole` (H, W) bool with the person's skin colour, shaded smoothly (darker towards the hole's
    edges, a crude cylinder look): legs that the old garment hid and the new one does not cover.

    The colour is the median of the person's face/neck/arm/leg pixels of `image` (H, W, 3) uint8 under
    `parse`; with too little skin visible the hole is inpainted (`fill_holes`) instead. A guess, as
    befits a baseline: the real legs were never seen.
    """
    if not hole.any():
        return rgb
    skin = np.isin(parse, SKIN_LABELS)
    if skin.sum() < MIN_SKIN_PIXELS:
        return fill_holes(rgb, hole)
    colour = np.median(image[skin].astype(np.float32), axis=0)
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    shade = 0.78 + 0.22 * np.clip(depth / 12.0, 0.0, 1.0)
    painted = np.clip(colour[None, None, :] * shade[..., None], 0, 255)
    # feather the seam over a few pixels so the fill meets its surroundings without a hard edge
    weight = cv2.GaussianBlur(hole.astype(np.float32), (7, 7), 0)[..., None] * hole[..., None]
    out = rgb.astype(np.float32)
    out = out * (1 - weight) + painted * weight
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
