"""Embedded DensePose backend: the 24 fine parts approximated from the parse and the skeleton.

No DensePose network runs offline from pip, so each person pixel of the CIHP parse is given to the
nearest body "bone" (a capsule around a skeleton segment, or the shoulder-hip torso polygon)
among the bones its parse label can belong to: sleeves (upper clothes) go to torso or arms,
pants/skirt to torso or legs, arm skin to arms or hands, face/hat to the head, and so on.

Part ids follow what the genuine VITON-HD / Dress Code files show for frontal photos (checked by
decoding them): "right" is the person's right, i.e. the image's left half for a frontal view
(right hand 3 and head_right 23 on the image's left); the torso is the front id 2, legs use the
front ids 9/10/13/14; arms are split along the bone into an outer part (front ids 17/18, 21/22)
and an inner part facing the torso (back ids 15/16, 19/20), as the genuine renderings do: the
split line sits 0.3 radii outwards on upper arms and 0.3 radii inwards on forearms
(`FRONT_SHIFT`), because the genuine files show mostly back on upper arms and mostly front on
forearms (accuracy 0.801 -> 0.816 on the genuine parse). Hair
far from the head and the lower part of the neck go to background and torso, like DensePose.
Output: `(H, W)` uint8 ids 0..24, rendered by `vtonkit.datasets.io.densepose.render_densepose`.
"""
from __future__ import annotations

import logging

import numpy as np
from vtonkit.datasets.labels import Cihp

logger = logging.getLogger(__name__)

# Bones: name -> (BODY_25 start, BODY_25 end, radius as a fraction of the shoulder width).
BONES: dict[str, tuple[int, int, float]] = {
    "upper_arm_r": (2, 3, 0.20), "lower_arm_r": (3, 4, 0.15), "hand_r": (4, -1, 0.13),
    "upper_arm_l": (5, 6, 0.20), "lower_arm_l": (6, 7, 0.15), "hand_l": (7, -1, 0.13),
    "upper_leg_r": (9, 10, 0.28), "lower_leg_r": (10, 11, 0.18), "foot_r": (11, 22, 0.13),
    "upper_leg_l": (12, 13, 0.28), "lower_leg_l": (13, 14, 0.18), "foot_l": (14, 19, 0.13),
}
BONE_NAMES = ("torso", "head", *BONES)
TORSO_SCALE = 0.25  # distance outside the torso polygon, in shoulder widths, that equals one bone radius
SHOULDER_INSET = 0.3  # share of the way the torso polygon's shoulder corners move towards its centre
THIGH_LENGTH = 0.9  # thigh length (no knee visible) as a fraction of the neck-hip distance
HAND_LENGTH = 0.45  # hand capsule length as a fraction of the forearm (wrist outwards)
FOOT_LENGTH = 0.25  # foot capsule length when no toe point, as a fraction of the lower leg

# Fixed ids of non-split bones; arms are split front/back, the head left/right.
PART_ID = {
    "torso": 2, "hand_r": 3, "hand_l": 4, "foot_l": 5, "foot_r": 6,
    "upper_leg_r": 9, "upper_leg_l": 10, "lower_leg_r": 13, "lower_leg_l": 14,
}
ARM_IDS = {  # bone -> (front/outer id, back/inner id)
    "upper_arm_l": (17, 15), "upper_arm_r": (18, 16), "lower_arm_l": (21, 19), "lower_arm_r": (22, 20),
}
HEAD_RIGHT, HEAD_LEFT = 23, 24

_ARMS = ("upper_arm_r", "lower_arm_r", "upper_arm_l", "lower_arm_l")
_HANDS = ("hand_r", "hand_l")
_LEGS = ("upper_leg_r", "lower_leg_r", "upper_leg_l", "lower_leg_l")
_FEET = ("foot_r", "foot_l")
# Which bones a pixel of each CIHP label may belong to.
ALLOWED: dict[int, tuple[str, ...]] = {
    Cihp.HAT: ("head",), Cihp.HAIR: ("head",), Cihp.SUNGLASSES: ("head",), Cihp.FACE: ("head",),
    Cihp.NECK: ("head", "torso"),
    Cihp.UPPER_CLOTHES: ("torso", *_ARMS), Cihp.COAT: ("torso", *_ARMS), Cihp.SCARF: ("torso", *_ARMS),
    Cihp.DRESS: ("torso", *_ARMS, *_LEGS),
    Cihp.PANTS: ("torso", *_LEGS), Cihp.SKIRT: ("torso", *_LEGS),
    Cihp.LEFT_ARM: (*_ARMS, *_HANDS), Cihp.RIGHT_ARM: (*_ARMS, *_HANDS), Cihp.GLOVE: _HANDS,
    Cihp.LEFT_LEG: (*_LEGS, *_FEET), Cihp.RIGHT_LEG: (*_LEGS, *_FEET), Cihp.SOCKS: (*_LEGS, *_FEET),
    Cihp.LEFT_SHOE: _FEET, Cihp.RIGHT_SHOE: _FEET,
}
ARM_LABELS = (Cihp.LEFT_ARM, Cihp.RIGHT_ARM, Cihp.GLOVE)
FRONT_SHIFT = {"upper_arm": 0.3, "lower_arm": -0.3}  # where the outer (front) half of an arm starts, in radii
HAIR_BELOW_CHIN = 1.0  # hair lower than this many head radii under the face centre leaves the head
HAIR_REACH = 1.5  # hair farther than this many head radii from the head centre is background
NECK_HEAD_SHARE = 0.45  # upper share of the neck (between chin level and shoulders) drawn as head


class GeometricDensePose:
    """DensePose fine parts from parse + BODY_25 (see the module docstring)."""

    name = "geometric"
    version = "3"

    def __init__(self, *, work_scale: int = 2) -> None:
        self.work_scale = work_scale

    def densepose(self, image_rgb: np.ndarray, keypoints: np.ndarray, parse: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` RGB (unused), BODY_25 `(25, 3)`, `(H, W)` CIHP parse -> `(H, W)` uint8 part ids."""
        return densepose_from_parse(parse, keypoints, work_scale=self.work_scale)


def _present(keypoints: np.ndarray, index: int) -> bool:
    return index >= 0 and not (keypoints[index, 0] == 0 and keypoints[index, 1] == 0)


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of `(N, 2)` points to segment a-b and the signed side (cross product)."""
    ab = b - a
    length2 = float(ab @ ab)
    rel = points - a
    t = np.clip(rel @ ab / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(points))
    nearest = a + t[:, None] * ab
    cross = rel[:, 0] * ab[1] - rel[:, 1] * ab[0]
    return np.linalg.norm(points - nearest, axis=1), cross


def _bone_segments(keypoints: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Available bones as (start, end, radius factor); hands and feet extrapolated from the limb."""
    kp = keypoints[:, :2]
    segments: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for name, (start, end, radius) in BONES.items():
        if not _present(keypoints, start):
            continue
        if name.startswith("hand"):
            elbow = start - 1
            if not _present(keypoints, elbow):
                continue
            segments[name] = (kp[start], kp[start] + HAND_LENGTH * (kp[start] - kp[elbow]), radius)
        elif name.startswith("foot"):
            if _present(keypoints, end):
                segments[name] = (kp[start], kp[end], radius)
            elif _present(keypoints, start - 1):
                segments[name] = (kp[start], kp[start] + FOOT_LENGTH * (kp[start] - kp[start - 1]), radius)
        elif _present(keypoints, end):
            segments[name] = (kp[start], kp[end], radius)
        elif name.startswith("upper_leg") and _present(keypoints, 1):
            # Thigh-length shots (VITON-HD) have no knees: the thigh continues the torso's axis
            # for about one torso length.
            segments[name] = (kp[start], kp[start] + THIGH_LENGTH * (kp[start] - kp[1]), radius)
    return segments


def _shoulder_width(keypoints: np.ndarray, parse: np.ndarray) -> float:
    if _present(keypoints, 2) and _present(keypoints, 5):
        return max(float(np.linalg.norm(keypoints[2, :2] - keypoints[5, :2])), 8.0)
    return 0.25 * parse.shape[1]


def _head_circle(keypoints: np.ndarray, parse: np.ndarray, shoulder_width: float) -> tuple[np.ndarray, float] | None:
    """Head centre and radius: from the face pixels when there are some, else from the face joints."""
    ys, xs = np.nonzero(parse == Cihp.FACE)
    if xs.size > 50:
        return np.array([xs.mean(), ys.mean()]), max(float(np.sqrt(xs.size / np.pi)), 4.0)
    face_joints = [i for i in (0, 15, 16, 17, 18) if _present(keypoints, i)]
    if not face_joints:
        return None
    return keypoints[face_joints, :2].mean(0), 0.3 * shoulder_width


def densepose_from_parse(parse: np.ndarray, keypoints: np.ndarray, *, work_scale: int = 1) -> np.ndarray:
    """`(H, W)` uint8 CIHP-20 parse + BODY_25 `(25, 3)` -> `(H, W)` uint8 DensePose part ids 0..24.

    `work_scale` > 1 assigns parts on a grid subsampled by that factor (4x faster at 2) and
    brings them back to full size inside the full-resolution silhouette, so outlines stay exact.
    """
    import cv2

    parse = np.asarray(parse)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if work_scale > 1:
        small_keypoints = keypoints.copy()
        small_keypoints[:, :2] = np.where(keypoints[:, :2] == 0, 0.0, keypoints[:, :2] / work_scale)
        small = _assign_parts(parse[::work_scale, ::work_scale], small_keypoints)
        full = np.repeat(np.repeat(small, work_scale, 0), work_scale, 1)[: parse.shape[0], : parse.shape[1]]
        # Silhouette pixels that fell between grid points take a neighbour's part.
        gaps = (parse > 0) & (full == 0)
        if gaps.any():
            full = np.where(gaps, cv2.dilate(full, np.ones((2 * work_scale + 1,) * 2, np.uint8)), full)
        return np.where(parse > 0, full, 0).astype(np.uint8)
    return _assign_parts(parse, keypoints)


def _assign_parts(parse: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    import cv2

    height, width = parse.shape
    out = np.zeros((height, width), np.uint8)
    ys, xs = np.nonzero(parse > 0)
    if xs.size == 0:
        return out
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    labels = parse[ys, xs]
    shoulder_width = _shoulder_width(keypoints, parse)
    segments = _bone_segments(keypoints)
    head = _head_circle(keypoints, parse, shoulder_width)

    distance = np.full((len(points), len(BONE_NAMES)), np.inf)
    sides: dict[str, np.ndarray] = {}
    torso_corners = [i for i in (2, 5, 12, 9) if _present(keypoints, i)]
    if len(torso_corners) >= 3:
        corners = keypoints[torso_corners, :2].copy()
        # DensePose's torso stops short of the shoulder joints: pull them towards the neck.
        centre_x = corners[:, 0].mean()
        for row, joint in enumerate(torso_corners):
            if joint in (2, 5):
                corners[row, 0] += SHOULDER_INSET * (centre_x - corners[row, 0])
        polygon = np.round(corners).astype(np.int32)
        inside = np.zeros((height, width), np.uint8)
        cv2.fillPoly(inside, [polygon], 1)
        # Distance to the polygon = distance transform of its outside (0 inside).
        torso_distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
        distance[:, 0] = torso_distance[ys, xs] / (TORSO_SCALE * shoulder_width)
    if head is not None:
        centre, radius = head
        distance[:, 1] = np.linalg.norm(points - centre, axis=1) / radius
    torso_centre = keypoints[[i for i in (1, 8) if _present(keypoints, i)], :2]
    torso_centre = torso_centre.mean(0) if len(torso_centre) else np.array([width / 2, height / 2])
    for column, name in enumerate(BONE_NAMES[2:], start=2):
        if name not in segments:
            continue
        start, end, radius = segments[name]
        dist, cross = _segment_distance(points, start, end)
        distance[:, column] = dist / (radius * shoulder_width)
        if name in ARM_IDS:
            ab = end - start
            centre_rel = torso_centre - start
            centre_side = centre_rel[0] * ab[1] - centre_rel[1] * ab[0]
            # Signed distance from the bone axis, positive away from the torso; the front part
            # starts FRONT_SHIFT radii outwards (genuine files: upper arms mostly back, forearms front).
            outward = -np.sign(centre_side) * cross / max(float(np.linalg.norm(ab)), 1e-6)
            sides[name] = outward > FRONT_SHIFT[name[:-2]] * radius * shoulder_width

    allowed = np.zeros((20, len(BONE_NAMES)), bool)
    for label, bones in ALLOWED.items():
        allowed[label, [BONE_NAMES.index(b) for b in bones]] = True
    masked = np.where(allowed[labels], distance, np.inf)
    best = masked.argmin(1)
    unassigned = ~np.isfinite(masked.min(1))
    # A label whose bones are all missing (arm skin without a wrist, ...) takes the nearest bone.
    best[unassigned] = distance[unassigned].argmin(1)
    unassigned = ~np.isfinite(distance.min(1))

    ids = np.zeros(len(points), np.uint8)
    for column, name in enumerate(BONE_NAMES):
        chosen = best == column
        if not chosen.any():
            continue
        if name == "head":
            centre_x = head[0][0] if head is not None else width / 2
            ids[chosen] = np.where(points[chosen, 0] < centre_x, HEAD_RIGHT, HEAD_LEFT)
        elif name in ARM_IDS:
            front, back = ARM_IDS[name]
            ids[chosen] = np.where(sides[name][chosen], front, back)
        else:
            ids[chosen] = PART_ID[name]
    ids[unassigned] = PART_ID["torso"]

    if head is not None:
        centre, radius = head
        hair = labels == Cihp.HAIR
        # Long hair below the chin is not head for DensePose: background, or torso where it lies
        # on the torso (as in the genuine files).
        far_hair = hair & ((np.linalg.norm(points - centre, axis=1) > HAIR_REACH * radius)
                           | (points[:, 1] > centre[1] + HAIR_BELOW_CHIN * radius))
        ids[far_hair] = np.where(distance[far_hair, 0] == 0, PART_ID["torso"], 0)
        # Above the face centre and close to it only the head can be (a parser calling the top of
        # the hair "clothes" must not put torso there); arms raised over the head keep their ids.
        over_face = ((points[:, 1] < centre[1]) & (np.linalg.norm(points - centre, axis=1) < HAIR_REACH * radius)
                     & ~np.isin(labels, ARM_LABELS))
        ids[over_face] = np.where(points[over_face, 0] < centre[0], HEAD_RIGHT, HEAD_LEFT)
    if _present(keypoints, 1):
        chin_y = head[0][1] + head[1] if head is not None else keypoints[1, 1] - 0.3 * shoulder_width
        cut_y = chin_y + NECK_HEAD_SHARE * (keypoints[1, 1] - chin_y)
        neck = labels == Cihp.NECK
        upper = neck & (points[:, 1] < cut_y)
        head_x = head[0][0] if head is not None else keypoints[1, 0]
        ids[neck & ~upper] = PART_ID["torso"]
        ids[upper] = np.where(points[upper, 0] < head_x, HEAD_RIGHT, HEAD_LEFT)
    out[ys, xs] = ids
    return out
