"""Warp baseline, lower garments placed by the pose: waistband, hem from the garment's own length, width
from the hips, each leg bent along the person's hip -> knee -> ankle line."""
from __future__ import annotations

import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.vton_infer.warp_geometry import MIN_REGION_PIXELS, row_key_points, smooth_rows

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
    g_points = smooth_rows(row_key_points(garment_mask, g_centre))
    # garment leg centre lines: the middle of each leg where the legs are apart, else the quarter points
    joined = g_points[:, 1] - g_points[:, 0] < 2
    # (smoothed over many rows: a jump where the legs part would tear the garment across)
    g_legs = smooth_rows(np.stack([
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
