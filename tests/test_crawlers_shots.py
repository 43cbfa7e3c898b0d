"""Garment shot vs on-model on real photos: no single cue decides, and every image says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from vtonkit.crawlers.garment_shot import analyse_shot

from tests.conftest import shared_path
from tests.fixture_shops import pale_dress_head_cropped


def _photos(kind: str, count: int) -> list[Path]:
    photos = sorted(shared_path("data", "photos", kind).iterdir())
    return photos[:: max(1, len(photos) // count)][:count]


def test_pale_dress_with_the_head_cropped_is_on_model_although_the_pose_model_misses_it():
    crop = pale_dress_head_cropped(shared_path("data", "photos", "persons") / "053514_0.jpg")
    analysis = analyse_shot(crop)
    assert analysis.pose_visibility < 0.8 and analysis.faces == 0  # pose and face see nobody
    assert analysis.plain_border >= 0.7  # a plain studio background, like a garment shot
    assert not analysis.is_garment_shot and analysis.evidence == "cut-body"
    assert analysis.reasons[0].startswith("background:") and analysis.reasons[1].startswith("cut-body:")


@pytest.mark.parametrize("kind", ["garments", "persons"])
def test_real_photos_decided_with_their_reasons(kind):
    for photo in _photos(kind, 8):
        analysis = analyse_shot(Image.open(photo))
        assert analysis.is_garment_shot is (kind == "garments"), (photo.name, analysis.reasons)
        cues = {reason.split(":", 1)[0] for reason in analysis.reasons}
        assert {"background", "pose", "face", "hands", "cut-body"} <= cues
        assert (analysis.evidence == "no-person") is (kind == "garments"), (photo.name, analysis.evidence)


def test_without_mediapipe_the_cut_body_cue_still_catches_the_crop():
    crop = pale_dress_head_cropped(shared_path("data", "photos", "persons") / "053514_0.jpg")
    analysis = analyse_shot(crop, person_detector="skin")
    assert not analysis.is_garment_shot and analysis.evidence in ("cut-body", "skin")
    garment = analyse_shot(Image.open(_photos("garments", 1)[0]), person_detector="skin")
    assert garment.is_garment_shot and garment.evidence == "no-person"
