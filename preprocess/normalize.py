"""Person photo normalisation ("refocus") to the dataset's 1024x768 (H x W) framing.

Two modes:
* refocus (default): crop and pad to 3:4 around the detected person, then resize. The box is the
  person's silhouette bounding box plus `TOP_MARGIN` of its height above the head, `BOTTOM_MARGIN`
  below the feet (none when the person is cut by the bottom edge, as in VITON-HD's thigh-length
  shots) and `SIDE_MARGIN` of its width on each side, widened (or heightened) around its centre
  to exactly 3:4. A person cut by both the top and the bottom edge (a shop's torso shot cut at
  the chin) keeps the photo's height and gives up side margin instead. Where the box leaves the
  photo the border pixels are replicated (a flat studio background continues; black bars would
  become "person" to later stages).
* keep framing: orientation, colour mode and resize only (pixel-aligned with a 3:4 input).

A person lying sideways or upside down in a photo without EXIF orientation (a rotated scan, a
web image whose tag was stripped) is turned upright by quarter turns, from the torso direction of
the first pose pass (`quarter_turns_to_upright`); a standing person's torso is within about 15
degrees of vertical, a turned photo's near 90 or 180.

EXIF orientation and colour modes (RGBA, CMYK, greyscale, 16-bit) go through the foundation's
`open_upright` / `to_rgb`. Upscaling is never silent: when the person box is smaller than
`TINY_PERSON_HEIGHT` of the output height (an upscale of more than 2x) a warning says the result
will be blurry.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from vtonkit.datasets.io.images import open_upright, to_rgb
from vtonkit.datasets.io.keypoints import present_mask
from vtonkit.datasets.layout import HEIGHT, WIDTH

logger = logging.getLogger(__name__)

TOP_MARGIN = 0.06
BOTTOM_MARGIN = 0.04
SIDE_MARGIN = 0.10
EDGE_SNAP = 0.02
TINY_PERSON_HEIGHT = 0.5  # person box below 512 source pixels -> > 2x upscale
UPRIGHT_LIMIT_DEG = 60.0  # a torso further than this from vertical: the photo itself is turned
SHOULDERS, HIPS = (2, 5), (9, 12)  # BODY_25
ASPECT = WIDTH / HEIGHT  # 0.75


@dataclass(frozen=True)
class FrameTransform:
    """Maps source-photo pixels (after EXIF orientation) to output pixels: `out = (src - offset) * scale`.

    Attributes:
        offset_x, offset_y: top-left corner of the crop box in the oriented source (may be < 0: padding).
        scale_x, scale_y: output pixels per source pixel.
    """

    offset_x: float
    offset_y: float
    scale_x: float
    scale_y: float

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map `(N, 2+)` [x, y, ...] source points to output pixels; rows at (0, 0) stay missing."""
        points = np.array(points, dtype=np.float64, copy=True)
        missing = (points[:, 0] == 0) & (points[:, 1] == 0)
        points[:, 0] = (points[:, 0] - self.offset_x) * self.scale_x
        points[:, 1] = (points[:, 1] - self.offset_y) * self.scale_y
        points[missing] = 0.0
        return points

    def invert(self, points: np.ndarray) -> np.ndarray:
        """Map output pixels back to the oriented source photo."""
        points = np.array(points, dtype=np.float64, copy=True)
        missing = (points[:, 0] == 0) & (points[:, 1] == 0)
        points[:, 0] = points[:, 0] / self.scale_x + self.offset_x
        points[:, 1] = points[:, 1] / self.scale_y + self.offset_y
        points[missing] = 0.0
        return points


@dataclass
class Normalized:
    """A normalised person photo: `image` `(1024, 768, 3)` uint8 RGB, the transform and warnings."""

    image: np.ndarray
    transform: FrameTransform
    warnings: list[str] = field(default_factory=list)
    # where the photo lies in `image` (left, top, right, bottom output px): refocus pads beyond it
    photo_box: tuple[float, float, float, float] | None = None


def load_person_photo(path: str | Path) -> np.ndarray:
    """Read any photo upright (EXIF orientation applied) as `(H, W, 3)` uint8 RGB; errors name the file."""
    image = open_upright(path)
    return np.asarray(to_rgb(image))


def quarter_turns_to_upright(keypoints: np.ndarray) -> int:
    """`k` of `np.rot90(image, k)` (counter-clockwise quarter turns, 0-3) that stands the person of
    these BODY_25 `keypoints` upright: 0 unless both shoulders and both hips were found and the
    torso (shoulders -> hips) runs more than `UPRIGHT_LIMIT_DEG` away from straight down."""
    points = np.asarray(keypoints, dtype=np.float64)
    if not present_mask(points)[[*SHOULDERS, *HIPS]].all():
        return 0
    dx, dy = points[list(HIPS), :2].mean(0) - points[list(SHOULDERS), :2].mean(0)
    angle = np.degrees(np.arctan2(dx, dy))  # 0: hips below the shoulders (image rows grow downwards)
    if abs(angle) <= UPRIGHT_LIMIT_DEG:
        return 0
    return int(-np.round(angle / 90.0)) % 4  # torso to the right (+90): a clockwise turn, k = 3


def turned_note(turns: int, orientation: int | None = None) -> str:
    """The warning of a photo `quarter_turns_to_upright` turned; `orientation`: the file's EXIF
    orientation tag (`exif_orientation`), already applied when the person was found lying."""
    how = {1: "90 degrees anticlockwise", 2: "180 degrees", 3: "90 degrees clockwise"}[turns]
    why = ("the file has no EXIF orientation to say so" if orientation is None
           else f"the file's EXIF orientation ({orientation}, applied first) was wrong")
    return f"photo turned upright ({how}): the person lay {'upside down' if turns == 2 else 'sideways'} in it and {why}"


def resize_to(image: np.ndarray, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Resize `(h, w, 3)` to `(height, width, 3)`: area filter when shrinking, cubic when enlarging."""
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] >= height and image.shape[1] >= width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def keep_framing(image: np.ndarray) -> Normalized:
    """Resize only (`--keep-framing`); warns when the photo is not 3:4 (it gets stretched)."""
    height, width = image.shape[:2]
    warnings = []
    if abs(width / height - ASPECT) > 0.01:
        warnings.append(f"photo is {width}x{height}, not 3:4: --keep-framing stretches it to {WIDTH}x{HEIGHT}")
    transform = FrameTransform(0.0, 0.0, WIDTH / width, HEIGHT / height)
    return Normalized(resize_to(image), transform, warnings)


def person_box(person_mask: np.ndarray) -> tuple[float, float, float, float]:
    """3:4 crop box `(x0, y0, x1, y1)` (source pixels, may exceed the image) around the silhouette.

    Raises:
        ValueError: empty mask.
    """
    ys, xs = np.nonzero(person_mask)
    if xs.size == 0:
        raise ValueError("empty person mask")
    height = person_mask.shape[0]
    top, bottom, left, right = float(ys.min()), float(ys.max() + 1), float(xs.min()), float(xs.max() + 1)
    box_h = bottom - top
    # A silhouette ending within EDGE_SNAP of a border is cut by it: stay flush, invent no margin.
    cut_at_top = top <= EDGE_SNAP * height
    top = 0.0 if cut_at_top else top - TOP_MARGIN * box_h
    cut_at_bottom = bottom >= (1 - EDGE_SNAP) * height
    bottom = float(height) if cut_at_bottom else bottom + BOTTOM_MARGIN * box_h
    bare_left, bare_right = left, right
    left -= SIDE_MARGIN * (right - left)
    right += SIDE_MARGIN * (right - left)
    box_h, box_w = bottom - top, right - left
    if box_w / box_h < ASPECT:  # too narrow: widen around the centre
        centre = (left + right) / 2
        box_w = box_h * ASPECT
        left, right = centre - box_w / 2, centre + box_w / 2
    elif cut_at_top and cut_at_bottom and bare_right - bare_left <= box_h * ASPECT:
        # A torso shot cut by both edges: more height would repeat the body across a border (a
        # streaked neck and head above a shot cut at the chin). Give up side margin instead.
        box_w = box_h * ASPECT
        left = (bare_left + bare_right) / 2 - box_w / 2
    else:  # too wide: grow in height, keeping a person cut by the bottom edge flush with it
        new_h = box_w / ASPECT
        if cut_at_bottom:
            top = bottom - new_h
        else:
            centre = (top + bottom) / 2
            top, bottom = centre - new_h / 2, centre + new_h / 2
        box_h = new_h
    return left, top, left + box_w, top + box_h


def refocus(image: np.ndarray, person_mask: np.ndarray) -> Normalized:
    """Crop/pad `(H, W, 3)` uint8 RGB to a 3:4 box around `person_mask` `(H, W)` bool and resize to 1024x768."""
    x0, y0, x1, y1 = person_box(person_mask)
    scale = HEIGHT / (y1 - y0)
    warnings = []
    if (y1 - y0) < TINY_PERSON_HEIGHT * HEIGHT:
        warnings.append(
            f"tiny person: only {y1 - y0:.0f} px tall in the photo, upscaled {scale:.1f}x to {HEIGHT} px "
            "(expect a blurry image and weaker pose/parse)"
        )
    # Affine crop+scale in one resampling step; replicate the border where the box leaves the photo.
    matrix = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]], dtype=np.float64)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    if scale < 1:
        # INTER_AREA is not supported by warpAffine: shrink the padded crop with resize instead.
        pad = int(np.ceil(max(0.0, -x0, -y0, x1 - image.shape[1], y1 - image.shape[0]))) + 1
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        crop = padded[round(y0) + pad:round(y1) + pad, round(x0) + pad:round(x1) + pad]
        out = cv2.resize(crop, (WIDTH, HEIGHT), interpolation=interpolation)
        x0, y0 = float(round(x0)), float(round(y0))
        transform = FrameTransform(x0, y0, WIDTH / crop.shape[1], HEIGHT / crop.shape[0])
    else:
        out = cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
        transform = FrameTransform(x0, y0, scale, scale)
    box = photo_box_in_output(transform, image.shape[:2])
    _fill_beside_cut_sides(out, image, person_mask, box)
    return Normalized(out, transform, warnings, box)


def photo_box_in_output(transform: FrameTransform, source_hw: tuple[int, int]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the source photo in output pixels, clipped to the output."""
    left, top = -transform.offset_x * transform.scale_x, -transform.offset_y * transform.scale_y
    right = (source_hw[1] - transform.offset_x) * transform.scale_x
    bottom = (source_hw[0] - transform.offset_y) * transform.scale_y
    return max(0.0, left), max(0.0, top), min(float(WIDTH), right), min(float(HEIGHT), bottom)


def _fill_beside_cut_sides(out: np.ndarray, image: np.ndarray, person_mask: np.ndarray,
                           box: tuple[float, float, float, float]) -> None:
    """Where a side of the photo cuts the person (an arm, a bag) and the box is padded beyond it, fill
    the padding with the backdrop's colour: repeating the edge column drew the cut arm on as streaks,
    which the parser labelled as arm and the agnostic greyed."""
    mask = np.asarray(person_mask, dtype=bool)
    left, right = int(np.floor(box[0])), int(np.ceil(box[2]))
    for columns, padding in ((slice(0, 2), np.s_[:, :left]), (slice(-2, None), np.s_[:, right:])):
        edge, backdrop = mask[:, columns], image[:, columns]
        if edge.any() and out[padding].size and (~edge).any():
            # the backdrop along that side, where the person is not
            out[padding] = np.median(backdrop[~edge].reshape(-1, 3), axis=0).astype(np.uint8)
