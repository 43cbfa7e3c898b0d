"""Parse-agnostic, human-agnostic image and agnostic mask for upper body, lower body and dresses.

`upper` is exactly the official HR-VITON procedure:
* parse-agnostic = `get_parse_agnostic.py` (arm bands around the arm chains, then upper clothes,
  dress, coat and neck removed), r = 10 at 1024x768;
* agnostic mask = the region `CPDatasetTest.get_agnostic` paints grey: hips re-spread to shoulder
  width, r = int(shoulder width / 16) + 1, torso/neck/arm shapes, hands and forearm skin away from
  the arm skeleton restored, face and lower body restored.
Both are drawn with PIL's ImageDraw on the full-resolution canvas, with the same primitives and
float coordinates as the official code, so the rasterisation is identical.

`lower` and `dresses` follow the Dress Code-style recipe (format doc section 3d) translated to
CIHP labels and BODY_25 joints; decisions where that recipe is silent are marked "decision".
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw
from vtonkit.datasets.io.keypoints import BODY25_NAMES
from vtonkit.datasets.labels import Cihp

from vtonkit.core.categories import GARMENT_CATEGORIES

Category = Literal["upper", "lower", "dresses"]
CATEGORIES = GARMENT_CATEGORIES
GREY = 128  # PIL's 'gray'

# BODY_25 joints each recipe draws from (a missing one makes the recipe meaningless).
REQUIRED_JOINTS: dict[str, tuple[int, ...]] = {
    "upper": (1, 2, 5, 9, 12),
    "lower": (2, 5, 9, 12),
    "dresses": (1, 2, 5, 9, 12),
}

HEAD_LABELS = (Cihp.SUNGLASSES, Cihp.FACE)
LOWER_BODY_LABELS = (Cihp.PANTS, Cihp.SKIRT, Cihp.LEFT_LEG, Cihp.RIGHT_LEG, Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE)
UPPER_GARMENT_LABELS = (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT)
LOWER_GARMENT_LABELS = (Cihp.PANTS, Cihp.SKIRT, Cihp.DRESS)
# decision: lower body keeps the head, hair, neck, upper garments, arms, gloves and scarf.
LOWER_KEEP_LABELS = (Cihp.HAT, Cihp.HAIR, Cihp.SUNGLASSES, Cihp.FACE, Cihp.SCARF, Cihp.NECK,
                     Cihp.UPPER_CLOTHES, Cihp.COAT, Cihp.GLOVE, Cihp.LEFT_ARM, Cihp.RIGHT_ARM)
DRESSES_KEEP_LABELS = (Cihp.HAT, Cihp.HAIR, Cihp.SUNGLASSES, Cihp.FACE)


class MissingKeypointsError(ValueError):
    """The pose lacks joints the agnostic recipe needs (message lists them by name)."""


@dataclass
class Agnostic:
    """Outputs of one recipe.

    Attributes:
        parse_agnostic: `(H, W)` uint8 CIHP ids with the garment (and what it may cover) removed.
        mask: `(H, W)` bool, True where the human-agnostic image is grey (`agnostic-mask`).
        image: `(H, W, 3)` uint8 RGB person image with the mask region set to (128, 128, 128).
    """

    parse_agnostic: np.ndarray
    mask: np.ndarray
    image: np.ndarray


def _missing(pose: np.ndarray, index: int) -> bool:
    return pose[index, 0] == 0.0 and pose[index, 1] == 0.0


def _xy(pose: np.ndarray, index: int) -> tuple[float, float]:
    return (float(pose[index, 0]), float(pose[index, 1]))


def _ellipse(draw: ImageDraw.ImageDraw, centre: tuple[float, float], rx: float, ry: float, fill: int) -> None:
    x, y = centre
    draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill, fill)


def _line(draw: ImageDraw.ImageDraw, pose: np.ndarray, joints: Sequence[int], width: int, fill: int) -> None:
    draw.line([_xy(pose, j) for j in joints], fill, width=width)


def check_pose(body25: np.ndarray, category: str) -> np.ndarray:
    """Validate a BODY_25 pose for `category`; returns its `(25, 2)` float64 x, y."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    pose = np.asarray(body25, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[0] != 25 or pose.shape[1] not in (2, 3):
        raise ValueError(f"keypoints must be BODY_25 (25, 2|3), got {pose.shape}")
    pose = pose[:, :2].copy()
    missing = [BODY25_NAMES[j] for j in REQUIRED_JOINTS[category] if _missing(pose, j)]
    if missing:
        raise MissingKeypointsError(f"missing keypoints needed for the {category} agnostic: {', '.join(missing)}")
    return pose


# ---------------------------------------------------------------------------------------------
# upper body: the official HR-VITON procedures


def parse_agnostic_upper(parse: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """`get_parse_agnostic.py`: `(H, W)` CIHP parse + `(25, 2)` pose -> parse-agnostic."""
    height, width = parse.shape
    out = parse.copy()
    radius = 10  # fixed in the official script (tuned for 1024x768)
    for arm_label, chain in ((Cihp.LEFT_ARM, (2, 5, 6, 7)), (Cihp.RIGHT_ARM, (5, 2, 3, 4))):
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        previous = chain[0]
        for joint in chain[1:]:
            # A missing end skips the segment without advancing `previous` (as the official loop does).
            if _missing(pose, previous) or _missing(pose, joint):
                continue
            _line(draw, pose, (previous, joint), radius * 10, 255)
            circle = radius * 4 if joint == chain[-1] else radius * 15
            _ellipse(draw, _xy(pose, joint), circle, circle, 255)
            previous = joint
        out[(np.asarray(canvas) == 255) & (parse == arm_label)] = 0
    out[np.isin(parse, (*UPPER_GARMENT_LABELS, Cihp.NECK))] = 0
    return out


def _respread_hips(pose: np.ndarray) -> np.ndarray:
    """Move the hips apart to shoulder width around their midpoint (official get_agnostic)."""
    pose = pose.copy()
    shoulder_width = np.linalg.norm(pose[5] - pose[2])
    hip_width = np.linalg.norm(pose[12] - pose[9])
    if hip_width == 0:
        raise MissingKeypointsError("hips coincide: cannot re-spread them to shoulder width")
    centre = (pose[9] + pose[12]) / 2
    pose[9] = centre + (pose[9] - centre) / hip_width * shoulder_width
    pose[12] = centre + (pose[12] - centre) / hip_width * shoulder_width
    return pose


def _stroke_radius(pose: np.ndarray) -> int:
    return int(np.linalg.norm(pose[5] - pose[2]) / 16) + 1


def _draw_torso(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    for hip in (9, 12):
        _ellipse(draw, _xy(pose, hip), r * 3, r * 6, 255)
    _line(draw, pose, (2, 9), r * 6, 255)
    _line(draw, pose, (5, 12), r * 6, 255)
    _line(draw, pose, (9, 12), r * 12, 255)
    draw.polygon([_xy(pose, j) for j in (2, 5, 12, 9)], 255, 255)


def _draw_neck(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    x, y = _xy(pose, 1)
    draw.rectangle((x - r * 5, y - r * 9, x + r * 5, y), 255, 255)


def _draw_limbs(
    draw: ImageDraw.ImageDraw, pose: np.ndarray, roots: tuple[int, int], joints: tuple[int, ...],
    root_radii: tuple[int, int], band: int, joint_radii: tuple[int, int],
) -> None:
    """A band between the two roots with an ellipse on each, then each present segment
    `joint - 1 -> joint` as a band of width `band` with an ellipse at its joint (sizes in pixels)."""
    _line(draw, pose, roots, 2 * root_radii[1], 255)
    for root in roots:
        _ellipse(draw, _xy(pose, root), *root_radii, 255)
    for joint in joints:
        if _missing(pose, joint - 1) or _missing(pose, joint):
            continue
        _line(draw, pose, (joint - 1, joint), band, 255)
        _ellipse(draw, _xy(pose, joint), *joint_radii, 255)


def _draw_arms(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    _draw_limbs(draw, pose, (2, 5), (3, 4, 6, 7), (r * 5, r * 6), r * 10, (r * 5, r * 5))


def _limb_core(pose: np.ndarray, chain: Sequence[int], r: int, size: tuple[int, int],
               root_radii: tuple[int, int], width_factor: int) -> np.ndarray:
    """The official arm-restore canvas: True near the limb skeleton (where pixels stay grey).

    Ellipse at the root joint, a band along each present segment with circles at intermediate
    joints, and a circle of 4r at the last processed joint (`chain[i - 1] -> chain[i]` segments).
    """
    width, height = size
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    x, y = _xy(pose, chain[0])
    _ellipse(draw, (x, y), r * root_radii[0], r * root_radii[1], 0)
    for joint in chain[1:]:
        parent = chain[chain.index(joint) - 1]
        if _missing(pose, parent) or _missing(pose, joint):
            continue
        _line(draw, pose, (parent, joint), r * width_factor, 0)
        x, y = _xy(pose, joint)
        if joint != chain[-1]:
            _ellipse(draw, (x, y), r * 5, r * 5, 0)
    _ellipse(draw, (x, y), r * 4, r * 4, 0)
    return np.asarray(canvas) == 0


ARM_CHAINS = ((Cihp.LEFT_ARM, (5, 6, 7)), (Cihp.RIGHT_ARM, (2, 3, 4)))


def _upper_body_shapes(
    shape: tuple[int, int], pose: np.ndarray
) -> tuple[ImageDraw.ImageDraw, Image.Image, np.ndarray, int]:
    """Canvas with the official torso, neck and arm shapes; also the hip-re-spread pose and r."""
    height, width = shape
    upper_pose = _respread_hips(pose)
    r = _stroke_radius(upper_pose)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    _draw_torso(draw, upper_pose, r)
    _draw_neck(draw, upper_pose, r)
    _draw_arms(draw, upper_pose, r)
    return draw, canvas, upper_pose, r


def agnostic_mask_upper(parse: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """The region the official `get_agnostic` paints grey, as `(H, W)` bool."""
    _, canvas, upper_pose, r = _upper_body_shapes(parse.shape, pose)
    # The official arm-restore canvas is hard-coded 768x1024, the size of every dataset image.
    mask = _restore_limbs(np.asarray(canvas) == 255, parse, upper_pose, r, ARM_CHAINS, (5, 6))
    return mask & ~np.isin(parse, (*HEAD_LABELS, *LOWER_BODY_LABELS))


# ---------------------------------------------------------------------------------------------
# lower body and dresses: Dress Code-style recipe on CIHP labels and BODY_25 joints

LEG_CHAINS = ((Cihp.LEFT_LEG, (12, 13, 14)), (Cihp.RIGHT_LEG, (9, 10, 11)))


def _draw_legs(draw: ImageDraw.ImageDraw, pose: np.ndarray, r: int) -> None:
    _draw_limbs(draw, pose, (9, 12), (10, 11, 13, 14), (r * 10, r * 6), r * 20, (r * 10, r * 6))


def _bounding_box_mask(region: np.ndarray) -> np.ndarray:
    """Filled bounding rectangle of a boolean region (empty if the region is empty)."""
    box = np.zeros_like(region)
    rows, cols = np.nonzero(region)
    if rows.size:
        box[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1] = True
    return box


def _restore_limbs(mask: np.ndarray, parse: np.ndarray, pose: np.ndarray, r: int,
                   chains: Sequence[tuple[int, Sequence[int]]], root_radii: tuple[int, int]) -> np.ndarray:
    height, width = parse.shape
    for label, chain in chains:
        core = _limb_core(pose, chain, r, (width, height), root_radii, 10)
        mask = mask & ~(~core & (parse == label))
    return mask


def agnostic_mask_lower(parse: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Lower-body grey region: hips and legs band + bounding box of the bottom garment."""
    height, width = parse.shape
    r = _stroke_radius(pose)
    canvas = Image.new("L", (width, height), 0)
    _draw_legs(ImageDraw.Draw(canvas), pose, r)
    mask = (np.asarray(canvas) == 255) | _bounding_box_mask(np.isin(parse, LOWER_GARMENT_LABELS))
    mask = _restore_limbs(mask, parse, pose, r, LEG_CHAINS, (10, 6))
    return mask & ~np.isin(parse, LOWER_KEEP_LABELS)


def agnostic_mask_dresses(parse: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Dress grey region: the upper-body shapes (torso, neck, arms) plus the lower-body legs band."""
    draw, canvas, upper_pose, r = _upper_body_shapes(parse.shape, pose)
    _draw_legs(draw, pose, r)
    mask = (np.asarray(canvas) == 255) | _bounding_box_mask(parse == Cihp.DRESS)
    mask = _restore_limbs(mask, parse, upper_pose, r, ARM_CHAINS, (5, 6))
    mask = _restore_limbs(mask, parse, pose, r, LEG_CHAINS, (10, 6))
    return mask & ~np.isin(parse, DRESSES_KEEP_LABELS)


def parse_agnostic_lower(parse: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Remove the bottom garment everywhere and legs, socks, shoes where they fall in the grey region."""
    out = parse.copy()
    out[np.isin(parse, LOWER_GARMENT_LABELS)] = 0
    covered = (Cihp.LEFT_LEG, Cihp.RIGHT_LEG, Cihp.SOCKS, Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE)
    out[mask & np.isin(parse, covered)] = 0
    return out


def parse_agnostic_dresses(parse: np.ndarray, pose: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The upper recipe (arm bands, upper garments, neck) plus bottom garments and covered legs."""
    out = parse_agnostic_upper(parse, pose)
    out[np.isin(parse, LOWER_GARMENT_LABELS)] = 0
    covered = (Cihp.LEFT_LEG, Cihp.RIGHT_LEG, Cihp.SOCKS)
    out[mask & np.isin(parse, covered)] = 0
    return out


def agnostic_image(image_rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person image with the mask region set to (128, 128, 128)."""
    out = np.array(image_rgb, dtype=np.uint8, copy=True)
    out[mask] = GREY
    return out


def compute_agnostic(image_rgb: np.ndarray, parse: np.ndarray, body25: np.ndarray, category: str = "upper") -> Agnostic:
    """All agnostic outputs of one person.

    Args:
        image_rgb: `(H, W, 3)` uint8 RGB (1024x768 for dataset images).
        parse: `(H, W)` uint8 CIHP-20 ids.
        body25: `(25, 2|3)` BODY_25 keypoints in pixels of the same image.
        category: "upper" (official HR-VITON), "lower" or "dresses".
    Raises:
        MissingKeypointsError: a joint the recipe needs is missing.
    """
    parse = np.asarray(parse, dtype=np.uint8)
    if image_rgb.shape[:2] != parse.shape:
        raise ValueError(f"image {image_rgb.shape[:2]} and parse {parse.shape} sizes differ")
    pose = check_pose(body25, category)
    if category == "upper":
        mask = agnostic_mask_upper(parse, pose)
        parse_agn = parse_agnostic_upper(parse, pose)
    elif category == "lower":
        mask = agnostic_mask_lower(parse, pose)
        parse_agn = parse_agnostic_lower(parse, mask)
    else:
        mask = agnostic_mask_dresses(parse, pose)
        parse_agn = parse_agnostic_dresses(parse, pose, mask)
    return Agnostic(parse_agnostic=parse_agn, mask=mask, image=agnostic_image(image_rgb, mask))
