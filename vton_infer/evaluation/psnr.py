"""MSE and PSNR of images in [0, 1] (ToTensor scale)."""
from __future__ import annotations

import math

import numpy as np

MSE_FLOOR = 1e-10  # identical images: PSNR 100 dB instead of infinity (JSON has no infinity)


def unit_float(rgb: np.ndarray) -> np.ndarray:
    """uint8 -> float64 in [0, 1] (torchvision ToTensor's scaling)."""
    return np.asarray(rgb, dtype=np.float64) / 255.0


def squared_error(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, int]:
    """(sum of squared differences, number of values) of two uint8 images, optionally inside an (H, W) mask."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    diff = (unit_float(a) - unit_float(b)) ** 2
    if mask is not None:
        diff = diff[mask]
    return float(diff.sum()), int(diff.size)


def psnr_from_mse(mse: float) -> float:
    """10 log10(1 / MSE) for data range 1."""
    return 10.0 * math.log10(1.0 / max(mse, MSE_FLOOR))
