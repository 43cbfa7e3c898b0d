"""OpenPose / COCO-18 / Dress Code keypoints: round trips, detection, conversion, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from vtonkit.datasets.io.keypoints import (
    COCO18_TO_BODY25,
    KeypointFormatError,
    read_keypoints,
    write_dresscode_keypoints,
    write_openpose_json,
)
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import Cihp, to_cihp


def _genuine(vitonhd):
    return read_keypoints(vitonhd / "test" / "openpose_json" / "00006_00_keypoints.json")


def test_body25_round_trip(tmp_path, vitonhd):
    body = _genuine(vitonhd)
    assert body.shape == (25, 3) and body.dtype == np.float64
    path = tmp_path / "x_keypoints.json"
    write_openpose_json(path, body)
    doc = json.loads(path.read_text())
    assert len(doc["people"]) == 1 and len(doc["people"][0]["pose_keypoints_2d"]) == 75
    np.testing.assert_allclose(read_keypoints(path, fmt="body25"), body, atol=1e-3)
    assert not list(tmp_path.glob(".*tmp"))


def _coco_from_body25(body: np.ndarray) -> np.ndarray:
    return body[COCO18_TO_BODY25]


@pytest.mark.parametrize("key", ["pose_keypoints_2d", "pose_keypoints"])
def test_coco18_variants_convert_to_body25(tmp_path, vitonhd, key):
    body = _genuine(vitonhd)
    coco = _coco_from_body25(body)
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"people": [{key: coco.reshape(-1).tolist()}]}))
    converted = read_keypoints(path)
    # Hips land on BODY_25 9 / 12 (not the knees that COCO-18 keeps there).
    np.testing.assert_allclose(converted[[9, 12]], body[[9, 12]], atol=1e-9)
    np.testing.assert_allclose(converted[[10, 13]], body[[10, 13]], atol=1e-9)
    np.testing.assert_allclose(converted[8, :2], (body[9, :2] + body[12, :2]) / 2, atol=1e-9)
    assert np.all(converted[19:] == 0)
    with pytest.raises(KeypointFormatError, match="expected body25 keypoints, found coco18"):
        read_keypoints(path, fmt="body25")


@pytest.mark.parametrize("folder", ["upper_body", "lower_body", "dresses"])
def test_dresscode_hips_land_on_the_hips(dresscode, folder):
    """Converted Dress Code hips sit on the person's hip region of the genuine label map."""
    for json_path in sorted((dresscode / folder / "keypoints").glob("*_2.json")):
        sample = json_path.stem[:-2]
        body = read_keypoints(json_path)
        labels = to_cihp(read_parse(dresscode / folder / "label_maps" / f"{sample}_4.png", check_ids=False), "dresscode")
        person = labels > 0
        for hip in (9, 12):
            x, y = body[hip, :2].round().astype(int)
            assert person[y, x], f"{sample}: hip {hip} at {(x, y)} is off the person"
            region = labels[max(y - 40, 0): y + 40, max(x - 40, 0): x + 40]
            garments = np.isin(region, [Cihp.PANTS, Cihp.SKIRT, Cihp.DRESS, Cihp.UPPER_CLOTHES])
            assert garments.mean() > 0.3, f"{sample}: hip {hip} is not on clothing at hip level"
        # Knees below hips, shoulders above hips, and the person's left hip on the image right.
        assert body[10, 1] > body[9, 1] and body[13, 1] > body[12, 1]
        assert body[2, 1] < body[9, 1]
        assert body[12, 0] > body[9, 0]


def test_dresscode_missing_is_zero_and_scaled(dresscode, tmp_path):
    raw = json.loads((dresscode / "lower_body" / "keypoints" / "013563_2.json").read_text())["keypoints"]
    body = read_keypoints(dresscode / "lower_body" / "keypoints" / "013563_2.json")
    # The sample's left ear is missing (-1): it becomes 0,0,0 in BODY_25 (index 18).
    assert raw[17][0] == -1 and np.all(body[18] == 0)
    assert body[1, 0] == pytest.approx(raw[1][0] * 2) and body[1, 1] == pytest.approx(raw[1][1] * 2)


def test_dresscode_rows_are_joints_whatever_the_id_column_says(dresscode, tmp_path):
    """dresses/020715_2.json: right eye, left eye and right ear are missing, so the left ear (row 17)
    carries OpenPose's peak id 14. The official loader reads `pose_data[i]` by row: it is the left
    ear, not the right eye (it was read as the right eye, and the left ear dropped)."""
    source = dresscode / "dresses" / "keypoints" / "020715_2.json"
    raw = json.loads(source.read_text())["keypoints"]
    assert raw[17][3] == 14 and raw[14][0] == -1
    body = read_keypoints(source)
    assert np.all(body[COCO18_TO_BODY25[14]] == 0), "right eye stays missing"
    assert body[COCO18_TO_BODY25[17]].tolist() == [raw[17][0] * 2, raw[17][1] * 2, raw[17][2]]
    # Written back: every row as shipped, ids counting the joints found, scores unrounded.
    write_dresscode_keypoints(tmp_path / "back.json", body)
    assert json.loads((tmp_path / "back.json").read_text())["keypoints"] == raw


def test_openpose_json_keeps_scores_and_coordinates_unrounded(tmp_path, dresscode):
    body = read_keypoints(dresscode / "upper_body" / "keypoints" / "000000_2.json")
    assert any(len(repr(v)) > 6 for v in body[:, 2]), "scores with more than 3 decimals"
    write_openpose_json(tmp_path / "k.json", body)
    assert np.array_equal(read_keypoints(tmp_path / "k.json"), body)


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"people": []}, "no person"),
        ({"people": {"pose_keypoints_2d": [1.0] * 75}}, "'people' is an object, not a list of persons"),
        ({"people": [{"pose_keypoints_2d": [1.0] * 45}]}, "45 values"),
        ({"people": [{"face_keypoints_2d": []}]}, "no 'pose_keypoints_2d'"),
        ({"people": [{"pose_keypoints_2d": [1.0] * 75, "pose_keypoints": [2.0] * 54}]}, "ambiguous"),
        ({"people": [{"pose_keypoints_2d": [1.0] * 75}], "keypoints": []}, "ambiguous"),
        ({"people": [{"pose_keypoints_2d": [float("nan")] * 75}]}, "NaN"),
        ({"version": 1.3}, "neither"),
    ],
)
def test_bad_keypoint_files_name_the_file(tmp_path, doc, message):
    path = tmp_path / "bad_keypoints.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeypointFormatError, match=message) as info:
        read_keypoints(path)
    assert str(path) in str(info.value)


def test_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(KeypointFormatError, match="not valid JSON"):
        read_keypoints(path)


def _genuine_doc(vitonhd) -> dict:
    return json.loads((vitonhd / "test" / "openpose_json" / "00006_00_keypoints.json").read_text())


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (6, 3e9, "far outside any image"),  # PIL's 32-bit drawing overflowed
        (6, 1e20, "far outside any image"),  # OpenCV could not convert it to int
        (3, 1e300, "far outside any image"),
        (6, "123.4", "not a list of numbers"),  # the official np.array arithmetic fails on strings
        (6, None, "not a list of numbers"),
    ],
)
def test_huge_or_odd_values_are_one_clear_error(tmp_path, vitonhd, index, value, message):
    doc = _genuine_doc(vitonhd)
    doc["people"][0]["pose_keypoints_2d"][index] = value
    path = tmp_path / "odd_keypoints.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeypointFormatError, match=message) as info:
        read_keypoints(path)
    assert str(path) in str(info.value)


def test_all_number_strings_and_deep_nesting_are_refused(tmp_path, vitonhd):
    doc = _genuine_doc(vitonhd)
    doc["people"][0]["pose_keypoints_2d"] = [str(v) for v in doc["people"][0]["pose_keypoints_2d"]]
    strings = tmp_path / "strings_keypoints.json"
    strings.write_text(json.dumps(doc))
    with pytest.raises(KeypointFormatError, match="holds strings"):
        read_keypoints(strings)
    deep = tmp_path / "deep_keypoints.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(KeypointFormatError, match="nested too deeply") as info:
        read_keypoints(deep)
    assert str(deep) in str(info.value)
    # A coordinate merely outside the frame is a pose problem, not an unreadable file.
    doc = _genuine_doc(vitonhd)
    doc["people"][0]["pose_keypoints_2d"][6] = -5000.0
    outside = tmp_path / "outside_keypoints.json"
    outside.write_text(json.dumps(doc))
    assert read_keypoints(outside)[2, 0] == -5000.0
