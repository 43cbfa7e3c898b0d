"""Agnostic recipes: the upper body reproduces the official HR-VITON outputs; lower/dresses on Dress Code."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import Cihp, to_cihp
from vtonkit.datasets.layout import SplitDir
from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic

SAMPLES = {"test": ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"], "train": ["00000_00", "00001_00", "00002_00"]}
GOAL = 0.999


def _copy_split(source, target, folders=("image", "image-parse-v3", "openpose_json")):
    for folder in folders:
        shutil.copytree(source / folder, target / folder)


def _vtonkit(*args):
    return subprocess.run([sys.executable, "-m", "vtonkit", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("split", ["test", "train"])
def test_cli_reproduces_official_outputs(tmp_path, vitonhd, reference, split):
    """`vtonkit agnostic` on a copy of the genuine inputs matches the official procedures' outputs."""
    work = tmp_path / split
    _copy_split(vitonhd / split, work)
    run = _vtonkit("agnostic", work, "--category", "upper")
    assert run.returncode == 0, run.stderr
    out = SplitDir(work)
    for stem in SAMPLES[split]:
        official_parse = np.array(Image.open(reference / "agnostic" / split / f"{stem}_parse_agnostic.png"))
        ours = Image.open(out.parse_agnostic(stem))
        assert ours.mode == "P"
        assert (np.array(ours) == official_parse).mean() >= GOAL
        official = np.array(Image.open(reference / "agnostic" / split / f"{stem}_agnostic.png").convert("RGB"))
        photo = read_rgb(vitonhd / split / "image" / f"{stem}.jpg")
        official_grey = (official == 128).all(-1) & ~(photo == 128).all(-1)
        mask = read_mask(out.agnostic_mask(stem))
        decided = ~(photo == 128).all(-1)  # a photo pixel that is itself (128,128,128) says nothing
        assert (mask[decided] == official_grey[decided]).mean() >= GOAL
        # The JPEG holds the grey region (up to JPEG noise away from its boundary).
        stored = read_rgb(out.agnostic(stem)).astype(int)
        inner = mask & np.roll(mask, 8, 0) & np.roll(mask, -8, 0) & np.roll(mask, 8, 1) & np.roll(mask, -8, 1)
        deviation = np.abs(stored[inner] - 128)
        assert deviation.mean() < 1 and (deviation > 8).mean() < 1e-3


@pytest.mark.parametrize("split", ["test", "train"])
def test_agnostic_image_is_exactly_the_official_one(vitonhd, reference, split):
    for stem in SAMPLES[split]:
        base = vitonhd / split
        result = compute_agnostic(
            read_rgb(base / "image" / f"{stem}.jpg"), read_parse(base / "image-parse-v3" / f"{stem}.png"),
            read_keypoints(base / "openpose_json" / f"{stem}_keypoints.json"), "upper")
        official = np.array(Image.open(reference / "agnostic" / split / f"{stem}_agnostic.png").convert("RGB"))
        assert (result.image == official).all(-1).mean() >= GOAL


def test_bad_samples_are_reported_and_others_complete(tmp_path, vitonhd):
    work = tmp_path / "test"
    _copy_split(vitonhd / "test", work)
    split = SplitDir(work)
    split.parse("00008_00").unlink()                                       # missing file
    Image.open(split.image("00013_00")).resize((384, 512)).save(split.image("00013_00"))  # wrong size
    split.openpose_json("00017_00").write_text(json.dumps({"people": []}))  # empty people
    doc = json.loads(split.openpose_json("00034_00").read_text())
    doc["people"][0]["pose_keypoints_2d"][2 * 3: 2 * 3 + 3] = [0, 0, 0]    # right shoulder missing
    split.openpose_json("00034_00").write_text(json.dumps(doc))
    run = _vtonkit("agnostic", work)
    assert run.returncode == 1
    err = run.stderr
    assert "00008_00" in err and "image-parse-v3/00008_00.png" in err and "not found" in err
    assert "00013_00" in err and "expected 768x1024" in err
    assert "00017_00" in err and "no person" in err
    assert "00034_00" in err and "r_shoulder" in err and "openpose_json/00034_00_keypoints.json" in err
    assert "1/5 samples" in err
    assert split.parse_agnostic("00006_00").is_file() and split.agnostic_mask("00006_00").is_file()
    for stem in ("00008_00", "00013_00", "00017_00", "00034_00"):
        assert not split.parse_agnostic(stem).exists() and not split.agnostic(stem).exists()
    assert not [p for p in work.rglob("*") if p.name.endswith(".tmp")]


def test_missing_keypoints_raise():
    with pytest.raises(MissingKeypointsError, match="l_hip"):
        body = np.ones((25, 3))
        body[12] = 0
        compute_agnostic(np.zeros((1024, 768, 3), np.uint8), np.zeros((1024, 768), np.uint8), body, "lower")


def _dresscode(dresscode, folder):
    for image_path in sorted((dresscode / folder / "images").glob("*_0.jpg")):
        sample = image_path.stem[:-2]
        image = read_rgb(image_path)
        parse = to_cihp(read_parse(dresscode / folder / "label_maps" / f"{sample}_4.png", check_ids=False), "dresscode")
        keypoints = read_keypoints(dresscode / folder / "keypoints" / f"{sample}_2.json")
        yield sample, image, parse, keypoints


def test_lower_removes_the_bottom_and_keeps_head_and_torso(dresscode):
    for sample, image, parse, keypoints in _dresscode(dresscode, "lower_body"):
        result = compute_agnostic(image, parse, keypoints, "lower")
        bottom = np.isin(parse, [Cihp.PANTS, Cihp.SKIRT])
        assert bottom.any()
        assert result.mask[bottom].mean() > 0.97, sample            # the garment is greyed out
        assert not np.isin(result.parse_agnostic, [Cihp.PANTS, Cihp.SKIRT]).any()
        for kept in (Cihp.FACE, Cihp.UPPER_CLOTHES, Cihp.LEFT_ARM, Cihp.RIGHT_ARM):
            region = parse == kept
            if region.any():
                assert not result.mask[region].any(), (sample, kept)
                assert (result.parse_agnostic[region] == kept).all()
        np.testing.assert_array_equal(result.image[~result.mask], image[~result.mask])
        assert (result.image[result.mask] == 128).all()


def test_dresses_remove_the_dress_and_keep_the_head(dresscode):
    for sample, image, parse, keypoints in _dresscode(dresscode, "dresses"):
        result = compute_agnostic(image, parse, keypoints, "dresses")
        dress = parse == Cihp.DRESS
        assert result.mask[dress].mean() > 0.97, sample
        assert not (result.parse_agnostic == Cihp.DRESS).any()
        assert not result.mask[parse == Cihp.FACE].any()
        # Hands away from the arm skeleton are restored, like the official arm restore.
        arms = np.isin(parse, [Cihp.LEFT_ARM, Cihp.RIGHT_ARM])
        assert 0.0 < result.mask[arms].mean() < 1.0


def test_upper_on_dresscode_keeps_the_lower_body(dresscode):
    for _sample, image, parse, keypoints in _dresscode(dresscode, "upper_body"):
        result = compute_agnostic(image, parse, keypoints, "upper")
        assert result.mask[parse == Cihp.UPPER_CLOTHES].mean() > 0.95
        assert not result.mask[np.isin(parse, [Cihp.PANTS, Cihp.SKIRT, Cihp.FACE])].any()
