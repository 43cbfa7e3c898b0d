"""Is a product image the in-shop garment shot (plain background, no person) or an on-model shot?

Decided from the pixels, because shops name their images arbitrarily:

1. **Plain background**: the image border (a 3% frame) is transparent (PNG alpha) or nearly one
   colour (>= 70% of border pixels within a small RGB distance of the border median; garments
   that touch the frame, like long trousers, cover the rest). Street and
   lifestyle shots fail here.
2. **No person**: studio on-model shots have plain backgrounds too, so we look for a body with
   MediaPipe (bundled models only): the pose landmarker's mean landmark visibility (>= 0.8 means
   a body, even with the head cropped off, as in Dress Code model shots) and the full-range face
   detector (a face plus visibility >= 0.7). Without mediapipe a weaker skin rule is used: a
   YCrCb skin share of 3-55% of the foreground means arms, legs or a face next to the clothes.

Calibrated on the shared VITON-HD / Dress Code / photo samples (garment vs model images).
Known limits (documented in docs/crawling.md): an on-model shot cropped to the garment with
almost no skin visible reads as a garment shot; a garment with large skin-tone prints may read
as on-model. ``garment_score`` (higher = more garment-shot-like) lets callers rank a product's
images and pick the best one even when the rule says no for all.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

ANALYSIS_SIDE = 256  # images are analysed at this longest side
BORDER_FRACTION = 0.03
PLAIN_BORDER_MIN = 0.7
SKIN_RANGE = (0.03, 0.55)
POSE_VISIBILITY_MIN = 0.8
POSE_WITH_FACE_MIN = 0.7


@dataclass(frozen=True)
class ShotAnalysis:
    """Evidence for one image; ``is_garment_shot`` is the decision."""

    plain_border: float  # fraction of border pixels matching the background (transparent counts)
    skin_fraction: float  # skin-coloured share of the foreground
    pose_visibility: float  # mean MediaPipe pose-landmark visibility (0 = no body found)
    faces: int
    is_garment_shot: bool
    garment_score: float


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
            import mediapipe as mp

        pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, min_detection_confidence=0.5
        )
        faces = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6)
        return pose, faces
    except Exception as exc:  # optional: the skin rule still works without it
        logger.warning(
            "mediapipe unavailable (%s); garment shots are decided from background and skin only", exc
        )
        return None


def _person_evidence(rgb: np.ndarray) -> tuple[float, int] | None:
    """(mean pose-landmark visibility, face count) for (H, W, 3) uint8 RGB, or None without mediapipe."""
    detectors = _person_detectors()
    if detectors is None:
        return None
    pose, faces = detectors
    with _mp_lock:  # mediapipe graphs are not thread-safe
        landmarks = pose.process(rgb).pose_landmarks
        detections = faces.process(rgb).detections
    visibility = float(np.mean([lm.visibility for lm in landmarks.landmark[:25]])) if landmarks else 0.0
    return visibility, len(detections or [])


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
    evidence = (
        (_person_evidence(rgb) if person_detector == "mediapipe" else None) if foreground.any() else (0.0, 0)
    )
    if evidence is None:
        visibility, faces = 0.0, 0
        person = SKIN_RANGE[0] <= skin_fraction <= SKIN_RANGE[1]
    else:
        visibility, faces = evidence
        person = visibility >= POSE_VISIBILITY_MIN or (faces > 0 and visibility >= POSE_WITH_FACE_MIN)
    is_garment = plain >= PLAIN_BORDER_MIN and not person and foreground.mean() > 0.02
    score = (
        plain
        - visibility
        - 0.25 * min(faces, 1)
        - 0.25 * (skin_fraction if skin_fraction <= SKIN_RANGE[1] else 0.0)
    )
    return ShotAnalysis(
        round(plain, 4),
        round(skin_fraction, 4),
        round(visibility, 3),
        faces,
        bool(is_garment),
        round(float(score), 4),
    )
