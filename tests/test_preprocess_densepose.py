"""Geometric DensePose against the genuine VITON-HD / Dress Code part maps; exact dp_segm colours."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from vtonkit.datasets.io.densepose import PARULA_RGB, read_densepose, render_densepose, write_densepose
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import to_cihp
from vtonkit.preprocess.backends.geometric_densepose import densepose_from_parse
from vtonkit.preprocess.evaluation import part_accuracy
from vtonkit.preprocess.stages import DENSEPOSERS


def _centre_x(ids: np.ndarray, part: int) -> float:
    return float(np.nonzero(ids == part)[1].mean())


@pytest.fixture(scope="module")
def vitonhd_sample(vitonhd):
    base = vitonhd / "test"
    stem = "00034_00"
    return (read_parse(base / "image-parse-v3" / f"{stem}.png"),
            read_keypoints(base / "openpose_json" / f"{stem}_keypoints.json"),
            read_densepose(base / "image-densepose" / f"{stem}.jpg"))


def test_parts_match_genuine_vitonhd(vitonhd_sample):
    """On the genuine parse and OpenPose keypoints, most person pixels get the genuine part id (measured 0.85)."""
    parse, keypoints, genuine = vitonhd_sample
    backend = DENSEPOSERS.build("geometric")
    ids = backend.densepose(np.zeros((*parse.shape, 3), np.uint8), keypoints, parse)
    assert ids.shape == parse.shape and ids.dtype == np.uint8
    assert part_accuracy(ids, genuine) >= 0.75
    assert ids.max() <= 24
    assert not ids[parse == 0].any()  # nothing outside the person


def test_left_right_follow_the_genuine_files(vitonhd_sample, dresscode):
    """DensePose 'right' = the person's right = the image's left half for frontal shots, as in the genuine data."""
    parse, keypoints, genuine = vitonhd_sample
    ids = densepose_from_parse(parse, keypoints, work_scale=2)
    for right, left in ((3, 4), (23, 24), (18, 17), (22, 21), (9, 10)):
        assert _centre_x(genuine, right) < _centre_x(genuine, left)  # the convention we copy
        assert _centre_x(ids, right) < _centre_x(ids, left)
    base = dresscode / "lower_body"
    stem = "013564"
    dc_parse = to_cihp(np.array(Image.open(base / "label_maps" / f"{stem}_4.png")), "dresscode")
    dc_keypoints = read_keypoints(base / "keypoints" / f"{stem}_2.json")
    dc_genuine = np.array(Image.open(base / "dense" / f"{stem}_5.png"))
    dc_ids = densepose_from_parse(dc_parse, dc_keypoints, work_scale=2)
    for right, left in ((6, 5), (13, 14), (9, 10), (3, 4)):
        assert _centre_x(dc_genuine, right) < _centre_x(dc_genuine, left)
        assert _centre_x(dc_ids, right) < _centre_x(dc_ids, left)
    assert part_accuracy(dc_ids, dc_genuine) >= 0.75


def test_half_resolution_work_keeps_the_outline(vitonhd_sample):
    parse, keypoints, _ = vitonhd_sample
    fast = densepose_from_parse(parse, keypoints, work_scale=2)
    full = densepose_from_parse(parse, keypoints, work_scale=1)
    person = parse > 0
    assert (fast[person] == full[person]).mean() > 0.95


def test_written_file_has_exact_parula_colours(vitonhd_sample, tmp_path):
    parse, keypoints, _ = vitonhd_sample
    ids = densepose_from_parse(parse, keypoints, work_scale=2)
    rendered = render_densepose(ids)
    for part in np.unique(ids):
        assert (rendered[ids == part] == PARULA_RGB[part]).all()
    path = tmp_path / "image-densepose" / "x.jpg"
    path.parent.mkdir()
    write_densepose(path, ids)
    with Image.open(path) as image:
        assert image.mode == "RGB" and image.size == (768, 1024)
    assert (read_densepose(path) == ids).mean() > 0.99  # JPEG noise only at part borders


def test_missing_joints_do_not_crash(vitonhd_sample):
    parse, keypoints, _ = vitonhd_sample
    damaged = keypoints.copy()
    damaged[[3, 4, 6, 7, 9, 10]] = 0  # arms and one hip missing
    ids = densepose_from_parse(parse, damaged, work_scale=2)
    assert (ids[parse > 0] > 0).mean() > 0.9
    empty = densepose_from_parse(np.zeros_like(parse), keypoints)
    assert not empty.any()
