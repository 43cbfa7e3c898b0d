"""Make docs/preflight-grid.png: one real example per pre-flight code, with what the check said.

Most examples are derived from a VITON-HD test photo or garment (CC BY-NC 4.0) the way
tests/test_preprocess_preflight.py derives them: a crop, a squeeze, a downscale, a darkening, a
greyscale copy, two photos side by side, the garment pasted on a texture or moved off centre.
Person checks read the genuine annotation transformed with the photo. The back view and the crossed arms are real shop photos
(tests/data/luma, AFL-3.0) run through the whole person chain, the background and hanger examples
real home shots (tests/data/clothing, CC0) through the garment chain, an on-model shop photo
(tests/data/luma) given as a garment; the seated tile draws the keypoints measured on a real photo
(tests/data/preflight_keypoints.json); the several-persons tile runs the real default pose
backend. Dress Code photos are not used (their licence forbids redistribution).

Usage: .venv/bin/python bench/make_preflight_grid.py [--out docs/preflight-grid.png]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))
THUMB = (160, 213)  # W, H
COLUMNS = 5


def examples() -> list[tuple[str, np.ndarray, list]]:
    """(title, picture, findings) per code."""
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.datasets.io.keypoints import read_keypoints
    from vtonkit.datasets.io.masks import read_mask
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.io.skeleton import render_skeleton
    from vtonkit.preprocess import preflight as pf
    from vtonkit.preprocess.stages import POSE_ESTIMATORS

    t = pf.PreflightThresholds()
    root = SHARED / "data" / "vitonhd" / "test"
    image = read_rgb(root / "image" / "00006_00.jpg")
    keypoints = read_keypoints(root / "openpose_json" / "00006_00_keypoints.json", image_size=image.shape[:2])
    parse = read_parse(root / "image-parse-v3" / "00006_00.png")
    rgb, mask = read_rgb(root / "cloth" / "00006_00.jpg"), read_mask(root / "cloth-mask" / "00006_00.jpg")
    out = [("genuine photo: no finding", image, pf.person_checks(keypoints, parse, image.shape[:2], image_rgb=image))]

    small = cv2.resize(image, (230, 307), interpolation=cv2.INTER_AREA)
    small_parse = cv2.resize(parse, (230, 307), interpolation=cv2.INTER_NEAREST)
    out.append(("delivered at 307x230", small, pf.person_too_small(small_parse > 0, 1.0, t)))

    x0 = int(keypoints[3, 0]) + 5
    cropped = keypoints.copy()
    cropped[:, 0] -= x0
    out.append(("cropped through the elbow", image[:, x0:],
                pf.person_cut_off(cropped, parse[:, x0:], (image.shape[0], image.shape[1] - x0), t)))

    squeezed = keypoints.copy()
    squeezed[:, 0] *= 0.45
    narrow = cv2.resize(image, (int(image.shape[1] * 0.45), image.shape[0]), interpolation=cv2.INTER_AREA)
    out.append(("squeezed to 45 % (sideways)", narrow, pf.person_view(squeezed, parse, t)))

    # A real back view (Luma shop photo, AFL-3.0, tests/data/luma) through the whole person chain.
    from vtonkit.preprocess.person import PersonBackends, process_person

    backends = PersonBackends.build()
    back = process_person(REPO / "tests" / "data" / "luma" / "ws02-green_back.jpg", backends)
    out.append(("shop photo from the back", back.image, pf.person_view(back.keypoints, back.parse, t)))

    # A real seated person: the keypoints the pose backend measured on a photo that cannot ship here.
    measured = json.loads((REPO / "tests" / "data" / "preflight_keypoints.json").read_text())["photos"]
    seated = np.array(measured["sit_mpii_r"]["pose_keypoints_2d"]).reshape(25, 3)
    out.append(("seated (measured keypoints)", render_skeleton(seated, 1024, 768),
                pf.person_sitting(seated, t, (1024, 768))))

    pair = cv2.resize(np.hstack([image, read_rgb(root / "image" / "00017_00.jpg")]), (768, 512),
                      interpolation=cv2.INTER_AREA)
    people = POSE_ESTIMATORS.build(None).estimate(pair).num_persons
    out.append(("two photos side by side", pair, pf.several_persons(people)))

    crossed = process_person(REPO / "tests" / "data" / "luma" / "ms01-brown_main.jpg", backends)
    out.append(("shop photo, arms crossed", crossed.image, pf.arms_hide_garment(crossed.keypoints, crossed.parse, t)))
    dim = np.asarray(ImageEnhance.Brightness(Image.fromarray(image)).enhance(0.35))
    out.append(("at 35 % brightness", dim, pf.person_underexposed(dim, t)))
    grey = np.asarray(Image.fromarray(image).convert("L").convert("RGB"))
    out.append(("black-and-white copy", grey, pf.person_greyscale(grey, t)))

    out.append(("genuine garment: no finding", rgb, pf.garment_checks(rgb, mask, source_hw=rgb.shape[:2])))
    from vtonkit.preprocess.cloth import process_cloth
    from vtonkit.preprocess.stages import CLOTH_MASKERS

    masker = CLOTH_MASKERS.build(None)
    home = process_cloth(REPO / "tests" / "data" / "clothing" / "tshirt_on_red_cloth.jpg", masker)
    out.append(("home shot on a red cloth", home.rgb, pf.cloth_background(home.rgb, t)))
    shift = int(0.3 * mask.shape[1])
    moved_mask = np.zeros_like(mask)
    moved_mask[:, shift:] = mask[:, : mask.shape[1] - shift]
    moved = np.full_like(rgb, 255)
    moved[:, shift:] = rgb[:, : rgb.shape[1] - shift]
    out.append(("moved 30 % right", moved, pf.garment_not_centred(moved_mask, t)))
    coat = process_cloth(REPO / "tests" / "data" / "clothing" / "coat_on_hanger_on_door.jpg", masker)
    out.append(("home shot, coat on a hanger", coat.rgb, pf.garment_hanger(coat.rgb, coat.mask, t)))
    ys, xs = np.nonzero(mask)
    side = int(0.45 * (xs.max() - xs.min()))
    cy, cx = int(ys.mean()), int(xs.mean())
    block = np.full_like(rgb, 255)
    block[cy - side // 2: cy + side // 2, cx - side // 2: cx + side // 2] = rgb[cy - side // 2: cy + side // 2,
                                                                                 cx - side // 2: cx + side // 2]
    block_mask = np.zeros_like(mask)
    block_mask[cy - side // 2: cy + side // 2, cx - side // 2: cx + side // 2] = True
    out.append(("square block of the garment", block, pf.garment_folded(block_mask, t)))
    tiny = cv2.resize(rgb, (300, 400), interpolation=cv2.INTER_AREA)
    out.append(("delivered at 400x300", tiny, pf.garment_low_resolution(tiny.shape[:2], t)))
    on_model = process_cloth(REPO / "tests" / "data" / "luma" / "ws02-green_main.jpg", masker)
    out.append(("shop photo given as garment", on_model.rgb, pf.garment_shows_person(on_model.rgb, t)))
    return out


def _tile(picture: np.ndarray) -> Image.Image:
    image = Image.fromarray(picture)
    image.thumbnail(THUMB, Image.Resampling.LANCZOS)
    tile = Image.new("RGB", THUMB, (235, 235, 235))
    tile.paste(image, ((THUMB[0] - image.width) // 2, (THUMB[1] - image.height) // 2))
    return tile


def make_grid() -> Image.Image:
    items = examples()
    label_h = 30
    rows = (len(items) + COLUMNS - 1) // COLUMNS
    grid = Image.new("RGB", (THUMB[0] * COLUMNS, rows * (THUMB[1] + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for index, (title, picture, found) in enumerate(items):
        x, y = (index % COLUMNS) * THUMB[0], (index // COLUMNS) * (THUMB[1] + label_h)
        draw.text((x + 3, y + 2), title[:30], fill=(0, 0, 0))
        codes = ", ".join(f.code for f in found) or "no finding"
        draw.text((x + 3, y + 15), codes[:30], fill=(170, 0, 0) if found else (0, 120, 0))
        grid.paste(_tile(picture), (x, y + label_h))
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "preflight-grid.png")
    args = parser.parse_args(argv)
    if not (SHARED / "data" / "vitonhd").is_dir():
        print(f"needs the shared samples at {SHARED}/data", file=sys.stderr)
        return 2
    grid = make_grid()
    grid.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({grid.width}x{grid.height}, {args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
