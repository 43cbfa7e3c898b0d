"""The image resizes the protocols differ by; each one is the named library's behaviour.

Images are (H, W, 3) arrays; sizes are (height, width).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

PIL_FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def pil_resize_uint8(rgb: np.ndarray, size: tuple[int, int], filter_name: str) -> np.ndarray:
    """PIL resize of a uint8 RGB image (antialiased, rounded back to uint8), as torchvision's Resize on a PIL image."""
    if rgb.shape[:2] == tuple(size):
        return rgb
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    return np.asarray(image.resize((size[1], size[0]), resample=PIL_FILTERS[filter_name]))


def clean_resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """clean-fid's "clean" resize: PIL bicubic on each channel as a 32-bit float image (mode F), clipped to [0, 255].

    No quantisation after the resize: returns float32 (H, W, 3) in [0, 255].
    """
    channels = []
    for c in range(rgb.shape[2]):
        channel = Image.fromarray(np.ascontiguousarray(rgb[:, :, c], dtype=np.float32))
        if channel.mode != "F":  # why: a mode other than F would quantise, the point of "clean" is not to
            raise ValueError(f"expected a 32-bit float PIL image, got mode {channel.mode}")
        resized = channel.resize((size[1], size[0]), resample=Image.Resampling.BICUBIC)
        channels.append(np.asarray(resized, dtype=np.float32).clip(0, 255))
    return np.stack(channels, axis=2)


def torch_bilinear(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """pytorch-fid's resize: `F.interpolate(..., mode="bilinear", align_corners=False)`, no antialiasing. (N, C, H, W)."""
    return F.interpolate(batch, size=size, mode="bilinear", align_corners=False)


def _tf1_axis(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # TensorFlow 1.x resize_bilinear without align_corners or half-pixel centres: src = dst * in / out.
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    low = src.floor().long().clamp(max=n_in - 1)
    high = (low + 1).clamp(max=n_in - 1)
    return low, high, (src - low).float()


def tf1_bilinear(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TensorFlow 1.x bilinear resize (what torch-fidelity, and so torchmetrics' FID, feed Inception). (N, C, H, W)."""
    y0, y1, fy = _tf1_axis(batch.shape[2], size[0])
    x0, x1, fx = _tf1_axis(batch.shape[3], size[1])
    top = batch[:, :, y0] * (1 - fy)[:, None] + batch[:, :, y1] * fy[:, None]
    return top[:, :, :, x0] * (1 - fx) + top[:, :, :, x1] * fx
