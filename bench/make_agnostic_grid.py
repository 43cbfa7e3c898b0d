"""Render docs/agnostic-grid.png: the upper, lower-body and dress agnostic recipes side by side.

Rows are full-body photos run through the embedded preprocessing chain (refocus, mediapipe pose,
geometric parser); columns: photo, parse, then the grey agnostic image and parse-agnostic of each
recipe. Licences decide the committed rows: the CC0 demo person (shipped with the demo store) and
OOTDiffusion example models (CC BY-NC-SA 4.0, read from ../shared/data/photos, credited in the
README). Dress Code's licence forbids redistribution, so its genuine samples are only drawn with
`--dresscode` for a local look (tests check the recipes on them) and must not be committed.

    .venv/bin/python bench/make_agnostic_grid.py [--out docs/agnostic-grid.png] [--dresscode]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vtonkit.crawlers.demo_store.catalogue import STATIC_DIR
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import parse_to_rgb, read_parse
from vtonkit.datasets.labels import to_cihp
from vtonkit.preprocess.agnostic import CATEGORIES, compute_agnostic

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))
SHAREABLE = [STATIC_DIR / "persons" / "tada_photo.jpg"] + [
    SHARED / "data" / "photos" / "persons" / name for name in ("model_2.png", "model_8.png", "model_9.png")
]


def embedded_rows() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(label, image, parse, keypoints) of the shareable photos through the embedded chain."""
    from vtonkit.preprocess.person import PersonBackends, process_person

    backends = PersonBackends.build()
    rows = []
    for photo in SHAREABLE:
        if photo.is_file():
            out = process_person(photo, backends, category="upper")
            rows.append((photo.name, out.image, out.parse, out.keypoints))
    return rows


def dresscode_rows() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Genuine Dress Code samples (local viewing only: never commit this grid)."""
    rows = []
    for folder in ("upper_body", "lower_body", "dresses"):
        base = SHARED / "data" / "dresscode" / folder
        for image_path in sorted((base / "images").glob("*_0.jpg"))[:1]:
            sample = image_path.stem[:-2]
            parse = to_cihp(read_parse(base / "label_maps" / f"{sample}_4.png", check_ids=False), "dresscode")
            rows.append((f"Dress Code {sample}", read_rgb(image_path), parse,
                         read_keypoints(base / "keypoints" / f"{sample}_2.json")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "agnostic-grid.png")
    parser.add_argument("--dresscode", action="store_true", help="genuine Dress Code rows (do not commit)")
    parser.add_argument("--thumb-width", type=int, default=150)
    args = parser.parse_args()
    rows = dresscode_rows() if args.dresscode else embedded_rows()
    columns = ["photo", "parse"] + [f"{c} {kind}" for c in CATEGORIES for kind in ("agnostic", "parse-agn.")]
    w = args.thumb_width
    h = w * 4 // 3
    head = 16
    grid = Image.new("RGB", (w * len(columns), head + (h + head) * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for c, name in enumerate(columns):
        draw.text((c * w + 4, 2), name, fill="black")
    for r, (label, image, parse, keypoints) in enumerate(rows):
        y = head + r * (h + head)
        draw.text((4, y + 2), label, fill="black")
        tiles = [image, parse_to_rgb(parse)]
        for category in CATEGORIES:
            result = compute_agnostic(image, parse, keypoints, category)
            tiles += [result.image, parse_to_rgb(result.parse_agnostic)]
        for c, tile in enumerate(tiles):
            grid.paste(Image.fromarray(tile).resize((w, h), Image.Resampling.BILINEAR), (c * w, y + head))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
