"""Is a product image the in-shop garment shot (plain background, no person) or an on-model shot?

Decided from the pixels, because shops name their images arbitrarily:

1. **Plain background**: the image border (a 3% frame) is transparent (PNG alpha) or nearly one
   colour (>= 70% of border pixels within a small RGB distance of the border median; garments
   that touch the frame, like long trousers, cover the rest). Street and lifestyle shots fail here.
2. **No person**: studio on-model shots have plain backgrounds too. Several cues each give a
   person strength in [0, 1]; the strongest wins (>= 0.5 means a person), so no single model
   decides alone:

   * ``pose``: MediaPipe pose landmarker, mean landmark visibility (>= 0.8: a body). Its
     detector starts from the face, so it misses most head-cropped shots.
   * ``face``: MediaPipe face detector; with pose visibility >= 0.7 a person, alone weak (prints
     on T-shirts have faces).
   * ``hands``: MediaPipe hand detector (palm based, no face needed): two hands are a person,
     one hand is weak evidence.
   * ``cut-body``: skin where the frame cuts the foreground at the top or bottom (a neck under a
     cropped-off head, legs cut at the knee). Flat garment shots never have skin at the frame.
   * ``skin``: without mediapipe, a YCrCb skin share of 3-55% of the foreground.

Every image keeps its reasons (:attr:`ShotAnalysis.reasons`, the catalog's ``shot_reasons``).
Calibrated on the shared VITON-HD / Dress Code / photo samples (garment vs model images).
Known limits (documented in docs/crawling.md): an on-model shot cropped to the garment with
no skin at the frame and no hands reads as a garment shot; a garment with large skin-tone prints
may read as on-model. ``garment_score`` (higher = more garment-shot-like) lets callers rank a
product's images and pick the best one even when the rule says no for all.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from vtonkit.core.mediapipe_import import import_mediapipe
from PIL import Image

logger = logging.getLogger(__name__)

ANALYSIS_SIDE = 256  # images are analysed at this longest side
BORDER_FRACTION = 0.03
PLAIN_BORDER_MIN = 0.7
SKIN_RANGE = (0.03, 0.55)
POSE_VISIBILITY_MIN = 0.8
POSE_WITH_FACE_MIN = 0.7
PERSON_MIN = 0.5  # the strongest person cue must reach this
CUT_BODY_SKIN_MIN = 0.25  # skin share of the foreground where the frame cuts it
HANDS_MIN_SCORE = 0.8
SKIN_CUES = ("cut-body", "skin")  # the cues read from skin colour, not from a model


@dataclass(frozen=True)
class ShotAnalysis:
    """Evidence for one image; ``is_garment_shot`` is the decision, ``reasons`` say why."""

    plain_border: float  # fraction of border pixels matching the background (transparent counts)
    skin_fraction: float  # skin-coloured share of the foreground
    pose_visibility: float  # mean MediaPipe pose-landmark visibility (0 = no body found)
    faces: int
    is_garment_shot: bool
    garment_score: float
    hands: int = 0
    cut_body_skin: float = 0.0  # skin share of the foreground where the frame cuts it
    evidence: str = ""  # the cue that decided: "background", "pose", "cut-body", ... or "no-person"
    reasons: tuple[str, ...] = ()
    person_strength: float = 0.0  # the strongest person cue's strength (>= PERSON_MIN: a person), any background
    person_cue: str = ""  # that cue, "<name> (<detail>)"


@dataclass(frozen=True)
class PersonCue:
    """One cue's verdict: how strongly it says "a person is in the picture" (0..1)."""

    name: str
    strength: float
    detail: str


def _resize_rgba(image: Image.Image) -> np.ndarray:
    image = image.convert("RGBA")
    scale = ANALYSIS_SIDE / max(image.size)
    if scale < 1:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR
        )
    return np.asarray(image)


def _border_mask(height: int, width: int) -> np.ndarray:
    band = max(2, round(BORDER_FRACTION * min(height, width)))
    mask = np.zeros((height, width), bool)
    mask[:band], mask[-band:], mask[:, :band], mask[:, -band:] = True, True, True, True
    return mask


def _skin_mask(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) bool, a classic YCrCb skin range."""
    import cv2

    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y, cr, cb = ycrcb[..., 0], ycrcb[..., 1], ycrcb[..., 2]
    return (y > 50) & (cr >= 136) & (cr <= 173) & (cb >= 80) & (cb <= 127)


_mp_lock = threading.Lock()


@lru_cache(maxsize=1)
def _person_detectors():
    """MediaPipe pose + face detectors (bundled models), or None when mediapipe is unavailable."""
    try:
        # mediapipe prints a harmless protobuf AttributeError on import with protobuf >= 5
        with contextlib.redirect_stderr(io.StringIO()):
            mp = import_mediapipe()

        pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, min_detection_confidence=0.5
        )
        faces = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6)
        hands = mp.solutions.hands.Hands(
            static_image_mode=True, max_num_hands=4, min_detection_confidence=0.5
        )
        return pose, faces, hands
    except Exception as exc:  # optional: the skin rule still works without it
        logger.warning(
            "mediapipe unavailable (%s); garment shots are decided from background and skin only", exc
        )
        return None


@dataclass(frozen=True)
class _ModelEvidence:
    visibility: float
    faces: int
    hand_scores: tuple[float, ...]


def _person_evidence(rgb: np.ndarray) -> _ModelEvidence | None:
    """MediaPipe pose visibility, faces and hands for (H, W, 3) uint8 RGB, or None without mediapipe."""
    detectors = _person_detectors()
    if detectors is None:
        return None
    pose, faces, hands = detectors
    with _mp_lock:  # mediapipe graphs are not thread-safe
        landmarks = pose.process(rgb).pose_landmarks
        detections = faces.process(rgb).detections
        handedness = hands.process(rgb).multi_handedness
    visibility = float(np.mean([lm.visibility for lm in landmarks.landmark[:25]])) if landmarks else 0.0
    scores = tuple(sorted((h.classification[0].score for h in handedness or []), reverse=True))
    return _ModelEvidence(visibility, len(detections or []), scores)


def _cut_body_skin(skin: np.ndarray, foreground: np.ndarray, band: int) -> float:
    """Skin share of the foreground in the top or bottom frame band (the larger), 0 if barely cut."""
    shares = []
    for rows in (slice(0, band), slice(skin.shape[0] - band, skin.shape[0])):
        cut = foreground[rows]
        if cut.mean() >= 0.05:  # the frame really cuts the subject here
            shares.append(float((skin[rows] & cut).sum() / cut.sum()))
    return max(shares, default=0.0)


def person_cues(model: _ModelEvidence | None, skin_fraction: float, cut_body_skin: float) -> list[PersonCue]:
    """Each cue's person strength; with ``model`` None (no mediapipe) the skin-share rule stands in."""
    cues = [
        PersonCue(
            "cut-body",
            0.5 + cut_body_skin / 2 if cut_body_skin >= CUT_BODY_SKIN_MIN else cut_body_skin,
            f"{cut_body_skin:.0%} skin where the frame cuts the subject",
        )
    ]
    if model is None:
        in_range = SKIN_RANGE[0] <= skin_fraction <= SKIN_RANGE[1]
        cues.append(
            PersonCue("skin", 0.6 if in_range else 0.0, f"{skin_fraction:.0%} of the foreground is skin")
        )
        return cues
    visibility = model.visibility
    cues.append(
        PersonCue(
            "pose",
            visibility if visibility >= POSE_VISIBILITY_MIN else visibility / 2,
            f"pose landmark visibility {visibility:.2f}",
        )
    )
    with_body = visibility >= POSE_WITH_FACE_MIN
    cues.append(
        PersonCue(
            "face",
            (0.75 if with_body else 0.4) if model.faces else 0.0,
            f"{model.faces} face(s)" + (" with a body" if with_body and model.faces else ""),
        )
    )
    hands = [score for score in model.hand_scores if score >= HANDS_MIN_SCORE]
    cues.append(
        PersonCue(
            "hands",
            min(hands[:2]) if len(hands) >= 2 else 0.4 * max(model.hand_scores, default=0.0),
            f"{len(model.hand_scores)} hand(s), best score {max(model.hand_scores, default=0.0):.2f}",
        )
    )
    return cues


def analyse_shot(image: Image.Image, *, person_detector: str = "mediapipe") -> ShotAnalysis:
    """Classify one image (any mode; alpha is used when present).

    ``person_detector``: ``"mediapipe"`` (pose + face, the default) or ``"skin"`` (the faster,
    weaker skin-share rule).
    """
    rgba = _resize_rgba(image)
    rgb, alpha = np.ascontiguousarray(rgba[..., :3]), rgba[..., 3]
    height, width = alpha.shape
    border = _border_mask(height, width)
    transparent = alpha < 16
    if transparent[border].mean() > 0.5:
        plain = float(transparent[border].mean())
        background = transparent
    else:
        reference = np.median(rgb[border & ~transparent].reshape(-1, 3), axis=0)
        distance = np.abs(rgb.astype(np.int16) - reference.astype(np.int16)).sum(axis=-1)
        background = (distance <= 30) | transparent
        plain = float(background[border].mean())
    foreground = ~background
    skin = _skin_mask(rgb) & foreground
    skin_fraction = float(skin.sum() / max(1, foreground.sum()))
    if person_detector not in ("mediapipe", "skin"):
        raise ValueError(f"person_detector must be 'mediapipe' or 'skin', got {person_detector!r}")
    band = max(2, round(BORDER_FRACTION * min(height, width)))
    cut_body = _cut_body_skin(skin, foreground, band)
    if not foreground.any():
        model: _ModelEvidence | None = _ModelEvidence(0.0, 0, ())
    else:
        model = _person_evidence(rgb) if person_detector == "mediapipe" else None
    cues = person_cues(model, skin_fraction, cut_body)
    strongest = max(cues, key=lambda cue: cue.strength)
    person = strongest.strength >= PERSON_MIN
    has_subject = foreground.mean() > 0.02
    is_garment = plain >= PLAIN_BORDER_MIN and not person and has_subject
    if plain < PLAIN_BORDER_MIN:
        evidence = "background"
    elif person:
        evidence = strongest.name
    else:
        evidence = "no-person" if has_subject else "empty"
    reasons = (
        f"background: {plain:.0%} of the border is plain (>= {PLAIN_BORDER_MIN:.0%} needed)",
        *(
            f"{cue.name}: {cue.strength:.2f} ({cue.detail})"
            for cue in sorted(cues, key=lambda c: -c.strength)
        ),
    )
    # On a busy background the foreground is not separable, so the skin cues read a wooden door as
    # skin; only the models' cues say whether a person is there.
    seen = strongest if plain >= PLAIN_BORDER_MIN else max(
        (c for c in cues if c.name not in SKIN_CUES), key=lambda cue: cue.strength, default=PersonCue("none", 0.0, ""))
    visibility = model.visibility if model else 0.0
    faces = model.faces if model else 0
    score = (
        plain
        - visibility
        - 0.25 * min(faces, 1)
        - 0.25 * (skin_fraction if skin_fraction <= SKIN_RANGE[1] else 0.0)
        - max(0.0, strongest.strength - visibility)
    )
    return ShotAnalysis(
        round(plain, 4),
        round(skin_fraction, 4),
        round(visibility, 3),
        faces,
        bool(is_garment),
        round(float(score), 4),
        hands=len(model.hand_scores) if model else 0,
        cut_body_skin=round(cut_body, 4),
        evidence=evidence,
        reasons=reasons,
        person_strength=round(seen.strength, 4),
        person_cue=f"{seen.name} ({seen.detail})",
    )
