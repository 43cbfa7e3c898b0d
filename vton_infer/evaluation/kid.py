"""Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel, over random subsets.

k(x, y) = (x . y / D + 1)^3 (D = feature dimension), as in Binkowski et al. 2018, clean-fid and
torchmetrics. Each subset draws `subset_size` vectors from each set without replacement; the
estimate per subset is the unbiased MMD^2 (diagonals of k(x, x) and k(y, y) left out); the result
is the mean and the (population) standard deviation over subsets. torchmetrics refuses sets
smaller than the subset size; clean-fid silently shrinks the subsets to the smaller set. We
refuse (`TooFewImagesError`, with the counts) and let the caller choose a smaller size, which the
report records.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vtonkit.core.errors import VtonkitError


class TooFewImagesError(VtonkitError):
    """Fewer images than the KID subset size."""


@dataclass(frozen=True)
class KidResult:
    """KID mean and standard deviation over `subsets` subsets of `subset_size` images."""

    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> np.ndarray:
    """(x y^T / D + coef)^degree for (N, D) and (M, D) arrays."""
    return (x @ y.T / x.shape[1] + coef) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size samples under `polynomial_kernel`."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def subset_indices(n_real: int, n_fake: int, subsets: int, subset_size: int,
                   seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (real, fake) index draws of every subset; refuses sets smaller than `subset_size`."""
    if subset_size < 2:
        raise ValueError(f"KID subset size must be at least 2, got {subset_size}")
    smaller = min(n_real, n_fake)
    if smaller < subset_size:
        raise TooFewImagesError(
            f"KID needs at least {subset_size} images in each set (its subset size) but got {n_real} real and "
            f"{n_fake} generated images; pass a subset size of at most {smaller} (--kid-subset-size), which the "
            "report records, or evaluate more images"
        )
    rng = np.random.default_rng(seed)
    return [(rng.choice(n_real, subset_size, replace=False), rng.choice(n_fake, subset_size, replace=False))
            for _ in range(subsets)]


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, *, subsets: int = 100,
                              subset_size: int = 1000, seed: int = 0) -> KidResult:
    """KID of two (N, D) feature arrays."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    values = np.array([mmd2_unbiased(real[r], fake[f])
                       for r, f in subset_indices(len(real), len(fake), subsets, subset_size, seed)])
    return KidResult(float(values.mean()), float(values.std()), subsets, subset_size)
