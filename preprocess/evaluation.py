"""Quality of the preprocessing backends against genuine VITON-HD and Dress Code annotations.

Every person photo goes through the same chain as `vtonkit prep-person --keep-framing`
(`vtonkit.preprocess.person.process_person`), so outputs align pixel for pixel with the
annotations. Metrics:

* pose PCK: a joint is correct when within 0.05 x image height (51.2 px) of the annotation; over
  the BODY_25 joints HR-VITON's agnostic recipes read (1-7, 9, 12; lower body and dresses add the
  knees and ankles 10, 11, 13, 14), counting only joints the annotation has; a joint we miss
  counts as wrong. VITON-HD train keypoints are not genuine OpenPose output (recovered from the
  rendered skeletons, see ../shared/data/README.md) and Dress Code keypoints are OpenPose COCO-18
  at 512x384 converted by `read_keypoints`.
* parse mIoU over hair, face, upper-clothes, neck, left/right arm, pants, skirt, left/right leg,
  for the classes present in the annotation. Dress Code maps are in the ATR set (no neck, "head"
  includes the neck skin): they are converted with `to_cihp(..., "dresscode")` and our neck is
  merged into face before comparing. Dress IoU is reported on its own (not in the mIoU).
* DensePose part accuracy: share of the annotated person pixels (genuine part id > 0) given the
  same fine part id; genuine VITON-HD renderings are decoded with `decode_densepose`, Dress Code
  `dense/*_5.png` hold the raw ids. Reported twice: on our parse (the real chain) and on the
  genuine parse (the DensePose stage alone).
* cloth-mask IoU against VITON-HD `cloth-mask/` (Dress Code ships no garment masks).

Two disjoint sets, both with upper-body, lower-body and dress photos (`evaluation_set`):
* tune: VITON-HD train and the first Dress Code person of each category (sorted by number):
  the photos the embedded defaults may be tuned on;
* test: VITON-HD test and the other Dress Code persons: never tune on them; quote these.
Each set reports PCK per joint, IoU per class (pants, skirt and dress each their own class;
arms and legs also as the mean of their two sides), the worn garment (upper clothes, pants or
skirt, dress, by the photo's category) and the means per category.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from vtonkit.datasets.mask_geometry import mask_iou
from vtonkit.datasets.io.densepose import read_densepose
from vtonkit.datasets.io.files import atomic_write_json
from vtonkit.datasets.io.keypoints import BODY25_NAMES, present_mask, read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import CIHP_LABELS, Cihp, to_cihp

from vtonkit.core.categories import DRESSCODE_FOLDERS
from vtonkit.core.errors import VtonkitError

logger = logging.getLogger(__name__)

PCK_THRESHOLD = 0.05
UPPER_JOINTS = (1, 2, 3, 4, 5, 6, 7, 9, 12)
LOWER_JOINTS = UPPER_JOINTS + (10, 11, 13, 14)
PARSE_CLASSES = (Cihp.HAIR, Cihp.FACE, Cihp.UPPER_CLOTHES, Cihp.NECK, Cihp.LEFT_ARM, Cihp.RIGHT_ARM, Cihp.PANTS,
                 Cihp.SKIRT, Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
# The first goals of the embedded defaults, on every sample (the overall means of the report).
GOALS = {"pck": 0.95, "parse_miou": 0.75, "densepose_acc": 0.6, "cloth_iou": 0.95}
# The goals of issue #19, on the test set.
TEST_GOALS = {"pck": 0.95, "parse_miou": 0.78, "hair": 0.65, "arms": 0.78, "worn_garment": 0.85, "legs": 0.75,
              "densepose_acc": 0.8, "cloth_iou": 0.97}
DRESSCODE_CATEGORIES = DRESSCODE_FOLDERS
SETS = ("tune", "test")
SET_DESCRIPTIONS = {
    "tune": "VITON-HD train + the first Dress Code person of each category",
    "test": "VITON-HD test + the other Dress Code persons",
}
# Per-class rows of the report: CIHP classes plus the two-sided limbs pooled.
REPORT_CLASSES = ("hair", "face", "neck", "upper_clothes", "pants", "skirt", "dress", "arms", "legs")


@dataclass(frozen=True)
class GenuineSample:
    """One annotated person photo and where its annotations live."""

    dataset: str  # "vitonhd/test", "dresscode/lower_body", ...
    stem: str
    image: Path
    keypoints: Path
    parse: Path
    densepose: Path
    category: str
    label_set: str  # "cihp" or "dresscode"
    densepose_rendered: bool  # True: PARULA JPEG to decode; False: raw part-id PNG
    split: str = "test"  # "tune" or "test", see `evaluation_set`


def evaluation_set(dataset: str, stem: str, first_dresscode_stems: set[str]) -> str:
    """"tune" for VITON-HD train and the first Dress Code person per category, else "test"."""
    if dataset == "vitonhd/train" or (dataset.startswith("dresscode/") and stem in first_dresscode_stems):
        return "tune"
    return "test"


def default_data_root() -> Path:
    """`$VTONKIT_SHARED/data`, else `../shared/data` next to the checkout."""
    if os.environ.get("VTONKIT_SHARED"):
        return Path(os.environ["VTONKIT_SHARED"]) / "data"
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def find_samples(root: Path) -> tuple[list[GenuineSample], list[tuple[str, Path, Path]]]:
    """Annotated persons and (name, garment, genuine mask) triples under `root` (vitonhd/, dresscode/)."""
    persons: list[GenuineSample] = []
    cloths: list[tuple[str, Path, Path]] = []
    for split in ("test", "train"):
        base = root / "vitonhd" / split
        for image in sorted((base / "image").glob("*.jpg")):
            stem = image.stem
            persons.append(GenuineSample(f"vitonhd/{split}", stem, image, base / "openpose_json" / f"{stem}_keypoints.json",
                                         base / "image-parse-v3" / f"{stem}.png", base / "image-densepose" / f"{stem}.jpg",
                                         "upper", "cihp", True, evaluation_set(f"vitonhd/{split}", stem, set())))
        for cloth in sorted((base / "cloth").glob("*.jpg")):
            mask = base / "cloth-mask" / cloth.name
            if mask.is_file():
                cloths.append((f"vitonhd/{split}/{cloth.stem}", cloth, mask))
    for folder, category in DRESSCODE_CATEGORIES.items():
        base = root / "dresscode" / folder
        images = sorted((base / "images").glob("*_0.jpg"))
        first = {images[0].stem} if images else set()
        for image in images:
            number = image.stem[:-2]
            persons.append(GenuineSample(f"dresscode/{folder}", image.stem, image, base / "keypoints" / f"{number}_2.json",
                                         base / "label_maps" / f"{number}_4.png", base / "dense" / f"{number}_5.png",
                                         category, "dresscode", False,
                                         evaluation_set(f"dresscode/{folder}", image.stem, first)))
    return persons, cloths


def pck(predicted: np.ndarray, genuine: np.ndarray, joints: tuple[int, ...], height: int) -> tuple[int, int]:
    """(correct, counted) over `joints` present in `genuine`; a joint missing in `predicted` is wrong."""
    have_genuine, have_predicted = present_mask(genuine), present_mask(predicted)
    counted = [j for j in joints if have_genuine[j]]
    correct = sum(1 for j in counted if have_predicted[j]
                  and np.linalg.norm(predicted[j, :2] - genuine[j, :2]) <= PCK_THRESHOLD * height)
    return correct, len(counted)


def class_ious(predicted: np.ndarray, genuine: np.ndarray, classes) -> dict[str, float]:
    """IoU per class present in `genuine` (`(H, W)` CIHP ids both)."""
    ious = {}
    for label in classes:
        truth = genuine == label
        if not truth.any():
            continue
        ious[CIHP_LABELS[label]] = mask_iou(predicted == label, truth)
    return ious


def part_accuracy(predicted: np.ndarray, genuine: np.ndarray) -> float:
    """Share of genuine person pixels (id > 0) with the same DensePose part id."""
    person = genuine > 0
    return float((predicted[person] == genuine[person]).mean()) if person.any() else float("nan")


def report_class_counts(predicted: np.ndarray, genuine: np.ndarray) -> dict[str, tuple[int, int]]:
    """(intersection, union) pixel counts per `REPORT_CLASSES` entry present in `genuine`; "arms"/"legs"
    pool both sides."""
    pooled = {"arms": (Cihp.LEFT_ARM, Cihp.RIGHT_ARM), "legs": (Cihp.LEFT_LEG, Cihp.RIGHT_LEG)}
    counts = {}
    for name in REPORT_CLASSES:
        labels = pooled.get(name) or (CIHP_LABELS.index(name),)
        truth = np.isin(genuine, labels)
        if truth.any():
            guess = np.isin(predicted, labels)
            counts[name] = (int(np.logical_and(guess, truth).sum()), int(np.logical_or(guess, truth).sum()))
    return counts


def worn_garment_iou(predicted: np.ndarray, genuine: np.ndarray, category: str) -> float | None:
    """IoU of the garment the photo is about: upper clothes, the larger of pants/skirt, or dress."""
    if category == "upper":
        label = Cihp.UPPER_CLOTHES
    elif category == "dresses":
        label = Cihp.DRESS
    else:
        label = Cihp.PANTS if (genuine == Cihp.PANTS).sum() >= (genuine == Cihp.SKIRT).sum() else Cihp.SKIRT
    truth = genuine == label
    return mask_iou(predicted == label, truth) if truth.any() else None


def _genuine_parse(sample: GenuineSample) -> np.ndarray:
    if sample.label_set == "cihp":
        return read_parse(sample.parse)
    return to_cihp(np.array(Image.open(sample.parse)), sample.label_set)


def _genuine_densepose(sample: GenuineSample) -> np.ndarray:
    if sample.densepose_rendered:
        return read_densepose(sample.densepose)
    return np.array(Image.open(sample.densepose), dtype=np.uint8)


def evaluate_person(sample: GenuineSample, backends) -> dict[str, Any]:
    """Run the keep-framing chain on one genuine sample and score it."""
    from vtonkit.preprocess.person import dense_parts, process_person

    outputs = process_person(sample.image, backends, category=sample.category, keep=True)
    height = outputs.image.shape[0]
    genuine_keypoints = read_keypoints(sample.keypoints, image_size=outputs.image.shape[:2])
    joints = UPPER_JOINTS if sample.category == "upper" else LOWER_JOINTS
    correct, counted = pck(outputs.keypoints, genuine_keypoints, joints, height)
    genuine_parse = _genuine_parse(sample)
    predicted_parse = outputs.parse
    if sample.label_set == "dresscode":  # ATR has no neck: its "head" holds it
        predicted_parse = np.where(predicted_parse == Cihp.NECK, Cihp.FACE, predicted_parse)
    ious = class_ious(predicted_parse, genuine_parse, PARSE_CLASSES)
    class_counts = report_class_counts(predicted_parse, genuine_parse)
    dress = class_ious(predicted_parse, genuine_parse, (Cihp.DRESS,))
    have_genuine, have_predicted = present_mask(genuine_keypoints), present_mask(outputs.keypoints)
    joint_hits = {BODY25_NAMES[j]: bool(have_predicted[j] and np.linalg.norm(
        outputs.keypoints[j, :2] - genuine_keypoints[j, :2]) <= PCK_THRESHOLD * height)
        for j in joints if have_genuine[j]}
    genuine_parts = _genuine_densepose(sample)
    alone = dense_parts(backends.densepose, outputs.image, outputs.keypoints, genuine_parse)
    return {
        "dataset": sample.dataset, "stem": sample.stem, "category": sample.category,
        "pck_correct": correct, "pck_counted": counted, "pck": correct / counted if counted else float("nan"),
        "split": sample.split, "joints": joint_hits,
        "missed_joints": [j for j in joints if BODY25_NAMES[j] in joint_hits and not joint_hits[BODY25_NAMES[j]]],
        "parse_miou": float(np.mean(list(ious.values()))) if ious else float("nan"), "parse_iou": ious,
        "dress_iou": dress.get("dress"),
        "class_iou": {name: inter / union for name, (inter, union) in class_counts.items()},
        "class_pixels": class_counts,
        "worn_garment_iou": worn_garment_iou(predicted_parse, genuine_parse, sample.category),
        "densepose_acc": part_accuracy(outputs.densepose_ids, genuine_parts),
        "densepose_acc_genuine_parse": part_accuracy(alone, genuine_parts),
        "warnings": outputs.warnings,
        "keypoints_genuine": sample.dataset != "vitonhd/train",
    }


def evaluate_cloth(name: str, cloth: Path, genuine_mask: Path, masker) -> dict[str, Any]:
    from vtonkit.preprocess.cloth import cloth_mask_of, prepare_cloth

    rgb, alpha = prepare_cloth(cloth)
    predicted = cloth_mask_of(masker, rgb, alpha)  # checked as prep checks it
    truth = read_mask(genuine_mask)
    return {"name": name, "cloth_iou": mask_iou(predicted, truth)}


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None and not np.isnan(r[key])]
    return float(np.mean(values)) if values else None


def run_evaluation(root: Path, *, pose: str | None = None, parser: str | None = None, densepose: str | None = None,
                   cloth_mask: str | None = None,
                   on_sample: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Score every genuine sample under `root`; returns {"persons", "cloths", "means", "goals", "failures"}.

    Raises:
        VtonkitError: a backend name no registry holds, or a backend that cannot be built (before any sample runs).
    """
    from vtonkit.preprocess.person import PersonBackends
    from vtonkit.preprocess.stages import CLOTH_MASKERS

    persons, cloths = find_samples(root)
    try:
        backends = PersonBackends.build(pose=pose, parser=parser, densepose=densepose)
        masker = CLOTH_MASKERS.build(cloth_mask)
    except KeyError as exc:  # an unknown name: the registry's message, as prep says it
        raise VtonkitError(str(exc.args[0])) from exc
    total = len(persons) + len(cloths)
    person_rows: list[dict[str, Any]] = []
    cloth_rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for index, sample in enumerate(persons):
        try:
            person_rows.append(evaluate_person(sample, backends))
        except Exception as exc:  # noqa: BLE001 - a failure is a result too: report it, keep going
            failures.append(f"{sample.image}: {exc}")
        if on_sample:
            on_sample(index + 1, total)
    for index, (name, cloth, mask) in enumerate(cloths):
        try:
            cloth_rows.append(evaluate_cloth(name, cloth, mask, masker))
        except Exception as exc:  # noqa: BLE001 - same as above
            failures.append(f"{cloth}: {exc}")
        if on_sample:
            on_sample(len(persons) + index + 1, total)
    pooled_correct = sum(r["pck_correct"] for r in person_rows)
    pooled_counted = sum(r["pck_counted"] for r in person_rows)
    genuine_rows = [r for r in person_rows if r["keypoints_genuine"]]
    means = {
        "pck": pooled_correct / pooled_counted if pooled_counted else None,
        "pck_genuine_keypoints_only": (sum(r["pck_correct"] for r in genuine_rows)
                                       / max(sum(r["pck_counted"] for r in genuine_rows), 1)),
        "parse_miou": _mean(person_rows, "parse_miou"),
        "densepose_acc": _mean(person_rows, "densepose_acc"),
        "densepose_acc_genuine_parse": _mean(person_rows, "densepose_acc_genuine_parse"),
        "cloth_iou": _mean(cloth_rows, "cloth_iou"),
    }
    per_class: dict[str, list[float]] = {}
    for row in person_rows:
        for label, value in row["parse_iou"].items():
            per_class.setdefault(label, []).append(value)
    means["parse_iou_per_class"] = {label: float(np.mean(v)) for label, v in per_class.items()}
    sets = {name: summarise_set([r for r in person_rows if r["split"] == name],
                                [r for r in cloth_rows if cloth_split(r["name"]) == name]) for name in SETS}
    return {
        # name and version: the version says which pose model ran (e.g. mediapipe "6-heavy" or "6-full")
        "backends": {stage: f"{backend.name} {backend.version}" for stage, backend in
                     (("pose", backends.pose), ("parser", backends.parser), ("densepose", backends.densepose),
                      ("cloth_mask", masker))},
        "persons": person_rows, "cloths": cloth_rows, "means": means, "goals": GOALS, "failures": failures,
        "sets": sets, "set_descriptions": SET_DESCRIPTIONS, "test_goals": TEST_GOALS,
    }


def cloth_split(name: str) -> str:
    """Garments follow their VITON-HD split: train garments tune, test garments test."""
    return "tune" if name.startswith("vitonhd/train/") else "test"


def summarise_set(rows: list[dict[str, Any]], cloth_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled PCK, PCK per joint, IoU per class, worn garment, DensePose and means per category of one set."""
    per_joint: dict[str, list[bool]] = {}
    per_class: dict[str, list[float]] = {}
    pixels: dict[str, np.ndarray] = {}
    for row in rows:
        for joint, hit in row["joints"].items():
            per_joint.setdefault(joint, []).append(hit)
        for name, value in row["class_iou"].items():
            per_class.setdefault(name, []).append(value)
        for name, counts in row["class_pixels"].items():
            pixels[name] = pixels.get(name, 0) + np.array(counts, np.int64)
    counted = sum(r["pck_counted"] for r in rows)
    categories = {}
    for category in ("upper", "lower", "dresses"):
        chosen = [r for r in rows if r["category"] == category]
        if chosen:
            categories[category] = {
                "persons": len(chosen),
                "pck": sum(r["pck_correct"] for r in chosen) / max(sum(r["pck_counted"] for r in chosen), 1),
                "parse_miou": _mean(chosen, "parse_miou"), "worn_garment": _mean(chosen, "worn_garment_iou"),
            }
    return {
        "persons": len(rows), "samples": [f"{r['dataset']}/{r['stem']}" for r in rows],
        "pck": sum(r["pck_correct"] for r in rows) / counted if counted else None,
        "pck_per_joint": {j: float(np.mean(v)) for j, v in per_joint.items()},
        "parse_miou": _mean(rows, "parse_miou"),
        "class_iou": {name: float(np.mean(per_class[name])) for name in REPORT_CLASSES if name in per_class},
        # The LIP / CIHP benchmarks' convention: one confusion count over the set's pixels, so a
        # photo with 11 hair pixels weighs what its pixels weigh, not a seventh of the mean.
        "class_iou_pooled": {name: float(pixels[name][0] / pixels[name][1])
                             for name in REPORT_CLASSES if name in pixels},
        "worn_garment": _mean([r for r in rows if r["category"] != "upper"], "worn_garment_iou"),
        "densepose_acc": _mean(rows, "densepose_acc"), "cloth_iou": _mean(cloth_rows, "cloth_iou"),
        "per_category": categories,
    }


def _fmt(value: float | None) -> str:
    return "  -  " if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"


def format_table(report: dict[str, Any]) -> str:
    """Plain-text per-sample table plus the means against the goals."""
    lines = ["backends: " + ", ".join(f"{stage} {backend}" for stage, backend in report["backends"].items()), "",
             f"{'sample':34s} {'cat':7s} {'PCK':>9s} {'parse mIoU':>10s} {'dress':>6s} {'DP acc':>7s} {'DP(gt parse)':>12s}"]
    for row in report["persons"]:
        mark = "" if row["keypoints_genuine"] else " *"
        lines.append(f"{row['dataset'] + '/' + row['stem'] + mark:34s} {row['category']:7s} "
                     f"{row['pck_correct']:>4d}/{row['pck_counted']:<4d} {_fmt(row['parse_miou']):>10s} "
                     f"{_fmt(row['dress_iou']):>6s} {_fmt(row['densepose_acc']):>7s} "
                     f"{_fmt(row['densepose_acc_genuine_parse']):>12s}")
    for row in report["cloths"]:
        lines.append(f"{'cloth ' + row['name']:34s} cloth-mask IoU {_fmt(row['cloth_iou'])}")
    means, goals = report["means"], report["goals"]
    lines += ["", "mean over every sample, both sets (goal: the embedded defaults' first goals; the goals of "
              "issue #19 are judged on the test set, below):",
              (f"  pose PCK@0.05H        {_fmt(means['pck'])}  (>= {goals['pck']})  "
               f"[genuine keypoints only: {_fmt(means['pck_genuine_keypoints_only'])}]"),
              f"  parse mIoU            {_fmt(means['parse_miou'])}  (>= {goals['parse_miou']})",
              (f"  DensePose accuracy    {_fmt(means['densepose_acc'])}  (>= {goals['densepose_acc']})  "
               f"[on genuine parse: {_fmt(means['densepose_acc_genuine_parse'])}]"),
              f"  cloth-mask IoU        {_fmt(means['cloth_iou'])}  (>= {goals['cloth_iou']})",
              "  parse IoU per class:  " + ", ".join(f"{k} {v:.2f}" for k, v in means["parse_iou_per_class"].items()),
              "  * VITON-HD train keypoints are recovered from rendered skeletons, not genuine OpenPose output"]
    if "sets" in report:
        lines += ["", *format_sets(report)]
    for failure in report["failures"]:
        lines.append(f"FAILED {failure}")
    return "\n".join(lines)


def format_sets(report: dict[str, Any]) -> list[str]:
    """The tune/test comparison: per joint, per class, per category, against the test goals."""
    sets, goals = report["sets"], report["test_goals"]
    lines = ["tuning and test sets (quote the test set; never tune on it):"]
    lines += [f"  {name}: {report['set_descriptions'][name]} ({sets[name]['persons']} persons)" for name in SETS]
    lines += ["", f"{'metric':28s} {'tune':>6s} {'test':>6s}  goal (test)"]

    def row(label: str, key: Callable[[dict[str, Any]], Any], goal: float | None = None) -> None:
        values = [key(sets[name]) for name in SETS]
        mark = "" if goal is None else f"  >= {goal}" + ("" if values[1] is None else (
            "  met" if values[1] >= goal else "  NOT met"))
        lines.append(f"{label:28s} {_fmt(values[0]):>6s} {_fmt(values[1]):>6s}{mark}")

    row("pose PCK@0.05H (pooled)", lambda s: s["pck"], goals["pck"])
    joints = [BODY25_NAMES[j] for j in LOWER_JOINTS]
    for joint in joints:
        row(f"  {joint}", lambda s, j=joint: s["pck_per_joint"].get(j))
    row("parse mIoU", lambda s: s["parse_miou"], goals["parse_miou"])
    for name in REPORT_CLASSES:
        row(f"  {name}", lambda s, n=name: s["class_iou"].get(n), goals.get(name))
    lines.append("  per class, pixels pooled over the set (LIP/CIHP benchmark convention; goals above are per-photo means):")
    for name in REPORT_CLASSES:
        row(f"  {name} (pooled)", lambda s, n=name: s["class_iou_pooled"].get(n))
    row("worn garment (lower, dress)", lambda s: s["worn_garment"], goals["worn_garment"])
    row("DensePose part accuracy", lambda s: s["densepose_acc"], goals["densepose_acc"])
    row("cloth-mask IoU", lambda s: s["cloth_iou"], goals["cloth_iou"])
    for category in ("upper", "lower", "dresses"):
        row(f"{category}: PCK", lambda s, c=category: s["per_category"].get(c, {}).get("pck"))
        row(f"{category}: parse mIoU", lambda s, c=category: s["per_category"].get(c, {}).get("parse_miou"))
        row(f"{category}: worn garment", lambda s, c=category: s["per_category"].get(c, {}).get("worn_garment"))
    return lines


def write_json(path: str | Path, report: dict[str, Any]) -> None:
    atomic_write_json(path, report)
