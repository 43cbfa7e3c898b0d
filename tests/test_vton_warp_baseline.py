"""The warp baseline on lower-body garments, on a dataset `vtonkit prep` builds from a bundled person photo
(t5: a man in full-length dark jeans) and the demo store's drawn shorts and trousers.

Checks what a catalog sheet shows: shorts stop above the knees with the legs below them shown (original
shoes, skin-coloured shins instead of the old jeans), trousers cover both legs down to the ankles, and
the sheet's default garment list leaves out the placeholder own-garment `vtonkit pairs` writes.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PERSON = "t5"
SHORTS, TROUSERS = "shorts-khaki", "jeans-indigo"


@pytest.fixture(scope="module")
def lower_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<tmp>/ds: the test split of t5 + drawn shorts and trousers, with an unpaired pair list."""
    from vtonkit.crawlers.demo_store.catalogue import drawn_png

    root = tmp_path_factory.mktemp("warp-lower")
    persons, cloths = root / "persons", root / "cloths"
    persons.mkdir()
    cloths.mkdir()
    person_photo = Path(__file__).resolve().parents[1] / "crawlers/demo_store/static/persons" / f"{PERSON}.jpg"
    shutil.copy(person_photo, persons / f"{PERSON}.jpg")
    for name in (SHORTS, TROUSERS):
        (cloths / f"{name}.png").write_bytes(drawn_png(name))
    dataset = root / "ds"
    for args in (["prep", "--persons", persons, "--cloths", cloths, "--category", "lower", "--out", dataset,
                  "--split", "test", "--workers", "1"],
                 ["pairs", dataset, "--split", "test", "--mode", "unpaired", "--category", "lower"]):
        done = subprocess.run([sys.executable, "-m", "vtonkit", *map(str, args)],
                              check=False, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    return dataset


def _try_on(dataset: Path, garment: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """(try_on_warp result, person image, parse, BODY_25 pose) of t5 in `garment`."""
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.datasets.io.keypoints import read_keypoints
    from vtonkit.datasets.io.masks import read_mask
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.layout import DatasetLayout
    from vtonkit.vton_infer.warp_baseline import try_on_warp

    split = DatasetLayout(dataset).split("test")
    image, parse = read_rgb(split.image(PERSON)), read_parse(split.parse(PERSON))
    pose = read_keypoints(split.openpose_json(PERSON))
    result = try_on_warp(image, parse, pose, read_rgb(split.cloth(garment)), read_mask(split.cloth_mask(garment)),
                         "lower")
    return result, image, parse, pose


def _along_leg(pose: np.ndarray, joints: tuple[int, int, int], t: float) -> tuple[int, int]:
    """(x, y) at `t` of the hip -> knee -> ankle polyline (0 = hip, 1 = knee, 2 = ankle)."""
    a, b = (joints[0], joints[1]) if t <= 1 else (joints[1], joints[2])
    s = t if t <= 1 else t - 1
    point = pose[a, :2] * (1 - s) + pose[b, :2] * s
    return round(point[0]), round(point[1])


LEGS = ((9, 10, 11), (12, 13, 14))  # right and left hip, knee, ankle


def test_shorts_cover_the_thighs_and_show_the_legs_below_the_knees(lower_dataset: Path) -> None:
    from vtonkit.datasets.labels import Cihp

    result, image, parse, pose = _try_on(lower_dataset, SHORTS)
    covered = result.alpha > 0.5
    for leg in LEGS:
        for t in (0.2, 0.5):  # upper and middle thigh of each leg
            x, y = _along_leg(pose, leg, t)
            assert covered[y, x], f"thigh point {(x, y)} of leg {leg} not covered"
    knees_y = int(pose[[10, 13], 1].min())
    assert not covered[knees_y:].any()  # shorts, not trousers: nothing at or below the knees
    output = result.output.astype(int)
    shoes = np.isin(parse, (Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE))
    assert np.array_equal(output[shoes], image[shoes].astype(int))  # real pixels, not an inpainting
    # shins: the old dark jeans are gone, replaced by something skin-coloured (the face's colour)
    face_colour = np.median(image[parse == Cihp.FACE].astype(int), axis=0)
    for leg in LEGS:
        x, y = _along_leg(pose, leg, 1.5)
        assert np.abs(output[y, x] - image[y, x].astype(int)).sum() > 100
        assert np.abs(output[y, x] - face_colour).max() < 60


def test_trousers_cover_both_legs_down_to_the_ankles(lower_dataset: Path) -> None:
    result, _, _, pose = _try_on(lower_dataset, TROUSERS)
    covered = result.alpha > 0.5
    for leg in LEGS:
        for t in (0.2, 0.6, 1.0, 1.4, 1.8):  # thigh, knee, shin of each leg
            x, y = _along_leg(pose, leg, t)
            assert covered[y - 2: y + 3, x - 2: x + 3].all(), f"leg point {(x, y)} of leg {leg} not covered"
    ankles_y, knees_y = pose[[11, 14], 1].mean(), pose[[10, 13], 1].mean()
    lowest = np.flatnonzero(covered.any(axis=1))[-1]
    assert abs(lowest - ankles_y) < 0.25 * (ankles_y - knees_y)  # the hem is at the ankles


def test_sheet_default_garments_leave_out_placeholders(lower_dataset: Path) -> None:
    from vtonkit.datasets.layout import DatasetLayout
    from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest
    from vtonkit.vton_infer.sheets import sheet_pairs

    split = DatasetLayout(lower_dataset).split("test")
    placeholders = Manifest.load(lower_dataset).entries("test", PLACEHOLDERS)
    assert PERSON in placeholders and PERSON in split.cloth_stems()  # `vtonkit pairs` wrote cloth/t5.jpg
    garments = [g for _, g in sheet_pairs(split, person=PERSON)]
    assert sorted(garments) == sorted(set(split.cloth_stems()) - {PERSON})
    assert len(garments) == 2
    # named explicitly, a placeholder copy is refused too: it is no garment of its own
    with pytest.raises(ValueError, match="placeholder copy"):
        sheet_pairs(split, person=PERSON, garments=[PERSON])


def test_drop_shadow_is_trimmed_from_the_cloth_mask(lower_dataset: Path) -> None:
    """The drawn trousers cast a grey shadow that the cloth mask includes; only that rim is trimmed."""
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.datasets.io.masks import read_mask
    from vtonkit.datasets.layout import DatasetLayout
    from vtonkit.vton_infer.shadow_trim import SHADOW_BAND, trim_shadow

    split = DatasetLayout(lower_dataset).split("test")
    cloth, mask = read_rgb(split.cloth(TROUSERS)).astype(int), read_mask(split.cloth_mask(TROUSERS))
    trimmed = trim_shadow(cloth.astype(np.uint8), mask)
    removed = mask & ~trimmed
    assert not (trimmed & ~mask).any()
    assert removed.sum() > 1000  # the shadow was there, in the mask
    assert np.ptp(cloth[removed], axis=1).max() < 12  # all of it neutral grey, none of the indigo denim
    inner = _eroded(mask, SHADOW_BAND + 2)
    assert not (removed & inner).any()  # the garment's interior is untouched


def _eroded(mask: np.ndarray, pixels: int) -> np.ndarray:
    import cv2

    return cv2.erode(mask.astype(np.uint8), np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)).astype(bool)
