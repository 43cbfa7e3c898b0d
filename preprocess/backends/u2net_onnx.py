"""Cloth masks with U2-Net-family ONNX models (rembg's exports), run by onnxruntime on the CPU.

Input normalisation, two choices (`normalisation=` option):
* "training" (default): what each model saw when it was trained.
  - `u2net_cloth_seg` (768x768): the cloth-segmentation training and inference code resizes with
    bicubic, then `ToTensor()` (divide by 255) and `Normalize(0.5, 0.5)`: x -> (x/255 - 0.5) / 0.5.
  - `u2net` (320x320): U-2-Net's own loader divides by the image maximum, then ImageNet mean/std
    (the same as rembg).
  - `isnet-general-use` (1024x1024): DIS divides by 255, then mean 0.5, std 1.
* "rembg": rembg's sessions, identical for every model: Lanczos resize, divide by the image's
  maximum pixel value, then mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) (std 1 for
  isnet). For `u2net_cloth_seg` this is not the training normalisation (a grey of 128 becomes
  0.07 instead of 0.004 and a dark image is stretched to full range), which is why it is not
  the default; it stays available to reproduce rembg's masks.
Outputs: `u2net_cloth_seg` gives (1, 4, 768, 768) class logits (background, upper, lower, full
body); the saliency models give one map (1, 1, S, S) first (U2-Net returns 7 side outputs;
rembg reads output 0), min-max normalised. Post-processing (ours): the probability of the chosen
classes (or the saliency) is resized bilinearly to the image and thresholded at 0.5 — rembg
instead resizes the arg-max label image with Lanczos; the two agree except on edge pixels.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from vtonkit.preprocess.backends.onnx_session import model_file, open_session, static_hw

logger = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
Normalisation = Literal["training", "rembg"]
NORMALISATIONS = ("training", "rembg")


@dataclass(frozen=True)
class InputNormalisation:
    """How an RGB image becomes the model's input tensor."""

    scale: Literal["max", "255"]  # divide by the image's maximum pixel value, or by 255
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resample: Image.Resampling


_REMBG = InputNormalisation("max", IMAGENET_MEAN, IMAGENET_STD, Image.Resampling.LANCZOS)
# model name -> (input size, {normalisation name: InputNormalisation})
U2NET_SETTINGS: dict[str, tuple[int, dict[str, InputNormalisation]]] = {
    "u2net-cloth-seg": (768, {"training": InputNormalisation("255", (0.5,) * 3, (0.5,) * 3, Image.Resampling.BICUBIC),
                              "rembg": _REMBG}),
    "u2net": (320, {"training": _REMBG, "rembg": _REMBG}),
    "isnet-general-use": (1024, {
        "training": InputNormalisation("255", (0.5,) * 3, (1.0,) * 3, Image.Resampling.BILINEAR),
        "rembg": InputNormalisation("max", IMAGENET_MEAN, (1.0,) * 3, Image.Resampling.LANCZOS)}),
}
# u2net_cloth_seg classes kept per garment category ("union" = any garment).
CLOTH_SEG_CLASSES: dict[str, tuple[int, ...]] = {
    "upper": (1,), "lower": (2,), "full": (3,), "dresses": (3,), "union": (1, 2, 3),
}

Category = Literal["upper", "lower", "full", "dresses", "union"]


def rgb_on_white(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """`(H, W, 3|4)` uint8 -> RGB composited on white, and the alpha>=128 mask when there is alpha."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) RGB or (H, W, 4) RGBA uint8, got {image.shape} {image.dtype}")
    if image.shape[2] == 3:
        return image, None
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    rgb = image[..., :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)
    opaque = image[..., 3] >= 128
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), (None if opaque.all() else opaque)


def u2net_input(image_rgb: np.ndarray, size: int, normalisation: InputNormalisation = _REMBG) -> np.ndarray:
    """`(H, W, 3)` uint8 -> `(1, 3, size, size)` float32 as `normalisation` says (default: rembg's)."""
    resized = np.asarray(Image.fromarray(image_rgb).resize((size, size), normalisation.resample), dtype=np.float64)
    divisor = max(float(resized.max()), 1e-6) if normalisation.scale == "max" else 255.0
    normalised = (resized / divisor - np.asarray(normalisation.mean)) / np.asarray(normalisation.std)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None], dtype=np.float32)


def foreground_probability(outputs: list[np.ndarray], category: Category) -> np.ndarray:
    """`(S, S)` float32 probability of the wanted garment from the model's outputs."""
    first = np.asarray(outputs[0], dtype=np.float32)
    if first.ndim != 4:
        raise ValueError(f"expected a (1, C, S, S) output, got {first.shape}")
    if first.shape[1] == 4:  # u2net_cloth_seg class logits
        logits = first[0] - first[0].max(0, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
        return probs[list(CLOTH_SEG_CLASSES[category])].sum(0)
    if first.shape[1] == 1:  # saliency map, min-max normalised as rembg does
        saliency = first[0, 0]
        low, high = float(saliency.min()), float(saliency.max())
        return (saliency - low) / (high - low) if high > low else np.zeros_like(saliency)
    raise ValueError(f"unrecognised U2-Net output with {first.shape[1]} channels (expected 4 or 1)")


class U2NetClothMasker:
    """Garment mask from a U2-Net-family ONNX model.

    Options:
        model: registry name giving the default file and normalisation: "u2net-cloth-seg"
            (default), "isnet-general-use" or "u2net".
        model_path: explicit `.onnx` file (its normalisation still follows `model`).
        model_paths: the config file's `[models]` table (passed by `resolve_backends`).
        category: u2net_cloth_seg classes to keep: "upper", "lower", "full"/"dresses" or "union"
            (default: any garment). Ignored by the saliency models.
        threshold: probability threshold (default 0.5).
        normalisation: "training" (default: the model's own training normalisation) or "rembg"
            (rembg's divide-by-max + ImageNet mean/std); see the module docstring.
    """

    name = "u2net"
    version = "1"

    def __init__(self, *, model: str = "u2net-cloth-seg", model_path: str | Path | None = None,
                 model_paths: dict[str, str] | None = None, category: Category = "union", threshold: float = 0.5,
                 normalisation: Normalisation = "training", threads: int | None = None, session: Any = None) -> None:
        if model not in U2NET_SETTINGS:
            raise ValueError(f"unknown U2-Net model {model!r}; known: {', '.join(U2NET_SETTINGS)}")
        if category not in CLOTH_SEG_CLASSES:
            raise ValueError(f"category must be one of {', '.join(CLOTH_SEG_CLASSES)}, got {category!r}")
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {normalisation!r}")
        default_size, normalisations = U2NET_SETTINGS[model]
        self.normalisation = normalisations[normalisation]
        self.session = session or open_session(model_file(model, model_path, model_paths), threads=threads)
        height, width = static_hw(self.session, (default_size, default_size))
        if height != width:
            raise ValueError(f"U2-Net models take square inputs, this one takes {height}x{width}")
        self.size, self.model, self.category, self.threshold = height, model, category, threshold

    def probability(self, image: np.ndarray) -> np.ndarray:
        """`(H, W)` float32 garment probability at the image size."""
        rgb, _ = rgb_on_white(image)
        outputs = self.session.run(None, {self.session.get_inputs()[0].name: u2net_input(rgb, self.size, self.normalisation)})
        prob = foreground_probability(outputs, self.category)
        return cv2.resize(prob, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)

    def mask(self, image: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` RGB or `(H, W, 4)` RGBA uint8 -> `(H, W)` bool garment mask (transparent pixels excluded)."""
        _, opaque = rgb_on_white(image)
        mask = self.probability(image) >= self.threshold
        return mask & opaque if opaque is not None else mask
