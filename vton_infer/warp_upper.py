"""Warp baseline, region fit (upper garments and dresses, and lower ones without a usable pose):
the garment's rows and contour landmarks mapped piecewise linearly onto the person's garment region."""
from __future__ import annotations

import logging

import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.vton_infer.warp_geometry import MIN_REGION_PIXELS, remap_garment, row_key_points, smooth_rows

logger = logging.getLogger(__name__)

GARMENT_LABELS: dict[str, tuple[int, ...]] = {
    "upper": (Cihp.UPPER_CLOTHES, Cihp.COAT),
    "lower": (Cihp.PANTS, Cihp.SKIRT),
    "dresses": (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.SKIRT),
}


def target_region(parse: np.ndarray, agnostic_mask: np.ndarray, category: str) -> np.ndarray:
    """(H, W) bool: where the new garment goes (the current garment, else the agnostic mask)."""
    region = np.isin(parse, GARMENT_LABELS[category])
    if region.sum() < MIN_REGION_PIXELS:
        logger.info("person wears no %s garment: using the agnostic mask as the target region", category)
        region = agnostic_mask.copy()
    return region


def _vertical_range(mask: np.ndarray, centre_x: float, category: str) -> tuple[int, int]:
    """Rows used to scale garment rows onto person rows: top row to the hem on the centre line for
    tops and dresses (sleeves hanging below the hem must not stretch the body); full height for lower."""
    rows = np.flatnonzero(mask.any(axis=1))
    if category != "lower":
        column = np.flatnonzero(mask[:, round(centre_x)])
        if column.size >= 2 and column[-1] - rows[0] > 0.3 * (rows[-1] - rows[0]):
            return int(rows[0]), int(column[-1])  # shoulders to the hem at the centre line
    return int(rows[0]), int(rows[-1])


def person_centre_x(region: np.ndarray, pose: np.ndarray, category: str) -> float:
    """Body centre line: between the shoulders (tops, dresses) or hips (lower), else the region's middle
    (also when those joints put it outside the image: keypoints of another framing)."""
    joints = (9, 12) if category == "lower" else (2, 5)
    a, b = pose[joints[0], :2], pose[joints[1], :2]
    if np.any(a != 0) and np.any(b != 0):
        centre = float((a[0] + b[0]) / 2)
        if 0 <= centre <= region.shape[1] - 1:
            return centre
    xs = np.flatnonzero(region.any(axis=0))
    return float((xs[0] + xs[-1]) / 2)


def scanline_maps(
    garment_mask: np.ndarray, region: np.ndarray, person_x: float, category: str = "upper"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2.remap maps (map_x, map_y float32 (H, W)) taking garment pixels onto the region, and the
    (H, W) bool support (region pixels that received a garment position)."""
    height, width = region.shape
    map_x = np.full((height, width), -1.0, dtype=np.float32)
    map_y = np.full((height, width), -1.0, dtype=np.float32)
    support = np.zeros((height, width), dtype=bool)
    if garment_mask.sum() < MIN_REGION_PIXELS or region.sum() < MIN_REGION_PIXELS:
        return map_x, map_y, support
    g_cols = np.flatnonzero(garment_mask.any(axis=0))
    garment_x = (g_cols[0] + g_cols[-1]) / 2
    raw_points = row_key_points(garment_mask, garment_x)
    g_points = smooth_rows(raw_points)
    t_points = smooth_rows(row_key_points(region, person_x))
    g0, g1 = _vertical_range(garment_mask, garment_x, category)
    t0, t1 = _vertical_range(region, person_x, category)
    g_rows = np.flatnonzero(~np.isnan(g_points[:, 0]))
    # does the garment have sleeves / legs apart from its body anywhere (not a sleeveless top)?
    separate_limbs = bool(np.any(raw_points[g_rows, 1] - raw_points[g_rows, 0] >= 2)
                          or np.any(raw_points[g_rows, 4] - raw_points[g_rows, 3] >= 2))
    scale = (g1 - g0) / max(t1 - t0, 1)
    ramp = np.arange(5) * 1e-3  # np.interp needs increasing sample positions
    xs = np.arange(width, dtype=np.float64)
    for y in np.flatnonzero(~np.isnan(t_points[:, 0])):
        gy = float(np.clip(g0 + (y - t0) * scale, g_rows[0], g_rows[-1]))
        gi = round(gy)
        if np.isnan(g_points[gi, 0]):
            continue
        target, source = t_points[y] + ramp, g_points[gi].copy()
        inside = region[y]
        valid = np.ones(int(inside.sum()), dtype=bool)
        for outer, inner, sign in ((0, 1, 1), (4, 3, -1)):
            if abs(target[inner] - target[outer]) < 2:
                # the person's arm touches the body here: map the whole side outer-to-centre
                source[inner] = source[outer]
                continue
            if abs(source[inner] - source[outer]) >= 2:
                continue
            if separate_limbs:
                # sleeves merged with the body in this garment row (shoulders): split it like the person's row
                share = (target[inner] - target[outer]) / max(target[4] - target[0], 1.0)
                source[inner] = source[outer] + sign * share * (source[4] - source[0])
            else:
                # sleeveless garment: the person's sleeves are left unmapped (inpainted later)
                valid &= (xs[inside] >= target[1] - 1) if sign > 0 else (xs[inside] <= target[3] + 1)
        source[1], source[3] = min(source[1], source[2]), max(source[3], source[2])
        mapped = np.interp(xs[inside], target, source)
        columns = np.flatnonzero(inside)[valid]
        map_x[y, columns] = mapped[valid]
        map_y[y, columns] = gy
        support[y, columns] = True
    return map_x, map_y, support


def warp_garment(
    cloth: np.ndarray, cloth_mask: np.ndarray, region: np.ndarray, person_x: float, category: str = "upper"
) -> tuple[np.ndarray, np.ndarray]:
    """Warp a garment photo onto a region (the scanline fit of `scanline_maps`).

    Args:
        cloth: (H, W, 3) uint8 garment photo; cloth_mask: (H, W) bool; region: (H, W) bool target;
        person_x: the person's body centre line (x pixels).
    Returns:
        warped (H, W, 3) uint8 and alpha (H, W) float32 in [0, 1] (zero outside the region).
    """
    map_x, map_y, support = scanline_maps(cloth_mask, region, person_x, category)
    warped, alpha = remap_garment(cloth, cloth_mask, map_x, map_y, support)
    return warped, alpha * region
