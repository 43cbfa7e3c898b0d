"""Embedded human parser: person mask + pose geometry + per-image colour models -> CIHP-20.

No parsing network ships inside any pip wheel usable here, so this backend combines what does:
1. Person silhouette: mediapipe pose segmentation (bundled full model), snapped to the photo's
   edges with a guided filter (`vtonkit.preprocess.person_mask`). A mask from the pose stage can
   be passed in instead (`person_mask=`) to skip that model.
2. Face: mediapipe face mesh's face oval (bundled), else an ellipse from the head keypoints;
   a head cropped by the top edge (Dress Code) gets its visible skin as face.
3. Skin: a Lab histogram of the face's own skin against histograms of the garments sampled at
   the chest and thighs (skin-coloured samples dropped, bare skin inside a sample ignored), with a
   loose Lab box around the face colour; only skin pieces reaching the chin, forearms/hands or
   shins are kept (a beige jacket does not become skin).
4. Hair: everything non-face around and above the face; below the chin, hair vs skin vs top by
   colour plus a layout prior (the neck is a column from the chin to the neck joint, hair hangs
   beside it, the top starts at the shoulders' outline, smooth skin-coloured pixels lean to skin);
   ears/forehead skin next to the oval go to face. A head cut by the top edge: non-skin blobs
   above the neck that run off the edge.
   Along each arm, a local two-Gaussian colour model adds the shaded skin the face-learned model
   missed (`vtonkit.preprocess.arm_skin`).
5. Garments: colour histograms of the chest (upper garment) and thighs (lower garment) with a
   prior at the waist (the strongest horizontal edge across the hips, else just above the hip
   joints); the lower garment is a skirt when it stays one piece between the legs down to the
   knees, else pants; one such garment of the top's colour is a dress. Shoes: clothes at the feet.
6. Sides: each arm/leg/shoe pixel gets the side of the nearer limb of the skeleton (CIHP left =
   the person's left = BODY_25 5/6/7, the image right for a frontal photo).
7. Clean-up: a majority filter, then upsampling to full resolution inside the full-resolution
   silhouette.

Work happens at `work_size` (long side) for speed; see `docs/parser.md` for measured quality.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.arm_skin import arm_skin, fill_holes
from vtonkit.preprocess.body_frame import (
    L_ANKLE,
    L_HIP,
    L_KNEE,
    NECK,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    BodyFrame,
    joint_present,
)
from vtonkit.preprocess.colour_model import ColourModel, lab_bins
from vtonkit.preprocess.exposure import brightened
from vtonkit.preprocess.neckline_skin import neckline_skin
from vtonkit.preprocess.person_mask import main_person, refine_probability

from vtonkit.core.mediapipe_import import import_mediapipe
from vtonkit.core.errors import NoPersonError

logger = logging.getLogger(__name__)

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
MIN_PERSON_FRACTION = 0.002
# Lightness std (5x5, working resolution) below which a skin-coloured pixel counts as smooth skin
# (bare shoulders: 4-6; hair beside the face: a quarter of its pixels below 14), and the log-odds it
# adds to skin there in the long-hair search.
SMOOTH_SKIN_STD = 7.0
SMOOTH_SKIN_BONUS = 2.5
# The converse in the neck column: the column's skin prior fades by up to TEXTURED_COLUMN_PENALTY
# log-odds as the lightness std rises from TEXTURED_STD over TEXTURE_RAMP (hair hanging beside the
# neck of a tilted head: median std 18-20; the neck: 5-9, its shadow edges reach 17).
TEXTURED_STD = 12.0
TEXTURE_RAMP = 10.0
TEXTURED_COLUMN_PENALTY = 3.0
# Body skin must keep at least this fraction of the face's chroma (Lab sqrt(a^2 + b^2)): the shaded
# side of a white top under warm light passes the skin colour model (pale skin and grey-pink share
# hue and lightness) but its chroma is 3-5 against 18-28 for the skin it imitates. Only applied when
# the face has MIN_FACE_CHROMA or more (not on greyscale photos or under a colour cast that greys
# the face too).
SKIN_CHROMA_FRACTION = 0.4
MIN_FACE_CHROMA = 10.0
# Gaps in long hair (shoulder widths) closed over: from the tuning set (holes and notches in hair
# over a black top); hair IoU there 0.733 -> 0.786 on vitonhd/train/00002_00.
HAIR_GAP = 0.02
# Hair of a head cropped by the frame is grown down (long hair) only from a seed of at least this
# many squared shoulder widths: long hair cut by the edge is that wide (0.05-0.13 on cropped
# tuning photos); a bun, an earring or a strand (0.005-0.03) gives a colour model that grows into
# the neck and shoulders.
CUT_HAIR_MIN_AREA = 0.04
# Width of a whole face in shoulder widths (median of the tuning photos: 0.44-0.59).
WHOLE_FACE_WIDTH = 0.48
# Skin this far from the nearer arm's skeleton (shoulder widths) may be neck/torso skin.
TORSO_ARM_CLEARANCE = 0.132
# The waist by row statistics (`row_change_waist`): units in which the chest and thigh samples'
# mean lightness (Lab L, 0-255) and texture (local std of L) are compared; the samples must differ
# by ROW_CHANGE_MIN_SEPARATION units in one of them, and that share of the band's rows must agree
# with one change from top-like to bottom-like.
ROW_LIGHTNESS_UNIT = 20.0
ROW_TEXTURE_UNIT = 6.0
ROW_CHANGE_MIN_SEPARATION = 1.5
ROW_CHANGE_AGREEMENT = 0.85


class GeometricParser:
    """Pose-and-colour human parser (registry name "geometric", the default HumanParser).

    Args:
        work_size: long side of the working resolution (labels are upsampled inside the
            full-resolution silhouette at the end).
        use_face_mesh: locate the face with mediapipe face mesh (else keypoints only).

    Instances hold mediapipe graphs: not thread-safe, use one per worker.
    """

    name = "geometric"
    version = "11"  # 2: per-arm skin model, cropped-head hair, shoulder-outline top line; 3: smooth skin beside the neck is not hair; 4: textured pixels in the neck column lean to hair; 5: body skin keeps a share of the face chroma; 6: a lower garment cut by the frame reaches the knees; 7: neckline skin by local Gaussians; 8: holes and gaps in long hair are hair; 9: an underexposed photo is brightened first; 10: the waist of a printed bottom by row statistics; 11: long hair hanging from a head cropped by the frame
    abilities = frozenset({"person_mask", "close"})  # see stages.PARSER_ABILITIES, BACKEND_ABILITIES

    def __init__(self, *, work_size: int = 512, use_face_mesh: bool = True) -> None:
        try:
            mp = import_mediapipe()
        except ImportError as exc:  # pragma: no cover - mediapipe is a core dependency
            raise ImportError("the 'geometric' parser needs `pip install mediapipe==0.10.21`") from exc
        self.work_size = int(work_size)
        # Built on first need: prep passes the pose stage's silhouette, so there the parser never
        # segments (a whole pose graph less to load and set up in every worker).
        self._segmenter = None  # the person's silhouette when no person_mask is given
        self._selfie = None  # when the pose model found nobody
        self._face_mesh = (mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=3,
                                                           min_detection_confidence=0.3)
                           if use_face_mesh else None)

    # -- public API --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the MediaPipe graphs built so far; the parser is unusable after."""
        for graph in (self._face_mesh, self._segmenter, self._selfie):
            if graph is not None:
                graph.close()

    def parse(self, image_rgb: np.ndarray, keypoints: np.ndarray, *,
              person_mask: np.ndarray | None = None) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB + BODY_25 `(25, 3)` pixels -> `(H, W)` uint8 CIHP-20 label map.

        Args:
            person_mask: optional `(H, W)` bool or float silhouette (e.g. `PoseResult.person_mask`);
                when None the parser segments the person itself.
        Raises:
            ValueError: malformed arrays. NoPersonError: no keypoints or no silhouette.
        """
        image_rgb = np.asarray(image_rgb)
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
        if keypoints.shape != (25, 3):
            raise ValueError(f"keypoints must be BODY_25 (25, 3), got {keypoints.shape}")
        present = [joint_present(keypoints, i) for i in range(25)]
        if sum(present) < 3:
            raise NoPersonError(None, f"no person to parse: only {sum(present)} body keypoints present")
        height, width = image_rgb.shape[:2]
        # The colour thresholds are in units of well-exposed photos (vtonkit.preprocess.exposure).
        image_rgb = np.ascontiguousarray(brightened(image_rgb))

        probability = self._person_probability(image_rgb, person_mask)
        silhouette = main_person(refine_probability(image_rgb, probability) > 0.5, keypoints)
        if silhouette.sum() < MIN_PERSON_FRACTION * height * width:
            raise NoPersonError(None, "no person to parse: the person silhouette is empty")

        scale = min(1.0, self.work_size / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else image_rgb
        small_mask = cv2.resize(silhouette.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        small_keypoints = keypoints.copy()
        small_keypoints[:, :2] *= scale
        face_polygon = self._face_polygon(image_rgb, keypoints)
        if face_polygon is not None:
            face_polygon = face_polygon * scale
        labels = label_person(small, small_mask, BodyFrame(small_keypoints, small.shape[:2]), face_polygon)
        return upsample_labels(labels, silhouette)

    # -- models --------------------------------------------------------------------------------------
    def _person_probability(self, image_rgb: np.ndarray, person_mask: np.ndarray | None) -> np.ndarray:
        if person_mask is not None:
            person_mask = np.asarray(person_mask)
            if person_mask.shape != image_rgb.shape[:2]:
                raise ValueError(f"person_mask {person_mask.shape} does not match the image "
                                 f"{image_rgb.shape[:2]}")
            return person_mask.astype(np.float32)
        mp = import_mediapipe()
        if self._segmenter is None:
            self._segmenter = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                                     enable_segmentation=True, min_detection_confidence=0.3)
        result = self._segmenter.process(image_rgb)
        if result.segmentation_mask is not None:
            return np.asarray(result.segmentation_mask, np.float32)
        # The pose model found nobody to follow: the selfie model still outlines people.
        if self._selfie is None:
            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        return np.asarray(self._selfie.process(image_rgb).segmentation_mask, np.float32)

    def _face_polygon(self, image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray | None:
        """`(36, 2)` float face oval in pixels of the face nearest the nose/head keypoints, or None."""
        if self._face_mesh is None:
            return None
        result = self._face_mesh.process(image_rgb)
        if not result.multi_face_landmarks:
            return None
        height, width = image_rgb.shape[:2]
        head = [keypoints[i, :2] for i in (0, 15, 16, 17, 18) if joint_present(keypoints, i)]
        best, best_distance = None, np.inf
        for face in result.multi_face_landmarks:
            oval = np.array([[face.landmark[i].x * width, face.landmark[i].y * height] for i in FACE_OVAL])
            distance = float(np.linalg.norm(oval.mean(axis=0) - np.mean(head, axis=0))) if head else 0.0
            if distance < best_distance:
                best, best_distance = oval, distance
        if best is not None and head:
            size = float(np.ptp(best[:, 0]))
            if best_distance > 1.5 * max(size, 1.0):
                return None  # someone else's face
        return best


# -- labelling (pure functions on the working-resolution grid) -----------------------------------------
def face_region(shape: tuple[int, int], frame: BodyFrame, face_polygon: np.ndarray | None) -> np.ndarray:
    """`(H, W)` bool face area: the mesh oval, or an ellipse around the head keypoints."""
    mask = np.zeros(shape, np.uint8)
    if face_polygon is not None:
        cv2.fillPoly(mask, [np.round(face_polygon).astype(np.int32)], 1)
        return mask.astype(bool)
    head = frame.head_points()
    if not head:
        return mask.astype(bool)
    centre = np.mean(head, axis=0)
    if frame.has(17, 18):
        half_width = 0.5 * float(np.linalg.norm(frame.keypoints[17, :2] - frame.keypoints[18, :2]))
    else:
        half_width = 0.19 * frame.scale
    half_width = float(np.clip(half_width, 0.12 * frame.scale, 0.3 * frame.scale))
    centre = centre + np.array([0.0, 0.25 * half_width])
    cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))),
                (int(round(half_width)), int(round(1.3 * half_width))), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def skin_mask(lab: np.ndarray, cells: np.ndarray, face: np.ndarray, body: np.ndarray,
              garment_samples: list[np.ndarray]) -> np.ndarray:
    """`(H, W)` bool skin inside `body`, from the face's own skin colour.

    The skin histogram is learned from the face (its median lightness band, so eyebrows, eyes and
    hair over the face stay out); each garment sample region (chest, thighs) gives a competing
    histogram. A body pixel is skin when the skin model explains its colour better than every
    garment model and its chroma lies near the face's (a loose Lab box, against coincidences).
    """
    face_pixels = lab[cv2.erode(face.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)]
    if len(face_pixels) < 30:
        face_pixels = lab[face]
    if len(face_pixels) < 30:
        return np.zeros(face.shape, bool)
    median = np.median(face_pixels, axis=0).astype(np.float32)
    spread = np.median(np.abs(face_pixels - median), axis=0) * 1.4826 + 1.0
    chroma = (np.abs(lab[..., 1:] - median[1:]) / np.maximum(2.5 * spread[1:], 6.0)).max(axis=-1)
    lightness_ok = lab[..., 0] >= median[0] - 3.5 * spread[0] - 35
    in_box = body & (chroma <= 1.0) & lightness_ok
    face_core = face & (np.abs(lab[..., 0] - median[0]) <= 2.0 * spread[0] + 10)
    skin_score = ColourModel.fit(cells[face_core]).log_likelihood(cells)
    garment_score = np.full(face.shape, -np.inf, np.float32)
    for sample in garment_samples:
        # A sample region of the face's own colour (bare thighs, a V-neck) is no garment model;
        # a beige or khaki garment is close to it on average but rarely inside the skin box.
        if sample.sum() < 50:
            continue
        skin_like = _delta_e(np.median(lab[sample], axis=0), median) < 14.0 and in_box[sample].mean() > 0.3
        if skin_like:
            continue
        # Bare skin inside the sample (thighs below shorts) must not teach the garment model,
        # unless the whole sample is in the skin box (dark trousers on dark skin).
        garment = sample & ~in_box if in_box[sample].mean() < 0.9 else sample
        if garment.sum() >= 50:
            garment_score = np.maximum(garment_score, ColourModel.fit(cells[garment]).log_likelihood(cells))
    if np.isneginf(garment_score).all():
        return in_box
    return body & (skin_score > garment_score) & (chroma <= 1.6) & lightness_ok


def greyer_than_face(lab: np.ndarray, face: np.ndarray) -> np.ndarray:
    """`(H, W)` bool: pixels whose Lab chroma is below SKIN_CHROMA_FRACTION of the face's median
    chroma (`lab`: OpenCV 8-bit Lab, a and b offset by 128); all False when the face is missing or
    itself nearly grey."""
    chroma = np.hypot(lab[..., 1] - 128.0, lab[..., 2] - 128.0)
    if not face.any():
        return np.zeros(face.shape, bool)
    face_chroma = float(np.median(chroma[face]))
    if face_chroma < MIN_FACE_CHROMA:
        return np.zeros(face.shape, bool)
    return chroma < SKIN_CHROMA_FRACTION * face_chroma


def anchored_skin(skin: np.ndarray, frame: BodyFrame, face_cx: float, face_bottom: float,
                  has_face: bool) -> np.ndarray:
    """Keep the skin-coloured pieces that connect to where skin shows: neck, hands, lower legs.

    A beige jacket or khaki trousers can match the face colour; such patches float inside the
    garment, while real skin (neck, arms, legs) reaches the neck under the face, a hand or an ankle.
    """
    if not skin.any():
        return skin
    s = frame.scale
    anchors = np.zeros(skin.shape, np.uint8)
    radius = max(2, int(0.1 * s))

    def disc(point: np.ndarray | None, r: int = radius) -> None:
        if point is not None:
            cv2.circle(anchors, (int(round(point[0])), int(round(point[1]))), r, 1, -1)

    neck = frame.point(NECK)
    if has_face:
        disc(np.array([face_cx, face_bottom + 0.06 * s]))
    elif neck is not None:
        disc(neck - np.array([0.0, 0.12 * s]))
    for side in ("right", "left"):
        arm = frame.arm(side)
        if len(arm) >= 3:
            # The forearm and hand: skin whenever the sleeve stops above the wrist.
            a, b = arm[-3], arm[-1]
            start = a + 0.5 * (arm[-2] - a)
            cv2.line(anchors, tuple(int(round(v)) for v in start), tuple(int(round(v)) for v in b), 1,
                     max(1, int(0.12 * s)))
            disc(arm[-1])
    for ankle, knee in ((R_ANKLE, R_KNEE), (L_ANKLE, L_KNEE)):
        a, k = frame.point(ankle), frame.point(knee)
        disc(a, max(2, int(0.06 * s)))
        if a is not None and k is not None:
            disc(0.5 * (a + k), max(2, int(0.06 * s)))
    opened = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, components = cv2.connectedComponents(opened, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(components[anchors > 0])] = True
    keep[0] = False
    return keep[components]


def local_std(channel: np.ndarray, size: int = 5) -> np.ndarray:
    """`(H, W)` float32 standard deviation of `channel` over a `size` x `size` window."""
    channel = channel.astype(np.float32)
    mean = cv2.blur(channel, (size, size))
    return np.sqrt(np.maximum(cv2.blur(channel * channel, (size, size)) - mean * mean, 0.0))


def _delta_e(a: np.ndarray, b: np.ndarray) -> float:
    """Colour distance of two OpenCV-Lab colours (8-bit scaling: L is 0..255), in CIE units."""
    d = (np.asarray(a, np.float32) - np.asarray(b, np.float32)) * np.array([100 / 255, 1, 1], np.float32)
    return float(np.sqrt((d * d).sum()))


@dataclass
class PersonLayout:
    """Where things are on one person at working resolution: what every labelling step reads.

    Attributes:
        lab: `(h, w, 3)` float32 CIELAB image; cells: its colour-histogram bins (`lab_bins`).
        texture: `(h, w)` float32 lightness std over 5x5 (`local_std`): strands vs smooth skin.
        yy, xx: row / column coordinate grids (broadcastable `(h, 1)` and `(1, w)`).
        s: the skeleton's scale (pixels); face: `(h, w)` bool face region; body: silhouette minus face.
        face_top, face_bottom, face_cx, face_w, face_h: the face box (from the neck joint when no face shows).
        shoulder_y, hip_y: rows of the shoulders and hips (hip_y None when the hips are not visible).
        chest, thighs: `(h, w)` bool garment sample regions; d_leg_r, d_leg_l, d_leg: distances to the legs.
    """

    lab: np.ndarray
    cells: np.ndarray
    texture: np.ndarray
    yy: np.ndarray
    xx: np.ndarray
    s: float
    face: np.ndarray
    body: np.ndarray
    face_top: float
    face_bottom: float
    face_cx: float
    face_w: float
    face_h: float
    shoulder_y: float
    hip_y: float | None
    chest: np.ndarray
    thighs: np.ndarray
    d_leg_r: np.ndarray
    d_leg_l: np.ndarray
    d_leg: np.ndarray


def label_person(image_rgb: np.ndarray, mask: np.ndarray, frame: BodyFrame,
                 face_polygon: np.ndarray | None) -> np.ndarray:
    """Label one person at working resolution: layout, then hair and face, skin parts, shoes, garments.

    Args:
        image_rgb: `(h, w, 3)` uint8. mask: `(h, w)` bool silhouette. frame: skeleton geometry.
        face_polygon: `(N, 2)` face oval in these pixels or None.
    Returns:
        `(h, w)` uint8 CIHP-20.
    """
    labels = np.zeros(mask.shape, np.uint8)
    layout = person_layout(image_rgb, mask, frame, face_polygon)
    hair, face, skin_guess = hair_and_face(layout, mask, frame, face_polygon)
    labels[hair] = Cihp.HAIR
    labels[face & ~hair] = Cihp.FACE
    body = layout.body & ~(hair | face)
    skin_guess = skin_guess & ~greyer_than_face(layout.lab, face & ~hair)
    skin = anchored_skin(skin_guess & body, frame, layout.face_cx, layout.face_bottom, face.any())
    arms = arm_skin(layout.lab, body, skin, frame)
    skin |= arms
    neck_skin_zone = body & neck_zone(layout) & (arm_distance(frame) > TORSO_ARM_CLEARANCE * layout.s)
    smooth = layout.texture < SMOOTH_SKIN_STD
    skin |= neckline_skin(layout.lab, neck_skin_zone, skin, layout.chest & body & ~skin, smooth)
    non_skin = body & ~skin
    d_arm = label_skin(labels, layout, skin, frame, arms)
    shoes = label_shoes(labels, layout, non_skin, frame)
    clothes = non_skin & ~shoes
    upper_label, lower_label = _split_garments(clothes, layout.cells, layout.lab[..., 0], layout.texture, frame,
                                               layout.yy, layout.chest & clothes, layout.thighs & clothes, d_arm)
    labels[clothes] = np.where(upper_label[clothes], upper_label[clothes], lower_label[clothes])
    return majority_filter(labels, radius=2)


def person_layout(image_rgb: np.ndarray, mask: np.ndarray, frame: BodyFrame,
                  face_polygon: np.ndarray | None) -> PersonLayout:
    """Colour spaces, the face box, shoulder and hip rows, and the chest and thigh garment samples."""
    h, w = mask.shape
    lab = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    cells = lab_bins(image_rgb)
    s = frame.scale
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]

    face = face_region((h, w), frame, face_polygon) & mask
    body = mask & ~face

    # Face box (falls back to the neck joint when no face is visible).
    if face.any():
        fys, fxs = np.nonzero(face)
        face_top, face_bottom = float(fys.min()), float(fys.max())
        face_cx, face_w = float(fxs.mean()), float(np.ptp(fxs) + 1)
    else:
        neck = frame.point(NECK)
        face_cx = float(neck[0]) if neck is not None else frame.centre_x()
        face_bottom = float(neck[1] - 0.15 * s) if neck is not None else 0.0
        face_top, face_w = face_bottom - 0.45 * s, 0.35 * s
    face_h = max(face_bottom - face_top, 1.0)
    shoulder_y = frame.shoulder_y()
    if shoulder_y is None:
        shoulder_y = face_bottom + 0.35 * s
    hip_y = frame.hip_y()

    # Garment sample regions: chest (below the neckline, inside the torso) and thighs.
    torso_inner = frame.inside_torso(0.3)
    chest_top = max(shoulder_y + 0.3 * s, face_bottom + 0.2 * s)
    chest_bottom = hip_y - 0.25 * s if hip_y is not None else chest_top + 0.8 * s
    chest = body & torso_inner & (yy > chest_top) & (yy < max(chest_bottom, chest_top + 0.2 * s))
    d_leg_r = frame.distance_to("leg_r", frame.leg("right"))
    d_leg_l = frame.distance_to("leg_l", frame.leg("left"))
    d_leg = np.minimum(d_leg_r, d_leg_l)
    thighs = np.zeros((h, w), bool)
    if hip_y is not None:
        knee_y = frame.knee_y()
        thigh_end = knee_y if knee_y is not None else hip_y + 0.9 * s
        thighs = body & (yy > hip_y + 0.15 * (thigh_end - hip_y)) & (yy < thigh_end) & (d_leg < 0.12 * s)
    return PersonLayout(lab=lab, cells=cells, texture=local_std(lab[..., 0]), yy=yy, xx=xx, s=s, face=face,
                        body=body, face_top=face_top, face_bottom=face_bottom, face_cx=face_cx, face_w=face_w, face_h=face_h,
                        shoulder_y=shoulder_y, hip_y=hip_y, chest=chest, thighs=thighs, d_leg_r=d_leg_r,
                        d_leg_l=d_leg_l, d_leg=d_leg)


def hair_and_face(layout: PersonLayout, mask: np.ndarray, frame: BodyFrame,
                  face_polygon: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hair, face, skin guess) `(h, w)` bool: hair around and above the face, long hair by colour and
    layout, bangs over the face, ears; the skin-colour guess of the whole body."""
    lab, cells, yy, xx, s = layout.lab, layout.cells, layout.yy, layout.xx, layout.s
    face, body, chest, thighs = layout.face.copy(), layout.body, layout.chest, layout.thighs
    face_top, face_bottom, face_cx, face_w, face_h = (layout.face_top, layout.face_bottom, layout.face_cx,
                                                      layout.face_w, layout.face_h)
    shoulder_y = layout.shoulder_y
    # -- hair: everything non-face around and above the face; long hair by colour -----------------
    head_zone = (yy < face_bottom - 0.3 * face_h) & (np.abs(xx - face_cx) < 1.1 * face_w)
    hair = body & head_zone
    # A face cut by the top edge shows its narrower lower part: long hair may hang as far out as
    # beside a whole face.
    zone_w = max(face_w, WHOLE_FACE_WIDTH * s) if face_top <= 1 else face_w
    long_zone = ((yy >= face_bottom - 0.3 * face_h) & (yy < shoulder_y + 1.2 * s)
                 & (np.abs(xx - face_cx) < 0.9 * zone_w + 0.1 * s) & body & ~hair)
    hair_core = hair & (yy < face_top + 0.3 * face_h)
    # Head cropped by the top edge (Dress Code): no face mesh, and the head joints (mostly) on
    # the edge (OpenPose writes them at y = 0, mediapipe clamps them there).
    head_ys = [p[1] for p in frame.head_points()]
    head_cut_off = face_polygon is None and (not head_ys or np.mean(np.array(head_ys) <= 2) >= 0.5)
    skin_source = face
    if not face.any() and frame.point(NECK) is not None:
        # No face in view: learn skin from the throat just above the neck joint.
        neck = frame.point(NECK)
        skin_source = mask & (yy < neck[1] - 0.05 * s) & (np.abs(xx - neck[0]) < 0.25 * s)
    skin_guess = skin_mask(lab, cells, skin_source, body, [chest, thighs])
    if head_cut_off:
        # Head cropped by the frame (Dress Code): what shows above the neck is chin and jaw skin,
        # with hair only where the colour is not skin; no long-hair search.
        face |= hair & skin_guess
        hair &= ~skin_guess
        neck = frame.point(NECK)
        if neck is not None:
            # The ellipse from head joints clamped to the edge says little: the head is what the
            # silhouette holds above the neck joint, around it.
            head = body & (yy < neck[1] - 0.3 * s) & (np.abs(xx - neck[0]) < 0.4 * s)
            # Opened: the silhouette's rim and the shadow line under the jaw are thin, hair is not.
            size = 2 * max(1, round(0.025 * s)) + 1
            hair |= cv2.morphologyEx((head & ~skin_guess).astype(np.uint8), cv2.MORPH_OPEN,
                                     np.ones((size, size), np.uint8)) > 0
            # The hair of a cropped head runs off the top edge; shadows under the jaw do not.
            count, components = cv2.connectedComponents(hair.astype(np.uint8), connectivity=8)
            at_top = np.zeros(count, bool)
            at_top[np.unique(components[:2])] = True
            at_top[0] = False
            hair = at_top[components]
            if hair.sum() >= CUT_HAIR_MIN_AREA * s ** 2:
                # Long hair hangs from the cropped head over the shoulders and the top, as below
                # a whole head; the neck column starts at the top edge above the neck joint.
                cut_zone = (body & ~hair & (yy < shoulder_y + 1.2 * s)
                            & (np.abs(xx - neck[0]) < 0.9 * zone_w + 0.1 * s))
                hair = grow_long_hair(layout, frame, hair, hair, face, skin_guess, cut_zone,
                                      face_cx, 0.0, face_w)[0]
    elif hair_core.sum() >= 30:
        hair, hair_score, face_score, hairy = grow_long_hair(layout, frame, hair, hair_core, face, skin_guess,
                                                             long_zone, face_cx, face_bottom, face_w)
        # Bangs and strands over the face: dark, hair-coloured pixels in the oval's upper half.
        face_l = np.median(lab[face][:, 0]) if face.any() else 0.0
        bangs = face & hairy & (lab[..., 0] < face_l - 20) & (yy < face_top + 0.45 * face_h)
        bangs = cv2.morphologyEx(bangs.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        # Only strands that hang from the hair outside the oval; eyebrows and eyes stay face.
        count, components = cv2.connectedComponents((bangs | hair).astype(np.uint8), connectivity=8)
        touching = np.zeros(count, bool)
        touching[np.unique(components[hair])] = True
        touching[0] = False
        hair |= bangs & touching[components]
        # Ears and forehead just outside the oval: face-coloured pixels touching the face.
        near_face = cv2.dilate(face.astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * int(0.2 * face_w) + 1,) * 2)).astype(bool)
        ears = hair & near_face & skin_guess & (face_score > hair_score) & ~face
        hair &= ~ears
        face |= ears
    return hair, face, skin_guess


def grow_long_hair(layout: PersonLayout, frame: BodyFrame, hair: np.ndarray, hair_core: np.ndarray,
                   face: np.ndarray, skin_guess: np.ndarray, long_zone: np.ndarray, face_cx: float,
                   face_bottom: float, face_w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hair hanging below the head: `hair` grown into `long_zone` by colour against skin and top.

    The colour models come from `hair_core` (hair), `face` (skin) and the chest sample (top); the
    neck is a column from (`face_cx`, `face_bottom`) to the neck joint, `face_w` wide.
    Returns (hair, hair log-likelihood, skin log-likelihood, pixels whose colour is hair's).
    """
    cells, yy, xx, s = layout.cells, layout.yy, layout.xx, layout.s
    chest = layout.chest
    hair_score = ColourModel.fit(cells[hair_core]).log_likelihood(cells)
    face_score = (ColourModel.fit(cells[face & ~hair_core]).log_likelihood(cells)
                  if (face & ~hair_core).sum() >= 30 else hair_score - 1)
    chest_score = (ColourModel.fit(cells[chest]).log_likelihood(cells) if chest.sum() >= 30
                   else hair_score - 1)
    hairy = hair_score > np.maximum(face_score, chest_score) + 0.5
    # Below the head, each pixel goes to the best of hair / skin / top by colour plus a layout
    # prior (log-odds): the neck is a column under the face, hair hangs beside it, the top
    # starts at the shoulders. Blond hair and skin share colours, so the layout often decides.
    neck = frame.point(NECK)
    column_x = np.full_like(yy, face_cx)
    if neck is not None and neck[1] > face_bottom + 1:
        # A tilted head: the neck runs from under the chin to the neck joint.
        t = np.clip((yy - face_bottom) / (neck[1] - face_bottom), 0.0, 1.0)
        column_x = face_cx + t * (neck[0] - face_cx)
    offset = np.abs(xx - column_x) / max(face_w, 1.0)
    in_column = offset < 0.4
    # The shoulder joints lie inside the body, about a fifth of the shoulder width below the
    # outline of the shoulders, where the top starts (black hair on a black top would
    # otherwise run down onto it).
    top_line = layout.shoulder_y - 0.2 * s
    below_shoulders = np.clip((yy - top_line) / (0.5 * s), 0.0, None)
    hair_prior = np.where(in_column, -1.5, 1.5) - 2.0 * below_shoulders
    # Bare shoulders beside the neck share light-brown or blond hair's colour, but skin is smooth
    # and hair has strands: skin-coloured pixels in a smooth neighbourhood lean to skin.
    texture = layout.texture
    smooth_skin = skin_guess & (texture < SMOOTH_SKIN_STD)
    textured = np.clip((texture - TEXTURED_STD) / TEXTURE_RAMP, 0.0, 1.0)
    skin_prior = (np.where(in_column, 1.5 - TEXTURED_COLUMN_PENALTY * textured, -1.0)
                  + np.where(smooth_skin, SMOOTH_SKIN_BONUS, 0.0))
    top_prior = np.where(yy > top_line, 1.0, -1.0)
    best_other = np.maximum(face_score + skin_prior, chest_score + top_prior)
    candidates = (long_zone & (hair_score + hair_prior > best_other)) | hair
    count, components = cv2.connectedComponents(candidates.astype(np.uint8), connectivity=8)
    touching = np.zeros(count, bool)
    touching[np.unique(components[hair])] = True
    touching[0] = False
    hair = touching[components]
    # Lit strands and the top showing between strands fail the colour test and leave holes and
    # notches in long hair: what the hair encloses, or closes over with a small disk, is hair.
    hair |= fill_holes(hair) & long_zone
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * max(1, round(HAIR_GAP * s)) + 1,) * 2)
    hair |= (cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_CLOSE, disk) > 0) & long_zone
    return hair, hair_score, face_score, hairy


def neck_zone(layout: PersonLayout) -> np.ndarray:
    """`(h, w)` bool: where skin is neck (torso skin) by position: from a little above the chin to a
    quarter shoulder width below the shoulders, 0.45 shoulder widths either side of the face."""
    yy, xx, s = layout.yy, layout.xx, layout.s
    return ((yy > layout.face_bottom - 0.3 * (layout.face_bottom - layout.face_top))
            & (yy < layout.shoulder_y + 0.25 * s) & (np.abs(xx - layout.face_cx) < 0.45 * s))


def arm_distance(frame: BodyFrame) -> np.ndarray:
    """`(h, w)` float32 distance to the nearer arm's skeleton."""
    return np.minimum(frame.distance_to("arm_r", frame.arm("right")), frame.distance_to("arm_l", frame.arm("left")))


def label_skin(labels: np.ndarray, layout: PersonLayout, skin: np.ndarray, frame: BodyFrame,
               arm_zone_skin: np.ndarray | None = None) -> np.ndarray:
    """Label skin as neck/torso skin, arms and legs (left/right by the nearer limb) into `labels`;
    returns the distance to the nearer arm, which the garment split reads too."""
    yy, s, hip_y = layout.yy, layout.s, layout.hip_y
    d_leg, d_leg_l, d_leg_r = layout.d_leg, layout.d_leg_l, layout.d_leg_r
    h, w = skin.shape
    # -- skin: arms, legs, neck/torso skin -------------------------------------------------------
    d_arm_r = frame.distance_to("arm_r", frame.arm("right"))
    d_arm_l = frame.distance_to("arm_l", frame.arm("left"))
    d_arm = arm_distance(frame)
    torso = frame.inside_torso(0.0)
    below_hips = (yy > hip_y - 0.1 * s) if hip_y is not None else np.zeros((h, w), bool)
    torso_skin = skin & (neck_zone(layout) | torso) & (d_arm > TORSO_ARM_CLEARANCE * s) & ~below_hips
    legs = skin & below_hips & (d_leg < d_arm) & ~torso_skin
    if arm_zone_skin is not None:  # a hand by the thigh is no leg
        legs &= ~arm_zone_skin
    if not frame.has(R_KNEE) and not frame.has(L_KNEE):
        # Cut above the knees (VITON-HD): skin at thigh level is almost always a hand.
        legs &= d_arm > 0.3 * s
    arms = skin & ~torso_skin & ~legs
    labels[torso_skin] = Cihp.NECK
    labels[arms] = np.where(d_arm_l[arms] < d_arm_r[arms], Cihp.LEFT_ARM, Cihp.RIGHT_ARM)
    labels[legs] = np.where(d_leg_l[legs] < d_leg_r[legs], Cihp.LEFT_LEG, Cihp.RIGHT_LEG)
    return d_arm


def label_shoes(labels: np.ndarray, layout: PersonLayout, non_skin: np.ndarray, frame: BodyFrame) -> np.ndarray:
    """Label clothed pixels at and below the ankles as left/right shoes into `labels`; returns the shoe mask."""
    yy, s = layout.yy, layout.s
    h, w = non_skin.shape
    # -- shoes -----------------------------------------------------------------------------------
    shoes = np.zeros((h, w), bool)
    d_feet = {}
    for side in ("right", "left"):
        points = frame.foot_points(side)
        d_feet[side] = frame.distance_to(f"foot_{side}", points)
        if points:
            ankle_y = min(p[1] for p in points)
            # COCO-18 skeletons (Dress Code) stop at the ankle: the shoe reaches a foot further.
            reach = 0.25 * s if len(points) > 1 else 0.35 * s
            shoes |= non_skin & (d_feet[side] < reach) & (yy > ankle_y - 0.05 * s)
            # Trousers end at the ankle: anything clothed clearly below it is footwear.
            shoes |= non_skin & (d_feet[side] < 0.6 * s) & (yy > ankle_y + 0.08 * s)
    labels[shoes] = np.where(d_feet["left"][shoes] < d_feet["right"][shoes], Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE)
    return shoes


def _hip_band(frame: BodyFrame, shape: tuple[int, int], *, above: float, min_rows: int
              ) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the band where a waist is looked for: from `above` shoulder widths over
    the hip joints to 0.15 under them, 0.3 either side of the body's centre; None without hips or
    when the band is too thin."""
    hip_y = frame.hip_y()
    if hip_y is None:
        return None
    s = frame.scale
    h, w = shape
    y0, y1 = int(max(0, hip_y - above * s)), int(min(h, hip_y + 0.15 * s))
    cx = frame.centre_x()
    x0, x1 = int(max(0, cx - 0.3 * s)), int(min(w, cx + 0.3 * s))
    return (y0, y1, x0, x1) if y1 - y0 >= min_rows and x1 - x0 >= 5 else None


def waist_line(lightness: np.ndarray, clothes: np.ndarray, frame: BodyFrame) -> float | None:
    """Row of the top's hem / the waistband: the strongest horizontal edge across the hips.

    Searched from 0.6 shoulder widths above the hip joints to 0.15 below, over the central hip
    width, on clothes pixels only; None when no row stands out (a dress, a tucked-in top with no
    visible seam).
    """
    box = _hip_band(frame, clothes.shape, above=0.6, min_rows=5)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    band = cv2.GaussianBlur(lightness[y0:y1, x0:x1], (5, 5), 0)
    edge = np.abs(cv2.Sobel(band, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    inside = clothes[y0:y1, x0:x1]
    counts = inside.sum(axis=1)
    profile = np.where(counts >= 0.5 * (x1 - x0), (edge * inside).sum(axis=1) / np.maximum(counts, 1), 0.0)
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")
    if not profile.any():
        return None
    peak = int(np.argmax(profile))
    if profile[peak] < 2.0 or profile[peak] < 2.5 * np.median(profile[profile > 0]):
        return None
    return float(y0 + peak)


def row_change_waist(lightness: np.ndarray, texture: np.ndarray, clothes: np.ndarray, chest: np.ndarray,
                     thighs: np.ndarray, frame: BodyFrame) -> float | None:
    """Row where the clothes stop looking like the chest sample and start looking like the thigh
    sample, by each row's mean lightness and texture; None when the two samples look alike or the
    rows do not change over once.

    For a printed bottom (a leopard or zebra skirt) the print's own edges drown the waistband in
    `waist_line`, and its colours overlap the top's, yet row by row a white or black top and the
    print differ plainly in lightness or texture. Searched from 0.9 shoulder widths above the hip
    joints (a skirt's waistband sits at the natural waist) to 0.15 below.
    """
    if chest.sum() < 30 or thighs.sum() < 30:  # (no hips: no thigh sample either)
        return None
    top = np.array([lightness[chest].mean(), texture[chest].mean()])
    bottom = np.array([lightness[thighs].mean(), texture[thighs].mean()])
    units = np.array([ROW_LIGHTNESS_UNIT, ROW_TEXTURE_UNIT])
    if np.abs((top - bottom) / units).max() < ROW_CHANGE_MIN_SEPARATION:
        return None
    box = _hip_band(frame, clothes.shape, above=0.9, min_rows=10)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    inside = clothes[y0:y1, x0:x1]
    counts = inside.sum(axis=1)
    rows = np.flatnonzero(counts >= 0.5 * (x1 - x0))
    if rows.size < 10:
        return None
    features = np.stack([(lightness[y0:y1, x0:x1] * inside).sum(axis=1),
                         (texture[y0:y1, x0:x1] * inside).sum(axis=1)], axis=1)[rows] / counts[rows, None]
    bottom_like = (np.abs((features - bottom) / units).sum(axis=1)
                   < np.abs((features - top) / units).sum(axis=1)).astype(np.int32)
    # the change point that the most rows agree with: top-like above it, bottom-like below
    above_top = np.concatenate([[0], np.cumsum(1 - bottom_like)])
    below_bottom = np.concatenate([np.cumsum(bottom_like[::-1])[::-1], [0]])
    agree = above_top + below_bottom
    split = int(np.argmax(agree))
    if split in (0, rows.size) or agree[split] < ROW_CHANGE_AGREEMENT * rows.size:
        return None
    return float(y0 + rows[split])


def _split_garments(clothes: np.ndarray, cells: np.ndarray, lightness: np.ndarray, texture: np.ndarray,
                    frame: BodyFrame, yy: np.ndarray, chest: np.ndarray, thighs: np.ndarray, d_arm: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Upper garment vs lower garment for the clothes pixels -> (upper ids or 0, lower ids or 0)."""
    shape = clothes.shape
    s = frame.scale
    hip_y = frame.hip_y()
    upper = np.zeros(shape, np.uint8)
    lower = np.zeros(shape, np.uint8)
    if hip_y is None:
        upper[clothes] = Cihp.UPPER_CLOTHES
        return upper, lower
    if not chest.any():
        chest = clothes & (yy < hip_y - 0.4 * s)
    # logit: > 0 above the waist: a visible hem/waistband when there is one, else a little above
    # OpenPose's hip joints
    waist = waist_line(lightness, clothes, frame)
    # sleeves reach the hip joints, unless the rows show a printed bottom starting above them
    sleeve_end = hip_y
    if waist is None:
        waist = row_change_waist(lightness, texture, clothes, chest, thighs, frame)
        sleeve_end = hip_y if waist is None else min(hip_y, waist)
    prior = (waist - yy) / (0.06 * s) if waist is not None else (hip_y - 0.12 * s - yy) / (0.12 * s)
    if thighs.sum() >= 30 and chest.sum() >= 30:
        top_model = ColourModel.fit(cells[chest])
        bottom_model = ColourModel.fit(cells[thighs])
        similar = top_model.similarity(bottom_model)
        ratio = np.clip(top_model.log_likelihood(cells) - bottom_model.log_likelihood(cells), -6, 6)
        if similar >= 0.8:
            ratio = np.zeros_like(ratio)
        evidence = prior + ratio
    else:
        similar = 0.0
        ratio = np.zeros(shape, np.float32)
        evidence = prior
    # Sleeves belong to the top even where their colour is ambiguous (not where it is the bottom's).
    # (below a printed bottom's waist only the arm itself: a sleeve, not the skirt beside it)
    sleeves = ((d_arm < 0.25 * s) & (yy < sleeve_end) | (d_arm < 0.1 * s) & (yy < hip_y)) & (ratio >= 0)
    is_upper = clothes & ((evidence > 0) | sleeves)
    is_lower = clothes & ~is_upper
    bridged, long_enough = bridges_the_legs(is_lower, frame)
    if bridged and similar >= 0.88:  # dresses measured 0.93-1.0, a black top over a leopard skirt 0.82
        upper[is_upper] = Cihp.DRESS
        lower[is_lower] = Cihp.DRESS
    else:
        upper[is_upper] = Cihp.UPPER_CLOTHES
        lower[is_lower] = Cihp.SKIRT if bridged and long_enough else Cihp.PANTS
    return upper, lower


def bridges_the_legs(lower: np.ndarray, frame: BodyFrame) -> tuple[bool, bool]:
    """Does the lower garment stay one piece between the legs? -> (bridged, reaches the knees).

    Along the body's midline between hips and knees, trousers open into two legs below the crotch
    (background or skin shows between them); a skirt or dress stays one piece of cloth down to its
    hem. Shorts worn with the legs together look like a skirt, so only a garment that also reaches
    the knees is called a skirt (HR-VITON merges pants and skirt into one channel anyway). A
    garment that runs off the bottom edge of the photo counts as reaching them: its hem is out of
    view (a skirt cropped just above the knees, whose knee joints sit on the edge).
    """
    if not lower.any() or not frame.has(R_KNEE, L_KNEE, R_HIP, L_HIP):
        return False, False
    k = frame.keypoints
    hip = 0.5 * (k[R_HIP, :2] + k[L_HIP, :2])
    knee = 0.5 * (k[R_KNEE, :2] + k[L_KNEE, :2])
    if knee[1] - hip[1] < 4:
        return False, False
    hem = float(np.percentile(np.nonzero(lower)[0], 97))
    y_end = min(knee[1], hem - 0.02 * frame.scale)
    y_start = hip[1] + 0.4 * (y_end - hip[1])
    half = max(1, int(0.03 * frame.scale))
    rows = np.arange(int(y_start), int(y_end) + 1)
    rows = rows[(rows >= 0) & (rows < lower.shape[0])]
    if rows.size < 3:
        return False, False
    t = (rows - hip[1]) / (knee[1] - hip[1])
    xs = np.round(hip[0] + t * (knee[0] - hip[0])).astype(int)
    covered = [lower[r, max(0, x - half):x + half + 1].mean() > 0.5 for r, x in zip(rows, xs)]
    cut_by_frame = bool(lower[-1].any()) and hem >= lower.shape[0] - 1 - 0.1 * frame.scale
    return bool(np.mean(covered) > 0.9), bool(hem >= knee[1] - 0.05 * frame.scale or cut_by_frame)


def majority_filter(labels: np.ndarray, radius: int = 2) -> np.ndarray:
    """Each labelled pixel takes the most frequent label in its (2r+1)^2 window (background stays)."""
    present = [int(v) for v in np.unique(labels) if v != 0]
    if len(present) <= 1:
        return labels
    size = (2 * radius + 1, 2 * radius + 1)
    votes = np.stack([cv2.boxFilter((labels == v).astype(np.float32), -1, size, normalize=False)
                      for v in present])
    winner = np.array(present, np.uint8)[np.argmax(votes, axis=0)]
    return np.where(labels > 0, winner, 0).astype(np.uint8)


def upsample_labels(labels: np.ndarray, silhouette: np.ndarray) -> np.ndarray:
    """Nearest-upsample working labels to the silhouette's grid; silhouette pixels without a label
    take the nearest labelled one, labels outside the silhouette are dropped."""
    height, width = silhouette.shape
    full = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    full[~silhouette] = 0
    missing = silhouette & (full == 0)
    if missing.any() and (full > 0).any():
        _, nearest = cv2.distanceTransformWithLabels((full == 0).astype(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        source_values = full[full > 0]  # raster order = DIST_LABEL_PIXEL numbering
        full[missing] = source_values[nearest[missing] - 1]
    return full
