"""ClassicClothMasker ("cv", the default ClothMasker): genuine VITON-HD garments, hard synthetic shots."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vtonkit.datasets.io.images import read_rgb, read_rgba
from vtonkit.datasets.io.masks import read_mask
from vtonkit.preprocess.backends.cloth_mask_cv import ClassicClothMasker
from vtonkit.preprocess.stages import CLOTH_MASKERS, ClothMasker


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


@pytest.fixture(scope="module")
def masker() -> ClassicClothMasker:
    return ClassicClothMasker()


def tee_shape(height: int = 1024, width: int = 768) -> np.ndarray:
    """`(H, W)` bool: a T-shirt silhouette with a neckline notch open to the top (background)."""
    body = np.array([[230, 150], [538, 150], [700, 330], [610, 420], [560, 370], [560, 900], [208, 900],
                     [208, 370], [158, 420], [68, 330]], dtype=np.int32)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [body], 1)
    cv2.ellipse(mask, (384, 150), (90, 70), 0, 0, 180, 0, -1)  # neckline: opens onto the background above
    return mask.astype(bool)


def render(shape: np.ndarray, garment: int, background: int, *, outline: int | None = None,
           noise: float = 1.5, seed: int = 0) -> np.ndarray:
    """Grey-level product shot `(H, W, 3)` uint8 with soft shading at the outline, JPEG-like noise."""
    rng = np.random.default_rng(seed)
    image = np.where(shape, garment, background).astype(np.float32)
    if outline is not None:
        # Garment edges are shaded in real shots: a thin darker rim inside the outline.
        rim = shape & ~cv2.erode(shape.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        image[rim] = outline
    image = cv2.GaussianBlur(image, (3, 3), 0) + rng.normal(0, noise, image.shape)
    return np.repeat(np.clip(image + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_registry_default_builds_the_cv_masker() -> None:
    built = CLOTH_MASKERS.build()
    assert CLOTH_MASKERS.default == "cv"
    assert isinstance(built, ClassicClothMasker) and isinstance(built, ClothMasker)
    assert built.name == "cv" and built.version


def test_vitonhd_cloth_masks_match_the_annotations(vitonhd, masker) -> None:
    clothes = sorted(vitonhd.glob("*/cloth/*.jpg"))
    assert len(clothes) >= 5
    scores = {}
    for cloth in clothes:
        truth = read_mask(cloth.parent.parent / "cloth-mask" / cloth.name)
        predicted = masker.mask(read_rgb(cloth))
        assert predicted.shape == truth.shape and predicted.dtype == bool
        scores[cloth.name] = iou(predicted, truth)
    # Measured 0.981..0.997 (mean 0.993); the floor leaves room for platform differences in OpenCV.
    assert min(scores.values()) >= 0.97, scores
    assert np.mean(list(scores.values())) >= 0.985, scores


def test_rgba_input_of_a_jpeg_shot_ignores_the_opaque_alpha(vitonhd, masker) -> None:
    cloth = sorted(vitonhd.glob("test/cloth/*.jpg"))[0]
    rgb_mask = masker.mask(read_rgb(cloth))
    rgba_mask = masker.mask(read_rgba(cloth))  # alpha 255 everywhere: not meaningful, colour decides
    assert np.array_equal(rgb_mask, rgba_mask)


def test_white_tee_on_white_with_a_grey_logo_and_a_neckline(masker) -> None:
    shape = tee_shape()
    image = render(shape, garment=251, background=255, outline=236)
    logo = np.zeros_like(shape)
    cv2.rectangle(logo.view(np.uint8), (320, 400), (450, 520), 1, -1)
    image[logo] = 150  # a grey print inside the garment: must be filled
    cv2.rectangle(image, (340, 420), (430, 500), (255, 255, 255), -1)  # background-white inside the logo
    predicted = masker.mask(image)
    assert iou(predicted, shape) >= 0.95
    assert predicted[logo].mean() > 0.99, "logo and the white inside it belong to the garment"
    neckline = np.zeros_like(shape)
    cv2.ellipse(neckline.view(np.uint8), (384, 150), (80, 60), 0, 0, 180, 1, -1)
    assert predicted[neckline].mean() < 0.05, "the neckline opens onto the background and stays background"


def test_white_tee_on_vitonhd_grey(masker) -> None:
    shape = tee_shape()
    predicted = masker.mask(render(shape, garment=252, background=246, outline=238, noise=1.0))
    assert iou(predicted, shape) >= 0.95


def test_garment_of_the_background_colour_with_a_broken_outline(masker) -> None:
    """A white tee at exactly the backdrop's 246 grey, outlined by a faint seam with gaps."""
    shape = tee_shape()
    image = np.full((*shape.shape, 3), 246, np.uint8)
    contours, _ = cv2.findContours(shape.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = contours[0][:, 0]
    for start in range(0, len(outline), 50):  # 30-pixel dashes, 20-pixel gaps (a plain fill scores 0.05)
        cv2.polylines(image, [outline[start:start + 30]], False, (228, 228, 228), 3)
    image[400:520, 320:450] = (200, 40, 40)  # a print
    predicted = masker.mask(image)
    assert iou(predicted, shape) >= 0.9


def test_dark_garment_on_light_grey_with_background_coloured_print(masker) -> None:
    shape = tee_shape()
    image = render(shape, garment=40, background=246, noise=2.0)
    image[500:600, 300:470] = 246  # print in exactly the background colour, enclosed by the garment
    predicted = masker.mask(image)
    assert iou(predicted, shape) >= 0.97
    assert predicted[500:600, 300:470].all()


def test_transparent_png_uses_alpha_and_drops_the_faint_shadow(masker) -> None:
    shape = tee_shape()
    rgba = np.zeros((*shape.shape, 4), np.uint8)
    # Junk colour under the transparent pixels: only the alpha may decide.
    rgba[..., :3] = np.random.default_rng(1).integers(0, 255, (*shape.shape, 3), dtype=np.uint8)
    alpha = np.zeros(shape.shape, np.uint8)
    cv2.ellipse(alpha, (384, 960), (250, 25), 0, 0, 360, 30, -1)  # drop shadow, alpha 30
    alpha[shape] = 255
    rgba[..., 3] = alpha
    predicted = masker.mask(rgba)
    assert iou(predicted, shape) >= 0.99


def test_uniform_image_gives_an_empty_mask_not_a_crash(masker) -> None:
    assert not masker.mask(np.full((256, 192, 3), 246, np.uint8)).any()
    assert not masker.mask(np.zeros((256, 192, 3), np.uint8)).any()


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32),
                                 np.zeros((64, 64, 2), np.uint8)])
def test_bad_arrays_are_refused(masker, bad) -> None:
    with pytest.raises(ValueError, match="cloth image"):
        masker.mask(bad)


def test_demo_garments_give_one_plausible_component(masker) -> None:
    from tests.conftest import shared_path

    folder = shared_path("demo", "garments")
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        predicted = masker.mask(read_rgba(path))
        count = cv2.connectedComponents(predicted.astype(np.uint8))[0] - 1
        assert count == 1, path.name
        assert 0.15 <= predicted.mean() <= 0.6, (path.name, predicted.mean())


def test_photo_garments_give_plausible_masks(photos, masker) -> None:
    paths = sorted((photos / "garments").glob("*.jpg"))
    areas = []
    for path in paths:
        predicted = masker.mask(read_rgb(path))
        areas.append(predicted.mean())
        assert 0.05 <= predicted.mean() <= 0.8, (path.name, predicted.mean())
        # The garment never fills the whole frame edge to edge.
        assert not predicted[0].all() and not predicted[-1].all()
    assert len(areas) >= 10
