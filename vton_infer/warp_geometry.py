"""Geometry the warp baseline's garment fits share: per-row contour landmarks of a mask, their
smoothing over rows, and the remap of the garment photo and mask through the resulting maps."""
from __future__ import annotations

import cv2
import numpy as np

# Below this many pixels the person is taken to wear nothing of the category.
MIN_REGION_PIXELS = 500
SMOOTH_ROWS = 15


def _runs(row: np.ndarray) -> np.ndarray:
    """(k, 2) [start, end] (inclusive) of the True runs of a 1-D bool array."""
    padded = np.concatenate([[False], row, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges.reshape(-1, 2) - np.array([0, 1])


def row_key_points(mask: np.ndarray, centre_x: float) -> np.ndarray:
    """(H, 5) per-row contour landmarks [outer left, inner left, centre, inner right, outer right].

    inner left/right = the edges of the run that contains the centre line (the garment body), or
    of the gap around it (between trouser legs); outer = the row's extreme extents (sleeves).
    NaN rows are empty.
    """
    points = np.full((mask.shape[0], 5), np.nan)
    for y in np.flatnonzero(mask.any(axis=1)):
        runs = _runs(mask[y])
        containing = runs[(runs[:, 0] <= centre_x) & (runs[:, 1] >= centre_x)]
        if len(containing):
            inner_left, inner_right = containing[0]
        else:
            left = runs[runs[:, 1] < centre_x]
            right = runs[runs[:, 0] > centre_x]
            inner_left = left[-1, 1] if len(left) else centre_x
            inner_right = right[0, 0] if len(right) else centre_x
        outer_left, outer_right = runs[0, 0], runs[-1, 1]
        points[y] = [min(outer_left, centre_x), min(inner_left, centre_x), centre_x,
                     max(inner_right, centre_x), max(outer_right, centre_x)]
    return points


def smooth_rows(values: np.ndarray, size: int = SMOOTH_ROWS) -> np.ndarray:
    """Moving average over rows (axis 0) ignoring NaN rows, which stay NaN."""
    valid = ~np.isnan(values[:, 0])
    kernel = np.ones(size)
    out = np.full_like(values, np.nan)
    counts = np.convolve(valid.astype(float), kernel, mode="same")
    for column in range(values.shape[1]):
        sums = np.convolve(np.where(valid, values[:, column], 0.0), kernel, mode="same")
        out[:, column] = np.where(valid, sums / np.maximum(counts, 1), np.nan)
    return out


def remap_garment(
    cloth: np.ndarray, cloth_mask: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Garment photo and mask through cv2.remap maps: warped (H, W, 3) uint8 and alpha (H, W) float32
    in [0, 1] (the mask where `support` (H, W) bool holds, softened by a 3x3 blur)."""
    warped = cv2.remap(cloth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(cloth_mask.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = cv2.GaussianBlur(alpha * support, (3, 3), 0)
    return warped, np.clip(alpha, 0.0, 1.0)
