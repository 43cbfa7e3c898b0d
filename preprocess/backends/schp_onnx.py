"""SCHP human parsing (LIP-20, ATR-18, Pascal-7) exported to ONNX, run by onnxruntime on the CPU.

Pre- and post-processing follow SCHP's `simple_extractor.py` exactly:
* the box is the whole image `[0, 0, w - 1, h - 1]` (`crop="image"`), grown to the input's
  aspect ratio (`_box2cs`), warped with SCHP's `get_affine_transform` (linear, black border);
* the network sees BGR in [0, 1] normalised with mean (0.406, 0.456, 0.485) and std
  (0.225, 0.224, 0.229) (ImageNet statistics in BGR order: `ToTensor` on a cv2 image);
* input sizes (H, W): LIP 473x473, ATR 512x512, Pascal 512x512;
* the fused parsing logits are upsampled to the input size (bilinear, align_corners=True), warped
  back to the image with the inverse affine (`transform_logits`), and arg-maxed.
The exports try-on projects distribute (`parsing_lip.onnx`, `parsing_atr.onnx` of IDM-VTON /
OOTDiffusion) take input `input.1` (1, 3, H, W) and return three outputs: parsing logits,
fused logits (both (1, C, H/4, W/4), C = classes) and edges (1, 2, ...); they read output 1.
`select_parsing_logits` accepts that and the simpler variants (one output, logits at input size).

The labels are then converted to CIHP-20 (`to_cihp`), sides are checked against the pose, the
neck is derived (LIP/ATR have none), and Pascal limbs are split into left/right by the pose.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from vtonkit.datasets.labels import to_cihp
from vtonkit.preprocess.backends.affine import box_affine, fit_aspect
from vtonkit.preprocess.backends.onnx_session import model_file, open_session, static_hw
from vtonkit.preprocess.backends.parse_pose_fixes import derive_neck, fix_left_right, split_left_right

logger = logging.getLogger(__name__)

SCHP_MEAN_BGR = np.array([0.406, 0.456, 0.485], dtype=np.float32)
SCHP_STD_BGR = np.array([0.225, 0.224, 0.229], dtype=np.float32)
# label set -> (number of classes, input (H, W)) as in SCHP's dataset_settings
SCHP_SETTINGS: dict[str, tuple[int, tuple[int, int]]] = {
    "lip": (20, (473, 473)),
    "atr": (18, (512, 512)),
    "pascal": (7, (512, 512)),
}

Crop = Literal["image", "person"]


def schp_center_scale(box_xywh: tuple[float, float, float, float], input_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """SCHP `_box2cs`: box -> (centre (2,), box width grown to the input aspect ratio)."""
    x, y, w, h = box_xywh
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float64)
    scale_w, _ = fit_aspect(w, h, input_hw[1] / input_hw[0])
    return center, scale_w


def person_box(image_hw: tuple[int, int], keypoints: np.ndarray | None, crop: Crop, margin: float = 0.15) -> tuple[float, float, float, float]:
    """The box SCHP parses, `(x, y, w, h)`: the whole image (as SCHP does) or the pose's extent + margin."""
    height, width = image_hw
    whole = (0.0, 0.0, float(width - 1), float(height - 1))
    if crop == "image" or keypoints is None:
        return whole
    present = ~((keypoints[:, 0] == 0) & (keypoints[:, 1] == 0))
    if present.sum() < 4:
        return whole
    xs, ys = keypoints[present, 0], keypoints[present, 1]
    pad_x, pad_y = margin * (xs.max() - xs.min()), margin * (ys.max() - ys.min())
    x0, y0 = max(0.0, xs.min() - pad_x), max(0.0, ys.min() - 2 * pad_y)  # room for the head above the nose
    x1, y1 = min(width - 1.0, xs.max() + pad_x), min(height - 1.0, ys.max() + pad_y)
    return x0, y0, x1 - x0, y1 - y0


def schp_input(image_rgb: np.ndarray, center: np.ndarray, scale_w: float, input_hw: tuple[int, int]) -> np.ndarray:
    """`(H, W, 3)` uint8 RGB -> `(1, 3, in_h, in_w)` float32 network input (BGR, SCHP normalisation)."""
    in_h, in_w = input_hw
    matrix = box_affine(center, scale_w, in_w, in_h, minus_one=True)
    bgr = np.ascontiguousarray(image_rgb[..., ::-1])
    warped = cv2.warpAffine(bgr, matrix, (in_w, in_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    normalised = (warped.astype(np.float32) / 255.0 - SCHP_MEAN_BGR) / SCHP_STD_BGR
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])


def select_parsing_logits(outputs: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Pick the fused parsing logits `(C, h, w)` from a SCHP export's outputs.

    Accepted: one output; SCHP's `[parsing, fusion, edge]` (output 1, as the try-on projects
    read it); any list where the rank-4 outputs with `num_classes` channels are the candidates
    (the fused one is the second of two, else the last).
    """
    candidates = [(i, o) for i, o in enumerate(outputs) if o.ndim == 4 and o.shape[1] == num_classes]
    if not candidates:
        shapes = [tuple(o.shape) for o in outputs]
        raise ValueError(f"no output with {num_classes} class channels among {shapes}: wrong label set for this model?")
    index = 1 if len(candidates) >= 2 and candidates[1][0] == 1 else len(candidates) - 1
    return candidates[index][1][0].astype(np.float32)


def upsample_align_corners(logits: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize `(C, h, w)` -> `(C, H, W)` with align_corners=True (torch `nn.Upsample`).

    Output pixel (x, y) samples input (x * (w-1)/(W-1), y * (h-1)/(H-1)): corners map to corners.
    """
    channels, h, w = logits.shape
    out_h, out_w = out_hw
    if (h, w) == (out_h, out_w):
        return logits
    sx = (w - 1) / (out_w - 1) if out_w > 1 else 0.0
    sy = (h - 1) / (out_h - 1) if out_h > 1 else 0.0
    inverse_map = np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]], dtype=np.float64)
    hwc = np.ascontiguousarray(logits.transpose(1, 2, 0))
    resized = cv2.warpAffine(hwc, inverse_map, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
    return resized.reshape(out_h, out_w, channels).transpose(2, 0, 1)


def logits_to_image(logits_input: np.ndarray, center: np.ndarray, scale_w: float, image_hw: tuple[int, int]) -> np.ndarray:
    """SCHP `transform_logits`: `(C, in_h, in_w)` input-space logits -> `(C, H, W)` image-space logits.

    Pixels outside the warped box get 0 on every channel (SCHP's constant border).
    """
    channels, in_h, in_w = logits_input.shape
    height, width = image_hw
    inverse = box_affine(center, scale_w, in_w, in_h, minus_one=True, inverse=True)
    hwc = np.ascontiguousarray(logits_input.transpose(1, 2, 0))
    back = cv2.warpAffine(hwc, inverse, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return back.reshape(height, width, channels).transpose(2, 0, 1)


class SchpParser:
    """SCHP ONNX human parser -> CIHP-20. Subclasses fix the label set.

    Options:
        model_path: explicit `.onnx` file (else the model store: `vtonkit models path <name>`).
        model_paths: the config file's `[models]` table (passed by `resolve_backends`).
        crop: "image" (SCHP's own behaviour, default) or "person" (box from the pose).
        fix_sides: swap left/right labels that contradict the pose (default True).
        neck: derive the neck from skin around the BODY_25 neck (default True; not for Pascal).
        threads: onnxruntime intra-op threads (default: onnxruntime's choice).
    """

    name = "schp"
    version = "1"
    label_set = "lip"
    model_name = "schp-lip"

    def __init__(self, *, model_path: str | Path | None = None, model_paths: dict[str, str] | None = None,
                 crop: Crop = "image", fix_sides: bool = True, neck: bool = True, threads: int | None = None,
                 session: Any = None) -> None:
        if crop not in ("image", "person"):
            raise ValueError(f"crop must be 'image' or 'person', got {crop!r}")
        self.num_classes, default_hw = SCHP_SETTINGS[self.label_set]
        self.session = session if session is not None else open_session(
            model_file(self.model_name, model_path, model_paths), threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.input_hw = static_hw(self.session, default_hw)
        self.crop, self.fix_sides, self.neck = crop, fix_sides, neck

    def raw_labels(self, image_rgb: np.ndarray, keypoints: np.ndarray | None = None) -> np.ndarray:
        """`(H, W)` uint8 labels in the model's own label set (before any conversion)."""
        height, width = image_rgb.shape[:2]
        center, scale_w = schp_center_scale(person_box((height, width), keypoints, self.crop), self.input_hw)
        outputs = self.session.run(None, {self.input_name: schp_input(image_rgb, center, scale_w, self.input_hw)})
        logits = upsample_align_corners(select_parsing_logits(outputs, self.num_classes), self.input_hw)
        return logits_to_image(logits, center, scale_w, (height, width)).argmax(0).astype(np.uint8)

    def parse(self, image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB + BODY_25 `(25, 3)` -> `(H, W)` uint8 CIHP-20."""
        image_rgb = np.asarray(image_rgb)
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
        keypoints = None if keypoints is None else np.asarray(keypoints, dtype=np.float64)
        labels = to_cihp(self.raw_labels(image_rgb, keypoints), self.label_set)
        if self.label_set == "pascal":
            return split_left_right(labels, keypoints)
        if self.fix_sides:
            labels = fix_left_right(labels, keypoints)
        if self.neck:
            # ATR folds the neck into the face; LIP has no neck and its models vary (see derive_neck).
            face_includes_neck = True if self.label_set == "atr" else None
            labels = derive_neck(labels, image_rgb, keypoints, face_includes_neck=face_includes_neck)
        return labels


class SchpLipParser(SchpParser):
    name, label_set, model_name = "schp-lip", "lip", "schp-lip"


class SchpAtrParser(SchpParser):
    name, label_set, model_name = "schp-atr", "atr", "schp-atr"


class SchpPascalParser(SchpParser):
    name, label_set, model_name = "schp-pascal", "pascal", "schp-pascal"
    # 2: limb sides from `BodyFrame` distance maps (rasterised polylines) instead of exact segment
    # distances (identical sides on the 8 shared VITON-HD parses; ties near the midline may differ).
    version = "2"
