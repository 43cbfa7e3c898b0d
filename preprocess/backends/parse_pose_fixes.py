"""Pose-guided corrections of a parser's CIHP-20 map: neck skin, left/right sides.

Parsers trained on LIP / ATR / Pascal disagree with CIHP in three places the pose can settle:
* no neck class (LIP labels neck skin background, ATR folds it into the face): `derive_neck`
  takes skin-coloured pixels between chin and collar around the BODY_25 neck;
* left/right swaps (mirrored predictions, back views): `fix_left_right` checks each left/right
  pair against the person's own shoulders / hips / ankles (BODY_25 2/5, 9/12, 11/14);
* Pascal-Person-Part has no sides at all: `split_left_right` gives each arm/leg pixel the side
  of the nearest skeleton limb.
All functions take and return `(H, W)` uint8 CIHP-20 maps and BODY_25 `(25, 3)` pixel keypoints.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.body_frame import (
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    NECK,
    NOSE,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
    BodyFrame,
)

logger = logging.getLogger(__name__)

R_ARM_CHAIN, L_ARM_CHAIN = (R_SHOULDER, R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW, L_WRIST)
R_LEG_CHAIN, L_LEG_CHAIN = (R_HIP, R_KNEE, R_ANKLE), (L_HIP, L_KNEE, L_ANKLE)

# (person's-left label, person's-right label, right joint, left joint, fallback joints)
_PAIRS = (
    (Cihp.LEFT_ARM, Cihp.RIGHT_ARM, R_SHOULDER, L_SHOULDER, None),
    (Cihp.LEFT_LEG, Cihp.RIGHT_LEG, R_HIP, L_HIP, None),
    (Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE, R_ANKLE, L_ANKLE, (R_HIP, L_HIP)),
)


def _present(keypoints: np.ndarray | None, index: int) -> bool:
    return keypoints is not None and not (keypoints[index, 0] == 0 and keypoints[index, 1] == 0)


def _side_axis(keypoints: np.ndarray, right: int, left: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Midpoint, unit vector towards the person's left, and joint distance; None when unusable."""
    if not (_present(keypoints, right) and _present(keypoints, left)):
        return None
    r, l_ = keypoints[right, :2], keypoints[left, :2]
    length = float(np.linalg.norm(l_ - r))
    if length < 2.0:
        return None
    return (r + l_) / 2.0, (l_ - r) / length, length


def _mean_side(mask: np.ndarray, mid: np.ndarray, unit: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    return float(((xs - mid[0]) * unit[0] + (ys - mid[1]) * unit[1]).mean())


def fix_left_right(labels: np.ndarray, keypoints: np.ndarray | None, *, min_pixels: int = 50) -> np.ndarray:
    """Swap left/right arm, leg and shoe labels that lie on the wrong side of the person.

    For each pair the pixels are projected on the axis from the person's right joint to the left
    one (shoulders, hips, ankles). When both labels exist and the "left" one lies further right,
    the two are swapped; a lone label clearly on the wrong side (beyond 10% of the joint distance)
    is relabelled. Pairs whose joints are missing are left alone.

    Args:
        labels: `(H, W)` uint8 CIHP-20.
        keypoints: BODY_25 `(25, 3)` in the same pixels, or None.
    Returns:
        `(H, W)` uint8 CIHP-20 (a new array).
    """
    out = np.array(labels, dtype=np.uint8, copy=True)
    if keypoints is None:
        return out
    for left_label, right_label, right_joint, left_joint, fallback in _PAIRS:
        axis = _side_axis(keypoints, right_joint, left_joint)
        if axis is None and fallback is not None:
            axis = _side_axis(keypoints, *fallback)
        if axis is None:
            continue
        mid, unit, length = axis
        left_mask, right_mask = labels == left_label, labels == right_label
        has_left, has_right = left_mask.sum() >= min_pixels, right_mask.sum() >= min_pixels
        if has_left and has_right:
            if _mean_side(left_mask, mid, unit) < _mean_side(right_mask, mid, unit):
                out[left_mask], out[right_mask] = right_label, left_label
        elif has_left and _mean_side(left_mask, mid, unit) < -0.1 * length:
            out[left_mask] = right_label
        elif has_right and _mean_side(right_mask, mid, unit) > 0.1 * length:
            out[right_mask] = left_label
    return out


def split_left_right(labels: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
    """Give side-less limbs (Pascal: everything arm = LEFT_ARM, leg = LEFT_LEG) their side.

    Each arm pixel goes to the nearer of the right (2-3-4) and left (5-6-7) arm polylines, each
    leg pixel to the nearer leg (9-10-11 / 12-13-14), measured on `BodyFrame` distance maps.
    Without keypoints the sides are split by the vertical through the limbs' centre (a person
    facing the camera has their right on the image's left).
    """
    out = np.array(labels, dtype=np.uint8, copy=True)
    frame = BodyFrame(keypoints, labels.shape) if keypoints is not None else None
    for left_label, right_label, r_chain, l_chain in (
        (Cihp.LEFT_ARM, Cihp.RIGHT_ARM, R_ARM_CHAIN, L_ARM_CHAIN),
        (Cihp.LEFT_LEG, Cihp.RIGHT_LEG, R_LEG_CHAIN, L_LEG_CHAIN),
    ):
        mask = (labels == left_label) | (labels == right_label)
        ys, xs = np.nonzero(mask)
        if xs.size == 0:
            continue
        if keypoints is not None:
            d_right, d_left = (frame.chain_distance(chain)[ys, xs] for chain in (r_chain, l_chain))
        else:
            d_right = d_left = np.full(xs.shape, np.inf)
        if np.isinf(d_right).all() and np.isinf(d_left).all():
            is_right = xs < xs.mean()
        else:
            is_right = d_right < d_left
        out[ys, xs] = np.where(is_right, right_label, left_label).astype(np.uint8)
    return out


def _skin_model(image_rgb: np.ndarray, face_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Median and spread of the face's Lab colour (None when the face is too small to trust)."""
    if face_mask.sum() < 100:
        return None
    lab = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2LAB)[face_mask].astype(np.float32)
    median = np.median(lab, axis=0)
    spread = np.median(np.abs(lab - median), axis=0) * 1.4826 + 1.0
    return median, spread


def derive_neck(
    labels: np.ndarray, image_rgb: np.ndarray, keypoints: np.ndarray | None, *, face_includes_neck: bool = False,
    chroma_tolerance: float = 3.5, min_chroma_tolerance: float = 8.0,
) -> np.ndarray:
    """Label the neck (CIHP 10) from skin between face and clothes around the BODY_25 neck.

    Region: a window centred on the neck joint (1), 0.6 shoulder widths wide, from the nose (0)
    down to a little below the neck joint. Candidates in it are background pixels (LIP has no
    neck and leaves it background) and, with `face_includes_neck` (ATR, Dress Code), face pixels
    below an estimated chin line. Kept: candidates whose Lab chroma is within
    `chroma_tolerance` robust spreads (at least `min_chroma_tolerance`) of the face's, in
    connected pieces that touch the centre column under the face.

    Returns:
        `(H, W)` uint8 CIHP-20 with the neck added (unchanged when neck/shoulders are missing).
    """
    out = np.array(labels, dtype=np.uint8, copy=True)
    if keypoints is None or not _present(keypoints, NECK):
        return out
    neck = keypoints[NECK, :2]
    if _present(keypoints, R_SHOULDER) and _present(keypoints, L_SHOULDER):
        width = float(np.linalg.norm(keypoints[L_SHOULDER, :2] - keypoints[R_SHOULDER, :2]))
    else:
        return out
    if width < 4:
        return out
    top = keypoints[NOSE, 1] if _present(keypoints, NOSE) else neck[1] - 0.6 * width
    h, w = labels.shape
    x0, x1 = int(max(0, neck[0] - 0.3 * width)), int(min(w, neck[0] + 0.3 * width + 1))
    y0, y1 = int(max(0, top)), int(min(h, neck[1] + 0.12 * width + 1))
    if x1 <= x0 or y1 <= y0:
        return out
    window = labels[y0:y1, x0:x1]
    candidates = window == Cihp.BACKGROUND
    if face_includes_neck:
        chin = top + 0.4 * (neck[1] - top)
        rows = np.arange(y0, y1)[:, None]
        candidates |= (window == Cihp.FACE) & (rows > chin)
    face_mask = labels == Cihp.FACE
    if face_includes_neck:
        # The skin model must come from the face proper, above the chin estimate.
        face_mask = face_mask & (np.arange(h)[:, None] <= top + 0.4 * (neck[1] - top))
    model = _skin_model(image_rgb, face_mask)
    if model is None:
        return out
    median, spread = model
    lab = cv2.cvtColor(np.ascontiguousarray(image_rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float32)
    tolerance = np.maximum(chroma_tolerance * spread[1:], min_chroma_tolerance)
    chroma_ok = (np.abs(lab[..., 1:] - median[1:]) <= tolerance).all(-1)
    skin = candidates & chroma_ok & (lab[..., 0] >= median[0] - 4 * spread[0] - 40)
    count, components = cv2.connectedComponents(skin.astype(np.uint8), connectivity=4)
    if count <= 1:
        return out
    centre = int(round(neck[0])) - x0
    band = slice(max(0, centre - max(2, int(0.08 * width))), centre + max(2, int(0.08 * width)) + 1)
    keep_ids = np.unique(components[:, band])
    keep = np.isin(components, keep_ids[keep_ids > 0])
    out[y0:y1, x0:x1][keep] = Cihp.NECK
    return out
