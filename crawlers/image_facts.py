"""Checks and facts for one downloaded image: format, size, hashes, garment-shot analysis.

Pure functions on bytes, run off the reactor thread by the image pipeline. Anything that is not
a usable product image raises :class:`ImageRejected` with a short reason (``not-an-image``, also
for a format outside :data:`EXTENSIONS`, ``too-large``, ``too-small``, ``undecodable``) that the
crawl summary counts.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image
from vtonkit.crawlers.garment_shot import analyse_shot
from vtonkit.datasets.image_hashes import (
    MAX_COLOUR_DIFFERENCE,
    bits_to_hex,
    colour_difference,
    colour_signature,
    hex_hamming,
    phash_bits,
)

logger = logging.getLogger(__name__)

ANALYSIS_SIDE = 512  # longest side of the thumbnail that is hashed and analysed
# Pixels an image's header may declare (`VTONKIT_MAX_IMAGE_PIXELS`). A PNG decodes whole: 7070 x 7070
# RGBA is 190 kB on the wire and 200 MB in memory, ten images at once in the crawl's threads.
# Shops' largest garment photos are about 25 MP.
MAX_IMAGE_PIXELS = 40_000_000
# The formats a shop shows its garments in (those browsers display), Pillow's name -> extension.
# No other is opened at all: Pillow draws EPS, PS and PDF by running Ghostscript on the bytes, and
# the rest (TIFF, ICO, PSD, ...) are no product photo, only more parsers for a shop's bytes to reach.
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "AVIF": "avif",
}
# A camera's multi-picture JPEG (MPO) comes through Pillow's JPEG reader: a JPEG file whose first
# picture every decoder shows, so it is kept as the JPEG it is.
SAME_FORMAT = {"MPO": "JPEG"}


class ImageRejected(ValueError):
    """The bytes are not a product image we keep; ``reason`` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    phash: str  # 64-bit perceptual hash, hex (greyscale structure)
    colour_sig: str  # 4x4 RGB thumbnail, hex: tells a black tee from a blue one with the same phash
    width: int
    height: int
    format: str
    extension: str
    has_alpha: bool
    is_garment_shot: bool
    garment_score: float
    shot_evidence: str = ""  # the cue that decided (see vtonkit.crawlers.garment_shot)
    shot_reasons: str = ""  # every cue with its strength, "; "-separated


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """The width and height the header of `data` declares, read by the format's own Pillow plugin
    without Pillow's decompression-bomb check (no pixel is decoded); None when no format reads it."""
    for name in EXTENSIONS:
        factory, accept = Image.OPEN.get(name, (None, None))
        accepted = accept(data[:16]) if accept is not None else True
        if factory is None or not accepted or isinstance(accepted, str):  # a str: Pillow's "not supported"
            continue
        try:
            return factory(io.BytesIO(data)).size
        except Exception:  # a broken header: the next format, else none
            continue
    return None


def inspect_image(
    data: bytes, *, min_side: int = 256, max_pixels: int = MAX_IMAGE_PIXELS, person_detector: str = "mediapipe"
) -> ImageFacts:
    """Validate and describe image bytes. Raises :class:`ImageRejected`.

    The header is read first so that a decompression bomb (a small file declaring huge
    dimensions) is refused before any pixel is decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(EXTENSIONS))
    except Image.DecompressionBombError as exc:  # past twice Pillow's own limit: its message named its limit
        size = _declared_size(data)
        said = f"{size[0]}x{size[1]} pixels" if size else str(exc).split(" exceeds")[0]
        raise ImageRejected("too-large", f"{said} > {max_pixels}") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageRejected("not-an-image", f"not a {', '.join(EXTENSIONS)} image") from exc
    except Exception as exc:  # a broken header of one of those formats
        raise ImageRejected("not-an-image", str(exc).split("\n")[0]) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected("too-large", f"{width}x{height} pixels > {max_pixels}")
    if min(width, height) < min_side:
        raise ImageRejected("too-small", f"{width}x{height} < {min_side} px")
    fmt = SAME_FORMAT.get(image.format, image.format)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    try:
        # hashes and the shot analysis only need a thumbnail: JPEGs decode straight at reduced scale
        image.draft("RGB", (ANALYSIS_SIDE, ANALYSIS_SIDE))
        image.load()
        # in place: a copy of the decoded picture would double the memory each image holds
        image.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.BILINEAR, reducing_gap=2.0)
    except Exception as exc:
        raise ImageRejected("undecodable", str(exc)) from exc
    analysis = analyse_shot(image, person_detector=person_detector)
    rgb = image.convert("RGB")
    return ImageFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=bits_to_hex(phash_bits(rgb)),
        colour_sig=colour_signature(rgb).tobytes().hex(),
        width=width,
        height=height,
        format=fmt,
        extension=EXTENSIONS[fmt],
        has_alpha=has_alpha,
        is_garment_shot=analysis.is_garment_shot,
        garment_score=analysis.garment_score,
        shot_evidence=analysis.evidence,
        shot_reasons="; ".join(analysis.reasons),
    )


def is_near_duplicate(a: ImageFacts, b: ImageFacts, *, max_phash: int = 6,
                      max_colour: int = MAX_COLOUR_DIFFERENCE) -> bool:
    """Same picture after resizing/re-encoding: close perceptual hashes and close colours.

    The fingerprints and the colour threshold are the dataset validator's too
    (`vtonkit.datasets.image_hashes`); its hashes are longer, hence its own bit threshold.
    """
    if hex_hamming(a.phash, b.phash) > max_phash:
        return False
    colours_a, colours_b = (np.frombuffer(bytes.fromhex(sig), np.uint8) for sig in (a.colour_sig, b.colour_sig))
    return colour_difference(colours_a, colours_b) <= max_colour
