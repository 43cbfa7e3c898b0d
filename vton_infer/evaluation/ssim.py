"""SSIM (Wang et al. 2004) with a Gaussian window, as scikit-image and torchmetrics compute it.

Both libraries use an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03 and population (not
sample) variances. They differ at the border: scikit-image averages the SSIM map without a
border of 5 pixels (the window radius), so padding does not matter (`border="crop"`);
torchmetrics 1.9 pads the images by mirroring (without repeating the edge pixel, torch's
"reflect"), clamps the variances at 0 and averages the whole map (`border="reflect"`). Colour
images are scored per channel and averaged. `data_range` is 255 for uint8 greyscale (HR-VITON's evaluate.py) and 1.0 for RGB in
[0, 1] (torchmetrics on ToTensor images).
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import correlate1d

SIGMA = 1.5
TRUNCATE = 3.5  # scipy.ndimage.gaussian_filter's default: radius int(3.5 * 1.5 + 0.5) = 5 -> 11 taps
K1, K2 = 0.01, 0.03
BORDERS = ("crop", "reflect")


def gaussian_taps(sigma: float = SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian window (float64)."""
    radius = int(TRUNCATE * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def _blur(plane: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable Gaussian of an (H, W) plane; the border (where padding would matter) is cut later."""
    return correlate1d(correlate1d(plane, taps, axis=0), taps, axis=1)


def ssim_map(a: np.ndarray, b: np.ndarray, *, data_range: float, sigma: float = SIGMA,
             border: str = "crop") -> np.ndarray:
    """Per-pixel SSIM of two same-size images ((H, W) or (H, W, C)).

    border: "crop" -> (H - 2r, W - 2r[, C]) without the window radius r; "reflect" -> (H, W[, C])
    on mirror-padded images.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    if border not in BORDERS:
        raise ValueError(f"unknown SSIM border handling {border!r}; known: {', '.join(BORDERS)}")
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim == 2:
        return _ssim_plane(x, y, data_range, sigma, border)
    return np.stack([_ssim_plane(x[..., c], y[..., c], data_range, sigma, border) for c in range(x.shape[2])], axis=2)


def _ssim_plane(x: np.ndarray, y: np.ndarray, data_range: float, sigma: float, border: str) -> np.ndarray:
    taps = gaussian_taps(sigma)
    r = radius(sigma)
    if border == "reflect":
        x, y = np.pad(x, r, mode="reflect"), np.pad(y, r, mode="reflect")
    mu_x, mu_y, xx, yy, xy = (_blur(p, taps) for p in (x, y, x * x, y * y, x * y))
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    if border == "reflect":  # torchmetrics clamps rounding negatives
        var_x, var_y = var_x.clip(min=0), var_y.clip(min=0)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s[r:-r, r:-r]


def radius(sigma: float = SIGMA) -> int:
    """The window radius: pixels left out on each side of the "crop" map."""
    return int(TRUNCATE * sigma + 0.5)


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float, mask: np.ndarray | None = None,
         border: str = "crop") -> float:
    """Mean SSIM; with `mask` ((H, W) bool at the image size) the mean over the masked pixels only."""
    s = ssim_map(a, b, data_range=data_range, border=border)
    if mask is None:
        return float(s.mean())
    if border == "crop":
        r = radius()
        mask = mask[r:-r, r:-r]
    if not mask.any():
        raise ValueError("the mask is empty inside the SSIM border")
    return float(s[mask].mean())


def greyscale(rgb: np.ndarray) -> np.ndarray:
    """PIL's `convert("L")` of a uint8 RGB image (ITU-R 601-2 luma, rounded), as HR-VITON's evaluate.py does."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").convert("L"))
