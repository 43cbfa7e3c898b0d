"""Pure operations on boolean masks that both the preprocessing backends and the dataset checks use."""

from __future__ import annotations

import cv2
import numpy as np


def enclosed_background(mask: np.ndarray) -> np.ndarray:
    """Background pixels not connected (4-neighbourhood) to the image border: the mask's holes."""
    padded = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    return padded[1:-1, 1:-1] == 1


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
