"""`--method warp`: a NON-LEARNED try-on BASELINE that needs no checkpoint.

It is a preview, not a try-on model: the garment photo is stretched onto the person, row by row, and
composited onto the person with the garment area removed. Every output says so (PNG metadata, grid
caption, CLI summary).

Upper garments and dresses (`warp_garment`, `scanline_maps`):
1. target region on the person: the parse labels of the category's garments (upper: upper
   clothes + coat; dresses: every garment label); when the person wears nothing of that category,
   the category's agnostic mask (body-shape region from the pose).
2. scanline correspondence: person rows map linearly onto garment rows (neckline to hem along the
   body centre line). In each row five contour landmarks (outer left, body inner left, centre,
   inner right, outer right; from the masks, smoothed over rows) of the region are matched to the
   garment's, and pixels in between are mapped piecewise linearly: body to body, sleeves to
   sleeves. So the warp is a piecewise-affine fit between the two mask contours, centred on the pose.

Lower garments (`lower_body_maps`) are placed by the pose, not fitted to the old bottom garment (full
jeans would turn shorts into trousers): the waistband at the top of the person's pants/skirt (or just
above the hip joints), the hem where the garment's own length/waist-width ratio in the product shot
says (`hem_fraction`: ~1.6 reaches the knee, ~2.4 the ankle), the width scaled to the person's hips,
and each garment leg bent along the hip -> knee -> ankle line of the person's leg. Tops, coats, arms
and hair stay in front. Without hips, knees and ankles in the pose, the region fit above is used.

Compositing (`try_on_warp`): `cv2.remap` of garment and mask (bilinear) over the agnostic image.
Where the new garment leaves the grey agnostic area uncovered, the ORIGINAL person pixels come back
wherever the person was not wearing the old garment (skin, shoes, socks, background: real pixels).
Where the old garment was: legs below a shorter hem get a flat skin colour from the person's own
face/arms/legs, shaded darker towards the edges (`skin_fill`; a guess, since those legs were never
seen, but a better one than a blur of the old jeans); the rest is inpainted from its surroundings.
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


# Lower garments: where the hem lands, from the garment's length / waist-width ratio in the product
# shot. A knee-length skirt or bermuda (~1.6) reaches the knee, trousers (~2.4) the ankle; in between
# and above, linear along waist -> knee -> ankle (shorts ~1.1 stop mid-thigh).
KNEE_RATIO = 1.6
ANKLE_RATIO = 2.4
LEG_SMOOTH_ROWS = 81
LEG_FOLLOW_FROM = 0.5  # share of hip -> knee over which garment legs move onto the person's leg lines
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, MID_HIP = 9, 10, 11, 12, 13, 14, 8
# person labels that make the lower-body silhouette (arms hang beside the hips: not counted)
_LOWER_BODY = (Cihp.DRESS, Cihp.PANTS, Cihp.SKIRT, Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
# (nor open coats and cardigans, which hang wide of the body)
_SILHOUETTE = (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.PANTS, Cihp.SKIRT, Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
# what stays in front of a lower garment: a top or coat hanging over the waistband, arms, hands, hair
LOWER_OCCLUDERS = (Cihp.UPPER_CLOTHES, Cihp.COAT, Cihp.LEFT_ARM, Cihp.RIGHT_ARM, Cihp.GLOVE, Cihp.HAIR, Cihp.SCARF)


def _found(pose: np.ndarray, *joints: int) -> bool:
    return all(pose[j, 2] > 0 and np.any(pose[j, :2] != 0) for j in joints)


def hem_fraction(length_to_waist: float) -> float:
    """Where the hem falls, in units of the person's leg: 0 = waist, 1 = knee, 2 = ankle (clipped)."""
    return float(np.interp(length_to_waist, [0.0, KNEE_RATIO, ANKLE_RATIO], [0.0, 1.0, 2.0]))


def garment_waist(garment_mask: np.ndarray) -> tuple[int, int, float]:
    """(top row, bottom row, waist width) of a garment mask: the width is the median over its top rows."""
    rows = np.flatnonzero(garment_mask.any(axis=1))
    top_rows = rows[: max(3, len(rows) // 30)]
    widths = [np.ptp(np.flatnonzero(garment_mask[y])) + 1 for y in top_rows]
    return int(rows[0]), int(rows[-1]), float(np.median(widths))


def _leg_line(pose: np.ndarray, hip: int, knee: int, ankle: int, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x of one leg's hip -> knee -> ankle polyline at rows `ys` (hip x above the hip, straight on below
    the ankle) and the line's horizontal slope dx/dy there."""
    knots_y = pose[[hip, knee, ankle], 1].astype(float)
    knots_x = pose[[hip, knee, ankle], 0].astype(float)
    knots_y = np.maximum.accumulate(knots_y + np.arange(3) * 1e-3)
    x = np.interp(ys, knots_y, knots_x)
    slopes = np.diff(knots_x) / np.maximum(np.diff(knots_y), 1.0)
    slope = np.where(ys < knots_y[0], 0.0, np.where(ys < knots_y[1], slopes[0], slopes[1]))
    return x, slope


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


def lower_body_maps(
    garment_mask: np.ndarray, parse: np.ndarray, pose: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """cv2.remap maps placing a lower garment by the person's pose, not by the old garment's region.

    The waistband goes to the top of the person's pants/skirt (or just above the hip joints); the hem
    to `hem_fraction` of the garment's length/waist ratio along the person's waist -> knee -> ankle;
    the width is scaled to the person's hip width; each garment leg follows the hip -> knee -> ankle
    line of the corresponding person leg. Returns (map_x, map_y, support (H, W) bool, hem row) or
    None when the pose lacks hips, knees or ankles (the caller falls back to the region fit).
    """
    if not _found(pose, R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE) or garment_mask.sum() < MIN_REGION_PIXELS:
        return None
    height, width = parse.shape
    hip_y = float((pose[R_HIP, 1] + pose[L_HIP, 1]) / 2)
    knee_y = float((pose[R_KNEE, 1] + pose[L_KNEE, 1]) / 2)
    ankle_y = float((pose[R_ANKLE, 1] + pose[L_ANKLE, 1]) / 2)
    thigh = max(knee_y - hip_y, 1.0)
    centre_x = float((pose[R_HIP, 0] + pose[L_HIP, 0]) / 2)
    # waist: the top of the current bottom garment near the centre line, when plausible
    waist_y = hip_y - 0.2 * thigh
    band = np.isin(parse[:, max(round(centre_x) - 20, 0): round(centre_x) + 21], (Cihp.PANTS, Cihp.SKIRT)).any(axis=1)
    rows = np.flatnonzero(band)
    if rows.size and hip_y - 0.6 * thigh <= rows[0] <= hip_y:
        waist_y = float(rows[0])
    g_top, g_bottom, g_waist = garment_waist(garment_mask)
    fraction = hem_fraction((g_bottom - g_top + 1) / max(g_waist, 1.0))
    hem_y = float(np.interp(fraction, [0.0, 1.0, 2.0], [waist_y, knee_y, ankle_y + 0.05 * thigh]))
    scale_y = (g_bottom - g_top) / max(hem_y - waist_y, 1.0)  # garment rows per person row
    # hip width: the lower-body silhouette at the hip joints' row
    hip_joints = abs(float(pose[L_HIP, 0] - pose[R_HIP, 0]))
    person_hip = 2.2 * hip_joints
    for labels in (_LOWER_BODY, _SILHOUETTE):  # the bottom garment and legs first: tops can hang loose
        silhouette_row = np.flatnonzero(np.isin(parse[round(hip_y)], labels))
        if silhouette_row.size and np.ptp(silhouette_row) + 1 >= 1.5 * hip_joints:
            person_hip = float(np.ptp(silhouette_row) + 1)
            break
    person_hip = float(np.clip(person_hip, 1.5 * hip_joints, 3.0 * hip_joints))
    g_hip_row = int(np.clip(round(g_top + (hip_y - waist_y) * scale_y), g_top, g_bottom))
    g_hip_cols = np.flatnonzero(garment_mask[g_hip_row])
    g_hip = float(np.ptp(g_hip_cols) + 1) if g_hip_cols.size else g_waist
    scale_x = person_hip / max(g_hip, 1.0)  # person pixels per garment pixel across

    g_cols = np.flatnonzero(garment_mask.any(axis=0))
    g_centre = (g_cols[0] + g_cols[-1]) / 2
    g_points = _smooth(row_key_points(garment_mask, g_centre))
    # garment leg centre lines: the middle of each leg where the legs are apart, else the quarter points
    joined = g_points[:, 1] - g_points[:, 0] < 2
    # (smoothed over many rows: a jump where the legs part would tear the garment across)
    g_legs = _smooth(np.stack([
        np.where(joined, (g_points[:, 0] + g_points[:, 2]) / 2, (g_points[:, 0] + g_points[:, 1]) / 2),
        np.where(joined, (g_points[:, 2] + g_points[:, 4]) / 2, (g_points[:, 3] + g_points[:, 4]) / 2),
    ], axis=1), size=LEG_SMOOTH_ROWS)
    g_left, g_right = g_legs[:, 0], g_legs[:, 1]

    map_x = np.full((height, width), -1.0, dtype=np.float32)
    map_y = np.full((height, width), -1.0, dtype=np.float32)
    ys = np.arange(max(round(waist_y), 0), min(round(hem_y) + 1, height))
    gys = np.clip(np.round(g_top + (ys - waist_y) * scale_y), g_top, g_bottom).astype(int)
    # the image-left leg is the person's right leg in a front view; order by x so legs never cross
    legs = sorted([_leg_line(pose, R_HIP, R_KNEE, R_ANKLE, ys), _leg_line(pose, L_HIP, L_KNEE, L_ANKLE, ys)],
                  key=lambda line: float(np.mean(line[0])))
    (p_left, slope_left), (p_right, slope_right) = legs
    xs = np.arange(width, dtype=np.float64)
    far = 10.0 * width
    for i, (y, gy) in enumerate(zip(ys, gys)):
        gl, gr = g_left[gy], g_right[gy]
        if np.isnan(gl) or np.isnan(gr):
            continue
        # a slanted leg is wider in a horizontal cut than the garment leg is across
        sl = scale_x * np.hypot(1.0, slope_left[i])
        sr = scale_x * np.hypot(1.0, slope_right[i])
        # at the hips the garment keeps its own shape (scaled); down the thighs its legs move onto the
        # person's leg lines (hip joints sit wider apart than a garment's quarter points)
        follow = float(np.clip((y - hip_y) / (LEG_FOLLOW_FROM * thigh), 0.0, 1.0))
        half = scale_x * (gr - gl) / 2
        pl = (1 - follow) * (centre_x - half) + follow * p_left[i]
        pr = max((1 - follow) * (centre_x + half) + follow * p_right[i], pl + 1.0)
        target = [pl - far * sl, pl, (pl + pr) / 2, pr, pr + far * sr]
        source = [gl - far, gl, (gl + gr) / 2, gr, gr + far]
        map_x[y] = np.interp(xs, target, source)
        map_y[y] = gy
    support = map_y >= 0
    return map_x, map_y, support, round(hem_y)


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

    Upper garments and dresses are fitted onto the person's current garment region (`scanline_maps`);
    lower garments are placed by the pose with their own length (`lower_body_maps`), falling back to the
    region fit when hips, knees or ankles are missing. Inside the grey agnostic area, whatever the new
    garment leaves uncovered shows the ORIGINAL person pixels where the person was not wearing the old
    garment (skin, shoes, socks, background); where the old garment was, legs below the new hem get a
    skin-coloured fill (`skin_fill`) and the rest is inpainted from its surroundings (`fill_holes`).

    Args:
        image: (H, W, 3) uint8 person; parse: (H, W) CIHP-20; pose: (25, 3) BODY_25;
        cloth: (H, W, 3) uint8; cloth_mask: (H, W) bool; category: upper | lower | dresses;
        agnostic: optional precomputed (H, W, 3) agnostic image of this category.
    Returns:
        {"output": (H, W, 3) uint8, "warped_cloth": (H, W, 3) uint8, "alpha": (H, W) float32,
         "region": (H, W) bool (where the new garment was placed)}
    """
    computed = compute_agnostic(image, parse, pose, category)
    base = (computed.image if agnostic is None else agnostic).astype(np.float32)
    if category == "lower":
        cloth_mask = trim_shadow(cloth, cloth_mask)
    placed = lower_body_maps(cloth_mask, parse, pose) if category == "lower" else None
    hem_row = parse.shape[0]
    if placed is not None:
        map_x, map_y, support, hem_row = placed
        warped, alpha = remap_garment(cloth, cloth_mask, map_x, map_y, support & ~np.isin(parse, LOWER_OCCLUDERS))
        region = alpha > 0.5
    else:
        region = target_region(parse, computed.mask, category)
        warped, alpha = warp_garment(cloth, cloth_mask, region, person_centre_x(region, pose, category), category)
    old_garment = np.isin(parse, GARMENT_LABELS[category])
    # inside the grey area, give back what is not the old garment (background, skin) unless covered
    restore = computed.mask & ~old_garment & (alpha < 0.5)
    base[restore] = image[restore]
    output = base * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    output = np.clip(output + 0.5, 0, 255).astype(np.uint8)
    # what is left of the old garment or of the grey fill: legs below the new hem, the rest inpainted
    hole = ((old_garment | computed.mask) & ~restore) & (alpha < 0.5)
    below_hem = np.zeros_like(hole)
    below_hem[hem_row:] = True
    legs = hole & below_hem & old_garment
    output = fill_holes(output, hole & ~legs)
    output = skin_fill(output, legs, image, parse)
    return {
        "output": output,
        "warped_cloth": warped,
        "alpha": alpha,
        "region": region,
    }
