"""Fréchet distance between Gaussians fitted to two feature sets (FID on Inception pool features).

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), with sample means and covariances
(`np.cov`, ddof 1) like pytorch-fid and clean-fid. Those take `scipy.linalg.sqrtm(S1 @ S2)` and,
when the product is singular and the result is not finite, retry with 1e-6 added to both
diagonals. Here the trace of the square root comes from symmetric eigendecompositions instead:
(S1 S2)^(1/2) is similar to (A S2 A)^(1/2) with A = S1^(1/2), and A S2 A is symmetric positive
semi-definite, so its eigenvalues are real and only rounding can make them (slightly) negative;
those are clipped to 0. That stays finite for the rank-deficient covariances of small image
sets (fewer images than the 2048 feature dimensions) without any offset. When both sets have
fewer vectors than dimensions, the same trace is exactly the nuclear norm of X1 X2^T /
sqrt((n1 - 1)(n2 - 1)) (X = centred features): the non-zero eigenvalues of S1 S2 are the squared
singular values of that small matrix. That avoids two 2048x2048 eigendecompositions.
A result below 0 within rounding (two identical sets) is returned as 0: FID cannot be negative.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


ROUNDING = 1e-6  # relative to the positive terms: a negative FID this small is float error (FID >= 0)


@dataclass(frozen=True)
class FeatureStatistics:
    """Mean (D,) and sample covariance (D, D) of `count` feature vectors (`centred` kept when count < D)."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int
    centred: np.ndarray | None = None


def feature_statistics(features: np.ndarray) -> FeatureStatistics:
    """Statistics of an (N, D) feature array; N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D), got shape {features.shape}")
    mean = features.mean(axis=0)
    centred = features - mean if features.shape[0] < features.shape[1] else None
    return FeatureStatistics(mean, np.cov(features, rowvar=False), features.shape[0], centred)


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (eigenvalues below 0 from rounding -> 0)."""
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.sqrt(values.clip(min=0))) @ vectors.T


def sqrtm_product(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """The principal square root of S1 S2 for symmetric PSD S1, S2 with S1 invertible.

    (S1 S2)^(1/2) = A (A S2 A)^(1/2) A^-1 with A = S1^(1/2): the matrix scipy.linalg.sqrtm(S1 @ S2)
    returns, computed from symmetric eigendecompositions only.
    """
    a = psd_sqrt(s1)
    return a @ psd_sqrt(a @ s2 @ a) @ np.linalg.inv(a)


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((S1 S2)^(1/2)) for symmetric PSD S1, S2 (singular allowed): the sum of sqrt(eig(A S2 A))."""
    a = psd_sqrt(s1)
    middle = a @ s2 @ a
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(values.clip(min=0)).sum())


def frechet_distance(a: FeatureStatistics, b: FeatureStatistics) -> float:
    """FID between two sets of statistics."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature dimensions differ: {a.mean.shape} vs {b.mean.shape}")
    diff = a.mean - b.mean
    if a.centred is not None and b.centred is not None:
        cross = a.centred @ b.centred.T / np.sqrt((a.count - 1) * (b.count - 1))
        trace_sqrt = float(np.linalg.svd(cross, compute_uv=False).sum())
    else:
        trace_sqrt = trace_sqrt_product(a.covariance, b.covariance)
    positive = diff @ diff + np.trace(a.covariance) + np.trace(b.covariance)
    value = float(positive - 2 * trace_sqrt)
    # FID is a squared distance, never negative: a set against itself came out as -2e-28 (printed
    # -0.000) from rounding. A negative within rounding of the terms is 0; a larger one is left to show.
    if -ROUNDING * max(float(positive), 1.0) <= value < 0:
        return 0.0
    return value
