"""Box -> network-input affine transforms as SCHP and RTMPose/DWPose build them (rotation 0).

Both projects build the matrix from three point pairs with `cv2.getAffineTransform`; without
rotation that is a uniform scale about the box centre, written here in closed form:
    u = k * (x - cx) + du,    k = (out_w - m) / scale_w,   du = (out_w - m) / 2
with m = 1 for SCHP (`get_affine_transform` maps the box onto `dst_w - 1` pixels and centres it at
`(dst_w - 1) / 2`) and m = 0 for RTMPose (`get_warp_matrix`: `dst_w` pixels, centre `dst_w / 2`).
Matrices are `(2, 3)` float64 for `cv2.warpAffine`, mapping image -> input (or back with `inverse`).
"""
from __future__ import annotations

import numpy as np


def fit_aspect(width: float, height: float, aspect: float) -> tuple[float, float]:
    """Grow (w, h) to the aspect ratio w / h = `aspect` (SCHP `_xywh2cs`, RTMPose `_fix_aspect_ratio`)."""
    if width > aspect * height:
        return width, width / aspect
    if width < aspect * height:
        return height * aspect, height
    return width, height


def box_affine(
    center: tuple[float, float], scale_w: float, out_w: int, out_h: int, *, minus_one: bool,
    inverse: bool = False,
) -> np.ndarray:
    """`(2, 3)` matrix mapping the box (centre, width `scale_w`) onto an `out_w` x `out_h` input.

    Args:
        minus_one: SCHP convention (True) or RTMPose/DWPose convention (False), see module doc.
        inverse: return the input -> image matrix instead.
    """
    m = 1.0 if minus_one else 0.0
    k = (out_w - m) / float(scale_w)
    du, dv = (out_w - m) / 2.0, (out_h - m) / 2.0
    cx, cy = float(center[0]), float(center[1])
    if inverse:
        return np.array([[1 / k, 0.0, cx - du / k], [0.0, 1 / k, cy - dv / k]], dtype=np.float64)
    return np.array([[k, 0.0, du - k * cx], [0.0, k, dv - k * cy]], dtype=np.float64)


def apply_affine(points_xy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """`(N, 2)` points through a `(2, 3)` affine matrix -> `(N, 2)` float64."""
    points_xy = np.asarray(points_xy, dtype=np.float64)
    return points_xy @ matrix[:, :2].T + matrix[:, 2]
