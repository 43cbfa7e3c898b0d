"""Arm and hand skin from each arm's own colours: what a face-learned skin model misses.

The geometric parser's skin model is learned on the face, lit from the front. The shaded side of
a hand hanging by khaki or denim trousers, or the inner edge of an arm in front of a black top,
is nearer the garment's colour histogram than the face's and comes out as clothes. Along each
arm, a two-Gaussian Lab model learned there (the skin already found on that arm against the
clothes around it) decides again, and the found skin is closed and its holes filled.
"""
from __future__ import annotations

import cv2
import numpy as np
from vtonkit.preprocess.body_frame import BodyFrame, polyline_distance_map

ARM_RADIUS = 0.17  # of the shoulder width: half the width of the zone searched along an arm
HAND_REACH = 0.45  # of the shoulder width: how far past the wrist the hand reaches
MIN_SAMPLES = 20


def arm_skin(lab: np.ndarray, body: np.ndarray, skin: np.ndarray, frame: BodyFrame) -> np.ndarray:
    """`(h, w)` bool skin along the arms and hands.

    Args:
        lab: `(h, w, 3)` float32 Lab image. body: `(h, w)` bool pixels that may be skin (the
            silhouette minus face and hair). skin: `(h, w)` bool skin found so far (the seeds).
        frame: skeleton geometry on this grid.
    Returns:
        Seed-connected skin within `ARM_RADIUS` of each arm (shoulder, elbow, wrist, hand tip);
        an arm without seeds (long sleeves, gloves) adds nothing.
    """
    found_all = np.zeros(skin.shape, bool)
    s = frame.scale
    h, w = skin.shape
    radius = ARM_RADIUS * s
    for side in ("right", "left"):
        arm = frame.arm(side)[:-1]  # shoulder, elbow, wrist present; the hand tip is set here
        if len(arm) < 2:
            continue
        forearm = arm[-1] - arm[-2]
        length = float(np.linalg.norm(forearm))
        if length < 1:
            continue
        line = np.array([*arm, arm[-1] + HAND_REACH * s * forearm / length])
        x0, y0 = np.maximum(0, np.floor(line.min(axis=0) - 2 * radius)).astype(int)
        x1, y1 = np.minimum((w, h), np.ceil(line.max(axis=0) + 2 * radius + 1)).astype(int)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        window = np.s_[y0:y1, x0:x1]
        distance = polyline_distance_map((y1 - y0, x1 - x0), list(line - (x0, y0)))
        zone = (distance < radius) & body[window]
        seeds = zone & skin[window]
        # Clothes are sampled just outside the zone, where the arm's own shaded skin is not.
        clothes = (distance >= radius) & (distance < 2 * radius) & body[window] & ~skin[window]
        if clothes.sum() < MIN_SAMPLES:
            clothes = zone & ~skin[window]
        if seeds.sum() < MIN_SAMPLES or clothes.sum() < MIN_SAMPLES:
            continue
        window_lab = lab[window]
        candidates = window_lab[zone]  # only the zone is decided: the Gaussians cost per pixel
        found = seeds.copy()
        found[zone] |= gaussian_log_likelihood(candidates, window_lab[seeds]) > gaussian_log_likelihood(
            candidates, window_lab[clothes])
        found_all[window] |= fill_holes(joined_to_seeds(found, seeds)) & zone
    return found_all


def gaussian_log_likelihood(lab: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """`(..., 3)` colours -> `(...)` log-density (up to a shared constant) under a Gaussian fitted to
    `samples` `(N, 3)`."""
    mean = samples.mean(axis=0)
    covariance = np.cov(samples.T) + 4.0 * np.eye(3)  # a floor: flat-coloured samples stay invertible
    inverse = np.linalg.inv(covariance)
    d = lab.reshape(-1, 3) - mean
    mahalanobis = ((d @ inverse) * d).sum(axis=1)
    return (-0.5 * mahalanobis - 0.5 * np.log(np.linalg.det(covariance))).reshape(lab.shape[:-1])


def joined_to_seeds(found: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """`found` closed (5x5, small gaps between skin pixels) and kept where its 8-connected pieces
    hold a seed."""
    closed = cv2.morphologyEx(found.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, components = cv2.connectedComponents(closed, connectivity=8)
    keep = np.bincount(components[seeds], minlength=count) > 0
    keep[0] = False
    return keep[components]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`mask` with the regions it encloses (not 4-connected to the border) filled."""
    padded = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
    _, components = cv2.connectedComponents(padded, connectivity=4)
    return mask | (components[1:-1, 1:-1] != components[0, 0])
