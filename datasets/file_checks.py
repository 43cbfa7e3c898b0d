"""Per-file format checks: existence, real file type, size, mode, parse ids, BODY_25, binary masks.

Each check reads a file once through the foundation readers and keeps the decoded array on a
`SampleFiles` so that later checks (agnostic, quality) reuse it. A file that fails its format
check is not handed to later checks (they see `None`), so one bad file yields one clear finding
instead of a cascade.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from vtonkit.datasets import layout
from vtonkit.datasets.findings import ERROR, Finding, finding
from vtonkit.datasets.io.images import open_image, orientation_tag, to_rgb
from vtonkit.datasets.io.keypoints import KeypointFormatError, read_keypoints
from vtonkit.datasets.labels import NUM_CIHP, Cihp

from vtonkit.core.errors import InputError

logger = logging.getLogger(__name__)

# What the official loaders need from each folder: (container format, accepted PIL modes).
# agnostic-mask ships as RGB PNG in VITON-HD (three equal channels), so RGB is accepted there.
FILE_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    layout.IMAGE: ("JPEG", ("RGB",)),
    layout.CLOTH: ("JPEG", ("RGB", "L")),
    layout.CLOTH_MASK: ("JPEG", ("L",)),
    layout.PARSE: ("PNG", ("P", "L")),
    layout.PARSE_AGNOSTIC: ("PNG", ("P", "L")),
    layout.AGNOSTIC: ("JPEG", ("RGB",)),
    layout.AGNOSTIC_MASK: ("PNG", ("L", "RGB")),
    layout.DENSEPOSE: ("JPEG", ("RGB",)),
    layout.OPENPOSE_IMG: ("PNG", ("RGB",)),
}
MASK_FOLDERS = (layout.CLOTH_MASK, layout.AGNOSTIC_MASK)
PARSE_FOLDERS = (layout.PARSE, layout.PARSE_AGNOSTIC)
GARMENT_LABELS = (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.SKIRT)

# A mask pixel is "grey" strictly between these values. JPEG ringing leaves a thin grey seam
# along edges (0.03-0.07 % of pixels on the VITON-HD samples); a soft matte or a photo has far more.
GREY_LOW, GREY_HIGH = 32, 223
MAX_GREY_FRACTION = 0.01


@dataclass
class SampleFiles:
    """Decoded files of one sample in one split (None = missing or failed its format check)."""

    split: str
    stem: str
    paths: dict[str, Path]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    num_people: int = 0

    def get(self, folder: str) -> np.ndarray | None:
        return self.arrays.get(folder)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def spec_problems(image: Image.Image, folder: str) -> list[tuple[str, str]]:
    """`(finding kind, problem)` for each way a decoded image breaks its folder's `FILE_SPECS` (container
    format, 1024x768, mode): the one reading of the contract, for `validate` and the converters alike."""
    expected_format, modes = FILE_SPECS[folder]
    problems = []
    if image.format != expected_format:
        problems.append(("wrong-file-type", f"content is {image.format}, the name and the loaders expect {expected_format}"))
    if image.size != (layout.WIDTH, layout.HEIGHT):
        problems.append(("wrong-size", f"image is {image.width}x{image.height} (W x H), expected {layout.WIDTH}x{layout.HEIGHT}"))
    if image.mode not in modes:
        problems.append(("wrong-mode", f"mode {image.mode}, expected {' or '.join(modes)}"))
    return problems


def check_image_file(folder: str, path: Path, split: str, stem: str, root: Path) -> tuple[list[Finding], Any]:
    """Open one image file and check type, size and mode. Returns (findings, PIL image or None)."""
    rel = _relative(path, root)
    try:
        image = open_image(path)
    except InputError as exc:
        return [finding("wrong-file-type", split, stem, rel, f"{rel}: {exc.reason}")], None
    problems = [finding(kind, split, stem, rel, f"{rel}: {problem}") for kind, problem in spec_problems(image, folder)]
    # An animated PNG passes every check above; its other frames are silently dropped by every loader.
    # (MPO, a camera JPEG with an embedded preview, is reported as a file type above.)
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        problems.append(
            finding(
                "multi-frame", split, stem, rel,
                f"{rel}: {frames} frames (an animation or a multi-page file); the loaders read the first one only",
            )
        )
    # The loaders (PIL) read the pixels as stored; OpenCV's imread and every viewer turn them by the tag
    # first, so such a file shows one way and trains another (its parse no longer lines up).
    orientation = orientation_tag(image)
    if orientation is not None and orientation != 1:
        problems.append(
            finding(
                "exif-orientation", split, stem, rel,
                f"{rel}: EXIF orientation {orientation}: viewers and OpenCV show it turned, the loaders read it "
                "as stored; save the pixels upright without the tag",
            )
        )
    return problems, image


def check_parse_labels(labels: np.ndarray, folder: str, split: str, stem: str, rel: str) -> list[Finding]:
    """Ids in 0..19; the full parse (not the agnostic one) must show a face and some garment."""
    problems = []
    if labels.size and int(labels.max()) >= NUM_CIHP:
        bad = np.unique(labels[labels >= NUM_CIHP])
        problems.append(
            finding(
                "parse-ids-out-of-range",
                split,
                stem,
                rel,
                f"{rel}: label ids {bad[:8].tolist()} >= {NUM_CIHP} (HR-VITON's one-hot scatter crashes)",
            )
        )
    if folder == layout.PARSE:
        present = set(np.unique(labels).tolist())
        missing = []
        if Cihp.FACE not in present:
            missing.append("face (13)")
        if not present & {int(label) for label in GARMENT_LABELS}:
            missing.append("any garment (5, 6, 7, 9, 12)")
        if missing:
            problems.append(
                finding("parse-labels-missing", split, stem, rel, f"{rel}: no {' and no '.join(missing)}")
            )
    return problems


def grey_problem(gray: np.ndarray) -> str | None:
    """How a mask's values break 0/255 beyond JPEG edge noise, or None: for `validate` and the importers alike."""
    grey_fraction = float(((gray > GREY_LOW) & (gray < GREY_HIGH)).mean())
    if grey_fraction > MAX_GREY_FRACTION:
        return f"{grey_fraction:.1%} of pixels are grey (>{MAX_GREY_FRACTION:.0%}): not a 0/255 mask"
    return None


def check_mask_values(gray: np.ndarray, split: str, stem: str, rel: str) -> list[Finding]:
    """Masks must be 0/255 up to JPEG edge noise, and not empty."""
    if (problem := grey_problem(gray)) is not None:
        return [finding("mask-not-binary", split, stem, rel, f"{rel}: {problem}")]
    if not (gray >= 128).any():
        return [finding("mask-empty", split, stem, rel, f"{rel}: mask is empty (no pixel >= 128)")]
    return []


def check_keypoint_file(
    path: Path, split: str, stem: str, rel: str
) -> tuple[list[Finding], np.ndarray | None, int]:
    """BODY_25 only: a COCO-18 file here puts HR-VITON's hips on the knees."""
    try:
        body25 = read_keypoints(path, fmt="body25")
    except KeypointFormatError as exc:
        # Readable in another layout (COCO-18, Dress Code) or a wrong number of values (another
        # OpenPose model): the wrong skeleton. Anything else: no usable keypoints at all.
        try:
            read_keypoints(path, fmt="auto")
            layout_wrong = True
        except (KeypointFormatError, InputError):
            layout_wrong = "expected 75" in exc.reason
        code = "keypoints-not-body25" if layout_wrong else "keypoints-invalid"
        return [finding(code, split, stem, rel, f"{rel}: {exc.reason}")], None, 0
    except InputError as exc:
        return [finding("keypoints-invalid", split, stem, rel, f"{rel}: {exc.reason}")], None, 0
    try:
        num_people = len(json.loads(path.read_text(encoding="utf-8")).get("people", []))
    except (ValueError, AttributeError):  # already parsed once above; defensive only
        num_people = 1
    return [], body25, num_people


def load_and_check(sample: SampleFiles, root: Path) -> list[Finding]:
    """Run the format checks on every existing file of `sample`, filling `sample.arrays`.

    Arrays: image/cloth/agnostic/densepose/openpose_img `(H, W, 3)` uint8; parse maps `(H, W)`
    uint8 ids; masks `(H, W)` uint8 grey (first channel); openpose_json `(25, 3)` float64.
    """
    problems: list[Finding] = []
    for folder, path in sample.paths.items():
        if not path.is_file():
            continue  # completeness reports it
        rel = _relative(path, root)
        if folder == layout.OPENPOSE_JSON:
            found, body25, sample.num_people = check_keypoint_file(path, sample.split, sample.stem, rel)
            problems += found
            if body25 is not None:
                sample.arrays[folder] = body25
            continue
        found, image = check_image_file(folder, path, sample.split, sample.stem, root)
        problems += found
        found = [item for item in found if item.severity == ERROR]  # a warned file is still checked further
        if image is None:
            continue
        if folder in PARSE_FOLDERS:
            if image.mode in ("P", "L"):
                labels = np.array(image, dtype=np.uint8)
                id_problems = check_parse_labels(labels, folder, sample.split, sample.stem, rel)
                problems += id_problems
                if not id_problems and not found:
                    sample.arrays[folder] = labels
        elif folder in MASK_FOLDERS:
            gray = np.array(image.convert("L") if image.mode != "RGB" else image.getchannel(0))
            mask_problems = check_mask_values(gray, sample.split, sample.stem, rel)
            problems += mask_problems
            if not mask_problems and not found:
                sample.arrays[folder] = gray
        elif not found:
            sample.arrays[folder] = np.asarray(to_rgb(image))
        if isinstance(image, Image.Image):
            image.close()
    return problems
