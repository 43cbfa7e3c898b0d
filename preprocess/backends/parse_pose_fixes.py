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


# What a parser without a neck class calls neck skin. LIP's annotation has no neck: its face
# stops at the jaw (OOTDiffusion takes "ATR face and not LIP face" as the neck) and a LIP model
# usually leaves the neck background. When it does not (the neck swallowed by the collar's
# upper-clothes, by long hair, or by the face), the neck is looked for in those labels too,
# one after the other: upper-clothes above the collar line, then hair of the face's lightness.
# Share of face pixels below the chin estimate above which the face is taken to hold the neck
# (genuine CIHP faces, neck excluded, put 0-7% of their pixels there on the VITON-HD samples).
FACE_HOLDS_NECK_SHARE = 0.12
# A background-only neck smaller than this share of shoulder width squared means the parser put
# the neck under another label (genuine necks: 0.08-0.2 on the VITON-HD samples).
MIN_NECK_SHARE = 0.03


def derive_neck(
    labels: np.ndarray, image_rgb: np.ndarray, keypoints: np.ndarray | None, *,
    face_includes_neck: bool | None = False, chroma_tolerance: float = 3.5, min_chroma_tolerance: float = 8.0,
) -> np.ndarray:
    """Label the neck (CIHP 10) from skin between face and clothes around the BODY_25 neck.

    Region: a window centred on the neck joint (1), 0.6 shoulder widths wide, from the nose (0)
    down to a little below the neck joint. Candidates in it are background pixels and face
    pixels below an estimated chin line when the face holds the neck: always with
    `face_includes_neck=True` (ATR, Dress Code), never with False, and with None (LIP) when
    more than `FACE_HOLDS_NECK_SHARE` of the face lies below the chin line. When that finds
    less than `MIN_NECK_SHARE` x shoulder width² of neck, upper-clothes pixels above the
    collar line, then hair pixels of the face's lightness, become candidates too. Kept: candidates whose Lab chroma is within
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
    chin = top + 0.4 * (neck[1] - top)
    face_mask = labels == Cihp.FACE
    if face_includes_neck is None:
        below = face_mask[int(chin) + 1:].sum()
        face_includes_neck = bool(face_mask.any() and below > FACE_HOLDS_NECK_SHARE * face_mask.sum())
    candidates = window == Cihp.BACKGROUND
    if face_includes_neck:
        candidates |= (window == Cihp.FACE) & (np.arange(y0, y1)[:, None] > chin)
        # The skin model must come from the face proper, above the chin estimate.
        face_mask = face_mask & (np.arange(h)[:, None] <= chin)
    model = _skin_model(image_rgb, face_mask)
    if model is None:
        return out
    median, spread = model
    lab = cv2.cvtColor(np.ascontiguousarray(image_rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB).astype(np.float32)
    tolerance = np.maximum(chroma_tolerance * spread[1:], min_chroma_tolerance)
    chroma_ok = (np.abs(lab[..., 1:] - median[1:]) <= tolerance).all(-1)
    skin_coloured = chroma_ok & (lab[..., 0] >= median[0] - 4 * spread[0] - 40)
    centre = int(round(neck[0])) - x0
    band = slice(max(0, centre - max(2, int(0.08 * width))), centre + max(2, int(0.08 * width)) + 1)
    keep = _centre_connected(candidates & skin_coloured, band)
    above_collar = np.arange(y0, y1)[:, None] <= neck[1]  # skin-toned garments pass the colour test
    # Brown hair shares skin's chroma: hair pixels must match the face's lightness as well.
    lightness_ok = np.abs(lab[..., 0] - median[0]) <= 2.5 * spread[0] + 12
    for label, extra in ((Cihp.UPPER_CLOTHES, above_collar), (Cihp.HAIR, above_collar & lightness_ok)):
        if keep.sum() >= MIN_NECK_SHARE * width * width:
            break
        candidates = candidates | ((window == label) & extra)
        keep = _centre_connected(candidates & skin_coloured, band)
    out[y0:y1, x0:x1][keep] = Cihp.NECK
    return out


def _centre_connected(mask: np.ndarray, band: slice) -> np.ndarray:
    """The 4-connected pieces of `mask` that reach into the column `band`."""
    count, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    if count <= 1:
        return np.zeros(mask.shape, dtype=bool)
    keep_ids = np.unique(components[:, band])
    return np.isin(components, keep_ids[keep_ids > 0])
