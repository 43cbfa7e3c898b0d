"""Human-parser quality and speed on the genuine VITON-HD and Dress Code samples.

For every sample: parse the person photo with a HumanParser backend, compare with the genuine
parse (VITON-HD `image-parse-v3`, Dress Code `label_maps/*_4.png` converted to CIHP) and print the
IoU of each evaluated class present in the sample. At the end: per-class IoU accumulated over all
samples (intersections and unions summed), their mean (the headline mIoU), and the mean of the
per-sample means. Dress Code has no neck label: pixels predicted as neck are ignored there and
neck is not scored. Usage:
    python bench/parser_quality.py [--backend geometric] [--pose genuine|mediapipe] [--save DIR]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import overlay_parse, parse_to_rgb, read_parse
from vtonkit.datasets.labels import CIHP_LABELS, Cihp, to_cihp

# The classes of issue 4's goal; left/right legs are scored separately.
EVALUATED = (Cihp.HAIR, Cihp.FACE, Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.NECK, Cihp.LEFT_ARM, Cihp.RIGHT_ARM,
             Cihp.PANTS, Cihp.SKIRT, Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
GOAL_CLASSES = tuple(c for c in EVALUATED if c != Cihp.DRESS)


@dataclass
class Sample:
    name: str
    image: Path
    truth: np.ndarray  # (H, W) uint8 CIHP-20
    keypoints_path: Path
    has_neck: bool


def genuine_samples(shared: Path) -> list[Sample]:
    """The annotated person photos in ../shared/data (VITON-HD test+train, Dress Code)."""
    samples = []
    for image in sorted((shared / "data" / "vitonhd").glob("*/image/*.jpg")):
        split = image.parent.parent
        samples.append(Sample(f"vitonhd/{split.name}/{image.stem}", image,
                              read_parse(split / "image-parse-v3" / f"{image.stem}.png"),
                              split / "openpose_json" / f"{image.stem}_keypoints.json", True))
    for image in sorted((shared / "data" / "dresscode").glob("*/images/*_0.jpg")):
        category = image.parent.parent
        stem = image.stem[:-2]
        raw = read_parse(category / "label_maps" / f"{stem}_4.png", check_ids=False)
        samples.append(Sample(f"dresscode/{category.name}/{stem}", image, to_cihp(raw, "dresscode"),
                              category / "keypoints" / f"{stem}_2.json", False))
    return samples


def score(predicted: np.ndarray, truth: np.ndarray, has_neck: bool) -> dict[int, tuple[int, int]]:
    """Per evaluated class: (intersection, union) pixel counts; classes absent from both are skipped."""
    valid = np.ones(truth.shape, bool) if has_neck else predicted != Cihp.NECK
    counts = {}
    for label in EVALUATED:
        if label == Cihp.NECK and not has_neck:
            continue
        p, t = (predicted == label) & valid, (truth == label) & valid
        union = int((p | t).sum())
        if union:
            counts[int(label)] = (int((p & t).sum()), union)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="geometric")
    parser.add_argument("--pose", choices=("genuine", "mediapipe"), default="genuine",
                        help="keypoints given to the parser: the dataset's own, or the mediapipe backend's")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--save", type=Path, help="folder for side-by-side pictures (photo, truth, prediction)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from vtonkit.preprocess.stages import HUMAN_PARSERS, POSE_ESTIMATORS

    human_parser = HUMAN_PARSERS.build(args.backend)
    pose = POSE_ESTIMATORS.build("mediapipe") if args.pose == "mediapipe" else None
    totals: dict[int, list[int]] = {}
    sample_means, times = [], []
    for sample in genuine_samples(args.shared):
        image = read_rgb(sample.image)
        if pose is not None:
            keypoints = pose.estimate(image).keypoints
        else:
            keypoints = read_keypoints(sample.keypoints_path, image_size=image.shape[:2])
        start = time.perf_counter()
        predicted = human_parser.parse(image, keypoints)
        times.append(time.perf_counter() - start)
        counts = score(predicted, sample.truth, sample.has_neck)
        present = {k: v for k, v in counts.items() if (sample.truth == k).any()}
        for label, (inter, union) in counts.items():
            total = totals.setdefault(label, [0, 0])
            total[0] += inter
            total[1] += union
        goal = [inter / union for k, (inter, union) in present.items() if k in GOAL_CLASSES]
        sample_means.append(float(np.mean(goal)) if goal else float("nan"))
        line = "  ".join(f"{CIHP_LABELS[k]} {i / u:.2f}" for k, (i, u) in sorted(present.items()))
        extra = [CIHP_LABELS[k] for k in counts if k not in present]
        print(f"{sample.name:30s} mean {sample_means[-1]:.3f} | {line}"
              + (f" | false: {', '.join(extra)}" if extra else "") + f" | {times[-1]:.2f} s")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            tile = np.concatenate([image, parse_to_rgb(sample.truth), parse_to_rgb(predicted),
                                   overlay_parse(image, predicted)], axis=1)
            cv2.imwrite(str(args.save / f"{sample.name.replace('/', '_')}.jpg"), tile[::2, ::2, ::-1])
    print("\nper-class IoU over all samples:")
    ious = {}
    for label in EVALUATED:
        if label in totals:
            inter, union = totals[label]
            ious[int(label)] = inter / union
            print(f"  {CIHP_LABELS[label]:14s} {inter / union:.3f}")
    goal = [v for k, v in ious.items() if k in GOAL_CLASSES]
    print(f"mIoU (goal classes) {np.mean(goal):.3f}   with dress {np.mean(list(ious.values())):.3f}   "
          f"mean of per-sample means {np.nanmean(sample_means):.3f}   median time {np.median(times):.2f} s")


if __name__ == "__main__":
    main()
