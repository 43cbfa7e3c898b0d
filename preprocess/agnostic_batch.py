"""Recompute the agnostic outputs of every sample of a split directory from its files.

Reads `image/`, `image-parse-v3/`, `openpose_json/`; writes `image-parse-agnostic-v3.2/`,
`agnostic-v3.2/` and `agnostic-mask/`. One bad sample yields an error result and never stops the
others; every file is written atomically.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vtonkit.datasets.io.images import read_rgb, write_jpeg
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.io.parse import read_parse, write_parse
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir
from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic

from vtonkit.core.errors import FormatError, InputError, VtonkitError

logger = logging.getLogger(__name__)

AGNOSTIC_JPEG_QUALITY = 95


@dataclass
class SampleResult:
    stem: str
    ok: bool
    error: str | None = None


def recompute_sample(split: SplitDir, stem: str, category: str = "upper") -> None:
    """Recompute and write the three agnostic files of one sample; raises `InputError` naming the file."""
    image_path, parse_path, pose_path = split.image(stem), split.parse(stem), split.openpose_json(stem)
    image = read_rgb(image_path)
    if image.shape[:2] != (HEIGHT, WIDTH):
        raise FormatError(image_path, f"image is {image.shape[1]}x{image.shape[0]}, expected {WIDTH}x{HEIGHT} (WxH)")
    parse = read_parse(parse_path)
    if parse.shape != image.shape[:2]:
        raise FormatError(parse_path, f"parse is {parse.shape[1]}x{parse.shape[0]}, image is {WIDTH}x{HEIGHT}")
    keypoints = read_keypoints(pose_path, fmt="body25")
    try:
        result = compute_agnostic(image, parse, keypoints, category)
    except MissingKeypointsError as exc:
        raise InputError(pose_path, str(exc)) from exc
    write_parse(split.parse_agnostic(stem), result.parse_agnostic)
    write_jpeg(split.agnostic(stem), result.image, quality=AGNOSTIC_JPEG_QUALITY)
    write_mask(split.agnostic_mask(stem), result.mask)


def recompute_split(split: SplitDir, category: str = "upper", stems: Iterable[str] | None = None) -> Iterator[SampleResult]:
    """Yield one `SampleResult` per sample (all persons in `image/` unless `stems` is given)."""
    for stem in (split.person_stems() if stems is None else stems):
        try:
            recompute_sample(split, stem, category)
        except VtonkitError as exc:
            logger.warning("sample %s: %s", stem, exc)
            yield SampleResult(stem, False, str(exc))
        else:
            yield SampleResult(stem, True)
