"""Render docs/agnostic-grid.png: the lower-body and dress agnostic recipes on Dress Code samples.

Rows: Dress Code samples (upper_body, lower_body, dresses); columns: photo, parse (Dress Code labels
converted to CIHP), agnostic image, parse-agnostic. Reads ../shared/data (test data, not shipped);
only the rendered, downscaled grid is committed.

    .venv/bin/python bench/make_agnostic_grid.py [--shared ../shared] [--out docs/agnostic-grid.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import parse_to_rgb, read_parse
from vtonkit.datasets.labels import to_cihp
from vtonkit.preprocess.agnostic import compute_agnostic

CATEGORY_OF = {"upper_body": "upper", "lower_body": "lower", "dresses": "dresses"}


def dresscode_sample(root: Path, folder: str, sample: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = root / folder
    image = read_rgb(base / "images" / f"{sample}_0.jpg")
    parse = to_cihp(read_parse(base / "label_maps" / f"{sample}_4.png", check_ids=False), "dresscode")
    keypoints = read_keypoints(base / "keypoints" / f"{sample}_2.json", image_size=image.shape[:2])
    return image, parse, keypoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--out", type=Path, default=Path("docs/agnostic-grid.png"))
    parser.add_argument("--thumb-width", type=int, default=192)
    args = parser.parse_args()
    root = args.shared / "data" / "dresscode"
    rows = []
    for folder in ("upper_body", "lower_body", "dresses"):
        for image_path in sorted((root / folder / "images").glob("*_0.jpg"))[:2]:
            sample = image_path.stem[:-2]
            image, parse, keypoints = dresscode_sample(root, folder, sample)
            result = compute_agnostic(image, parse, keypoints, CATEGORY_OF[folder])
            tiles = [image, parse_to_rgb(parse), result.image, parse_to_rgb(result.parse_agnostic)]
            rows.append((f"{folder} {sample} ({CATEGORY_OF[folder]})", tiles))
    w = args.thumb_width
    h = w * 4 // 3
    label_h = 18
    grid = Image.new("RGB", (w * 4, (h + label_h) * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for r, (label, tiles) in enumerate(rows):
        y = r * (h + label_h)
        draw.text((4, y + 3), label + "   photo | parse (CIHP) | agnostic | parse-agnostic", fill="black")
        for c, tile in enumerate(tiles):
            grid.paste(Image.fromarray(tile).resize((w, h), Image.Resampling.BILINEAR), (c * w, y + label_h))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
