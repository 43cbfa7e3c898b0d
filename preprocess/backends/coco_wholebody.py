"""COCO-17 / COCO-WholeBody-133 keypoints (DWPose, RTMPose) -> OpenPose BODY_25.

COCO order: 0 nose, 1-2 eyes (L, R), 3-4 ears (L, R), 5-6 shoulders, 7-8 elbows, 9-10 wrists,
11-12 hips, 13-14 knees, 15-16 ankles (each pair left first). COCO-WholeBody adds the feet
17-22: left big toe, left small toe, left heel, right big toe, right small toe, right heel; then
68 face and 2x21 hand points (unused by BODY_25). BODY_25's neck (1) and mid-hip (8) do not
exist in COCO: they are the midpoints of the shoulders and of the hips, present only when both
parents are (confidence = the smaller of the two).
"""
from __future__ import annotations

import numpy as np

# BODY_25 index -> COCO(-WholeBody) index for the joints that exist in both.
BODY25_FROM_COCO: dict[int, int] = {
    0: 0, 2: 6, 3: 8, 4: 10, 5: 5, 6: 7, 7: 9, 9: 12, 10: 14, 11: 16, 12: 11, 13: 13, 14: 15,
    15: 2, 16: 1, 17: 4, 18: 3,
}
BODY25_FROM_WHOLEBODY_FEET: dict[int, int] = {19: 17, 20: 18, 21: 19, 22: 20, 23: 21, 24: 22}
# BODY_25 joints that are midpoints of two COCO joints.
BODY25_MIDPOINTS: dict[int, tuple[int, int]] = {1: (5, 6), 8: (11, 12)}


def coco_to_body25(points_xy: np.ndarray, scores: np.ndarray, *, threshold: float = 0.3) -> np.ndarray:
    """COCO-17 or COCO-WholeBody-133 keypoints -> BODY_25 `(25, 3)` float64 [x, y, conf].

    Args:
        points_xy: `(K, 2)` pixel coordinates, K = 17 or >= 23 (133 for whole-body).
        scores: `(K,)` confidences; joints below `threshold` count as missing (0, 0, 0). SimCC
            scores can exceed 1: they are clipped to [0, 1] like OpenPose's confidences.
    """
    points_xy = np.asarray(points_xy, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if points_xy.ndim != 2 or points_xy.shape[1] != 2 or scores.shape != points_xy.shape[:1]:
        raise ValueError(f"expected (K, 2) points and (K,) scores, got {points_xy.shape} and {scores.shape}")
    count = points_xy.shape[0]
    if count not in (17,) and count < 23:
        raise ValueError(f"expected 17 (COCO) or 133 (COCO-WholeBody) keypoints, got {count}")
    valid = scores >= threshold
    scores = np.clip(scores, 0.0, 1.0)
    body = np.zeros((25, 3), dtype=np.float64)
    mapping = dict(BODY25_FROM_COCO)
    if count >= 23:
        mapping.update(BODY25_FROM_WHOLEBODY_FEET)
    for b25, coco in mapping.items():
        if valid[coco]:
            body[b25] = (*points_xy[coco], scores[coco])
    for b25, (a, b) in BODY25_MIDPOINTS.items():
        if valid[a] and valid[b]:
            body[b25] = (*((points_xy[a] + points_xy[b]) / 2), min(scores[a], scores[b]))
    return body
