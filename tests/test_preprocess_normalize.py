"""Person refocus / keep-framing and garment normalisation on real photos."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.cloth import border_colour, prepare_cloth
from vtonkit.preprocess.normalize import keep_framing, load_person_photo, person_box, refocus

from vtonkit.core.errors import InputError


def _person_mask_by_background(rgb: np.ndarray, tolerance: int = 30) -> np.ndarray:
    """A silhouette good enough for framing tests: differs from the studio background colour."""
    background = np.median(rgb[:8].reshape(-1, 3), axis=0)
    return np.abs(rgb.astype(int) - background).max(-1) > tolerance


def test_exif_orientation_is_applied(photos, tmp_path):
    original = np.asarray(Image.open(photos / "persons" / "051918_0.jpg").convert("RGB"))
    sideways = Image.fromarray(original).transpose(Image.Transpose.ROTATE_90)  # stored lying on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    sideways.save(path, exif=exif.tobytes(), quality=98)
    upright = load_person_photo(path)
    assert upright.shape == original.shape
    assert np.abs(upright.astype(int) - original).mean() < 4  # same picture, JPEG noise only


@pytest.mark.parametrize("mode", ["RGBA", "CMYK", "L", "I;16"])
def test_colour_modes_become_rgb(photos, tmp_path, mode):
    base = Image.open(photos / "persons" / "01008_00.jpg").convert("RGB")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
        path = tmp_path / "grey16.png"
    else:
        image = base.convert(mode)
        path = tmp_path / f"photo.{'tif' if mode == 'CMYK' else 'png'}"
    image.save(path)
    rgb = load_person_photo(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (1024, 768, 3)
    normalized = keep_framing(rgb)
    assert normalized.image.shape == (1024, 768, 3)


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_phone_photo_formats_are_read_and_listed(photos, tmp_path, suffix):
    """HEIC (what iPhones take) through pi-heif, AVIF through Pillow: read like the JPEG, listed by prep."""
    original = Image.open(photos / "persons" / "01008_00.jpg").convert("RGB")
    path = tmp_path / f"IMG_0412{suffix}"
    if suffix == ".heic":
        import pillow_heif  # the encoder, a test dependency only

        pillow_heif.from_pillow(original).save(path, quality=90)
    else:
        original.save(path, quality=90)
    rgb = load_person_photo(path)
    assert rgb.shape == (1024, 768, 3)
    assert np.abs(rgb.astype(int) - np.asarray(original)).mean() < 4  # the same picture, codec noise only
    from vtonkit.preprocess.sources import person_sources

    assert [s.path.name for s in person_sources(tmp_path)] == [path.name]


def test_the_heif_decoder_loads_only_for_a_file_that_needs_it(photos, tmp_path):
    """A JPEG does not pay the decoder's import; a phone's HEIC photo saved under a .jpg name is still read.
    In a child process: this one may have registered the decoder already."""
    import subprocess
    import sys

    import pillow_heif

    disguised = tmp_path / "IMG_0414.jpg"
    pillow_heif.from_pillow(Image.open(photos / "persons" / "01008_00.jpg")).save(disguised, format="HEIF", quality=80)
    assert disguised.read_bytes()[4:12] == b"ftypheic"
    script = (
        "import sys\n"
        "from vtonkit.datasets.io.images import read_rgb\n"
        f"jpeg = read_rgb({str(photos / 'persons' / '01008_00.jpg')!r})\n"
        "print('after jpeg:', 'pi_heif' in sys.modules)\n"
        f"heic = read_rgb({str(disguised)!r})\n"
        "print('after heic:', 'pi_heif' in sys.modules, heic.shape, abs(heic.astype(int) - jpeg).mean() < 4)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["after jpeg: False", "after heic: True (1024, 768, 3) True"]


def test_heic_without_its_decoder_says_what_to_install(photos, tmp_path, monkeypatch):
    import pillow_heif
    from PIL import Image as PILImage

    from vtonkit.datasets.io import images

    path = tmp_path / "IMG_0413.HEIC"
    pillow_heif.from_pillow(PILImage.open(photos / "persons" / "01008_00.jpg")).save(path, quality=80)
    # as if pi-heif were not installed: no opener registered (every other plugin loaded first, so
    # nothing registers into the patched tables and is lost when they are restored)
    monkeypatch.setattr(images, "heif_support", lambda: False)
    PILImage.init()
    monkeypatch.setattr(PILImage, "ID", [name for name in PILImage.ID if name != "HEIF"])
    monkeypatch.setattr(PILImage, "OPEN", {k: v for k, v in PILImage.OPEN.items() if k != "HEIF"})
    with pytest.raises(InputError, match=r"IMG_0413.HEIC: HEIC/HEIF photo, and no HEIF decoder: pip install pi-heif"):
        load_person_photo(path)


def test_unreadable_file_names_the_file(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="broken.jpg"):
        load_person_photo(path)


def test_refocus_box_is_3_by_4_around_the_person(photos):
    rgb = np.asarray(Image.open(photos / "persons" / "model_3.png").convert("RGB"))
    # Put the person off-centre on a wide canvas (edge colour), as a landscape phone photo would.
    canvas = np.concatenate([np.repeat(rgb[:, :1], 600, axis=1), rgb], axis=1)
    mask = _person_mask_by_background(canvas)
    x0, y0, x1, y1 = person_box(mask)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(0.75)
    ys, xs = np.nonzero(mask)
    assert x0 <= xs.min() and x1 >= xs.max() and y0 <= ys.min() and y1 >= ys.max()
    result = refocus(canvas, mask)
    assert result.image.shape == (1024, 768, 3)
    # The transform maps the silhouette's extreme points inside the output frame.
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.max()]], dtype=float)
    mapped = result.transform.apply(corners)
    assert (mapped[:, 0] >= 0).all() and (mapped[:, 0] <= 768).all()
    assert (mapped[:, 1] >= 0).all() and (mapped[:, 1] <= 1024).all()
    assert np.allclose(result.transform.invert(mapped), corners)
    # The pixel colour at a mapped point equals the source colour there (same picture, not mirrored).
    point = np.array([[xs.mean(), ys.mean()]])
    ox, oy = result.transform.apply(point)[0]
    source = canvas[int(point[0, 1]), int(point[0, 0])].astype(int)
    target = result.image[int(oy), int(ox)].astype(int)
    assert np.abs(source - target).max() < 40
    assert not result.warnings


def test_tiny_person_warns_and_non_portrait_keep_framing_warns(photos):
    rgb = np.asarray(Image.open(photos / "persons" / "model_3.png").convert("RGB"))
    small = np.asarray(Image.fromarray(rgb).resize((192, 256)))
    canvas = np.full((1600, 1200, 3), rgb[2, 2], np.uint8)
    canvas[600:856, 500:692] = small
    result = refocus(canvas, _person_mask_by_background(canvas))
    assert any("tiny person" in w for w in result.warnings)
    kept = keep_framing(canvas[:, :1000])  # 1600 x 1000: not 3:4
    assert any("not 3:4" in w for w in kept.warnings)
    assert kept.image.shape == (1024, 768, 3)


def test_person_cut_by_the_bottom_edge_stays_flush(vitonhd):
    """VITON-HD style thigh-length shot: no margin is invented below the bottom edge."""
    mask = read_parse(vitonhd / "test" / "image-parse-v3" / "00013_00.png") > 0  # genuine silhouette
    _, _, _, y1 = person_box(mask)
    assert y1 == pytest.approx(1024, abs=1)


def test_cloth_with_alpha_is_composited_on_white(photos, tmp_path):
    garment = Image.open(photos / "garments" / "00055_00.jpg").convert("RGB")
    rgb = np.asarray(garment)
    alpha = np.where(np.abs(rgb.astype(int) - 246).max(-1) > 12, 255, 0).astype(np.uint8)
    path = tmp_path / "garment.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").crop((0, 100, 768, 900)).save(path)  # landscape-ish crop
    out, out_alpha = prepare_cloth(path)
    assert out.shape == (1024, 768, 3) and out_alpha is not None and out_alpha.shape == (1024, 768)
    transparent = out_alpha == 0
    assert (out[transparent] >= 250).all()  # on white, padding included


def test_cloth_padding_uses_the_background_colour(photos, tmp_path):
    rgb = np.asarray(Image.open(photos / "garments" / "00055_00.jpg").convert("RGB"))
    wide = rgb[200:700]  # 500 x 768: needs tall padding
    path = tmp_path / "wide.jpg"
    Image.fromarray(wide).save(path, quality=98)
    out, alpha = prepare_cloth(path)
    assert alpha is None and out.shape == (1024, 768, 3)
    colour = np.array(border_colour(wide))
    assert np.abs(out[5, 384].astype(int) - colour).max() <= 3


def test_torso_cut_by_both_edges_gets_no_repeated_rows(vitonhd):
    """A torso shot cut by the top and the bottom edge: the box keeps the photo's height and gives up
    side margin, instead of growing above the cut (where the border rows, repeated, looked like a
    neck and head to the pose model on a shop photo cut at the chin)."""
    parse = read_parse(vitonhd / "test" / "image-parse-v3" / "00013_00.png")
    below_neck = int(np.nonzero((parse == Cihp.NECK).any(1))[0].max())
    mask = parse[below_neck + 50:] > 0  # genuine silhouette, the top edge across the chest
    ys, xs = np.nonzero(mask)
    bare_w = xs.max() + 1 - xs.min()
    assert ys.min() == 0 and ys.max() == mask.shape[0] - 1
    assert 1.2 * bare_w / mask.shape[0] > 0.75 >= bare_w / mask.shape[0]  # too wide with margins, fits without
    x0, y0, x1, y1 = person_box(mask)
    assert (y0, y1) == (0.0, mask.shape[0])
    assert (x1 - x0) / (y1 - y0) == pytest.approx(0.75)
    assert x0 <= xs.min() and x1 >= xs.max() + 1


def _body25(shoulders: tuple[tuple[float, float], tuple[float, float]],
            hips: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
    points = np.zeros((25, 3))
    for index, (x, y) in zip((2, 5, 9, 12), (*shoulders, *hips)):
        points[index] = (x, y, 1.0)
    return points


@pytest.mark.parametrize(("shoulders", "hips", "turns"), [
    (((300, 300), (460, 300)), ((320, 600), (440, 600)), 0),  # standing
    (((300, 300), (460, 300)), ((520, 560), (640, 560)), 0),  # leaning 40 degrees: still a person's pose
    (((300, 300), (300, 460)), ((600, 320), (600, 440)), 3),  # torso to the right: turn clockwise
    (((600, 300), (600, 460)), ((300, 320), (300, 440)), 1),  # torso to the left: turn anticlockwise
    (((460, 600), (300, 600)), ((440, 300), (320, 300)), 2),  # upside down
])
def test_quarter_turns_to_upright(shoulders, hips, turns):
    from vtonkit.preprocess.normalize import quarter_turns_to_upright

    points = _body25(shoulders, hips)
    assert quarter_turns_to_upright(points) == turns
    # The turn it asks for, done by np.rot90 on a 1000x1000 image, brings the hips below the shoulders:
    # one anticlockwise quarter turn moves the pixel (x, y) to (y, 999 - x).
    turned = points[:, :2].copy()
    for _ in range(turns):
        turned = np.stack([turned[:, 1], 999 - turned[:, 0]], axis=1)
    torso = turned[[9, 12]].mean(0) - turned[[2, 5]].mean(0)
    assert torso[1] > 0 and abs(torso[0]) < torso[1]
    points[9, :2] = 0  # a hip not found: no turn on the word of three joints
    assert quarter_turns_to_upright(points) == 0


def test_a_person_lying_in_a_photo_without_exif_orientation_is_stood_upright(photos, tmp_path):
    """A photo turned by 1, 2 or 3 quarter turns (pixels turned, no EXIF tag: a rotated scan, a stripped
    web image) gives exactly the outputs of the upright photo, with a warning saying so. Before, the
    sideways person was squeezed into a 3:4 crop with a "side view" warning, or was "2 people"."""
    from vtonkit.preprocess.person import PersonBackends, process_person

    upright = np.asarray(Image.open(photos / "persons" / "02849_00.jpg").convert("RGB"))
    backends = PersonBackends.build()
    try:
        outputs = {}
        for turns in (0, 1, 2, 3):
            path = tmp_path / f"turned{turns}.png"  # PNG: the turned pixels are exactly the upright ones
            Image.fromarray(np.ascontiguousarray(np.rot90(upright, turns))).save(path)
            outputs[turns] = process_person(path, backends, category="upper")
    finally:
        backends.close()
    assert not [w for w in outputs[0].warnings if "turned" in w]
    for turns, expected in ((1, "90 degrees clockwise"), (2, "180 degrees"), (3, "90 degrees anticlockwise")):
        out = outputs[turns]
        assert np.array_equal(out.image, outputs[0].image)
        assert np.array_equal(out.keypoints, outputs[0].keypoints)
        assert np.array_equal(out.parse, outputs[0].parse)
        assert np.array_equal(out.densepose_ids, outputs[0].densepose_ids)
        assert [w for w in out.warnings if "turned" in w] == [
            f"photo turned upright ({expected}): the person lay {'upside down' if turns == 2 else 'sideways'} "
            "in it and the file has no EXIF orientation to say so"]


def test_a_wrong_exif_orientation_is_named_in_the_turn_warning(photos, tmp_path):
    """Upright pixels with an EXIF tag saying "turn 90 degrees clockwise" (a phone that rotated the
    pixels and kept the tag): the tag is applied, the person then lies sideways and is stood upright
    again, so the outputs are the upright photo's. The warning used to say the file had no EXIF
    orientation, which sends whoever checks the file looking for the wrong problem."""
    from vtonkit.datasets.io.images import exif_orientation
    from vtonkit.preprocess.person import PersonBackends, process_person

    upright = Image.open(photos / "persons" / "02849_00.jpg").convert("RGB")
    plain, tagged = tmp_path / "plain.png", tmp_path / "tagged.png"  # PNG: lossless, and it keeps EXIF
    upright.save(plain)
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.save(tagged, exif=exif.tobytes())
    assert exif_orientation(tagged) == 6 and exif_orientation(plain) is None
    backends = PersonBackends.build()
    try:
        reference = process_person(plain, backends, category="upper")
        turned = process_person(tagged, backends, category="upper")
    finally:
        backends.close()
    assert np.array_equal(turned.image, reference.image)
    assert np.array_equal(turned.parse, reference.parse)
    assert [w for w in turned.warnings if "turned" in w] == [
        "photo turned upright (90 degrees anticlockwise): the person lay sideways in it and the file's "
        "EXIF orientation (6, applied first) was wrong"]


def test_a_float_photo_in_the_unit_range_keeps_its_brightness(photos, tmp_path):
    """A float TIFF with values in 0..1 (what scientific tools write) was scaled as 0..255: an
    almost black photo, then refused as "blank"."""
    grey = np.asarray(Image.open(photos / "persons" / "01008_00.jpg").convert("L"))
    path = tmp_path / "unit.tif"
    Image.fromarray(grey.astype(np.float32) / 255.0, "F").save(path)
    rgb = load_person_photo(path)
    assert np.abs(rgb[..., 0].astype(int) - grey).max() <= 1  # the grey values back
    wide = tmp_path / "wide.tif"  # a float image in 0..255 stays as it was
    Image.fromarray(grey.astype(np.float32), "F").save(wide)
    assert np.abs(load_person_photo(wide)[..., 0].astype(int) - grey).max() <= 1
