"""Per-image colour models: smoothed Lab histograms learned from example pixels of one region.

The geometric parser learns, for each photo, what skin (from the face), hair (above the face)
and each garment (chest, thighs) look like, and then asks every ambiguous pixel which model
explains its colour best. A coarse 3-D histogram (blurred so that unseen shades near a seen one
still score) is fast to fit and to evaluate (one table lookup per pixel) and, unlike a single
Gaussian, handles multi-coloured prints.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BINS = 16  # per Lab channel; 16^3 = 4096 cells
_SHIFT = 4  # 256 / BINS == 2 ** _SHIFT


def lab_bins(image_rgb: np.ndarray) -> np.ndarray:
    """`(..., 3)` uint8 RGB -> `(...)` int32 histogram cell index of each pixel's Lab colour."""
    lab = cv2.cvtColor(np.ascontiguousarray(image_rgb).reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    cells = lab >> _SHIFT
    index = (cells[:, 0].astype(np.int32) * BINS + cells[:, 1]) * BINS + cells[:, 2]
    return index.reshape(image_rgb.shape[:-1])


@dataclass
class ColourModel:
    """Normalised colour histogram: `log_density[cell]` = log p(colour | region)."""

    log_density: np.ndarray  # (BINS**3,) float32
    count: int

    @classmethod
    def fit(cls, cells: np.ndarray, *, smoothing: float = 1.0, floor: float = 1e-6) -> ColourModel:
        """Learn from the cell indices (see `lab_bins`) of a region's pixels."""
        histogram = np.bincount(cells.ravel(), minlength=BINS ** 3).astype(np.float32)
        count = int(histogram.sum())
        if smoothing > 0:
            cube = histogram.reshape(BINS, BINS, BINS)
            for axis in range(3):
                cube = _blur_axis(cube, axis, smoothing)
            histogram = cube.ravel()
        total = float(histogram.sum())
        density = histogram / total if total > 0 else np.full_like(histogram, 1.0 / histogram.size)
        return cls(np.log(density + floor).astype(np.float32), count)

    def log_likelihood(self, cells: np.ndarray) -> np.ndarray:
        """log p(colour | region) for each cell index, same shape as `cells`."""
        return self.log_density[cells]

    def similarity(self, other: ColourModel) -> float:
        """Bhattacharyya coefficient of the two colour distributions (1 = identical, 0 = disjoint)."""
        p = np.exp(self.log_density)
        q = np.exp(other.log_density)
        return float(np.sqrt(p / p.sum() * q / q.sum()).sum())


def _blur_axis(cube: np.ndarray, axis: int, sigma: float) -> np.ndarray:
    radius = max(1, int(round(2 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    moved = np.moveaxis(cube, axis, -1)
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(radius, radius)])
    out = sum(k * padded[..., i:i + moved.shape[-1]] for i, k in enumerate(kernel))
    return np.moveaxis(out, -1, axis)
