"""Binary masks (cloth-mask, agnostic-mask): mode L, 0 or 255; readers threshold at 128.

HR-VITON opens `cloth-mask/<cloth file name>` (a JPEG when cloths are JPEG) and binarises it with
`>= 128`, so JPEG noise is harmless; a mask stored as 0/1 would read as empty.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from vtonkit.datasets.io.files import atomic_save_image
from vtonkit.datasets.io.images import open_image

from vtonkit.core.errors import FormatError

THRESHOLD = 128


def read_mask(path: str | Path) -> np.ndarray:
    """Read a mask file as `(H, W)` bool (pixel >= 128). RGB masks are accepted by their first channel."""
    image = open_image(path)
    if image.mode not in ("L", "1", "P", "RGB", "LA", "RGBA", "I;16", "I"):
        raise FormatError(path, f"unsupported mask mode {image.mode}")
    if image.mode == "1":
        return np.array(image, dtype=bool)
    if image.mode in ("I;16", "I"):
        return np.array(image) >= 32768 if image.mode == "I;16" else np.array(image) >= THRESHOLD
    return np.array(image.convert("L")) >= THRESHOLD


def write_mask(path: str | Path, mask: np.ndarray, *, jpeg_quality: int = 100) -> None:
    """Write a `(H, W)` bool mask as mode L 0/255; JPEG or PNG chosen by the extension."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise FormatError(path, f"mask must be (H, W), got {mask.shape}")
    image = Image.fromarray(np.where(mask.astype(bool), 255, 0).astype(np.uint8), "L")
    suffix = Path(path).suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        atomic_save_image(image, path, format="JPEG", quality=jpeg_quality)
    elif suffix == ".png":
        atomic_save_image(image, path, format="PNG")
    else:
        raise FormatError(path, "masks are written as .jpg (cloth-mask, as in VITON-HD) or .png")
