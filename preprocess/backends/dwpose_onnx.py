"""DWPose: YOLOX person detector + DWPose/RTMPose SimCC pose model (ONNX, onnxruntime CPU) -> BODY_25.

Facts followed (DWPose's onnxdet.py / onnxpose.py, rtmlib):
* YOLOX: letterbox into 640x640 (scale `r = min(640/h, 640/w)`, image at the top-left, pad 114),
  raw 0..255 pixels in BGR order (YOLOX is trained on cv2 images, no normalisation), NCHW float32.
  Output (1, A, 5 + classes) with A = sum over strides 8/16/32 of the grid cells: xy are
  offsets in grid cells, wh log-sizes, objectness and class scores already sigmoid-ed; person
  score = obj * cls[person] for every anchor (upstream's class-aware NMS keeps class 0, so an
  anchor whose top class is another one still counts); NMS (IoU 0.45). End-to-end exports with NMS built in
  ((1, N, 5) boxes + scores) are accepted too.
* Pose (RTMPose / DWPose, e.g. `dw-ll_ucoco_384.onnx`, input (1, 3, 384, 288)): box grown by
  1.25, fixed to the input aspect ratio, warped with `get_warp_matrix` (no -1), RGB normalised
  with mean (123.675, 116.28, 103.53) / std (58.395, 57.12, 57.375) (mmpose's `bgr_to_rgb=True`
  data preprocessor). Outputs simcc_x (1, K, 2W) and simcc_y (1, K, 2H): location = argmax / 2
  (split ratio 2), score = min of the two maxima.
The main person is the largest box, discounted by its distance from the image centre; all
detections above the threshold are counted in `num_persons`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from vtonkit.preprocess.backends.affine import apply_affine, box_affine, fit_aspect
from vtonkit.preprocess.backends.coco_wholebody import coco_to_body25
from vtonkit.preprocess.backends.onnx_session import model_file, open_session, static_hw
from vtonkit.preprocess.stages import PoseResult

from vtonkit.core.errors import NoPersonError

logger = logging.getLogger(__name__)

YOLOX_STRIDES = (8, 16, 32)
YOLOX_PAD_VALUE = 114
POSE_MEAN_RGB = np.array([123.675, 116.28, 103.53], dtype=np.float32)
POSE_STD_RGB = np.array([58.395, 57.12, 57.375], dtype=np.float32)
BOX_PADDING = 1.25
SIMCC_SPLIT_RATIO = 2.0


# --------------------------------------------------------------------------------------- detector


def yolox_input(image_rgb: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, float]:
    """`(H, W, 3)` uint8 RGB -> letterboxed `(1, 3, h, w)` float32 BGR 0..255, and the scale ratio."""
    in_h, in_w = input_hw
    height, width = image_rgb.shape[:2]
    ratio = min(in_h / height, in_w / width)
    new_w, new_h = int(width * ratio), int(height * ratio)
    resized = cv2.resize(np.ascontiguousarray(image_rgb[..., ::-1]), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = np.full((in_h, in_w, 3), YOLOX_PAD_VALUE, dtype=np.uint8)
    padded[:new_h, :new_w] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32), ratio


def yolox_grid(input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Anchor grid `(A, 2)` cell coordinates and `(A, 1)` strides in YOLOX's output order."""
    grids, strides = [], []
    for stride in YOLOX_STRIDES:
        gh, gw = input_hw[0] // stride, input_hw[1] // stride
        xv, yv = np.meshgrid(np.arange(gw), np.arange(gh))
        grids.append(np.stack((xv, yv), -1).reshape(-1, 2))
        strides.append(np.full((gh * gw, 1), stride))
    return np.concatenate(grids).astype(np.float64), np.concatenate(strides).astype(np.float64)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression on `(N, 4)` xyxy boxes; indices kept, best first."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        overlap = w * h / (areas[best] + areas[rest] - w * h)
        order = rest[overlap <= iou_threshold]
    return keep


def decode_yolox(outputs: list[np.ndarray], input_hw: tuple[int, int], ratio: float, *,
                 score_threshold: float = 0.3, nms_threshold: float = 0.45) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes `(N, 4)` xyxy in image pixels and their scores `(N,)`, best first."""
    raw = np.asarray(outputs[0], dtype=np.float64)
    if raw.ndim == 3:
        raw = raw[0]
    grid, strides = yolox_grid(input_hw)
    if raw.ndim == 2 and raw.shape[0] == grid.shape[0] and raw.shape[1] >= 6:
        centers = (raw[:, :2] + grid) * strides
        sizes = np.exp(np.clip(raw[:, 2:4], -20, 20)) * strides
        # DWPose's onnxdet runs class-aware NMS and keeps class 0: every anchor is scored on its
        # person column, whatever its best class (a person holding a bag may score "handbag" higher).
        scores = raw[:, 4] * raw[:, 5]
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], 1) / ratio
        person = scores > score_threshold
    elif raw.ndim == 2 and raw.shape[1] == 5:
        # End-to-end export (NMS inside): boxes in letterbox pixels + score; optional labels output.
        boxes, scores = raw[:, :4] / ratio, raw[:, 4]
        labels = np.asarray(outputs[1]).reshape(-1) if len(outputs) > 1 else np.zeros(len(raw))
        person = (labels == 0) & (scores > score_threshold)
    else:
        raise ValueError(f"unrecognised detector output shape {tuple(np.shape(outputs[0]))}: expected "
                         f"(1, {grid.shape[0]}, 5 + classes) raw YOLOX or (1, N, 5) with NMS")
    boxes, scores = boxes[person], scores[person]
    keep = nms(boxes, scores, nms_threshold) if len(boxes) else []
    return boxes[keep], scores[keep]


def choose_main_person(boxes: np.ndarray, image_hw: tuple[int, int]) -> int:
    """Index of the main person: largest area, discounted up to 50% by distance from the centre."""
    height, width = image_hw
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    centers = (boxes[:, :2] + boxes[:, 2:]) / 2
    offset = np.hypot((centers[:, 0] - width / 2) / width, (centers[:, 1] - height / 2) / height)
    return int(np.argmax(areas * (1 - 0.5 * np.clip(offset / 0.7071, 0, 1))))


# ------------------------------------------------------------------------------------ pose model


def pose_crop(box_xyxy: np.ndarray, input_wh: tuple[int, int]) -> tuple[np.ndarray, float]:
    """RTMPose `bbox_xyxy2cs(padding=1.25)` + `_fix_aspect_ratio`: centre (2,) and crop width."""
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    scale_w, _ = fit_aspect((x2 - x1) * BOX_PADDING, (y2 - y1) * BOX_PADDING, input_wh[0] / input_wh[1])
    return center, scale_w


def pose_input(image_rgb: np.ndarray, center: np.ndarray, scale_w: float, input_wh: tuple[int, int]) -> np.ndarray:
    """`(H, W, 3)` uint8 RGB -> `(1, 3, h, w)` float32 normalised crop."""
    in_w, in_h = input_wh
    matrix = box_affine(center, scale_w, in_w, in_h, minus_one=False)
    crop = cv2.warpAffine(image_rgb, matrix, (in_w, in_h), flags=cv2.INTER_LINEAR)
    normalised = (crop.astype(np.float32) - POSE_MEAN_RGB) / POSE_STD_RGB
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = SIMCC_SPLIT_RATIO) -> tuple[np.ndarray, np.ndarray]:
    """SimCC `(1, K, Wx)`, `(1, K, Wy)` -> input-space locations `(K, 2)` and scores `(K,)`."""
    simcc_x, simcc_y = np.asarray(simcc_x)[0], np.asarray(simcc_y)[0]
    locations = np.stack([simcc_x.argmax(1), simcc_y.argmax(1)], -1).astype(np.float64) / split_ratio
    scores = np.minimum(simcc_x.max(1), simcc_y.max(1)).astype(np.float64)
    locations[scores <= 0] = -1
    return locations, scores


def select_simcc(outputs: list[np.ndarray], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(simcc_x, simcc_y) by output name when named so, else the first two outputs in order."""
    by_name = dict(zip(names, outputs))
    if "simcc_x" in by_name and "simcc_y" in by_name:
        return by_name["simcc_x"], by_name["simcc_y"]
    if len(outputs) < 2 or outputs[0].ndim != 3:
        raise ValueError(f"expected SimCC outputs (1, K, 2W) and (1, K, 2H), got {[o.shape for o in outputs]}")
    return outputs[0], outputs[1]


class DwPose:
    """DWPose / RTMPose whole-body ONNX pose estimator -> BODY_25.

    Options:
        det_model_path / pose_model_path: explicit `.onnx` files (else the model store's
            `dwpose-det` and `dwpose-pose`).
        model_paths: the config file's `[models]` table (passed by `resolve_backends`).
        det_score_threshold: minimum person score (default 0.3, as DWPose's final filter).
        keypoint_threshold: joints below this SimCC score are written as missing (default 0.3).
        threads: onnxruntime intra-op threads.
    """

    name = "dwpose"
    version = "1"

    def __init__(self, *, det_model_path: str | Path | None = None, pose_model_path: str | Path | None = None,
                 model_paths: dict[str, str] | None = None, det_score_threshold: float = 0.3,
                 nms_threshold: float = 0.45, keypoint_threshold: float = 0.3, threads: int | None = None,
                 det_session: Any = None, pose_session: Any = None) -> None:
        self.det = det_session or open_session(model_file("dwpose-det", det_model_path, model_paths), threads=threads)
        self.pose = pose_session or open_session(model_file("dwpose-pose", pose_model_path, model_paths), threads=threads)
        self.det_hw = static_hw(self.det, (640, 640))
        pose_h, pose_w = static_hw(self.pose, (384, 288))
        self.pose_wh = (pose_w, pose_h)
        self.pose_output_names = [o.name for o in self.pose.get_outputs()]
        self.det_score_threshold, self.nms_threshold = det_score_threshold, nms_threshold
        self.keypoint_threshold = keypoint_threshold

    def detect(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes `(N, 4)` xyxy (image pixels) and scores."""
        tensor, ratio = yolox_input(image_rgb, self.det_hw)
        outputs = self.det.run(None, {self.det.get_inputs()[0].name: tensor})
        return decode_yolox(outputs, self.det_hw, ratio, score_threshold=self.det_score_threshold,
                            nms_threshold=self.nms_threshold)

    def keypoints_in_box(self, image_rgb: np.ndarray, box_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """COCO(-WholeBody) keypoints `(K, 2)` in image pixels and scores `(K,)` for one person box."""
        center, scale_w = pose_crop(box_xyxy, self.pose_wh)
        outputs = self.pose.run(None, {self.pose.get_inputs()[0].name: pose_input(image_rgb, center, scale_w, self.pose_wh)})
        locations, scores = decode_simcc(*select_simcc(outputs, self.pose_output_names))
        inverse = box_affine(center, scale_w, self.pose_wh[0], self.pose_wh[1], minus_one=False, inverse=True)
        return apply_affine(locations, inverse), scores

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        """`(H, W, 3)` uint8 RGB -> BODY_25 of the main person. Raises `NoPersonError` when nobody is found."""
        image_rgb = np.asarray(image_rgb)
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {image_rgb.shape} {image_rgb.dtype}")
        boxes, scores = self.detect(image_rgb)
        if len(boxes) == 0:
            raise NoPersonError(None, "no person detected (DWPose / YOLOX)")
        main = choose_main_person(boxes, image_rgb.shape[:2])
        points, point_scores = self.keypoints_in_box(image_rgb, boxes[main])
        body = coco_to_body25(points, point_scores, threshold=self.keypoint_threshold)
        warnings = []
        if len(boxes) > 1:
            warnings.append(f"{len(boxes)} persons detected; kept the largest central one")
        height, width = image_rgb.shape[:2]
        x1, y1, x2, y2 = boxes[main]
        if x1 <= 1 or y1 <= 1 or x2 >= width - 2 or y2 >= height - 2:
            warnings.append("the person touches the image border (cut off?)")
        return PoseResult(keypoints=body, num_persons=len(boxes), warnings=warnings)
