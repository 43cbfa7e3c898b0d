"""`--method warp`: a NON-LEARNED try-on BASELINE that needs no checkpoint.

It is a preview, not a try-on model: the garment photo is stretched onto the person, row by row, and
composited onto the person with the garment area removed. Every output says so (PNG metadata, grid
caption, CLI summary).

Upper garments and dresses (`warp_upper.py`: `warp_garment`, `scanline_maps`):
1. target region on the person: the parse labels of the category's garments (upper: upper
   clothes + coat; dresses: every garment label); when the person wears nothing of that category,
   the category's agnostic mask (body-shape region from the pose).
2. scanline correspondence: person rows map linearly onto garment rows (neckline to hem along the
   body centre line). In each row five contour landmarks (outer left, body inner left, centre,
   inner right, outer right; from the masks, smoothed over rows) of the region are matched to the
   garment's, and pixels in between are mapped piecewise linearly: body to body, sleeves to
   sleeves. So the warp is a piecewise-affine fit between the two mask contours, centred on the pose.

Lower garments (`warp_lower.py`: `lower_body_maps`) are placed by the pose, not fitted to the old bottom garment (full
jeans would turn shorts into trousers): the waistband at the top of the person's pants/skirt (or just
above the hip joints), the hem where the garment's own length/waist-width ratio in the product shot
says (`hem_fraction`: ~1.6 reaches the knee, ~2.4 the ankle), the width scaled to the person's hips,
and each garment leg bent along the hip -> knee -> ankle line of the person's leg. Tops, coats, arms
and hair stay in front. Without hips, knees and ankles in the pose, the region fit above is used.

Compositing (`try_on_warp`): `cv2.remap` of garment and mask (bilinear) over the agnostic image.
Where the new garment leaves the grey agnostic area uncovered, the ORIGINAL person pixels come back
wherever the person was not wearing the old garment (skin, shoes, socks, background: real pixels).
Where the old garment was: legs below a shorter hem get a flat skin colour from the person's own
face/arms/legs, shaded darker towards the edges (`skin_fill`; a guess, since those legs were never
seen, but a better one than a blur of the old jeans); the rest is inpainted from its surroundings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtonkit.preprocess.agnostic import compute_agnostic
from vtonkit.vton_infer.shadow_trim import trim_shadow
from vtonkit.vton_infer.warp_fill import fill_holes, skin_fill
from vtonkit.vton_infer.warp_geometry import remap_garment
from vtonkit.vton_infer.warp_lower import LOWER_OCCLUDERS, lower_body_maps
from vtonkit.vton_infer.warp_upper import GARMENT_LABELS, person_centre_x, target_region, warp_garment


@dataclass
class WarpResult:
    """One baseline try-on.

    Attributes:
        output: (H, W, 3) uint8 try-on image.
        warped_cloth: (H, W, 3) uint8 garment photo warped onto the person.
        alpha: (H, W) float32 in [0, 1], the warped garment's coverage.
        region: (H, W) bool, where the new garment was placed.
    """

    output: np.ndarray
    warped_cloth: np.ndarray
    alpha: np.ndarray
    region: np.ndarray


def try_on_warp(
    image: np.ndarray,
    parse: np.ndarray,
    pose: np.ndarray,
    cloth: np.ndarray,
    cloth_mask: np.ndarray,
    category: str = "upper",
    agnostic: np.ndarray | None = None,
) -> WarpResult:
    """The baseline try-on of one pair.

    Upper garments and dresses are fitted onto the person's current garment region (`scanline_maps`);
    lower garments are placed by the pose with their own length (`lower_body_maps`), falling back to the
    region fit when hips, knees or ankles are missing. Inside the grey agnostic area, whatever the new
    garment leaves uncovered shows the ORIGINAL person pixels where the person was not wearing the old
    garment (skin, shoes, socks, background); where the old garment was, legs below the new hem get a
    skin-coloured fill (`skin_fill`) and the rest is inpainted from its surroundings (`fill_holes`).

    Args:
        image: (H, W, 3) uint8 person; parse: (H, W) CIHP-20; pose: (25, 3) BODY_25;
        cloth: (H, W, 3) uint8; cloth_mask: (H, W) bool; category: upper | lower | dresses;
        agnostic: optional precomputed (H, W, 3) agnostic image of this category.
    Returns:
        the `WarpResult`.
    """
    computed = compute_agnostic(image, parse, pose, category)
    base = (computed.image if agnostic is None else agnostic).astype(np.float32)
    if category == "lower":
        cloth_mask = trim_shadow(cloth, cloth_mask)
    placed = lower_body_maps(cloth_mask, parse, pose) if category == "lower" else None
    hem_row = parse.shape[0]
    if placed is not None:
        map_x, map_y, support, hem_row = placed
        warped, alpha = remap_garment(cloth, cloth_mask, map_x, map_y, support & ~np.isin(parse, LOWER_OCCLUDERS))
        region = alpha > 0.5
    else:
        region = target_region(parse, computed.mask, category)
        warped, alpha = warp_garment(cloth, cloth_mask, region, person_centre_x(region, pose, category), category)
    old_garment = np.isin(parse, GARMENT_LABELS[category])
    # inside the grey area, give back what is not the old garment (background, skin) unless covered
    restore = computed.mask & ~old_garment & (alpha < 0.5)
    base[restore] = image[restore]
    output = base * (1 - alpha[..., None]) + warped.astype(np.float32) * alpha[..., None]
    output = np.clip(output + 0.5, 0, 255).astype(np.uint8)
    # what is left of the old garment or of the grey fill: legs below the new hem, the rest inpainted
    hole = ((old_garment | computed.mask) & ~restore) & (alpha < 0.5)
    below_hem = np.zeros_like(hole)
    below_hem[hem_row:] = True
    legs = hole & below_hem & old_garment
    output = fill_holes(output, hole & ~legs)
    output = skin_fill(output, legs, image, parse)
    return WarpResult(output=output, warped_cloth=warped, alpha=alpha, region=region)
