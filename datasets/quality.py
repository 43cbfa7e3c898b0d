"""Per-sample quality flags (warnings for a human, not format errors).

Each function is pure: arrays in, a list of `Flag(code, message)` out. Thresholds were set so
that the genuine VITON-HD samples raise no flag (measured values in the comments) while the
defects the tests inject do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from vtonkit.datasets.io.keypoints import present_mask
from vtonkit.datasets.labels import Cihp
from vtonkit.datasets.mask_geometry import enclosed_background, mask_iou

# Torso joints the agnostic recipes draw from: neck, shoulders, hips.
CORE_JOINTS = (1, 2, 5, 9, 12)
MIN_CORE_CONFIDENCE = 0.25  # mean over present core joints; genuine VITON-HD >= 0.55
MIN_PERSON_HEIGHT = 0.5  # parse bounding-box height / image height; genuine >= 0.95
MASK_AREA_RANGE = (0.03, 0.9)  # cloth-mask area / image area; genuine 0.36-0.52
MIN_COMPONENT_SHARE = 0.02  # a component counts when >= 2 % of the mask
MAX_COMPONENTS = 2
MAX_HOLE_SHARE = 0.05  # enclosed holes / mask area; genuine 0
MAX_BORDER_STD = 12.0  # cloth photo border band, per-channel std; genuine 0.0
MIN_ARM_SWAP_SHARE = 0.6  # share of an arm's pixels nearer the other side's joints
MIN_ARM_PIXELS = 500
# Cloth mask against the garment's outline as the cv masker finds it (IoU): genuine VITON-HD masks
# 0.986-0.997; a mask of another garment of the shared samples 0.45-0.84 (a swapped file).
MIN_MASK_AGREEMENT = 0.9
OUTLINE_AREA_RANGE = (0.01, 0.95)  # outside it the masker found no garment to compare with

RIGHT_ARM_JOINTS = (2, 3, 4)  # BODY_25 RShoulder, RElbow, RWrist: the person's right = CIHP 15
LEFT_ARM_JOINTS = (5, 6, 7)


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


def pose_flags(body25: np.ndarray, num_people: int) -> list[Flag]:
    """Low confidence / missing torso joints; several people in the keypoint file."""
    flags = []
    present = present_mask(body25)
    missing = [j for j in CORE_JOINTS if not present[j]]
    confidences = body25[list(CORE_JOINTS), 2][present[list(CORE_JOINTS)]]
    mean_confidence = float(confidences.mean()) if confidences.size else 0.0
    if missing or mean_confidence < MIN_CORE_CONFIDENCE:
        flags.append(
            Flag(
                "pose-low-confidence",
                f"torso joints missing {missing} / mean confidence {mean_confidence:.2f} "
                f"(need all of {list(CORE_JOINTS)} and >= {MIN_CORE_CONFIDENCE})",
            )
        )
    if num_people > 1:
        flags.append(
            Flag(
                "several-persons", f"openpose_json lists {num_people} people; the loaders read people[0] only"
            )
        )
    return flags


def framing_flags(parse: np.ndarray, body25: np.ndarray | None) -> list[Flag]:
    """Person too small (parse box height) or cut off (face on the border, shoulders outside)."""
    height, width = parse.shape
    flags = []
    rows = np.flatnonzero((parse > 0).any(axis=1))
    share = (rows[-1] - rows[0] + 1) / height if rows.size else 0.0
    if share < MIN_PERSON_HEIGHT:
        flags.append(
            Flag(
                "person-too-small",
                f"person spans {share:.0%} of the image height (< {MIN_PERSON_HEIGHT:.0%})",
            )
        )
    # One definition with prep's pre-flight check: a side edge through the face or an arm; a top edge
    # through the face is how Dress Code and many shops crop, harmless for try-on.
    from vtonkit.preprocess.preflight import PreflightThresholds, person_cut_off

    cut = person_cut_off(body25 if body25 is not None else np.zeros((25, 3)), parse, (height, width),
                         PreflightThresholds())
    if cut:
        flags.append(Flag("person-cut-off", cut[0].message))
    elif body25 is not None:
        shoulders = body25[[2, 5]]
        outside = (
            (shoulders[:, 0] < 0)
            | (shoulders[:, 0] >= width)
            | (shoulders[:, 1] < 0)
            | (shoulders[:, 1] >= height)
        )
        if outside.any():
            flags.append(Flag("person-cut-off", "a shoulder keypoint lies outside the image"))
    return flags


def legs_flags(body25: np.ndarray, category: str) -> list[Flag]:
    """A lower-body or dress sample whose knees or ankles are not in the photo (prep's own warning)."""
    from vtonkit.preprocess.preflight import legs_cut_off

    if legs_cut_off(body25, category):
        return [Flag("legs-cut-off", f"knees or ankles not visible: a {category} try-on needs the legs")]
    return []


def worn_garment_flags(parse: np.ndarray, category: str) -> list[Flag]:
    """A lower-body or dress sample whose person wears no garment of that category (prep's own warning)."""
    from vtonkit.preprocess.preflight import worn_garment_problem

    problem = worn_garment_problem(parse, category)
    return [Flag("worn-garment-not-category", problem)] if problem else []


def cloth_mask_flags(mask: np.ndarray) -> list[Flag]:
    """`(H, W)` bool cloth mask: area, number of large pieces, enclosed holes."""
    flags = []
    area = float(mask.mean())
    if not MASK_AREA_RANGE[0] <= area <= MASK_AREA_RANGE[1]:
        flags.append(
            Flag(
                "mask-area",
                f"mask covers {area:.1%} of the image (expected {MASK_AREA_RANGE[0]:.0%}-"
                f"{MASK_AREA_RANGE[1]:.0%})",
            )
        )
    if not mask.any():
        return flags
    labels, count = ndimage.label(mask)
    sizes = np.bincount(labels.ravel())[1:]
    large = int((sizes >= MIN_COMPONENT_SHARE * mask.sum()).sum())
    if large > MAX_COMPONENTS:
        flags.append(
            Flag("mask-components", f"mask has {large} large separate pieces (max {MAX_COMPONENTS})")
        )
    holes = int(enclosed_background(mask).sum())
    if holes > MAX_HOLE_SHARE * mask.sum():
        flags.append(
            Flag(
                "mask-holes",
                f"enclosed holes are {holes / mask.sum():.1%} of the mask (max {MAX_HOLE_SHARE:.0%})",
            )
        )
    return flags


def cloth_mask_mismatch_flags(cloth_rgb: np.ndarray, mask: np.ndarray) -> list[Flag]:
    """`(H, W, 3)` garment, `(H, W)` bool mask: a mask that does not follow the garment's outline
    (a mask of another garment, or of the garment shifted) misleads the warping module silently."""
    from vtonkit.preprocess.stages import CLOTH_MASKERS  # the one outline finder, as prep runs it

    if cloth_rgb.shape[:2] != mask.shape:
        return []  # wrong-size already says it
    outline = CLOTH_MASKERS.build("cv").mask(cloth_rgb)
    if not OUTLINE_AREA_RANGE[0] <= float(outline.mean()) <= OUTLINE_AREA_RANGE[1]:
        return []  # e.g. a white garment on white: no outline to hold the mask against
    agreement = mask_iou(outline, mask)
    if agreement >= MIN_MASK_AGREEMENT:
        return []
    return [Flag("mask-mismatch", f"the mask follows the garment's outline poorly (IoU {agreement:.2f} with the "
                                  f"outline the cv masker finds, expected >= {MIN_MASK_AGREEMENT}): a mask of "
                                  "another garment, or one shifted?")]


def arm_swap_flags(parse: np.ndarray, body25: np.ndarray) -> list[Flag]:
    """Left/right arm labels against the pose: CIHP 14 (left arm) should lie near BODY_25 5/6/7."""
    from vtonkit.preprocess.body_frame import BodyFrame  # the one limb-distance implementation

    frame = BodyFrame(np.asarray(body25, dtype=np.float64), parse.shape)
    shares = {}
    for label, own, other in (
        (Cihp.LEFT_ARM, LEFT_ARM_JOINTS, RIGHT_ARM_JOINTS),
        (Cihp.RIGHT_ARM, RIGHT_ARM_JOINTS, LEFT_ARM_JOINTS),
    ):
        ys, xs = np.nonzero(parse == label)
        if ys.size < MIN_ARM_PIXELS:
            continue
        step = max(1, ys.size // 4000)  # a few thousand pixels decide as well as all of them
        ys, xs = ys[::step], xs[::step]
        nearer_other = frame.chain_distance(other)[ys, xs] < frame.chain_distance(own)[ys, xs]
        shares[int(label)] = float(nearer_other.mean())
    if shares and all(share >= MIN_ARM_SWAP_SHARE for share in shares.values()):
        detail = ", ".join(f"label {label}: {share:.0%}" for label, share in shares.items())
        return [
            Flag(
                "arm-labels-swapped",
                f"arm pixels lie nearer the other arm's joints ({detail}): left/right labels look swapped",
            )
        ]
    return []


def photo_flags(image_rgb: np.ndarray) -> list[Flag]:
    """A dark, black-and-white or blurred person photo (the pre-flight checks, one implementation)."""
    from vtonkit.preprocess.preflight import PreflightThresholds, person_blurry, person_greyscale, person_underexposed

    t = PreflightThresholds()
    found = person_underexposed(image_rgb, t) + person_greyscale(image_rgb, t) + person_blurry(image_rgb, t)
    return [Flag(f.code, f.message) for f in found]


def cloth_background_flags(cloth_rgb: np.ndarray) -> list[Flag]:
    """In-shop garments are shot on a plain light background (the pre-flight check, one implementation)."""
    from vtonkit.preprocess.preflight import PreflightThresholds, cloth_background

    thresholds = PreflightThresholds(max_border_std=MAX_BORDER_STD)
    return [Flag(f.code, f.message) for f in cloth_background(cloth_rgb, thresholds)]


def preflight_flags(body25: np.ndarray | None, parse: np.ndarray | None, cloth_rgb: np.ndarray | None,
                    cloth_mask: np.ndarray | None) -> list[tuple[str, Flag]]:
    """The pre-flight checks a finished dataset can still answer: ("person"|"cloth", flag) pairs.

    Size and resolution checks need the source photo and belong to prep; framing and several
    persons are covered above.
    """
    from vtonkit.preprocess import preflight

    t = preflight.PreflightThresholds()
    found: list[tuple[str, Flag]] = []
    if body25 is not None:
        image_hw = parse.shape[:2] if parse is not None else None
        person = preflight.person_view(body25, parse, t) + preflight.person_sitting(body25, t, image_hw)
        if parse is not None:
            person += preflight.arms_hide_garment(body25, parse, t)
        found += [("person", Flag(f.code, f.message)) for f in person]
        if parse is not None:  # joints the parse contradicts (what prep lowers the confidence of)
            from vtonkit.preprocess.pose_evidence import doubtful_joints

            found += [("person", Flag("pose-joint-doubtful", d.note().split(": ", 1)[1]))
                      for d in doubtful_joints(body25, parse > 0)]
    if cloth_mask is not None and cloth_mask.any():
        cloth = preflight.garment_not_centred(cloth_mask, t) + preflight.garment_folded(cloth_mask, t)
        if cloth_rgb is not None:
            cloth += preflight.garment_hanger(cloth_rgb, cloth_mask, t)
        found += [("cloth", Flag(f.code, f.message)) for f in cloth]
    return found
