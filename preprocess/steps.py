"""The pipeline's calls into the per-sample steps (normalise, agnostic, writers), in one place.

The steps themselves live in `normalize.py`, `person.py`, `cloth.py` and `agnostic.py`; this module
only adapts their signatures to what `samples.py` needs. While one of them is not available yet
a minimal stand-in below is used (marked FALLBACK); the stand-ins log once which one is active.
"""
from __future__ import annotations

import importlib
import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vtonkit.datasets.io.densepose import render_densepose
from vtonkit.datasets.io.images import read_rgb, read_rgba, write_jpeg
from vtonkit.datasets.io.keypoints import write_openpose_json
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.io.parse import write_parse
from vtonkit.datasets.io.skeleton import write_skeleton
from vtonkit.datasets.layout import HEIGHT, WIDTH, DatasetLayout
from vtonkit.preprocess.agnostic import Agnostic, compute_agnostic

logger = logging.getLogger(__name__)

# Versions of the pure steps: part of the cache keys and completion markers (bump on change).
NORMALIZE_VERSION = "1"
CLOTH_PREP_VERSION = "1"
AGNOSTIC_VERSION = "1"
WRITER_VERSION = "1"


@cache
def _optional(module: str) -> Any:
    try:
        return importlib.import_module(f"vtonkit.preprocess.{module}")
    except ImportError:
        logger.warning("vtonkit.preprocess.%s is not available: using the pipeline's minimal stand-in", module)
        return None


def _fit_portrait(image: Image.Image, fill: tuple[int, ...]) -> Image.Image:
    """FALLBACK: pad to 3:4 (H:W) around the centre, then resize to 1024 x 768."""
    width, height = image.size
    target_w = max(width, int(round(height * WIDTH / HEIGHT)))
    target_h = max(height, int(round(target_w * HEIGHT / WIDTH)))
    canvas = Image.new(image.mode, (target_w, target_h), fill)
    canvas.paste(image, ((target_w - width) // 2, (target_h - height) // 2))
    return canvas.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def normalize_person(path: Path) -> np.ndarray:
    """Person photo file -> upright `(1024, 768, 3)` uint8 RGB."""
    rgb = read_rgb(path, exif_transpose=True)
    if rgb.shape[:2] == (HEIGHT, WIDTH):
        return rgb
    return np.asarray(_fit_portrait(Image.fromarray(rgb), (255, 255, 255)))


def prepare_garment(path: Path) -> np.ndarray:
    """Garment shot file -> `(1024, 768, 4)` uint8 RGBA (alpha 255 where the file has none)."""
    rgba = read_rgba(path)
    if rgba.shape[:2] == (HEIGHT, WIDTH):
        return rgba
    return np.asarray(_fit_portrait(Image.fromarray(rgba, "RGBA"), (255, 255, 255, 0)))


def garment_rgb(rgba: np.ndarray) -> np.ndarray:
    """`(H, W, 4)` RGBA -> `(H, W, 3)` RGB composited on white (what `cloth/` stores)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)


def masker_input(rgba: np.ndarray) -> np.ndarray:
    """What the cloth masker sees: RGBA when the alpha carries information, else RGB."""
    return rgba if (rgba[..., 3] < 255).any() else rgba[..., :3]


def compute_person_agnostic(image: np.ndarray, parse: np.ndarray, keypoints: np.ndarray, category: str) -> Agnostic:
    return compute_agnostic(image, parse, keypoints, category)


def write_person(dataset: str | Path, split: str, stem: str, *, image: np.ndarray, keypoints: np.ndarray,
                 parse: np.ndarray, part_ids: np.ndarray, agnostic: Agnostic) -> list[Path]:
    """Write the 8 person files of `stem`; returns their paths."""
    files = DatasetLayout(dataset).split(split).person_files(stem)
    write_jpeg(files["image"], image)
    write_openpose_json(files["openpose_json"], keypoints)
    write_skeleton(files["openpose_img"], keypoints, HEIGHT, WIDTH)
    write_parse(files["image-parse-v3"], parse)
    write_parse(files["image-parse-agnostic-v3.2"], agnostic.parse_agnostic)
    write_jpeg(files["agnostic-v3.2"], agnostic.image)
    write_mask(files["agnostic-mask"], agnostic.mask)
    write_jpeg(files["image-densepose"], render_densepose(part_ids))
    return list(files.values())


def write_garment(dataset: str | Path, split: str, stem: str, rgba: np.ndarray, mask: np.ndarray) -> list[Path]:
    """Write `cloth/<stem>.jpg` (on white) and `cloth-mask/<stem>.jpg`; returns their paths."""
    files = DatasetLayout(dataset).split(split).cloth_files(stem)
    write_jpeg(files["cloth"], garment_rgb(rgba))
    write_mask(files["cloth-mask"], mask)
    return list(files.values())
