"""Check the pose's arm and hip joints against what the other stages saw, and say when they disagree.

A pose model alone misplaces occluded joints (a hand in a pocket, an arm across a dark top): the
other stages hold independent evidence about where the body is. This module does not move
joints; it lowers the confidence of a joint the evidence contradicts (so the written
openpose_json says "doubtful", `validate` flags it as `pose-joint-doubtful` and review shows it)
and returns a note per doubtful joint:

* elbows, wrists and hips must lie on the person: within `tolerance` x the upper-arm length of
  a pixel of the parse's person (any non-background label) or of the pose's silhouette;
* wrists must agree with a hand the hand-landmark model found nearby: a detected hand wrist within
  `HAND_SEARCH` forearm lengths of the pose wrist but farther than `tolerance` x the upper-arm
  length from it contradicts the pose.

Measured on the 17 annotated people (see docs/preprocessing.md): the evidence flags joints but
cannot relocate hidden ones (a hand in a pocket has no hand to detect), so PCK does not change.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from vtonkit.datasets.io.keypoints import BODY25_NAMES, present_mask

ARM_JOINTS = {3: 2, 4: 2, 6: 5, 7: 5}  # elbow/wrist -> its shoulder
ELBOW_OF = {4: 3, 7: 6}
HIP_JOINTS = (9, 12)
DOUBT_FACTOR = 0.3  # confidence multiplier for a contradicted joint
HAND_SEARCH = 1.5


@dataclass(frozen=True)
class JointDoubt:
    """One joint the evidence contradicts."""

    joint: int
    evidence: str
    distance_px: float

    def note(self) -> str:
        return (f"pose-joint-doubtful: {BODY25_NAMES[self.joint]} is {self.distance_px:.0f} px from "
                f"{self.evidence}; its confidence was lowered")


def _upper_arm(keypoints: np.ndarray) -> float | None:
    present = present_mask(keypoints)
    lengths = [np.linalg.norm(keypoints[e, :2] - keypoints[s, :2]) for s, e in ((2, 3), (5, 6))
               if present[s] and present[e]]
    return float(np.median(lengths)) if lengths else None


def doubtful_joints(keypoints: np.ndarray, person: np.ndarray | None, hand_wrists: np.ndarray | None = None,
                    *, tolerance: float = 0.35) -> list[JointDoubt]:
    """Joints contradicted by the person region (`(H, W)` bool) or by detected hand wrists (`(N, 2)` px)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    present = present_mask(keypoints)
    scale = _upper_arm(keypoints)
    if scale is None or scale < 4:
        return []
    limit = tolerance * scale
    doubts: list[JointDoubt] = []
    if person is not None and np.asarray(person).any():
        outside = ~np.asarray(person, dtype=bool)
        distance = cv2.distanceTransform(outside.astype(np.uint8), cv2.DIST_L2, 5)
        height, width = distance.shape
        for joint in (*ARM_JOINTS, *HIP_JOINTS):
            if not present[joint]:
                continue
            x, y = (round(v) for v in keypoints[joint, :2])
            if 0 <= x < width and 0 <= y < height and distance[y, x] > limit:
                doubts.append(JointDoubt(joint, "the person region", float(distance[y, x])))
    if hand_wrists is not None and len(hand_wrists):
        hands = np.asarray(hand_wrists, dtype=np.float64).reshape(-1, 2)
        for wrist, elbow in ELBOW_OF.items():
            if not (present[wrist] and present[elbow]):
                continue
            forearm = np.linalg.norm(keypoints[wrist, :2] - keypoints[elbow, :2])
            gaps = np.linalg.norm(hands - keypoints[wrist, :2], axis=1)
            nearest = float(gaps.min())
            if limit < nearest <= HAND_SEARCH * max(forearm, scale) and wrist not in {d.joint for d in doubts}:
                doubts.append(JointDoubt(wrist, "the wrist of a detected hand", nearest))
    return doubts


def lower_doubtful(keypoints: np.ndarray, doubts: list[JointDoubt]) -> np.ndarray:
    """A copy of `keypoints` with each doubtful joint's confidence multiplied by `DOUBT_FACTOR`."""
    out = np.array(keypoints, dtype=np.float64, copy=True)
    for doubt in doubts:
        out[doubt.joint, 2] *= DOUBT_FACTOR
    return out
