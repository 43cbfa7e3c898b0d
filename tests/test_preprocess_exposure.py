"""Underexposed photos: pose and parse read a brightened copy, the dataset keeps the photo.

Real photos, real backends: a genuine VITON-HD test sample darkened to 35 % brightness (what a
dim room gives a phone with its exposure locked) against its genuine annotation."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from vtonkit.preprocess.evaluation import evaluate_person, find_samples
from vtonkit.preprocess.exposure import UNDEREXPOSED_BELOW, brightened, exposure_gain
from vtonkit.preprocess.person import PersonBackends, process_person


def test_well_exposed_photos_are_left_as_they_are(photos, vitonhd):
    for path in [*sorted((photos / "persons").iterdir())[:12], *sorted((vitonhd / "test" / "image").glob("*.jpg"))]:
        image = np.asarray(Image.open(path).convert("RGB"))
        assert brightened(image) is image, path


def test_a_darkened_photo_gets_its_bright_end_back(vitonhd):
    image = np.asarray(Image.open(vitonhd / "test" / "image" / "00034_00.jpg").convert("RGB"))
    dark = np.asarray(ImageEnhance.Brightness(Image.fromarray(image)).enhance(0.35))
    gain = exposure_gain(dark)
    assert 2.5 < gain < 3.2
    restored = brightened(dark)
    assert np.percentile(restored.max(axis=2), 99.5) >= UNDEREXPOSED_BELOW
    assert np.abs(restored.astype(int) - image.astype(int)).mean() < 12  # levels lost to the darkening aside
    black = np.zeros((64, 48, 3), np.uint8)
    assert brightened(black) is black  # nothing to scale


@pytest.mark.slow
def test_an_underexposed_photo_parses_like_the_well_exposed_one(vitonhd, tmp_path):
    """Before, the pink top of 00034_00 became neck skin at 35 % brightness (parse mIoU 0.87 -> 0.52)."""
    persons, _ = find_samples(vitonhd.parent)
    sample = next(s for s in persons if s.dataset == "vitonhd/test" and s.stem == "00034_00")
    backends = PersonBackends.build()
    dark_path = tmp_path / "00034_00_dark.png"
    ImageEnhance.Brightness(Image.open(sample.image).convert("RGB")).enhance(0.35).save(dark_path)
    well = evaluate_person(sample, backends)
    dark = evaluate_person(dataclasses.replace(sample, image=dark_path), backends)
    assert dark["parse_miou"] >= well["parse_miou"] - 0.03, (dark["parse_iou"], well["parse_iou"])
    assert dark["parse_iou"]["upper_clothes"] >= 0.85 and dark["pck"] == well["pck"] == 1.0
    # The sample written is the photo as it was taken: only the analysis saw it brightened.
    outputs = process_person(dark_path, backends, category="upper", keep=True)
    assert np.abs(outputs.image.astype(int) - np.asarray(Image.open(dark_path)).astype(int)).mean() < 1
    # ... and prep tells the user (a pre-flight warning, which validate and review flag too).
    assert [w.split(":")[0] for w in outputs.warnings] == ["person-underexposed"], outputs.warnings
    assert not [w for w in process_person(sample.image, backends, keep=True).warnings if "underexposed" in w]


def test_a_black_and_white_photo_nobody_is_found_in_says_why(dresscode, tmp_path):
    """A greyscale copy of a Dress Code photo that is found in colour: the error names the cause."""
    from vtonkit.core.errors import NoPersonError

    grey = tmp_path / "020716_0_bw.jpg"
    Image.open(dresscode / "dresses" / "images" / "020716_0.jpg").convert("L").save(grey)
    with pytest.raises(NoPersonError, match="no person detected.*black-and-white photo") as caught:
        process_person(grey, PersonBackends.build(), category="dresses", keep=True)
    assert str(grey) in str(caught.value)


def test_a_small_colour_person_in_a_plain_frame_is_not_called_black_and_white(photos):
    """A colour person 500 px tall in a 2400x1800 frame of the photo's own backdrop: nobody was
    found, and the error blamed "a black-and-white photo" (99 % of the frame is the grey backdrop)."""
    from vtonkit.preprocess.preflight import PreflightThresholds, person_greyscale

    photo = Image.open(photos / "persons" / "049713_0.jpg").convert("RGB")
    backdrop = tuple(int(v) for v in np.median(np.asarray(photo)[:8].reshape(-1, 3), axis=0))
    frame = Image.new("RGB", (2400, 1800), backdrop)
    frame.paste(photo.resize((375, 500), Image.LANCZOS), (1500, 800))
    whole = np.asarray(frame)
    assert person_greyscale(whole, PreflightThresholds(), percentile=99.9) == []  # what the error judges now
    grey = np.asarray(frame.convert("L").convert("RGB"))
    assert person_greyscale(grey, PreflightThresholds(), percentile=99.9) != []
