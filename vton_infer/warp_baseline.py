"""`--method warp`: a NON-LEARNED try-on BASELINE that needs no checkpoint.

It is a preview, not a try-on model: the garment photo is stretched onto the region the person's
own garment of the same category occupies, row by row, and composited onto the person with the
garment area removed. Every output says so (PNG metadata, grid caption, CLI summary).

Recipe (`warp_garment`):
1. target region on the person: the parse labels of the category's garments (upper: upper
   clothes + coat; lower: pants + skirt; dresses: every garment label); when the person wears
   nothing of that category, the category's agnostic mask (body-shape region from the pose).
2. scanline correspondence: person rows map linearly onto garment rows (neckline to hem along the
   body centre line for tops and dresses, waist to hem for lower garments). In each row five
   contour landmarks (outer left, body/leg inner left, centre, inner right, outer right; from the
   masks, smoothed over rows) of the region are matched to the garment's, and pixels in between
   are mapped piecewise linearly: body to body, sleeves to sleeves, left leg to left leg. So the
   warp is a piecewise-affine fit between the two mask contours, centred on the pose.
3. `cv2.remap` of garment and mask (bilinear); composite over the agnostic image inside the
   target region, person pixels restored where the grey agnostic area is not garment, and what
   remains of the old garment inpainted from its surroundings.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.agnostic import compute_agnostic

logger = logging.getLogger(__name__)

GARMENT_LABELS: dict[str, tuple[int, ...]] = {
    "upper": (Cihp.UPPER_CLOTHES, Cihp.COAT),
    "lower": (Cihp.PANTS, Cihp.SKIRT),
    "dresses": (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.SKIRT),
}
# Below this many pixels the person is taken to wear nothing of the category.
MIN_REGION_PIXELS = 500
SMOOTH_ROWS = 15


def target_region(parse: np.ndarray, agnostic_mask: np.ndarray, category: str) -> np.ndarray:
    """(H, W) bool: where the new garment goes (the current garment, else the agnostic mask)."""
    region = np.isin(parse, GARMENT_LABELS[category])
    if region.sum() < MIN_REGION_PIXELS:
        logger.info("person wears no %s garment: using the agnostic mask as the target region", category)
        region = agnostic_mask.copy()
    return region


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


def _smooth(values: np.ndarray, size: int = SMOOTH_ROWS) -> np.ndarray:
    """Moving average over rows (axis 0) ignoring NaN rows, which stay NaN."""
    valid = ~np.isnan(values[:, 0])
    kernel = np.ones(size)
    out = np.full_like(values, np.nan)
    counts = np.convolve(valid.astype(float), kernel, mode="same")
    for column in range(values.shape[1]):
        sums = np.convolve(np.where(valid, values[:, column], 0.0), kernel, mode="same")
        out[:, column] = np.where(valid, sums / np.maximum(counts, 1), np.nan)
    return out


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
    """Body centre line: between the shoulders (tops, dresses) or hips (lower), else the region's middle."""
    joints = (9, 12) if category == "lower" else (2, 5)
    a, b = pose[joints[0], :2], pose[joints[1], :2]
    if np.any(a != 0) and np.any(b != 0):
        return float((a[0] + b[0]) / 2)
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
    g_points = _smooth(raw_points)
    t_points = _smooth(row_key_points(region, person_x))
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
    """Warp a garment photo onto a region.

    Args:
        cloth: (H, W, 3) uint8 garment photo; cloth_mask: (H, W) bool; region: (H, W) bool target;
        person_x: the person's body centre line (x pixels).
    Returns:
        warped (H, W, 3) uint8 and alpha (H, W) float32 in [0, 1] (zero outside the region).
    """
    map_x, map_y, support = scanline_maps(cloth_mask, region, person_x, category)
    warped = cv2.remap(cloth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(cloth_mask.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = cv2.GaussianBlur(alpha * support, (3, 3), 0) * region
    return warped, np.clip(alpha, 0.0, 1.0)


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


def try_on_warp(
    image: np.ndarray,
    parse: np.ndarray,
    pose: np.ndarray,
    cloth: np.ndarray,
    cloth_mask: np.ndarray,
    category: str = "upper",
    agnostic: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The baseline try-on of one pair.

    Args:
        image: (H, W, 3) uint8 person; parse: (H, W) CIHP-20; pose: (25, 3) BODY_25;
        cloth: (H, W, 3) uint8; cloth_mask: (H, W) bool; category: upper | lower | dresses;
        agnostic: optional precomputed (H, W, 3) agnostic image of this category.
    Returns:
        {"output": (H, W, 3) uint8, "warped_cloth": (H, W, 3) uint8, "alpha": (H, W) float32,
         "region": (H, W) bool}
    """
    computed = compute_agnostic(image, parse, pose, category)
    base = (computed.image if agnostic is None else agnostic).astype(np.float32)
    region = target_region(parse, computed.mask, category)
    warped, alpha = warp_garment(cloth, cloth_mask, region, person_centre_x(region, pose, category), category)
    old_garment = np.isin(parse, GARMENT_LABELS[category])
    # inside the grey area, give back what is not the old garment (background, skin) unless covered
    restore = computed.mask & ~old_garment & (alpha < 0.5)
    base[restore] = image[restore]
    output = base * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    output = np.clip(output + 0.5, 0, 255).astype(np.uint8)
    # what is left of the old garment or of the grey fill is inpainted from its surroundings
    output = fill_holes(output, ((old_garment | computed.mask) & ~restore) & (alpha < 0.5))
    return {
        "output": output,
        "warped_cloth": warped,
        "alpha": alpha,
        "region": region,
    }
