"""OpenPose-style skeleton rendering (`openpose_img/<stem>_rendered.png`): BODY_25 on black.

Colours and limb pairs follow OpenPose's BODY_25 renderer (`--disable_blending`), with its
default thickness rule (circle ~ sqrt(area) / 75). HR-VITON only shows this image in its visual
grids; VITON-HD's segmentation and GMM networks do read it.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vtonkit.datasets.io.images import write_png
from vtonkit.datasets.io.keypoints import present_mask

BODY25_LIMBS: tuple[tuple[int, int], ...] = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12),
    (12, 13), (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21),
    (11, 22), (22, 23), (11, 24),
)
BODY25_COLOURS_RGB: tuple[tuple[int, int, int], ...] = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255), (85, 0, 255), (0, 0, 255), (0, 0, 255),
    (0, 0, 255), (0, 255, 255), (0, 255, 255), (0, 255, 255),
)


def render_skeleton(body25: np.ndarray, height: int, width: int, *, min_confidence: float = 0.0) -> np.ndarray:
    """Draw BODY_25 keypoints `(25, 3)` on a black `(height, width, 3)` uint8 RGB canvas."""
    body25 = np.asarray(body25, dtype=np.float32)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    present = present_mask(body25) & (body25[:, 2] >= min_confidence)
    thickness = max(int(round(np.sqrt(height * width) / 75.0)), 2)
    line_width = max(int(round(thickness * 0.75)), 1)
    radius = max(thickness // 2, 1)
    points = [(int(round(x)), int(round(y))) for x, y in body25[:, :2]]
    for a, b in BODY25_LIMBS:
        if present[a] and present[b]:
            cv2.line(canvas, points[a], points[b], BODY25_COLOURS_RGB[b], line_width, cv2.LINE_AA)
    for index in np.flatnonzero(present):
        cv2.circle(canvas, points[index], radius, BODY25_COLOURS_RGB[index], -1, cv2.LINE_AA)
    return canvas


def write_skeleton(path: str | Path, body25: np.ndarray, height: int = 1024, width: int = 768) -> None:
    """Render and write the skeleton as an RGB PNG (3 channels: RGBA would break HR-VITON's Normalize)."""
    write_png(path, render_skeleton(body25, height, width))
