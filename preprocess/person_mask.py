"""Person silhouettes: mediapipe's soft segmentation, sharpened on the photo's edges.

Mediapipe predicts the person probability at 256x256 and upsamples it, so its outline is soft and
a few pixels off. A guided filter (He et al.) with the photo's luminance as the guide snaps the
probability to the photo's edges; on the genuine VITON-HD/Dress Code samples this raises the
silhouette IoU from 0.962 to 0.967 (pose model) and 0.952 to 0.958 (selfie model).
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

from vtonkit.datasets.io.keypoints import present_mask

logger = logging.getLogger(__name__)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of `source` steered by `guide`.

    Args:
        guide: `(H, W)` float32 in 0..1 (the photo's luminance).
        source: `(H, W)` float32 to filter (a probability map).
        radius: box radius in pixels. eps: regularisation (larger = smoother, less edge-following).
    Returns:
        `(H, W)` float32.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size)

    mean_guide, mean_source = box(guide), box(source)
    variance = box(guide * guide) - mean_guide * mean_guide
    covariance = box(guide * source) - mean_guide * mean_source
    a = covariance / (variance + eps)
    b = mean_source - a * mean_guide
    return box(a) * guide + box(b)


def refine_probability(image_rgb: np.ndarray, probability: np.ndarray, *, radius: int = 8,
                       eps: float = 1e-3) -> np.ndarray:
    """Snap a soft person probability `(H, W)` to the edges of `(H, W, 3)` uint8 RGB; -> `(H, W)` float32."""
    guide = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return guided_filter(guide, probability.astype(np.float32), radius, eps)


def skeleton_image(keypoints: np.ndarray, shape: tuple[int, int], thickness: int = 3) -> np.ndarray:
    """`(H, W)` bool with the BODY_25 limbs between present joints drawn as lines."""
    canvas = np.zeros(shape, np.uint8)
    present = present_mask(keypoints) & (keypoints[:, 2] > 0)
    for a, b in ((1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (10, 11), (8, 12),
                 (12, 13), (13, 14), (0, 1), (2, 9), (5, 12)):
        if present[a] and present[b]:
            pa = tuple(int(round(v)) for v in keypoints[a, :2])
            pb = tuple(int(round(v)) for v in keypoints[b, :2])
            cv2.line(canvas, pa, pb, 1, thickness)
    return canvas.astype(bool)


def main_person(mask: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Keep the components of `mask` that the skeleton passes through (else the largest one).

    The one "main person" rule of vtonkit: the mediapipe pose backend's silhouette and the
    geometric parser's both use it (drops bystanders and stray blobs of the segmentation).

    Args:
        mask: `(H, W)` bool segmentation. keypoints: `(25, 3)` BODY_25 in the same pixels.
    Returns:
        `(H, W)` bool.
    """
    # Labels alone: connectedComponentsWithStats also measures boxes and centroids, ~4x the time on a
    # 1024x768 silhouette, and this runs three times a photo.
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    hits = np.bincount(labels[skeleton_image(keypoints, mask.shape)], minlength=count)
    hits[0] = 0
    keep = hits > 0
    if not keep.any():
        keep = np.zeros(count, bool)
        keep[1 + int(np.argmax(np.bincount(labels.ravel(), minlength=count)[1:]))] = True
    return keep[labels]
