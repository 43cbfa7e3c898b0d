"""Human-parse maps: PNG whose raw pixel values are CIHP-20 ids (mode P with the CIHP palette).

HR-VITON reads the raw indices (`np.array(Image.open(path))`), so the palette is cosmetic but the
mode is not: an RGB-coloured map silently becomes garbage and ids >= 20 crash its one-hot scatter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from vtonkit.datasets.io.files import atomic_save_image
from vtonkit.datasets.io.images import open_image
from vtonkit.datasets.labels import CIHP_COLOURS, CIHP_PALETTE, NUM_CIHP

from vtonkit.core.errors import FormatError


def read_parse(path: str | Path, *, check_ids: bool = True) -> np.ndarray:
    """Read a parse PNG (mode P or L) as `(H, W)` uint8 raw ids.

    Raises:
        FormatError: colour (RGB) maps, or ids >= 20 when `check_ids`.
    """
    image = open_image(path)
    if image.mode not in ("P", "L"):
        raise FormatError(path, f"parse map has mode {image.mode}: expected raw label ids in mode P or L")
    labels = np.array(image, dtype=np.uint8)
    if check_ids and labels.size and labels.max() >= NUM_CIHP:
        raise FormatError(path, f"parse ids must be 0..{NUM_CIHP - 1}, found {int(labels.max())}")
    return labels


def parse_image(labels: np.ndarray) -> Image.Image:
    """`(H, W)` uint8 ids -> PIL image mode P with the CIHP palette (what `write_parse` saves)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"parse map must be (H, W), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CIHP):
        raise ValueError(f"parse ids must be 0..{NUM_CIHP - 1}, got {labels.min()}..{labels.max()}")
    image = Image.fromarray(labels.astype(np.uint8), "P")
    image.putpalette(CIHP_PALETTE)
    return image


def write_parse(path: str | Path, labels: np.ndarray) -> None:
    """Write `(H, W)` CIHP ids as PNG mode P with the CIHP palette (lossless, atomic)."""
    if Path(path).suffix.lower() != ".png":
        raise FormatError(path, "parse maps must be PNG (JPEG would corrupt the label ids)")
    atomic_save_image(parse_image(labels), path, format="PNG")


def parse_to_rgb(labels: np.ndarray) -> np.ndarray:
    """Colour a CIHP label map for viewing: `(H, W)` -> `(H, W, 3)` uint8."""
    return CIHP_COLOURS[np.clip(np.asarray(labels), 0, NUM_CIHP - 1)]


def overlay_parse(rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend the coloured parse over the photo (background pixels keep the photo)."""
    colour = parse_to_rgb(labels).astype(np.float32)
    out = rgb.astype(np.float32)
    fg = np.asarray(labels) > 0
    out[fg] = (1 - alpha) * out[fg] + alpha * colour[fg]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
