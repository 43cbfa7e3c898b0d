"""Parse, mask, image, DensePose and skeleton readers/writers: round trips on real files."""
from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from vtonkit.datasets.io.densepose import (
    PARULA_RGB,
    decode_densepose,
    read_densepose,
    render_densepose,
    write_densepose,
)
from vtonkit.datasets.io.files import all_or_none, atomic_write, atomic_write_text
from vtonkit.datasets.io.images import read_rgb, read_rgba, write_jpeg, write_png
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask, write_mask
from vtonkit.datasets.io.parse import overlay_parse, read_parse, write_parse
from vtonkit.datasets.io.skeleton import BODY25_COLOURS_RGB, render_skeleton, write_skeleton

from vtonkit.core.errors import FormatError, InputError


def test_parse_round_trip_mode_p(tmp_path, vitonhd):
    labels = read_parse(vitonhd / "test" / "image-parse-v3" / "00006_00.png")
    assert labels.shape == (1024, 768) and labels.max() < 20
    path = tmp_path / "p.png"
    write_parse(path, labels)
    image = Image.open(path)
    assert image.mode == "P" and image.getpalette()[3 * 5: 3 * 6] == [254, 85, 0]
    np.testing.assert_array_equal(np.array(image), labels)  # raw ids, as HR-VITON reads them
    Image.fromarray(labels, "L").save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_parse(tmp_path / "l.png"), labels)
    assert overlay_parse(read_rgb(vitonhd / "test" / "image" / "00006_00.jpg"), labels).shape == (1024, 768, 3)


def test_parse_errors(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(FormatError, match="mode RGB"):
        read_parse(tmp_path / "rgb.png")
    Image.fromarray(np.full((4, 4), 40, np.uint8), "L").save(tmp_path / "big.png")
    with pytest.raises(FormatError, match="found 40"):
        read_parse(tmp_path / "big.png")
    with pytest.raises(FormatError, match="must be PNG"):
        write_parse(tmp_path / "x.jpg", np.zeros((4, 4), np.uint8))


@pytest.mark.parametrize("name", ["m.jpg", "m.png"])
def test_mask_round_trip(tmp_path, vitonhd, name):
    mask = read_mask(vitonhd / "test" / "cloth-mask" / "00006_00.jpg")
    assert mask.dtype == bool and 0.1 < mask.mean() < 0.9
    write_mask(tmp_path / name, mask)
    image = Image.open(tmp_path / name)
    assert image.mode == "L"
    assert set(np.unique(np.array(image))) <= set(range(0, 20)) | set(range(236, 256))
    np.testing.assert_array_equal(read_mask(tmp_path / name), mask)


def test_image_readers_handle_modes(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:4, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = read_rgb(tmp_path / "a.png")
    assert tuple(rgb[0, 0]) == (200, 0, 0) and tuple(rgb[7, 7]) == (255, 255, 255)
    assert read_rgba(tmp_path / "a.png")[7, 7, 3] == 0
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "16.png")
    assert read_rgb(tmp_path / "16.png").max() == 255
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    assert read_rgb(tmp_path / "c.jpg")[0, 0, 0] > 200
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        read_rgb(tmp_path / "empty.jpg")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(InputError, match="not an image"):
        read_rgb(tmp_path / "text.jpg")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "JPEG")
    (tmp_path / "trunc.jpg").write_bytes(buffer.getvalue()[:200])
    with pytest.raises(InputError, match="truncated"):
        read_rgb(tmp_path / "trunc.jpg")
    write_jpeg(tmp_path / "o.jpg", rgb)
    write_png(tmp_path / "o.png", rgb)
    assert Image.open(tmp_path / "o.jpg").format == "JPEG" and Image.open(tmp_path / "o.png").format == "PNG"


def test_atomic_write_gives_normal_permissions(tmp_path):
    import os

    with atomic_write(tmp_path / "f.txt", "w") as handle:
        handle.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as handle:
            handle.write("new, half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_all_or_none_keeps_every_old_file_when_a_later_write_fails(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    second.write_text("old b")
    with pytest.raises(OSError):
        with all_or_none():
            atomic_write_text(first, "new a")
            atomic_write_text(first / "b.txt", "refused")  # a file where its folder belongs
    assert (first.read_text(), second.read_text()) == ("old a", "old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    with all_or_none():
        atomic_write_text(first, "new a")
        atomic_write_text(second, "new b")
    assert (first.read_text(), second.read_text()) == ("new a", "new b")


def test_densepose_colours_are_opencv_parula():
    ids = np.arange(25, dtype=np.uint8)[None, :]
    values = (ids.astype(np.float32) * (255.0 / 24)).clip(0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(values, cv2.COLORMAP_PARULA)
    expected = bgr[..., ::-1].copy()
    expected[ids == 0] = 0  # dp_segm leaves I == 0 as the (black) background
    np.testing.assert_array_equal(render_densepose(ids), expected)


def test_densepose_rendering_is_the_palette_lookup_for_any_integer_type():
    from vtonkit.datasets.io.densepose import PARULA_RGB

    ids = np.random.default_rng(0).integers(0, 25, (1024, 768))
    for dtype in (np.uint8, np.int32, np.int64):
        rendered = render_densepose(ids.astype(dtype))
        assert rendered.dtype == np.uint8 and np.array_equal(rendered, PARULA_RGB[ids])
    with pytest.raises(ValueError, match="0..24"):
        render_densepose(np.full((4, 4), 25))


def test_densepose_decoder_survives_jpeg(tmp_path, vitonhd, dresscode):
    ids = np.array(Image.open(dresscode / "upper_body" / "dense" / "048554_5.png")) if (
        dresscode / "upper_body" / "dense" / "048554_5.png").exists() else None
    if ids is None:
        ids = np.array(Image.open(sorted((dresscode / "upper_body" / "dense").glob("*_5.png"))[0]))
    write_densepose(tmp_path / "d.jpg", ids, quality=90)
    decoded = read_densepose(tmp_path / "d.jpg")
    assert (decoded == ids).mean() > 0.985
    genuine = read_rgb(vitonhd / "test" / "image-densepose" / "00006_00.jpg")
    parts = decode_densepose(genuine)
    on_person = genuine.max(-1) > 40
    assert (parts[on_person] > 0).mean() > 0.97  # genuine files are this rendering (+ JPEG noise)
    assert len(np.unique(parts)) > 8
    assert PARULA_RGB.shape == (25, 3)


def test_skeleton_rendering(tmp_path, vitonhd):
    body = read_keypoints(vitonhd / "test" / "openpose_json" / "00006_00_keypoints.json")
    canvas = render_skeleton(body, 1024, 768)
    x, y = body[1, :2].round().astype(int)
    assert tuple(canvas[y, x]) == BODY25_COLOURS_RGB[1]  # neck joint drawn in its OpenPose colour
    assert canvas[0, 0].sum() == 0
    write_skeleton(tmp_path / "s_rendered.png", body)
    assert Image.open(tmp_path / "s_rendered.png").mode == "RGB"


_SHORT_WRITE_CHILD = """
import io, resource, signal, sys
import numpy as np
from pathlib import Path
from PIL import Image
from vtonkit.datasets.io.files import atomic_save_image
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
target = Path(sys.argv[1])
image = Image.fromarray(np.random.RandomState(0).randint(0, 255, (256, 192, 3), np.uint8))
encoded = io.BytesIO()
image.save(encoded, format="JPEG", quality=95)
# Room for all but the last 100 bytes: the encoder's last write comes up short, as on a full disk.
resource.setrlimit(resource.RLIMIT_FSIZE, (len(encoded.getvalue()) - 100, resource.RLIM_INFINITY))
try:
    atomic_save_image(image, target, quality=95)
except OSError as exc:
    print("refused", exc.errno)
else:
    print("written", target.stat().st_size)
"""


def test_an_image_cut_short_by_a_full_disk_is_an_error_not_a_truncated_file(tmp_path: Path) -> None:
    """Pillow's encoders write to a real file's descriptor from C and ignore a short write: on a nearly
    full disk `agnostic` replaced good JPEGs with truncated ones and reported success. A file-size
    limit (RLIMIT_FSIZE, in a child process) makes the same short last write here."""
    import errno
    import subprocess
    import sys

    target = tmp_path / "agnostic.jpg"
    target.write_bytes(b"the earlier file")
    done = subprocess.run([sys.executable, "-c", _SHORT_WRITE_CHILD, str(target)], capture_output=True, text=True,
                          check=False)
    assert done.stdout.split() == ["refused", str(errno.EFBIG)], done.stdout + done.stderr
    assert target.read_bytes() == b"the earlier file"
    assert [p.name for p in tmp_path.iterdir()] == ["agnostic.jpg"]  # no temporary file left


def test_all_or_none_refuses_a_folder_in_the_way_before_moving_anything(tmp_path):
    """A folder where the third file goes: the first two were replaced, then the move failed, and
    each run left its temporary file behind (a sample half new, half old)."""
    first, second, blocked = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_text("old a")
    second.write_text("old b")
    blocked.mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        with all_or_none():
            for path in (first, second, blocked):
                atomic_write_text(path, "new")
    assert raised.value.filename == str(blocked)
    assert (first.read_text(), second.read_text()) == ("old a", "old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
