"""Garment shot normalisation and the `cloth/` + `cloth-mask/` writers.

`prepare_cloth` applies the EXIF orientation, composites any alpha on white (what `cloth/`
stores), pads to 3:4 around the centre with the shot's own background colour (the median of its
border pixels, so a light-grey studio background stays grey rather than getting white bars that
the masker could keep) and resizes to 1024x768. The alpha channel, when the file has a useful
one, is transformed the same way (padding = transparent) and returned for the masker.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from vtonkit.datasets.io.images import MAX_PIXELS, frames_note, open_upright, stored_size, to_rgb, write_jpeg
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir
from vtonkit.preprocess.normalize import resize_to
from vtonkit.preprocess.stages import backend_call, checked_output

from vtonkit.core.errors import InputError

logger = logging.getLogger(__name__)


def border_colour(rgb: np.ndarray, width: int = 4) -> tuple[int, int, int]:
    """Median colour of the outer `width` pixels of `(H, W, 3)` uint8 RGB (the shot's background)."""
    border = np.concatenate([rgb[:width].reshape(-1, 3), rgb[-width:].reshape(-1, 3),
                             rgb[:, :width].reshape(-1, 3), rgb[:, -width:].reshape(-1, 3)])
    return tuple(int(v) for v in np.median(border, axis=0))


# Padding to 3:4 multiplies the pixels by the shot's distance from 3:4: a square shot of the largest
# size read (`MAX_PIXELS`) grows 1.33x, a 1-pixel strip by thousands.
MAX_PADDED_PIXELS = 2 * MAX_PIXELS


def _portrait_size(height: int, width: int) -> tuple[int, int]:
    """`(height, width)` of a `height x width` shot padded around the centre to 3:4 (H:W)."""
    target_w = max(width, round(height * WIDTH / HEIGHT))
    return max(height, round(target_w * HEIGHT / WIDTH)), target_w


def _pad_to_portrait(array: np.ndarray, fill: tuple[int, ...] | int) -> np.ndarray:
    """Pad around the centre to 3:4 (H:W)."""
    height, width = array.shape[:2]
    target_h, target_w = _portrait_size(height, width)
    top, left = (target_h - height) // 2, (target_w - width) // 2
    return cv2.copyMakeBorder(array, top, target_h - height - top, left, target_w - width - left,
                              cv2.BORDER_CONSTANT, value=fill)


def prepare_cloth(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Garment photo -> (`(1024, 768, 3)` uint8 RGB on white/its background, `(1024, 768)` uint8 alpha or None).

    Raises:
        InputError: unreadable file (the message names it).
    """
    image = open_upright(path)
    padded_h, padded_w = _portrait_size(image.height, image.width)
    if padded_h * padded_w > MAX_PADDED_PIXELS:  # a 320-byte 1x60000 strip would pad to 45000x60000 (8 GB)
        raise InputError(path, f"{image.width}x{image.height} is too far from 3:4 for a garment shot (padded to "
                               f"{padded_w}x{padded_h}, more than {MAX_PADDED_PIXELS} pixels)")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    alpha = np.asarray(image.convert("RGBA"))[..., 3] if has_alpha else None
    if alpha is not None and alpha.min() == 255:
        alpha = None  # an alpha channel that is fully opaque carries nothing
    rgb = np.asarray(to_rgb(image))  # composites alpha on white
    fill = (255, 255, 255) if alpha is not None else border_colour(rgb)
    rgb = resize_to(_pad_to_portrait(rgb, fill))
    if alpha is not None:
        alpha = cv2.resize(_pad_to_portrait(alpha, 0), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return rgb, alpha


def masker_input(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """What a `ClothMasker` gets: RGBA when there is an alpha, else the RGB."""
    return rgb if alpha is None else np.dstack([rgb, alpha])


def cloth_mask_of(masker: Any, rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Run the cloth-mask stage on a prepared shot: the `(H, W)` bool mask, checked against the interface."""
    mask = backend_call("cloth-mask", masker, lambda: masker.mask(masker_input(rgb, alpha)))
    return checked_output("cloth-mask", masker, mask, rgb.shape[:2], boolean=True)


FULL_FRAME_SHARE = 0.97


def check_cloth_mask(path: str | Path, mask: np.ndarray, rgb: np.ndarray | None = None) -> list[str]:
    """An empty mask, or one covering the frame, is an error (no garment found, or none separable);
    then the pre-flight garment checks ("<code>: <message>", thresholds from the config's `[preflight]`).

    `rgb` is the shot as `prepare_cloth` returned it for the masker; without it the file is read again.
    """
    if not np.asarray(mask).any():
        raise InputError(path, "no garment found (the cloth mask is empty)")
    if (share := np.asarray(mask).mean()) > FULL_FRAME_SHARE:
        # a mask of the whole frame is no garment outline: written, it warps a rectangle
        raise InputError(path, f"no garment separable from the background: the cloth mask covers {share:.0%} of the "
                               "shot (a patterned or busy background?); shoot the garment on a plain light background")
    from vtonkit.preprocess.config import preflight_thresholds
    from vtonkit.preprocess.preflight import garment_checks

    if rgb is None:
        rgb, _ = prepare_cloth(path)  # the shot as the masker saw it
    found = garment_checks(rgb, np.asarray(mask, dtype=bool), source_hw=stored_size(path),
                           thresholds=preflight_thresholds())
    return [f.note() for f in found]


@dataclass
class ClothOutputs:
    """Everything written for one garment shot, at 1024x768: `rgb` (`cloth/`), `mask` (`cloth-mask/`), notes."""

    rgb: np.ndarray
    mask: np.ndarray
    warnings: list[str] = field(default_factory=list)


def process_cloth(path: str | Path, masker: Any, *,
                  run_stage: Callable[[str, Callable[[], Any]], Any] | None = None) -> ClothOutputs:
    """The per-garment chain for one shot (no writing): prepare -> cloth mask -> checks.

    The one chain of every entry point: `prep-cloth` runs it as is; the `prep` worker passes
    `run_stage` (timed stage "cloth", cached stage "cloth_mask"). An empty mask fails the shot
    inside the "cloth_mask" stage, so the cache remembers the failure too.
    """
    run_stage = run_stage or (lambda _stage, compute: compute())
    rgb, alpha = run_stage("cloth", lambda: prepare_cloth(path))

    notes: list[str] | None = None

    def cloth_mask() -> np.ndarray:
        nonlocal notes
        mask = cloth_mask_of(masker, rgb, alpha)
        notes = check_cloth_mask(path, mask, rgb)
        return mask

    mask = run_stage("cloth_mask", cloth_mask)
    if notes is None:  # the mask came from prep's cache: the checks (about 3x the mask's time) run once here
        notes = check_cloth_mask(path, mask, rgb)
    return ClothOutputs(rgb=rgb, mask=mask, warnings=[*frames_note(path), *notes])


def write_cloth_outputs(split: SplitDir, stem: str, rgb: np.ndarray, mask: np.ndarray) -> list[Path]:
    """Write `cloth/<stem>.jpg` and `cloth-mask/<stem>.jpg` (mode L, 0/255); returns the paths."""
    if rgb.shape[:2] != (HEIGHT, WIDTH) or mask.shape != (HEIGHT, WIDTH):
        raise ValueError(f"cloth outputs must be {HEIGHT}x{WIDTH}, got {rgb.shape[:2]} and {mask.shape}")
    split = split if isinstance(split, SplitDir) else SplitDir(split)
    for path in split.cloth_files(stem).values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_jpeg(split.cloth(stem), rgb)
    write_mask(split.cloth_mask(stem), mask)
    return [split.cloth(stem), split.cloth_mask(stem)]
