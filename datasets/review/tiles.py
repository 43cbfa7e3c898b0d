"""Thumbnails of one sample's artifacts, rendered server-side with the foundation readers.

The grid is the same in the live app and the static report: photo, garment, garment mask, parse
overlaid on the photo, DensePose, skeleton drawn over the dimmed photo, agnostic. A missing or
unreadable file becomes a grey tile that says so (the review must still show the sample).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from vtonkit.datasets import layout
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import overlay_parse, read_parse
from vtonkit.datasets.io.skeleton import render_skeleton
from vtonkit.datasets.review.safe_paths import links_outside

from vtonkit.core.errors import InputError

logger = logging.getLogger(__name__)

# (kind, label) in grid order.
TILE_KINDS: tuple[tuple[str, str], ...] = (
    ("image", "photo"),
    ("cloth", "cloth"),
    ("cloth-mask", "cloth mask"),
    ("parse", "parse"),
    ("densepose", "DensePose"),
    ("skeleton", "skeleton"),
    ("agnostic", "agnostic"),
)
KINDS = tuple(kind for kind, _ in TILE_KINDS)
# A garment-only sample has no person files: its card shows only these (the rest would all be "missing").
GARMENT_TILE_KINDS = tuple((kind, label) for kind, label in TILE_KINDS if kind in ("cloth", "cloth-mask"))


def tile_kinds(sample_kind: str) -> tuple[tuple[str, str], ...]:
    """(kind, label) of the tiles of a "person" or a "garment" sample, in grid order."""
    return GARMENT_TILE_KINDS if sample_kind == "garment" else TILE_KINDS
DEFAULT_HEIGHT = 256


def _render_full(split_dir: layout.SplitDir, stem: str, kind: str) -> np.ndarray:
    """Full-resolution `(H, W, 3)` uint8 RGB of one tile kind (raises InputError/ValueError)."""
    if kind == "image":
        return read_rgb(split_dir.image(stem))
    if kind == "cloth":
        return read_rgb(split_dir.cloth(stem))
    if kind == "cloth-mask":
        return np.repeat(read_mask(split_dir.cloth_mask(stem))[..., None], 3, axis=2).astype(np.uint8) * 255
    if kind == "parse":
        labels = read_parse(split_dir.parse(stem), check_ids=False)
        photo = read_rgb(split_dir.image(stem))
        if photo.shape[:2] != labels.shape:
            photo = cv2.resize(photo, labels.shape[::-1], interpolation=cv2.INTER_AREA)
        return overlay_parse(photo, labels, alpha=0.6)
    if kind == "densepose":
        return read_rgb(split_dir.densepose(stem))
    if kind == "skeleton":
        photo = read_rgb(split_dir.image(stem))
        body25 = read_keypoints(split_dir.openpose_json(stem), fmt="auto", image_size=photo.shape[:2])
        skeleton = render_skeleton(body25, *photo.shape[:2])
        drawn = skeleton.any(axis=2)
        out = (photo * 0.4).astype(np.uint8)
        out[drawn] = skeleton[drawn]
        return out
    if kind == "agnostic":
        return read_rgb(split_dir.agnostic(stem))
    raise ValueError(f"unknown tile kind {kind!r}")


def placeholder(text: str, height: int) -> np.ndarray:
    width = height * 3 // 4
    tile = np.full((height, width, 3), 60, dtype=np.uint8)
    for row, line in enumerate(_wrap(text, 16)[:6]):
        cv2.putText(
            tile, line, (6, 24 + 18 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA
        )
    return tile


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def render_tile(split_dir: layout.SplitDir, stem: str, kind: str, height: int = DEFAULT_HEIGHT) -> np.ndarray:
    """One thumbnail `(height, ~0.75 height, 3)` uint8; a labelled placeholder on any problem.

    A file that links outside the dataset is never read (placeholder "outside dataset"), so
    neither the app nor the static report can be made to show a file from elsewhere.
    """
    if links_outside(split_dir.root.parent, files_read(split_dir, stem, kind)):
        return placeholder(f"{kind}: link leaves the dataset", height)
    try:
        full = _render_full(split_dir, stem, kind)
    except (InputError, FileNotFoundError) as exc:
        reason = "missing" if "not found" in str(exc) else "unreadable"
        return placeholder(f"{kind}: {reason}", height)
    except (ValueError, OSError) as exc:
        logger.info("%s/%s %s: %s", split_dir.root.name, stem, kind, exc)
        return placeholder(f"{kind}: unreadable", height)
    width = max(1, round(full.shape[1] * height / full.shape[0]))
    return cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA)


def tile_jpeg(
    split_dir: layout.SplitDir, stem: str, kind: str, height: int = DEFAULT_HEIGHT, quality: int = 82
) -> bytes:
    """The thumbnail encoded as JPEG bytes (for HTTP responses and base64 inlining)."""
    buffer = io.BytesIO()
    Image.fromarray(render_tile(split_dir, stem, kind, height)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def files_read(split_dir: layout.SplitDir, stem: str, kind: str) -> list[Path]:
    """Every file `_render_full` reads for one tile kind (the parse and skeleton tiles draw on the photo)."""
    primary = source_files(split_dir, stem)[kind]
    return [primary, split_dir.image(stem)] if kind in ("parse", "skeleton") else [primary]


def source_files(split_dir: layout.SplitDir, stem: str) -> dict[str, Path]:
    """Files behind each tile kind (for links to the raw files)."""
    return {
        "image": split_dir.image(stem),
        "cloth": split_dir.cloth(stem),
        "cloth-mask": split_dir.cloth_mask(stem),
        "parse": split_dir.parse(stem),
        "densepose": split_dir.densepose(stem),
        "skeleton": split_dir.openpose_json(stem),
        "agnostic": split_dir.agnostic(stem),
    }
