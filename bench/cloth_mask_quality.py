"""Cloth-mask quality and speed of a ClothMasker backend on the genuine VITON-HD samples.

Prints IoU per sample against `cloth-mask/`, the mean, and the time per image, plus mask sanity
(area, component count) on the garment photos without annotations. Usage:
    python bench/cloth_mask_quality.py [--backend cv] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from vtonkit.datasets.io.images import read_rgba
from vtonkit.datasets.io.masks import read_mask
from vtonkit.preprocess.stages import CLOTH_MASKERS


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=CLOTH_MASKERS.default)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--save", type=Path, help="folder to write the predicted masks to (for viewing)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    masker = CLOTH_MASKERS.build(args.backend)
    scores, times, cpu_times = [], [], []
    for cloth in sorted((args.shared / "data" / "vitonhd").glob("*/cloth/*.jpg")):
        image = read_rgba(cloth)
        start, cpu_start = time.perf_counter(), time.process_time()
        predicted = masker.mask(image)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        truth = read_mask(cloth.parent.parent / "cloth-mask" / cloth.name)
        scores.append(iou(predicted, truth))
        print(f"{cloth.parent.parent.name}/{cloth.name}: IoU {scores[-1]:.4f}  {times[-1] * 1000:.1f} ms")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(args.save / f"vitonhd_{cloth.stem}.png"), predicted.astype(np.uint8) * 255)
    print(f"mean IoU {np.mean(scores):.4f}  min {np.min(scores):.4f}  median time per 1024x768 image: "
          f"wall {np.median(times) * 1000:.1f} ms, CPU {np.median(cpu_times) * 1000:.1f} ms (cv2 threads 1)")
    for folder in (args.shared / "data" / "photos" / "garments", args.shared / "demo" / "garments"):
        for path in sorted(folder.glob("*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            predicted = masker.mask(read_rgba(path))
            count = cv2.connectedComponents(predicted.astype(np.uint8))[0] - 1
            print(f"{folder.name}/{path.name}: area {predicted.mean():.3f}  components {count}")
            if args.save:
                name = f"{folder.name}_{path.stem}.png"
                cv2.imwrite(str(args.save / name), predicted.astype(np.uint8) * 255)


if __name__ == "__main__":
    main()
