"""Human-parser quality and speed on the genuine VITON-HD and Dress Code samples.

For every sample: parse the person photo with a HumanParser backend, compare with the genuine
parse and print the IoU of each class present in the annotation. At the end: the mean of the
per-sample mIoUs (the figure `vtonkit eval-prep` reports), and per-class IoU accumulated over all
samples (intersections and unions summed, false positives in samples without the class count).
Samples, classes and the Dress Code convention (ATR "head" includes the neck, so our neck is
merged into face there) come from `vtonkit.preprocess.evaluation`. Unlike eval-prep, this runs
the parser alone on the photo as it is, with the genuine keypoints by default. Usage:
    python bench/parser_quality.py [--backend geometric] [--pose genuine|mediapipe] [--save DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import overlay_parse, parse_to_rgb, read_parse
from vtonkit.datasets.labels import CIHP_LABELS, Cihp, to_cihp
from vtonkit.preprocess.evaluation import (
    PARSE_CLASSES, GenuineSample, class_ious, default_data_root, find_samples,
)


def genuine_parse(sample: GenuineSample) -> np.ndarray:
    """The sample's annotation as `(H, W)` CIHP-20."""
    if sample.label_set == "cihp":
        return read_parse(sample.parse)
    return to_cihp(read_parse(sample.parse, check_ids=False), sample.label_set)


def comparable(predicted: np.ndarray, sample: GenuineSample) -> np.ndarray:
    """Our labels in the annotation's terms: Dress Code (ATR) has no neck, its "head" holds it."""
    if sample.label_set == "dresscode":
        return np.where(predicted == Cihp.NECK, Cihp.FACE, predicted).astype(np.uint8)
    return predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="geometric")
    parser.add_argument("--pose", choices=("genuine", "mediapipe"), default="genuine",
                        help="keypoints given to the parser: the dataset's own, or the mediapipe backend's "
                             "(with its silhouette, as prep-person does)")
    parser.add_argument("--data", type=Path, default=default_data_root(), help="the shared data folder")
    parser.add_argument("--save", type=Path,
                        help="folder for side-by-side pictures (photo, truth, prediction, overlay)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from vtonkit.preprocess.stages import HUMAN_PARSERS, POSE_ESTIMATORS

    human_parser = HUMAN_PARSERS.build(args.backend)
    pose = POSE_ESTIMATORS.build("mediapipe") if args.pose == "mediapipe" else None
    scored = (*PARSE_CLASSES, Cihp.DRESS)
    totals = {int(label): [0, 0] for label in scored}
    sample_means, times, cpu_times = [], [], []
    for sample in find_samples(args.data)[0]:
        image = read_rgb(sample.image)
        options = {}
        if pose is not None:
            # As `vtonkit prep-person` does: the pose stage's silhouette goes to the parser too.
            result = pose.estimate(image)
            keypoints, options["person_mask"] = result.keypoints, result.person_mask
        else:
            keypoints = read_keypoints(sample.keypoints, image_size=image.shape[:2])
        start, cpu_start = time.perf_counter(), time.process_time()
        predicted = human_parser.parse(image, keypoints, **options)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        truth = genuine_parse(sample)
        ours = comparable(predicted, sample)
        ious = class_ious(ours, truth, PARSE_CLASSES)
        sample_means.append(float(np.mean(list(ious.values()))) if ious else float("nan"))
        for label in scored:
            t, p = truth == label, ours == label
            totals[int(label)][0] += int((t & p).sum())
            totals[int(label)][1] += int((t | p).sum())
        false = [CIHP_LABELS[k] for k in scored if (ours == k).any() and not (truth == k).any()]
        line = "  ".join(f"{name} {value:.2f}" for name, value in ious.items())
        print(f"{sample.dataset + '/' + sample.stem:32s} mIoU {sample_means[-1]:.3f} | {line}"
              + (f" | absent but predicted: {', '.join(false)}" if false else "") + f" | {times[-1]:.2f} s")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            tile = np.concatenate([image, parse_to_rgb(truth), parse_to_rgb(predicted),
                                   overlay_parse(image, predicted)], 1)
            name = f"{sample.dataset.replace('/', '_')}_{sample.stem}.jpg"
            cv2.imwrite(str(args.save / name), tile[::2, ::2, ::-1])
    print("\nper-class IoU accumulated over all samples:")
    pooled = {}
    for label in scored:
        inter, union = totals[int(label)]
        if union:
            pooled[int(label)] = inter / union
            print(f"  {CIHP_LABELS[label]:14s} {inter / union:.3f}")
    goal = [v for k, v in pooled.items() if k != Cihp.DRESS]
    print(f"mean of per-sample mIoU {np.nanmean(sample_means):.3f}   pooled mIoU {np.mean(goal):.3f} "
          f"(with dress {np.mean(list(pooled.values())):.3f})")
    # CPU time counts every thread of the process (mediapipe's included): on a machine shared with
    # other jobs it is the fairer single-core figure; wall time is printed too.
    print(f"median time per image: wall {np.median(times):.2f} s, CPU {np.median(cpu_times):.2f} s "
          f"({image.shape[1]}x{image.shape[0]}, cv2 threads 1)")

if __name__ == "__main__":
    main()
