"""Pose joints checked against the parse/silhouette and detected hands, on genuine VITON-HD annotations."""
from __future__ import annotations

import numpy as np
import pytest
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import read_parse
from vtonkit.preprocess.pose_evidence import DOUBT_FACTOR, doubtful_joints, lower_doubtful

STEMS = ("00006_00", "00008_00", "00013_00", "00017_00", "00034_00")


def _genuine(vitonhd, stem):
    root = vitonhd / "test"
    return (read_keypoints(root / "openpose_json" / f"{stem}_keypoints.json", image_size=(1024, 768)),
            read_parse(root / "image-parse-v3" / f"{stem}.png"))


@pytest.mark.parametrize("stem", STEMS)
def test_genuine_joints_agree_with_the_genuine_parse(vitonhd, stem):
    keypoints, parse = _genuine(vitonhd, stem)
    assert doubtful_joints(keypoints, parse > 0) == []
    assert doubtful_joints(keypoints, parse > 0, keypoints[[4, 7], :2] + 3) == []  # hands where the wrists are


def test_a_wrist_off_the_body_is_doubted_and_its_confidence_lowered(vitonhd):
    keypoints, parse = _genuine(vitonhd, "00006_00")
    wrong = keypoints.copy()
    wrong[7, 0] += 220  # the left wrist 220 px out into the background (the miss the issue shows)
    doubts = doubtful_joints(wrong, parse > 0)
    assert [d.joint for d in doubts] == [7] and doubts[0].note().startswith("pose-joint-doubtful: l_wrist")
    lowered = lower_doubtful(wrong, doubts)
    assert lowered[7, 2] == pytest.approx(wrong[7, 2] * DOUBT_FACTOR)
    assert np.array_equal(lowered[:, :2], wrong[:, :2]) and np.array_equal(np.delete(lowered, 7, 0), np.delete(wrong, 7, 0))


def test_a_wrist_away_from_the_detected_hand_is_doubted(vitonhd):
    keypoints, parse = _genuine(vitonhd, "00013_00")
    hands = keypoints[[4, 7], :2].copy()
    wrong = keypoints.copy()
    wrong[4, 1] += 90  # still on the body (the hip), but 90 px from the hand the hand model found
    doubts = doubtful_joints(wrong, parse > 0, hands)
    assert [(d.joint, d.evidence) for d in doubts] == [(4, "the wrist of a detected hand")]


def test_validate_flags_a_doubtful_joint(vitonhd):
    from vtonkit.datasets.quality import preflight_flags

    keypoints, parse = _genuine(vitonhd, "00006_00")
    assert [f.code for _, f in preflight_flags(keypoints, parse, None, None)] == []
    wrong = keypoints.copy()
    wrong[4, 0] -= 200  # the right wrist out in the background
    assert [f.code for _, f in preflight_flags(wrong, parse, None, None)] == ["pose-joint-doubtful"]
