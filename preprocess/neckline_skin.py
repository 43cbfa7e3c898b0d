"""Neck and chest skin that a light garment's colour model took: decided again by local colours.

The geometric parser's skin model is a coarse Lab histogram learned on the face. Against a white
or cream top, pale skin and the garment share its a/b cells, so lightness decides, and the lit
side of a neck or a scoop neckline (brighter than the face) goes to the garment. In the neck
zone a two-Gaussian Lab model (the skin already found there against the garment's chest sample)
tells them apart by chroma as well; only smooth pixels are added (hair over the shoulders has
strands and skin-like colours), and only where they join the skin found.
"""
from __future__ import annotations

import numpy as np
from vtonkit.preprocess.arm_skin import MIN_SAMPLES, gaussian_log_likelihood, joined_to_seeds


def neckline_skin(lab: np.ndarray, zone: np.ndarray, skin: np.ndarray, garment: np.ndarray,
                  smooth: np.ndarray) -> np.ndarray:
    """`(h, w)` bool skin in `zone`: the seeds (`skin & zone`) and what joins them.

    Args:
        lab: `(h, w, 3)` float32 Lab image. zone: `(h, w)` bool pixels to decide (the neck zone,
            clear of the arms). skin: `(h, w)` bool skin found so far. garment: `(h, w)` bool
            garment sample (the chest, skin removed). smooth: `(h, w)` bool pixels smooth enough
            to be skin.
    Returns:
        The seeds plus zone pixels that the seeds' Gaussian explains better than the garment's,
        smooth and joined to a seed; all False when either sample is under `MIN_SAMPLES`.
    """
    seeds = zone & skin
    if seeds.sum() < MIN_SAMPLES or garment.sum() < MIN_SAMPLES:
        return np.zeros(zone.shape, bool)
    found = seeds.copy()
    found[zone] |= gaussian_log_likelihood(lab[zone], lab[seeds]) > gaussian_log_likelihood(lab[zone], lab[garment])
    found &= seeds | smooth
    return joined_to_seeds(found, seeds) & zone
