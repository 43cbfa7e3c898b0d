"""Pre-flight checks: is a person photo or a garment shot fit for try-on, before anyone trains on it?

Pure functions over what the preprocessing already computed (the image, the BODY_25 pose, the
CIHP parse, the garment mask): no model runs here. Each check returns a list of
`PreflightFinding(code, message)`; the codes are stable (`PERSON_CODES`, `GARMENT_CODES`; the
dataset validator flags them under the same names) and every threshold is a field of
`PreflightThresholds`, which the `[preflight]` table of vtonkit.toml overrides
(`vtonkit.preprocess.config.preflight_thresholds`). docs/preflight.md shows one real example
per code.

Conventions: keypoints are BODY_25 `(25, 3)` in image pixels (x, y, confidence; (0, 0) =
missing); a person faces the camera when their right shoulder (joint 2) is on the image's left.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np
from vtonkit.datasets.io.keypoints import present_mask
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.exposure import UNDEREXPOSED_BELOW, bright_end, brightened, exposure_gain

NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = 0, 1, 2, 3, 4, 5, 6, 7
MID_HIP, R_HIP, R_KNEE, L_HIP, L_KNEE = 8, 9, 10, 12, 13
R_EYE, L_EYE = 15, 16

PERSON_CODES: dict[str, str] = {
    "person-too-small": "the person is too few source pixels tall for a 1024 px try-on",
    "person-cut-off": "the frame cuts through the head or an arm",
    "person-side-view": "shoulders seen edge-on: the person stands sideways",
    "person-back-view": "no face: the person shows their back (or left/right are reversed)",
    "person-sitting": "a knee level with its hip or above it: the person sits or crouches",
    "several-persons": "more than one person in the photo",
    "arms-hide-garment": "arms cover a large part of the torso (the garment is hidden)",
    "person-underexposed": "the photo is dark: the try-on model sees it dark (pose and parse read it brightened)",
    "person-greyscale": "a black-and-white photo: the embedded parser tells skin from clothes by colour",
    "blurry": "the photo is blurred (low variance of the Laplacian): an upscaled small photo, or out of focus",
}
# The pose step's framing warnings (`person.framing_warnings`): not pre-flight checks with a
# threshold, what the keypoints leave out; `validate` names the legs the same way.
FRAMING_CODES: dict[str, str] = {
    "hips-cut-off": "the hips are not in the photo: the agnostic files need them",
    "legs-cut-off": "knees or ankles not in the photo of a lower-body or dress sample",
    "worn-garment-not-category": "the person wears no garment of the dataset's category (a dress in a lower-body set)",
}
GARMENT_CODES: dict[str, str] = {
    "cloth-background": "not on a plain light background",
    "cloth-not-centred": "the garment is far from the centre of the shot",
    "cloth-hanger": "a hanger (or a hook or loop) shows above the garment",
    "cloth-folded": "the garment is folded: its silhouette is compact and not garment-shaped",
    "cloth-low-resolution": "the shot is smaller than the try-on resolution allows",
    "cloth-shows-person": "a person is in the shot: an on-model photo, or a person photo given as a garment",
}


@dataclass(frozen=True)
class PreflightThresholds:
    """Every pre-flight threshold; `[preflight]` in vtonkit.toml sets any of them by name."""

    min_person_height_px: float = 400.0  # person height in the source photo (VITON-HD persons: ~1000)
    border_margin: float = 0.01  # share of the image side counted as "on the border"
    min_edge_contact: float = 0.03  # arm pixels along a side of the photo, share of the image height: cut
    # garment, neck or leg pixels along a side, share of the image height: cut (0 on the 47 shared
    # person photos; a body cut lengthwise through its side: 0.43-0.49)
    min_body_edge_contact: float = 0.15
    min_shoulder_torso_ratio: float = 0.35  # shoulder width / neck-to-mid-hip (genuine samples: 0.41-0.82)
    min_face_keypoint_confidence: float = 0.2  # nose and eyes below this = no face ...
    min_face_share: float = 0.002  # ... unless face pixels cover this share of the image
    # Each knee at least this far below its hip: (knee y - hip y) / neck-to-mid-hip. The higher knee of
    # a standing person: 0.57-0.91 on the 38 people of ../shared; seated (7 real photos, tests/data): -0.15-0.43.
    min_knee_drop_ratio: float = 0.5
    max_arm_torso_share: float = 0.25  # arm pixels inside the torso box / garment + arm pixels there
    max_border_std: float = 12.0  # garment shot border band, per-channel std
    min_border_lightness: float = 170.0  # garment shot border band, mean grey level (0-255)
    max_centre_offset: float = 0.15  # garment mask centre from the image centre, share of the side
    max_hanger_width_share: float = 0.12  # a thin part above the garment narrower than this x garment width
    min_hanger_height_share: float = 0.03  # ... and taller than this x image height
    max_hook_centre_offset: float = 0.1  # a hook inside the mask: its top this close to the garment's middle
    hook_opening_share: float = 0.06  # parts of the mask thinner than this x garment width are not garment body
    max_folded_aspect: float = 1.15  # folded: mask box height / width at most this ...
    min_folded_solidity: float = 0.93  # ... area / convex hull at least this (flat-lay shots: 0.75-0.95) ...
    min_folded_fill: float = 0.85  # ... and area / box at least this (flat-lay shots with sleeves: < 0.8)
    min_leg_split_depth: float = 0.1  # ... unless a notch this deep x height splits its bottom: legs (shorts: 0.30)
    min_garment_side_px: int = 512  # shorter side of the garment shot in the source
    # Strongest person cue in a garment shot (crawlers.garment_shot, 0-1: pose, face, hands, skin cut by the
    # frame); the crawler's own rule is 0.5. The 55 studio garment shots of ../shared: none reach it.
    min_garment_person_cue: float = 0.5
    # Person photo: where its highlights reach (99.5th percentile of max(R, G, B), 0-255); the shared
    # photos: 231-255. Below the default, pose and parse read the photo brightened (preprocess.exposure).
    min_bright_end: float = UNDEREXPOSED_BELOW
    # Person photo: 99th percentile of max(R, G, B) - min(R, G, B); a greyscale photo: 0 (a few levels
    # once saved as colour JPEG); the 57 colour person photos of ../shared and tests/data: 21-255.
    max_grey_spread: float = 6.0
    min_laplacian_variance: float = 6.0  # greyscale person photo; the genuine VITON-HD photos: 19-190


def thresholds_from_table(table: dict[str, Any] | None) -> PreflightThresholds:
    """`PreflightThresholds` with the `[preflight]` table's values; unknown keys raise ValueError."""
    table = dict(table or {})
    known = {f.name: f.type for f in fields(PreflightThresholds)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(f"unknown [preflight] key(s) {unknown}; known: {', '.join(known)}")
    return PreflightThresholds(**{k: float(v) if known[k] == "float" else int(v) for k, v in table.items()})


@dataclass(frozen=True)
class PreflightFinding:
    """One pre-flight problem of one photo."""

    code: str
    message: str

    def note(self) -> str:
        """The per-file warning line prep prints: "<code>: <message>"."""
        return f"{self.code}: {self.message}"


def warning_kind(note: str) -> str:
    """The code a prep warning line starts with ("person-underexposed: ..."), or "other" for the
    free-text notes of the normalise and pose steps ("photo turned upright ...")."""
    code = note.split(":", 1)[0]
    known = code in PERSON_CODES or code in GARMENT_CODES or code in FRAMING_CODES or code == "pose-joint-doubtful"
    return code if known else "other"


def _against(value: float, limit: float, spec: str) -> tuple[str, str]:
    """`value` and the `limit` it crossed, formatted with `spec` (".1f", ".0%"), or with more decimals
    where those would print them equal ("std 12.04 > 12.00", not "12.0 > 12.0")."""
    kind, digits = spec[-1], int(spec[1:-1])
    for decimals in range(digits, digits + 4):
        shown = format(value, f".{decimals}{kind}"), format(limit, f".{decimals}{kind}")
        if shown[0] != shown[1]:
            return shown
    return shown


def _present(keypoints: np.ndarray) -> np.ndarray:
    return present_mask(np.asarray(keypoints, dtype=np.float64))


def _torso_length(keypoints: np.ndarray) -> float | None:
    present = _present(keypoints)
    if not (present[NECK] and present[MID_HIP]):
        return None
    return float(np.linalg.norm(keypoints[MID_HIP, :2] - keypoints[NECK, :2])) or None


# ------------------------------------------------------------------------------------------ person


LEGS = (10, 11, 13, 14)  # BODY_25 knees and ankles


def legs_cut_off(keypoints: np.ndarray, category: str) -> bool:
    """A lower-body or dress try-on without its knees and ankles in the photo (prep warns of it,
    validate flags it `legs-cut-off`): the garment's lower end and the legs it covers are guessed."""
    return category in ("lower", "dresses") and not _present(keypoints)[list(LEGS)].all()


# A garment shows when its labels cover this share of the parse; none of them below `WORN_ABSENT_SHARE`.
WORN_PRESENT_SHARE = 0.01
WORN_ABSENT_SHARE = 0.002


def worn_garment_problem(parse: np.ndarray, category: str) -> str | None:
    """Why the person of a lower-body or dress sample wears no garment of that category, or None: a dress
    and no trousers or skirt in a lower-body set (the lower agnostic takes the whole dress, torso too, and
    trains trousers on it), trousers or a skirt and no dress in a dress set. On the shared samples the
    worn garment covers 4-18 % of the parse and the other category's labels none."""
    share = np.bincount(np.asarray(parse).ravel(), minlength=20)[:20] / max(1, np.asarray(parse).size)
    bottoms, dress = share[Cihp.PANTS] + share[Cihp.SKIRT], share[Cihp.DRESS]
    if category == "lower" and bottoms < WORN_ABSENT_SHARE and dress >= WORN_PRESENT_SHARE:
        return (f"the person wears a dress ({dress:.0%} of the parse) and no trousers or skirt: not a lower-body "
                "sample (the lower agnostic would remove the whole dress)")
    if category == "dresses" and dress < WORN_ABSENT_SHARE and bottoms >= WORN_PRESENT_SHARE:
        return f"the person wears trousers or a skirt ({bottoms:.0%} of the parse) and no dress: not a dress sample"
    return None


def person_too_small(person: np.ndarray, scale: float, t: PreflightThresholds) -> list[PreflightFinding]:
    """Person height (box of the `person` mask) in source pixels: output height / `scale` (output px per source px)."""
    rows = np.flatnonzero(np.asarray(person, dtype=bool).any(1))
    if not rows.size:
        return []
    source_px = (rows[-1] - rows[0] + 1) / max(scale, 1e-9)
    if source_px < t.min_person_height_px:
        shown, limit = _against(source_px, t.min_person_height_px, ".0f")
        upscaled = f"upscaled {scale:.1f}x" if scale > 1.05 else "upscaled"
        return [PreflightFinding("person-too-small", f"the person is {shown} px tall in the photo "
                                 f"(< {limit}): {upscaled}, expect a blurred try-on and a weaker pose and parse")]
    return []


# What the frame may not cut at a side: the garments, the neck and the legs (the head and the arms
# are judged on their own; hair, hats and shoes may reach a side).
BODY_LABELS = (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.NECK, Cihp.SCARF, Cihp.SKIRT,
               Cihp.LEFT_LEG, Cihp.RIGHT_LEG, Cihp.SOCKS)


def person_cut_off(keypoints: np.ndarray, parse: np.ndarray | None, image_hw: tuple[int, int],
                   t: PreflightThresholds,
                   photo_box: tuple[float, float, float, float] | None = None) -> list[PreflightFinding]:
    """The frame cuts the head (face on a side border; needs the parse), the body (garment, neck or
    leg pixels along a side; needs the parse) or an arm (elbow/wrist on or past a side, or arm pixels
    along a side; needs the parse for those).

    `photo_box`: where the photo lies in the image (left, top, right, bottom), when refocus padded it:
    the photo's own sides are the frame, wherever the padding moved them."""
    height, width = image_hw
    left, _, right, bottom = photo_box or (0.0, 0.0, float(width), float(height))
    margin_x, margin_y = t.border_margin * width, t.border_margin * height
    inner_left, inner_right = int(left + max(1.0, margin_x)), int(np.ceil(right - max(1.0, margin_x)))
    found = []
    # A top edge through the face is how Dress Code and many shops crop: harmless for try-on.
    if parse is not None:
        face = parse == Cihp.FACE
        if face[:, int(left):inner_left].any() or face[:, inner_right:int(np.ceil(right))].any():
            found.append("the head")
    if parse is not None:
        # the torso, the garment or a leg running along a side: the frame cuts the body itself (the
        # pose then places the missing arm's joints on the torso, nothing else says so)
        body = np.isin(parse, BODY_LABELS)
        for side, strip in (("left", slice(int(left), inner_left)), ("right", slice(inner_right, int(np.ceil(right))))):
            if int(body[:, strip].sum(0).max(initial=0)) >= t.min_body_edge_contact * height:
                found.append(f"the body (its {side} side in the photo)")
    present = _present(keypoints)
    arms = {"right": (R_SHOULDER, (R_ELBOW, R_WRIST), slice(int(left), inner_left)),
            "left": (L_SHOULDER, (L_ELBOW, L_WRIST), slice(inner_right, int(np.ceil(right))))}
    for side, (shoulder, joints, strip) in arms.items():
        if not present[shoulder]:
            continue
        on_border = any(present[joint] and (keypoints[joint, 0] < left + margin_x
                                            or keypoints[joint, 0] > right - 1 - margin_x
                                            or keypoints[joint, 1] > bottom - 1 - margin_y) for joint in joints)
        # the wrist outside the photo, the forearm running into its side: arm pixels along it (a
        # person's right arm is on the image's left, but a mirrored parse has it on the other side)
        along = parse is not None and int(np.isin(parse[:, strip], (Cihp.LEFT_ARM, Cihp.RIGHT_ARM)).sum(0).max(
            initial=0)) >= t.min_edge_contact * height
        if on_border or along:
            found.append(f"the {side} arm")
    if found:
        return [PreflightFinding("person-cut-off", f"the frame cuts {' and '.join(found)}")]
    return []


def head_cut_by_top_edge(parse: np.ndarray, t: PreflightThresholds) -> bool:
    """The top edge crosses the person below the hair: through the face, neck or body."""
    top = np.asarray(parse)[: max(1, int(t.border_margin * parse.shape[0]))]
    return bool(((top > 0) & ~np.isin(top, (Cihp.HAIR, Cihp.HAT))).any())


def person_view(keypoints: np.ndarray, parse: np.ndarray | None, t: PreflightThresholds) -> list[PreflightFinding]:
    """Side view (shoulders narrow against the torso) or back view (no face at all, or sides reversed).

    "No face" needs the parse: photos cropped at the mouth have no eye or nose keypoints. With the
    parse, the view is not judged when the top edge cuts through the head (`head_cut_by_top_edge`)."""
    present = _present(keypoints)
    if not (present[R_SHOULDER] and present[L_SHOULDER]):
        return []
    torso = _torso_length(keypoints)
    shoulders = keypoints[L_SHOULDER, 0] - keypoints[R_SHOULDER, 0]  # > 0 when facing the camera
    if torso and abs(shoulders) / torso < t.min_shoulder_torso_ratio:
        shown, limit = _against(abs(shoulders) / torso, t.min_shoulder_torso_ratio, ".2f")
        return [PreflightFinding("person-side-view", f"shoulder width is {shown} x the torso "
                                 f"length (< {limit}): the person stands sideways")]
    if parse is not None and head_cut_by_top_edge(parse, t):
        # Without the head in the frame neither a missing face nor the pose's sides say which way
        # the person faces (shop photos cut at the chin read as back views both ways).
        return []
    face_seen = [present[j] and keypoints[j, 2] >= t.min_face_keypoint_confidence for j in (NOSE, R_EYE, L_EYE)]
    # Photos cropped at the mouth have no eyes or nose but still a face in the parse.
    if parse is not None and not any(face_seen) and (parse == Cihp.FACE).mean() < t.min_face_share:
        return [PreflightFinding("person-back-view", "no face (no nose, eye or face pixels): the person shows "
                                 "their back")]
    if shoulders < 0:
        return [PreflightFinding("person-back-view", "the right shoulder is on the image's right: the person "
                                 "faces away (or the photo is mirrored)")]
    return []


def person_sitting(keypoints: np.ndarray, t: PreflightThresholds,
                   image_hw: tuple[int, int] | None = None) -> list[PreflightFinding]:
    """A knee barely below its hip or above it: thighs towards the camera, horizontal, or crossed.

    The higher knee decides: a seated person with crossed legs has one knee well below the hip
    (0.52 torso lengths on a real photo) and the other above it. With `image_hw`, a leg whose hip
    or knee lies on the bottom border is skipped: the pose model puts joints below the frame there
    (a half-body photo's knees, clamped level with its hips)."""
    present = _present(keypoints)
    torso = _torso_length(keypoints)
    bottom = image_hw[0] - 1 - t.border_margin * image_hw[0] if image_hw else np.inf
    drops = [keypoints[knee, 1] - keypoints[hip, 1] for hip, knee in ((R_HIP, R_KNEE), (L_HIP, L_KNEE))
             if present[hip] and present[knee] and max(keypoints[hip, 1], keypoints[knee, 1]) < bottom]
    if not (torso and drops) or min(drops) / torso >= t.min_knee_drop_ratio:
        return []
    drop = min(drops) / torso
    where = f"only {drop:.2f} torso lengths below" if drop >= 0 else f"{-drop:.2f} torso lengths above"
    return [PreflightFinding("person-sitting", f"a knee is {where} its hip (a standing knee is at least "
                             f"{t.min_knee_drop_ratio} below): the person sits or crouches")]


def several_persons(num_persons: int) -> list[PreflightFinding]:
    """More than one person detected (the pose stage counts them)."""
    if num_persons > 1:
        return [PreflightFinding("several-persons", f"{num_persons} people detected: crop the photo to one person")]
    return []


def arms_hide_garment(keypoints: np.ndarray, parse: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """Share of the torso box (between the shoulders, neck to hips) that the arms cover."""
    present = _present(keypoints)
    if not all(present[j] for j in (R_SHOULDER, L_SHOULDER, R_HIP, L_HIP)):
        return []
    xs = keypoints[[R_SHOULDER, L_SHOULDER, R_HIP, L_HIP], 0]
    y0 = int(max(0, min(keypoints[R_SHOULDER, 1], keypoints[L_SHOULDER, 1])))
    y1 = int(min(parse.shape[0], max(keypoints[R_HIP, 1], keypoints[L_HIP, 1])))
    x0, x1 = int(max(0, xs.min())), int(min(parse.shape[1], xs.max()))
    if y1 <= y0 or x1 <= x0:
        return []
    box = parse[y0:y1, x0:x1]
    arms = np.isin(box, (Cihp.LEFT_ARM, Cihp.RIGHT_ARM, Cihp.GLOVE)).sum()
    garment = np.isin(box, (Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.SKIRT)).sum()
    share = arms / max(arms + garment, 1)
    if share > t.max_arm_torso_share:
        shown, limit = _against(share, t.max_arm_torso_share, ".0%")
        return [PreflightFinding("arms-hide-garment", f"arms cover {shown} of the torso "
                                 f"(> {limit}): the garment is partly hidden")]
    return []


def person_underexposed(image_rgb: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """The photo's highlights stay dark: a try-on trained or run on it learns or shows a dark person."""
    reached = bright_end(image_rgb)
    if reached >= t.min_bright_end:
        return []
    shown, limit = _against(reached, t.min_bright_end, ".0f")
    gain = exposure_gain(reached=reached)
    read = f"; pose and parse read it {gain:.1f}x brighter" if gain > 1.0 else ""
    return [PreflightFinding("person-underexposed", f"its brightest pixels reach {shown} of 255 (< {limit}): "
                             f"the photo is dark{read}, the try-on model sees it as it is")]


def person_blurry(image_rgb: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """Variance of the Laplacian of the greyscale photo; low = blurred. Read on the photo brightened
    when it is underexposed: the variance falls with the square of the exposure, so a sharp photo
    taken in dim light read as blurred (that photo gets `person-underexposed` instead)."""
    grey = cv2.cvtColor(brightened(np.asarray(image_rgb)[..., :3]), cv2.COLOR_RGB2GRAY)
    variance = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    if variance < t.min_laplacian_variance:
        shown, limit = _against(variance, t.min_laplacian_variance, ".1f")
        return [PreflightFinding("blurry", f"variance of Laplacian {shown} < {limit}: the photo is blurred "
                                 "(an upscaled small photo, or out of focus); the try-on learns or shows it blurred")]
    return []


def person_greyscale(image_rgb: np.ndarray, t: PreflightThresholds, percentile: float = 99.0) -> list[PreflightFinding]:
    """A black-and-white photo: the geometric parser's skin, hair and garment models read colour.

    `percentile` of the pixels' colour spread is judged: 99 on a photo framed around its person; a
    whole photo where the person is small takes 99.9 (a grey backdrop is most of it)."""
    sample = np.asarray(image_rgb)[::4, ::4].astype(np.int16)  # every 16th pixel: the same percentile
    spread = float(np.percentile(sample.max(axis=2) - sample.min(axis=2), percentile))
    if spread > t.max_grey_spread:
        return []
    return [PreflightFinding("person-greyscale", f"{percentile:g} % of its pixels have R, G and B within {spread:.0f} levels "
                             f"(<= {t.max_grey_spread:.0f}): a black-and-white photo; the embedded parser tells skin "
                             "from clothes by colour, so check the parse (or use a real parser, --parser schp-atr)")]


def person_checks(keypoints: np.ndarray, parse: np.ndarray | None, image_hw: tuple[int, int], *,
                  scale: float = 1.0, num_persons: int = 1, person_mask: np.ndarray | None = None,
                  image_rgb: np.ndarray | None = None, photo_box: tuple[float, float, float, float] | None = None,
                  thresholds: PreflightThresholds | None = None) -> list[PreflightFinding]:
    """Every person check on one photo's stage outputs.

    Args:
        keypoints: BODY_25 `(25, 3)` in image pixels.
        parse: CIHP-20 `(H, W)` or None (then the checks that need it are skipped or use `person_mask`).
        image_hw: the image's size.
        scale: output pixels per source pixel (the photo's `FrameTransform.scale_y`; 1 when unknown).
        num_persons: people the pose stage counted.
        person_mask: silhouette for the size check when there is no parse.
        image_rgb: the photo, for the exposure and colour checks (skipped when None).
        photo_box: where the photo lies in the image when refocus padded it (see `person_cut_off`).
    """
    t = thresholds or PreflightThresholds()
    keypoints = np.asarray(keypoints, dtype=np.float64)
    found = []
    person = np.asarray(parse) > 0 if parse is not None else person_mask
    if person is not None:
        found += person_too_small(person, scale, t)
    found += person_cut_off(keypoints, parse, image_hw, t, photo_box) + person_view(keypoints, parse, t)
    found += person_sitting(keypoints, t, image_hw) + several_persons(num_persons)
    if parse is not None:
        found += arms_hide_garment(keypoints, np.asarray(parse), t)
    if image_rgb is not None:
        found += person_underexposed(image_rgb, t) + person_greyscale(image_rgb, t) + person_blurry(image_rgb, t)
    return found


# ----------------------------------------------------------------------------------------- garment


def _border_band(rgb: np.ndarray, px: int = 8) -> np.ndarray:
    return np.concatenate([rgb[:px].reshape(-1, 3), rgb[-px:].reshape(-1, 3), rgb[:, :px].reshape(-1, 3),
                           rgb[:, -px:].reshape(-1, 3)]).astype(np.float64)


def cloth_background(rgb: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """The border band must be one light colour (studio white/grey)."""
    band = _border_band(np.asarray(rgb)[..., :3])
    spread, lightness = float(band.std(0).max()), float(band.mean())
    if spread > t.max_border_std:
        shown, limit = _against(spread, t.max_border_std, ".1f")
        return [PreflightFinding("cloth-background", f"the border varies (std {shown} > {limit}): "
                                 "not a plain background")]
    if lightness < t.min_border_lightness:
        shown, limit = _against(lightness, t.min_border_lightness, ".0f")
        return [PreflightFinding("cloth-background", f"the background is dark (grey level {shown} < "
                                 f"{limit}): not a light background")]
    return []


def garment_not_centred(mask: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """Centre of the garment mask's box against the image centre."""
    ys, xs = np.nonzero(mask)
    if not xs.size:
        return []
    height, width = mask.shape
    dx = ((xs.min() + xs.max()) / 2 - (width - 1) / 2) / width
    dy = ((ys.min() + ys.max()) / 2 - (height - 1) / 2) / height
    if max(abs(dx), abs(dy)) > t.max_centre_offset:
        _, limit = _against(max(abs(dx), abs(dy)), t.max_centre_offset, ".0%")
        decimals = f".{len(limit.rstrip('%').partition('.')[2])}%"  # the offsets as precise as the limit
        return [PreflightFinding("cloth-not-centred", f"the garment's centre is off by {dx:+{decimals}} of the "
                                 f"width and {dy:+{decimals}} of the height (> {limit})")]
    return []


def garment_hanger(rgb: np.ndarray, mask: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """A hanger's hook above the garment: left out of the mask (`_hook_outside_mask`) or inside it (`_hook_in_mask`)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    return _hook_outside_mask(rgb, mask, t) or _hook_in_mask(mask, t)


def mask_runs_off_frame(mask: np.ndarray) -> bool:
    """The mask reaches a side or the bottom of the shot (a hanger's hook may run off the top).

    A garment shot on a plain background keeps its garment inside the frame; a mask that runs off it
    has taken in background (a floor's tiles, a bed sheet, a wall's shadows), so its shape says
    nothing about the garment: the shape checks (hook inside the mask, folded) do not read it.
    """
    return bool(mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def _hook_outside_mask(rgb: np.ndarray, mask: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """A thin foreground part (not background-coloured) standing above the mask's top edge."""
    ys, xs = np.nonzero(mask)
    rgb = np.ascontiguousarray(np.asarray(rgb)[..., :3], dtype=np.uint8)
    background = np.median(_border_band(rgb), 0)
    # Foreground: a channel more than 40 from the background's, i.e. outside the whole numbers within 40
    # of it (one OpenCV pass; the same pixels as |rgb - background| > 40 in floats, ~60x faster).
    near = cv2.inRange(rgb, np.clip(np.ceil(background - 40), 0, 255), np.clip(np.floor(background + 40), 0, 255))
    foreground = (near == 0) | mask
    count, components = cv2.connectedComponents(foreground.astype(np.uint8), connectivity=8)
    if count <= 1:
        return []
    garment = np.bincount(components[ys, xs], minlength=count)[1:].argmax() + 1
    column = (components == garment)
    rows = np.flatnonzero(column.any(1))
    top, garment_width = rows[0], xs.max() - xs.min() + 1
    # Rows of the garment's component above the mask's top: the part the mask does not call garment.
    above = column[top: ys.min()]
    if above.shape[0] < t.min_hanger_height_share * mask.shape[0]:
        return []
    widest = int(above.sum(1).max()) if above.size else 0
    if widest <= t.max_hanger_width_share * garment_width:
        return [PreflightFinding("cloth-hanger", f"a thin part {above.shape[0]} px tall and at most {widest} px wide "
                                 "stands above the garment: a hanger or hook is visible")]
    return []


def garment_body(mask: np.ndarray, t: PreflightThresholds) -> np.ndarray:
    """`(H, W)` bool: the largest piece of the mask opened by a disc of `hook_opening_share` x the garment's
    width, i.e. the garment without its thin parts (hooks, straps, ties); all False for an empty mask."""
    xs = np.flatnonzero(mask.any(0))
    if not xs.size:
        return np.zeros(mask.shape, bool)
    size = max(5, round(t.hook_opening_share * (xs[-1] - xs[0] + 1))) | 1
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    count, components, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    return components == 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())


def _hook_in_mask(mask: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """A masker that keeps the hook: one thin part of the mask rising above the garment's body, at its middle.

    The body is `garment_body` (the mask without parts thinner than `hook_opening_share` x its width). A hook is the one thin part whose top rows are narrow, near the body's middle
    (`max_hook_centre_offset`) and at least `min_hanger_height_share` of the image above the body; a
    camisole's straps rise too, but as a pair, off the middle. Not read when the mask runs off the frame.
    """
    if mask_runs_off_frame(mask):
        return []
    body = garment_body(mask, t)
    if not body.any():
        return []
    body_rows, body_cols = np.flatnonzero(body.any(1)), np.flatnonzero(body.any(0))
    body_top, body_width = body_rows[0], body_cols[-1] - body_cols[0] + 1
    body_middle = (body_cols[0] + body_cols[-1]) / 2
    touching_body = cv2.dilate(body.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rise = max(1, round(t.min_hanger_height_share * mask.shape[0]))
    count, parts, stats, _ = cv2.connectedComponentsWithStats((mask & ~body).astype(np.uint8), connectivity=8)
    hooks = []
    for label in range(1, count):
        top = stats[label, cv2.CC_STAT_TOP]
        part = parts == label
        if body_top - top < rise or not (part & touching_body).any():
            continue
        head = part[top: top + rise]
        offset = abs(np.nonzero(head)[1].mean() - body_middle) / body_width
        if head.sum(1).max() <= t.max_hanger_width_share * body_width and offset <= t.max_hook_centre_offset:
            hooks.append((body_top - top, int(head.sum(1).max())))
    if len(hooks) != 1:
        return []
    height, width = hooks[0]
    return [PreflightFinding("cloth-hanger", f"a thin part of the mask rises {height} px above the garment at its "
                             f"middle, at most {width} px wide at its top: a hanger's hook is visible")]


def garment_folded(mask: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """Folded shots are compact blocks: box about square or wide, the silhouette nearly convex and filling its box.

    Not read when the mask runs off the frame (`mask_runs_off_frame`).
    """
    mask = np.asarray(mask, dtype=bool)
    ys, xs = np.nonzero(mask)
    if xs.size < 100 or mask_runs_off_frame(mask):
        return []
    aspect = (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    solidity = xs.size / max(cv2.contourArea(hull), 1.0)
    fill = xs.size / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))
    if (aspect <= t.max_folded_aspect and solidity >= t.min_folded_solidity and fill >= t.min_folded_fill
            and _leg_split_depth(mask) < t.min_leg_split_depth):
        return [PreflightFinding("cloth-folded", f"the silhouette is a compact block (height/width {aspect:.2f}, "
                                 f"solidity {solidity:.2f}): the garment looks folded")]
    return []


def _leg_split_depth(mask: np.ndarray) -> float:
    """Depth of the deepest notch in the bottom half of the largest outline, near its middle, as a share of the
    box height: the split between a pair of shorts' legs (a flat-lay pair of shorts is as square and convex as a
    folded garment otherwise)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea)
    x, y, width, height = cv2.boundingRect(outline)
    if len(outline) < 4:
        return 0.0
    try:
        defects = cv2.convexityDefects(outline, cv2.convexHull(outline, returnPoints=False))
    except cv2.error:  # OpenCV refuses some self-touching outlines ("hull indices are not monotonous")
        return 0.0
    if defects is None:
        return 0.0
    deepest = 0.0
    for _start, _end, farthest, depth in defects.reshape(-1, 4):
        px, py = outline[farthest][0]
        if py > y + height / 2 and abs(px - (x + width / 2)) < 0.15 * width:
            deepest = max(deepest, depth / 256.0 / height)
    return deepest


def garment_low_resolution(source_hw: tuple[int, int], t: PreflightThresholds) -> list[PreflightFinding]:
    """Shorter side of the garment shot as delivered."""
    if min(source_hw) < t.min_garment_side_px:
        return [PreflightFinding("cloth-low-resolution", f"the shot is {source_hw[1]}x{source_hw[0]} px "
                                 f"(shorter side < {t.min_garment_side_px}): it will be upscaled")]
    return []


def garment_shows_person(rgb: np.ndarray, t: PreflightThresholds) -> list[PreflightFinding]:
    """A person in the garment shot, by the crawler's own garment-shot test (pose, face, hands, skin cut by
    the frame: `crawlers.garment_shot`): the try-on would warp a whole person as the garment. The one
    garment check that runs models (about 40 ms a shot at 256 px), so `validate` leaves it to `prep`."""
    from PIL import Image
    from vtonkit.crawlers.garment_shot import analyse_shot

    analysis = analyse_shot(Image.fromarray(np.ascontiguousarray(rgb)))
    if analysis.person_strength < t.min_garment_person_cue:
        return []
    return [PreflightFinding("cloth-shows-person", f"a person is in the shot ({analysis.person_cue}, strength "
                             f"{analysis.person_strength:.2f} >= {t.min_garment_person_cue}): an on-model photo, or a "
                             "person photo given as a garment? The try-on needs the garment alone")]


def garment_checks(rgb: np.ndarray, mask: np.ndarray, *, source_hw: tuple[int, int] | None = None,
                   thresholds: PreflightThresholds | None = None) -> list[PreflightFinding]:
    """Every garment check on one shot (`rgb` and `mask` at the same size; `source_hw` as delivered)."""
    t = thresholds or PreflightThresholds()
    mask = np.asarray(mask, dtype=bool)
    found = cloth_background(rgb, t) + garment_not_centred(mask, t) + garment_hanger(rgb, mask, t)
    found += garment_folded(mask, t) + garment_shows_person(rgb, t)
    if source_hw is not None:
        found += garment_low_resolution(source_hw, t)
    return found
