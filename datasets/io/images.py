"""RGB images: read any mode into (H, W, 3) uint8 RGB; write JPEG/PNG atomically."""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from vtonkit.datasets.io.files import atomic_save_image

from vtonkit.core.errors import FormatError, InputError

# The most pixels an image is decoded to. A bigger JPEG (phones take 108 and 200 Mpx photos) is
# decoded at 1/2, 1/4 or 1/8 scale by the JPEG decoder itself, which never holds the full size; any
# other format that big, or a JPEG above MAX_JPEG_PIXELS, is refused by name ("image too large")
# before decoding, instead of PIL's decompression-bomb warning.
MAX_PIXELS = 64_000_000
MAX_JPEG_PIXELS = 256_000_000
_HEADER_LOCK = threading.Lock()


@contextlib.contextmanager
def _header_limit() -> Iterator[None]:
    """Let PIL open headers up to MAX_JPEG_PIXELS (the sizes are checked here, by name); its own limit
    warns from 89 Mpx and refuses from 179 Mpx, which would call a phone photo a bomb."""
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        before, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, MAX_JPEG_PIXELS
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = before


def check_regular_file(path: str | Path) -> os.stat_result:
    """The `stat` of a regular, readable file; anything else (missing, dangling or looping symbolic link,
    FIFO, device, folder, no read permission) is an `InputError` that names the file and says which.

    Never opens the file: opening a FIFO for reading would wait for a writer forever.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(path, "symbolic link loop") from None
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise InputError(path, "dangling symbolic link (its target does not exist)") from None
        if exc.errno == errno.ENOENT:
            raise InputError(path, "file not found") from None
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "FIFO" if stat.S_ISFIFO(info.st_mode) else "special file"
        raise InputError(path, f"not a regular file (a {kind})")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot read (permission denied)")
    return info


def regular_file_problem(path: str | Path) -> str | None:
    """Why `path` is no readable regular file (`check_regular_file`'s reason: "file not found", "symbolic
    link loop", "not a regular file (a folder)", ...), or None when it is one."""
    try:
        check_regular_file(path)
    except InputError as exc:
        return exc.reason
    return None


HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})


@functools.cache
def heif_support() -> bool:
    """Register pi-heif's HEIC/HEIF decoder with Pillow (once); False when pi-heif is not installed."""
    try:
        from pi_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def frames_note(path: str | Path) -> list[str]:
    """The notes on an input photo its header gives, which the prep chains add to the photo's warnings:

    - several frames (an animated GIF, PNG or WebP, a multi-page TIFF): every reader takes the first
      one, which should not happen without a word. A camera's MPO JPEG (the picture plus a small
      preview) is no such case.
    - damaged metadata (a corrupt EXIF block): Pillow's own warnings about it named no file, printed
      a source line, and never reached prep's warnings file; the picture itself reads fine.

    Reads the header only; a file that does not open gives no note (its reading fails on its own, by name).
    """
    try:
        with _header(path) as image:  # its warnings: in `metadata_warnings`, once and by name
            frames, kind = getattr(image, "n_frames", 1), image.format
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return []
    notes = [] if frames <= 1 or kind == "MPO" else [f"{frames} frames (an animation or a multi-page file): "
                                                     "the first one is used"]
    damaged = metadata_warnings(path)
    return notes + ([f"damaged metadata ignored ({'; '.join(damaged)})"] if damaged else [])


def metadata_warnings(path: str | Path) -> list[str]:
    """Pillow's warnings on opening `path` and reading its EXIF (what `frames_note` reports), once each."""
    damaged: list[str] = []
    with (contextlib.suppress(OSError, ValueError, SyntaxError, Image.DecompressionBombError),
          _header(path, damaged) as image):
        image.getexif()  # a JPEG parses its EXIF on opening, other formats only here
    return damaged


@contextlib.contextmanager
def _header(path: str | Path, messages: list[str] | None = None) -> Iterator[Image.Image]:
    """The image at `path` opened for its header (`_header_limit`); Pillow's warnings go to `messages`
    (whitespace tidied, once each) or nowhere, never to the terminal: a damaged EXIF block warns on
    every opening, unnamed, and `frames_note` reports it once. `_header_limit`'s lock keeps other
    threads off the global warning filters meanwhile."""
    with _header_limit(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # sizes are checked by name
        try:
            with Image.open(path) as image:
                yield image
        finally:
            if messages is not None:
                messages.extend(m for m in dict.fromkeys(_tidy(w.message) for w in caught) if m not in messages)


def _tidy(message: Warning | str) -> str:
    """"Corrupt EXIF data.  Expecting ... got 2. " -> "Corrupt EXIF data. Expecting ... got 2."."""
    return " ".join(str(message).split())


def stored_size(path: str | Path) -> tuple[int, int]:
    """`(height, width)` of the image as stored (before any reduced-scale decoding); header only."""
    with _header(path) as image:
        return image.height, image.width


def orientation_tag(image: Image.Image) -> int | None:
    """The EXIF orientation tag of an open image (1: stored upright, 2-8: a turn or mirror to apply),
    None when it has none or a value outside 1-8."""
    value = image.getexif().get(ExifTags.Base.Orientation)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def exif_orientation(path: str | Path) -> int | None:
    """`orientation_tag` of the photo at `path`. Reads the header only; a file that does not open
    gives None (its reading fails on its own, by name)."""
    try:
        with _header(path) as image:
            return orientation_tag(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def open_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image, turning every failure into an `InputError` naming the file.

    The HEIF decoder is registered only for a HEIF name, or for a file no other decoder knows (a
    phone's HEIC photo saved as .jpg): importing it costs every process about 45 ms.
    """
    path = Path(path)
    if check_regular_file(path).st_size == 0:
        raise InputError(path, "empty file (0 bytes)")
    heif = path.suffix.lower() in HEIF_SUFFIXES and heif_support()
    try:
        return _decode(path)
    except UnidentifiedImageError as exc:
        if not heif and heif_support():
            try:
                return _decode(path)
            except UnidentifiedImageError:
                pass
        if not heif_support() and path.suffix.lower() in HEIF_SUFFIXES:
            raise InputError(path, "HEIC/HEIF photo, and no HEIF decoder: pip install pi-heif") from exc
        raise InputError(path, "not an image (unrecognised format)") from exc


def _decode(path: Path) -> Image.Image:
    """`open_image`'s decoding: every failure but an unknown format is an `InputError` naming the file."""
    try:
        with _header_limit():
            image = Image.open(path)
        pixels = image.width * image.height
        if pixels > MAX_PIXELS:
            if image.format != "JPEG" or pixels > MAX_JPEG_PIXELS:
                limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PIXELS
                raise InputError(path, f"image too large ({image.width}x{image.height} > {limit} pixels"
                                       + ("" if image.format == "JPEG" else f"; a JPEG up to {MAX_JPEG_PIXELS} is "
                                          "read at a reduced scale") + ")")
            scale = next(k for k in (2, 4, 8) if pixels <= MAX_PIXELS * k * k)
            image.draft(image.mode, (-(-image.width // scale), -(-image.height // scale)))
        image.load()
    except (InputError, UnidentifiedImageError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(path, f"refused as a decompression bomb ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated image ({exc})") from exc
    return image


@contextlib.contextmanager
def warnings_naming(path: str | Path) -> Iterator[None]:
    """The warnings raised in the block come out once each, prefixed by `path` (Pillow's name no file,
    and come several times per photo), but for those about the file's metadata ("Corrupt EXIF data",
    "Tag data larger than file"): `frames_note` makes them the photo's warning, which prep counts and keeps."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    noted = set(metadata_warnings(path)) if caught else set()  # a second header read, for a damaged file only
    for message, category in dict.fromkeys((str(w.message), w.category) for w in caught):
        if _tidy(message) not in noted:
            warnings.warn(f"{path}: {message}", category, stacklevel=3)


def open_upright(path: str | Path) -> Image.Image:
    """`open_image` with the EXIF orientation applied (camera photos); its warnings name `path`, but
    those `frames_note` reports (a damaged EXIF block) are left to it."""
    with warnings_naming(path):
        return ImageOps.exif_transpose(open_image(path))


def to_rgb(image: Image.Image, *, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any PIL mode (L, LA, P, RGBA, CMYK, I;16, I, F) to 8-bit RGB; alpha composited on `background`."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float greyscale: rescale to 0..255 by the type's range, not by clipping.
        arr = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if image.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if image.mode == "F" and arr.max() <= 1.0:
            scale = 1.0  # a float image in the usual 0..1 range (read as 0..255 it came out black: "blank")
        arr = np.clip(arr / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def read_rgb(path: str | Path, *, exif_transpose: bool = False) -> np.ndarray:
    """Read an image file as `(H, W, 3) uint8` RGB.

    Args:
        path: image file.
        exif_transpose: apply the EXIF orientation (person photos from cameras); dataset files
            are stored upright and are read as they are, like the official loaders do.
    """
    image = open_upright(path) if exif_transpose else open_image(path)
    return np.asarray(to_rgb(image))


def read_rgba(path: str | Path) -> np.ndarray:
    """Read as `(H, W, 4) uint8` RGBA (alpha 255 where the file has none): garment shots with alpha."""
    image = open_image(path)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = to_rgb(image)
    return np.asarray(image.convert("RGBA"))


def _check_rgb(rgb: np.ndarray, path: str | Path) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise FormatError(path, f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")


def write_jpeg(path: str | Path, rgb: np.ndarray, quality: int = 95) -> None:
    """Write `(H, W, 3) uint8` RGB as a baseline JPEG (4:2:0, as the dataset files are)."""
    _check_rgb(rgb, path)
    atomic_save_image(Image.fromarray(rgb, "RGB"), path, format="JPEG", quality=quality)


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write `(H, W)` uint8 (mode L), `(H, W, 3)` RGB or `(H, W, 4)` RGBA as PNG."""
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise FormatError(path, f"expected uint8 (H, W[, C]), got {array.shape} {array.dtype}")
    atomic_save_image(Image.fromarray(array), path, format="PNG")
