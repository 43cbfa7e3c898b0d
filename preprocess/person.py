"""The per-person chain as small steps: load -> normalise -> pose -> parse -> DensePose -> agnostic -> write.

Each step is a plain function so the CLI (`vtonkit prep-person`), the batch pipeline and the
evaluation reuse the same code. Backends come from `vtonkit.preprocess.stages` registries.

Per-photo policy (errors stop that photo, warnings are reported and the photo is written):
* no person -> `NoPersonError`; several people of comparable size -> `MultiplePersonsError`
  (smaller bystanders are a warning);
* hips not visible ("cut off at the waist") -> warning: HR-VITON's agnostic needs joints 9 and 12;
  lower-body / dress categories also warn when knees or ankles are missing;
* tiny person (upscaled more than 2x by the refocus) -> warning from `normalize`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from vtonkit.datasets.io.densepose import NUM_PARTS, write_densepose
from vtonkit.datasets.io.images import exif_orientation, frames_note, write_jpeg
from vtonkit.datasets.io.keypoints import present_mask, write_openpose_json
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.io.parse import write_parse
from vtonkit.datasets.io.skeleton import write_skeleton
from vtonkit.datasets.labels import NUM_CIHP
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir
from vtonkit.preprocess.config import preflight_thresholds
from vtonkit.preprocess.normalize import (
    HIPS,
    FrameTransform,
    Normalized,
    keep_framing,
    load_person_photo,
    quarter_turns_to_upright,
    refocus,
    turned_note,
)
from vtonkit.preprocess.pose_evidence import doubtful_joints, lower_doubtful
from vtonkit.preprocess.preflight import (PreflightThresholds, legs_cut_off, person_checks, person_greyscale,
                                          worn_garment_problem)
from vtonkit.preprocess.stages import (
    DENSEPOSERS,
    HUMAN_PARSERS,
    POSE_ESTIMATORS,
    POSE_ABILITIES,
    PoseResult,
    backend_call,
    checked_output,
    checked_pose,
    close_backend,
    has_ability,
)

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import MultiplePersonsError, NoPersonError

logger = logging.getLogger(__name__)

CATEGORIES = GARMENT_CATEGORIES
# Below this share of the image height the person is "tiny" in --keep-framing mode too.
TINY_SHARE = 0.25
# Pixel values' std (0-255, all channels) under which a photo is blank: a flat fill or a lens cap
# (JPEG noise on a flat fill: ~1; the flattest shared photo: 27).
BLANK_STD = 3.0


@dataclass
class PersonBackends:
    """The three person-stage backends, built once and reused for every photo."""

    pose: Any
    parser: Any
    densepose: Any

    @classmethod
    def build(cls, pose: str | None = None, parser: str | None = None, densepose: str | None = None,
              options: dict[str, dict[str, Any]] | None = None) -> PersonBackends:
        """Build by registry name (None = the stage's embedded default); `options[stage]` are kwargs."""
        options = options or {}
        return cls(
            pose=POSE_ESTIMATORS.build(pose, **options.get("pose", {})),
            parser=HUMAN_PARSERS.build(parser, **options.get("parser", {})),
            densepose=DENSEPOSERS.build(densepose, **options.get("densepose", {})),
        )

    def close(self) -> None:
        """Close the backends that declare it (`stages.close_backend`)."""
        for backend in (self.pose, self.parser, self.densepose):
            close_backend(backend)


@dataclass
class PersonOutputs:
    """Everything written for one person, all at 1024x768.

    Attributes:
        image: `(1024, 768, 3)` uint8 RGB normalised photo.
        keypoints: `(25, 3)` float64 BODY_25 in `image` pixels.
        parse: `(1024, 768)` uint8 CIHP-20.
        densepose_ids: `(1024, 768)` uint8 DensePose part ids 0..24.
        agnostic: `vtonkit.preprocess.agnostic.Agnostic` (parse_agnostic, mask, image), or None
            when it could not be computed (then its three files are not written; see `person_agnostic`).
        warnings: per-photo notes for the user.
        transform: source-photo -> `image` pixel mapping.
    """

    image: np.ndarray
    keypoints: np.ndarray
    parse: np.ndarray
    densepose_ids: np.ndarray
    agnostic: Any = None
    warnings: list[str] = field(default_factory=list)
    transform: FrameTransform | None = None


def estimate_pose(pose_estimator: Any, image: np.ndarray, path: str | Path | None = None, *,
                  count_people: bool = True, silhouette_only: bool = False) -> PoseResult:
    """Run the pose stage and apply the people policy. Raises `NoPersonError` / `MultiplePersonsError`.

    `count_people=False` lets a backend that supports it skip its people count (the refocused
    crop of a photo whose people were already counted); `silhouette_only` lets it skip work that
    only refines the joints (the detection pass before the refocus needs the silhouette).
    """
    return one_person(pose_of(pose_estimator, image, path, count_people=count_people,
                              silhouette_only=silhouette_only), path)


def pose_of(pose_estimator: Any, image: np.ndarray, path: str | Path | None = None, *,
            count_people: bool = True, silhouette_only: bool = False) -> PoseResult:
    """`estimate_pose` without the people policy: the result however many people it counted."""
    options = {"count_people": count_people, "silhouette_only": silhouette_only}
    try:
        result = checked_pose(pose_estimator, pose_estimator.estimate(
            image, **{k: v for k, v in options.items() if has_ability(pose_estimator, k)}), image.shape[:2])
    except NoPersonError as exc:
        # The detectors miss people in black-and-white photos they find in colour: say so (of the
        # whole photo, where a small person in colour is a small share of it). A blank photo has no
        # colour either, and nothing else.
        if float(image.std()) < BLANK_STD:
            raise NoPersonError(path, exc.reason + "; the photo is blank (one flat colour)") from None
        grey = person_greyscale(image, preflight_thresholds(), percentile=99.9)
        raise NoPersonError(path, exc.reason + ("; it is a black-and-white photo, where the detectors find people "
                                                "less often: a colour photo works better" if grey else "")) from None
    if not present_mask(result.keypoints)[[1, 2, 5]].any():
        raise NoPersonError(path, "no person detected (no neck or shoulders found)")
    return result


class CheckedPose:
    """`backend` with its exceptions raised as its `BackendFailure` and every result checked against
    the pose interface (`stages.checked_pose`). `pose_of` checks what it is given too, but that may
    be a wrapper (prep's recorder, its replay of the cache): this names the backend itself."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        # the pose abilities it declares, passed on as they are (`close` stays with its owner)
        self.abilities = frozenset(a for a in POSE_ABILITIES if has_ability(backend, a))

    def estimate(self, image_rgb: np.ndarray, **options: Any) -> PoseResult:
        result = backend_call("pose", self.backend, lambda: self.backend.estimate(image_rgb, **options))
        return checked_pose(self.backend, result, image_rgb.shape[:2])


def one_person(result: PoseResult, path: str | Path | None = None) -> PoseResult:
    """`result`, unless it counted several people (`MultiplePersonsError`)."""
    if result.num_persons > 1:
        raise MultiplePersonsError(path, f"{result.num_persons} people detected: crop the photo to one person")
    return result


def framing_warnings(keypoints: np.ndarray, category: str, person_mask: np.ndarray | None) -> list[str]:
    """Warnings about what the photo shows: cut at the waist, legs missing, tiny person."""
    present = present_mask(keypoints)
    notes = []
    if not present[list(HIPS)].all():
        notes.append("hips-cut-off: person cut off at the waist (hips not visible): the agnostic mask will be wrong")
    elif legs_cut_off(keypoints, category):
        notes.append(f"legs-cut-off: legs cut off (knees/ankles not visible): a {category} try-on needs the legs")
    if person_mask is not None and person_mask.any():
        rows = np.flatnonzero(person_mask.any(1))
        share = (rows[-1] - rows[0] + 1) / person_mask.shape[0]
        if share < TINY_SHARE:
            notes.append(f"tiny person: only {share:.0%} of the image height")
    return notes


def person_warnings(normalized: Normalized, pose: PoseResult, category: str, parse: np.ndarray | None = None,
                    thresholds: PreflightThresholds | None = None) -> list[str]:
    """All per-photo notes of the normalise and pose steps, the framing checks (one tiny-person note)
    and the pre-flight checks ("<code>: <message>"; those needing the parse run when it is given)."""
    notes = list(normalized.warnings) + [w for w in pose.warnings if w not in normalized.warnings]
    notes += [n for n in framing_warnings(pose.keypoints, category, pose.person_mask)
              if not (n.startswith("tiny person") and any(w.startswith("tiny person") for w in notes))]
    scale = normalized.transform.scale_y if normalized.transform is not None else 1.0
    found = person_checks(pose.keypoints, parse, normalized.image.shape[:2], scale=scale, num_persons=pose.num_persons,
                          person_mask=pose.person_mask, image_rgb=normalized.image, photo_box=normalized.photo_box,
                          thresholds=thresholds or preflight_thresholds())
    if any(f.code == "person-too-small" for f in found):  # one warning of one thing, the coded one
        notes = [n for n in notes if not n.startswith("tiny person")]
    if parse is not None and (worn := worn_garment_problem(parse, category)) is not None:
        notes.append(f"worn-garment-not-category: {worn}")
    return notes + [f.note() for f in found]


def normalise_person(path: str | Path, pose_estimator: Any, *, keep: bool = False):
    """Load a photo upright and bring it to 1024x768 (refocus around the person unless `keep`).

    Returns:
        (Normalized, PoseResult on the normalised image).
    """
    source = load_person_photo(path)
    if keep:
        normalized = keep_framing(source)
        # The people count of a turned photo is unreliable: counted again once it is upright.
        pose = pose_of(pose_estimator, normalized.image, path, count_people=True)
        turns = quarter_turns_to_upright(pose.keypoints)
        if turns:
            source = np.ascontiguousarray(np.rot90(source, turns))
            normalized = keep_framing(source)
            pose = pose_of(pose_estimator, normalized.image, path, count_people=True)
        one_person(pose, path)
    else:
        # Detect on the source (at most ~1024 px tall for speed), then crop around the silhouette.
        detection = pose_of(pose_estimator, _shrink(source), path, silhouette_only=True)
        turns = quarter_turns_to_upright(detection.keypoints)
        if turns:
            source = np.ascontiguousarray(np.rot90(source, turns))
            detection = pose_of(pose_estimator, _shrink(source), path, silhouette_only=True)
        one_person(detection, path)
        mask = _resize_mask(detection.person_mask, source.shape[:2]) if detection.person_mask is not None else None
        if mask is None or not mask.any():
            raise NoPersonError(path, "no person silhouette found")
        normalized = refocus(source, mask)
        normalized.warnings.extend(n for n in detection.warnings if n not in normalized.warnings)
        pose = estimate_pose(pose_estimator, normalized.image, path, count_people=False)
    normalized.warnings[:0] = frames_note(path) + ([turned_note(turns, exif_orientation(path))] if turns else [])
    return normalized, pose


def _shrink(image: np.ndarray, max_side: int = 1024) -> np.ndarray:
    import cv2

    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    # At least 1 px: a 1x60000 strip would round to width 0, which OpenCV refuses with an assertion.
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    if mask.shape == shape:
        return mask
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def human_parse(parser: Any, image: np.ndarray, pose: PoseResult) -> np.ndarray:
    """Run the parser, handing it the pose stage's silhouette when it declares it takes one (saves a model run)."""
    reuse = pose.person_mask is not None and has_ability(parser, "person_mask")
    options = {"person_mask": pose.person_mask} if reuse else {}
    parse = backend_call("parser", parser, lambda: parser.parse(image, pose.keypoints, **options))
    return checked_output("parser", parser, parse, image.shape[:2], integers=True, max_value=NUM_CIHP - 1)


def dense_parts(densepose: Any, image: np.ndarray, keypoints: np.ndarray, parse: np.ndarray) -> np.ndarray:
    """Run the DensePose stage: `(H, W)` uint8 part ids 0..24, checked against the interface."""
    parts = backend_call("densepose", densepose, lambda: densepose.densepose(image, keypoints, parse))
    return checked_output("densepose", densepose, parts, image.shape[:2], integers=True, max_value=NUM_PARTS).astype(np.uint8)


def person_agnostic(image: np.ndarray, parse: np.ndarray, keypoints: np.ndarray,
                    category: str) -> tuple[Any, list[str]]:
    """The agnostic (foundation recipe), or (None, [note]) when the pose lacks joints the recipe needs.

    The one policy of every entry point: such a photo is still written, without its three agnostic
    files, and the note says why (`vtonkit validate` then reports the missing files).
    """
    from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic

    try:
        return compute_agnostic(image, parse, keypoints, category), []
    except MissingKeypointsError as exc:
        return None, [f"agnostic not written: {exc}"]


T = TypeVar("T")
StageRunner = Callable[[str, Callable[[], T]], T]
Normaliser = Callable[[Path, Any, bool], tuple[Normalized, PoseResult]]


def run_directly(stage: str, compute: Callable[[], T]) -> T:
    """The plain stage runner: compute now (the prep worker's runner adds the cache and timings)."""
    return compute()


def process_person(path: str | Path, backends: PersonBackends, *, category: str = "upper", keep: bool = False,
                   run_stage: StageRunner = run_directly, normalise: Normaliser | None = None) -> PersonOutputs:
    """The per-person chain for one photo file (no writing): normalise + pose -> parse -> DensePose -> agnostic.

    The one chain of every entry point: `prep-person` runs it as is; the `prep` worker passes
    `run_stage` (cached, timed stages "parse", "densepose", "agnostic") and `normalise` (the
    normalise + pose step with recorded or replayed pose).
    """
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    path = Path(path)
    if normalise is None:
        normalized, pose = normalise_person(path, CheckedPose(backends.pose), keep=keep)
    else:
        normalized, pose = normalise(path, backends.pose, keep)
    image = normalized.image
    parse = run_stage("parse", lambda: np.asarray(human_parse(backends.parser, image, pose), dtype=np.uint8))
    # Joints the parse or silhouette contradicts keep their place but lose confidence (see pose_evidence).
    person = parse > 0 if pose.person_mask is None else (parse > 0) | pose.person_mask
    doubts = doubtful_joints(pose.keypoints, person)
    if doubts:
        pose = replace(pose, keypoints=lower_doubtful(pose.keypoints, doubts),
                       warnings=[*pose.warnings, *(d.note() for d in doubts)])
    densepose_ids = run_stage("densepose", lambda: dense_parts(backends.densepose, image, pose.keypoints, parse))
    agnostic, agnostic_notes = run_stage("agnostic", lambda: person_agnostic(image, parse, pose.keypoints, category))
    notes = person_warnings(normalized, pose, category, parse) + agnostic_notes
    return PersonOutputs(image=image, keypoints=pose.keypoints, parse=parse, densepose_ids=densepose_ids,
                         agnostic=agnostic, warnings=notes, transform=normalized.transform)


def write_person_outputs(split: SplitDir, stem: str, outputs: PersonOutputs) -> list[Path]:
    """Write the HR-VITON person files of `stem` (atomic, via the foundation writers); returns the paths."""
    if outputs.image.shape[:2] != (HEIGHT, WIDTH):
        raise ValueError(f"person outputs must be {HEIGHT}x{WIDTH}, got {outputs.image.shape[:2]}")
    split = SplitDir(split.root) if isinstance(split, SplitDir) else SplitDir(split)
    for path in split.person_files(stem).values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_jpeg(split.image(stem), outputs.image)
    write_openpose_json(split.openpose_json(stem), outputs.keypoints)
    write_skeleton(split.openpose_img(stem), outputs.keypoints, HEIGHT, WIDTH)
    write_parse(split.parse(stem), outputs.parse)
    write_densepose(split.densepose(stem), outputs.densepose_ids)
    written = [split.image(stem), split.openpose_json(stem), split.openpose_img(stem), split.parse(stem),
               split.densepose(stem)]
    if outputs.agnostic is not None:
        write_parse(split.parse_agnostic(stem), outputs.agnostic.parse_agnostic)
        write_jpeg(split.agnostic(stem), outputs.agnostic.image)
        write_mask(split.agnostic_mask(stem), outputs.agnostic.mask)
        written += [split.parse_agnostic(stem), split.agnostic(stem), split.agnostic_mask(stem)]
    return written
