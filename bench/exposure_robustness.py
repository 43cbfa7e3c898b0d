"""Preprocessing quality on darker and lighter copies of the genuine samples (eval-prep's chain).

Every genuine VITON-HD / Dress Code person of one eval-prep set (`--set tune` or `test`, see
`vtonkit.preprocess.evaluation`) is re-saved with its brightness scaled (PIL
`ImageEnhance.Brightness`: every channel times the factor, what a photo taken with less light and
the exposure locked looks like) and run through the `prep-person --keep-framing` chain with the
embedded defaults, against its genuine annotation. Prints, per brightness: parse mIoU (mean of the
per-photo mIoUs), pose PCK@0.05 (pooled), worn-garment IoU (lower-body and dress photos, as
eval-prep) and the per-photo mIoUs.

Run it on the code before and after a change to see what the change does to photos it was not
tuned on (docs/preprocessing.md quotes both). Usage:
    python bench/exposure_robustness.py [--set tune|test] [--brightness 1 0.7 0.5 0.35]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from vtonkit.preprocess.evaluation import default_data_root, evaluate_person, find_samples
from vtonkit.preprocess.person import PersonBackends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=("tune", "test"), default="tune")
    parser.add_argument("--brightness", type=float, nargs="+", default=[1.0, 0.7, 0.5, 0.35])
    parser.add_argument("--data", type=Path, default=None, help="../shared/data (default: found as eval-prep does)")
    args = parser.parse_args()
    persons, _ = find_samples(args.data or default_data_root())
    persons = [p for p in persons if p.split == args.set]
    backends = PersonBackends.build()
    print(f"{args.set} set: {len(persons)} persons; backends {backends.pose.name}@{backends.pose.version}, "
          f"{backends.parser.name}@{backends.parser.version}")
    print(f"{'brightness':>10}  {'parse':>5}  {'PCK':>5}  {'garment':>7}  per photo")
    with tempfile.TemporaryDirectory() as tmp:
        for factor in args.brightness:
            rows = []
            for sample in persons:
                path = Path(tmp) / f"{sample.dataset.replace('/', '_')}_{sample.stem}_{factor}.png"
                ImageEnhance.Brightness(Image.open(sample.image).convert("RGB")).enhance(factor).save(path)
                rows.append(evaluate_person(dataclasses.replace(sample, image=path), backends))
            parse = np.mean([r["parse_miou"] for r in rows])
            pck = sum(r["pck_correct"] for r in rows) / max(sum(r["pck_counted"] for r in rows), 1)
            garment = np.mean([r["worn_garment_iou"] for r in rows  # lower body and dresses, as eval-prep
                               if r["category"] != "upper" and r["worn_garment_iou"] is not None])
            per_photo = " ".join(f"{r['stem']}:{r['parse_miou']:.2f}" for r in rows)
            print(f"{factor:>10.2f}  {parse:.3f}  {pck:.3f}  {garment:>7.3f}  {per_photo}", flush=True)


if __name__ == "__main__":
    main()
