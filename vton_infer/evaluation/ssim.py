"""SSIM (Wang et al. 2004) with a Gaussian window, as scikit-image and torchmetrics compute it.

Both libraries use an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, population (not
sample) variances, and average the SSIM map without a border of 5 pixels (the window radius),
so the result does not depend on how either pads. Colour images are scored per channel and
averaged. `data_range` is 255 for uint8 greyscale (HR-VITON's evaluate.py) and 1.0 for RGB in
[0, 1] (torchmetrics on ToTensor images).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIGMA = 1.5
TRUNCATE = 3.5  # scipy.ndimage.gaussian_filter's default: radius int(3.5 * 1.5 + 0.5) = 5 -> 11 taps
K1, K2 = 0.01, 0.03


def gaussian_taps(sigma: float = SIGMA) -> torch.Tensor:
    """The normalised 1-D Gaussian window (float64)."""
    radius = int(TRUNCATE * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def _blur_valid(planes: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian over (P, 1, H, W) keeping only the fully covered ("valid") pixels."""
    k = taps.numel()
    planes = F.conv2d(planes, taps.view(1, 1, k, 1))
    return F.conv2d(planes, taps.view(1, 1, 1, k))


def ssim_map(a: np.ndarray, b: np.ndarray, *, data_range: float, sigma: float = SIGMA) -> np.ndarray:
    """Per-pixel SSIM of two same-size images ((H, W) or (H, W, C)), without the window-radius border.

    Returns (H - 2r, W - 2r) or (H - 2r, W - 2r, C) float64.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    x = torch.from_numpy(np.asarray(a, dtype=np.float64))
    y = torch.from_numpy(np.asarray(b, dtype=np.float64))
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    x, y = x.permute(2, 0, 1)[:, None], y.permute(2, 0, 1)[:, None]  # (C, 1, H, W)
    taps = gaussian_taps(sigma)
    mu_x, mu_y, xx, yy, xy = _blur_valid(torch.cat([x, y, x * x, y * y, x * y]), taps).chunk(5)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    s = s[:, 0].permute(1, 2, 0).numpy()
    return s[..., 0] if np.asarray(a).ndim == 2 else s


def border(sigma: float = SIGMA) -> int:
    """Pixels left out on each side of the SSIM map (the window radius)."""
    return int(TRUNCATE * sigma + 0.5)


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float, mask: np.ndarray | None = None) -> float:
    """Mean SSIM; with `mask` ((H, W) bool at the image size) the mean over the masked pixels only."""
    s = ssim_map(a, b, data_range=data_range)
    if mask is None:
        return float(s.mean())
    r = border()
    inner = mask[r:-r, r:-r]
    if not inner.any():
        raise ValueError("the mask is empty inside the SSIM border")
    return float(s[inner].mean())


def greyscale(rgb: np.ndarray) -> np.ndarray:
    """PIL's `convert("L")` of a uint8 RGB image (ITU-R 601-2 luma, rounded), as HR-VITON's evaluate.py does."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").convert("L"))
