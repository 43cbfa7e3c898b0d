"""DensePose part ids from detectron2's DensePose R-CNN (optional: detectron2 is not on PyPI).

What HR-VITON's `image-densepose` shows is detectron2's `dp_segm` visualisation: for the detected
person, the fine-segmentation label map I (0..24) resampled to the integer box size is drawn into
the box, background black (see `vtonkit.datasets.io.densepose`). This backend returns that label
map pasted into the full image (`paste_part_labels`, a pure function); `render_densepose`
turns it into the PARULA image.

Install on a GPU machine (detectron2 builds from source against your torch/CUDA):
    pip install 'git+https://github.com/facebookresearch/detectron2.git'
    pip install 'git+https://github.com/facebookresearch/detectron2.git#subdirectory=projects/DensePose'
and get the config files `densepose_rcnn_R_50_FPN_s1x.yaml` + `Base-DensePose-RCNN-FPN.yaml`
from detectron2's `projects/DensePose/configs/` (pass the first as `config_path`); the weights
are `vtonkit models download densepose-r50-fpn-s1x`.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from vtonkit.preprocess.backends.onnx_session import model_file

from vtonkit.core.errors import NoPersonError

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the detectron2 DensePose backend needs detectron2 and its DensePose project, which are not on "
    "PyPI: on a machine with a CUDA toolchain run `pip install "
    "'git+https://github.com/facebookresearch/detectron2.git'` and `pip install "
    "'git+https://github.com/facebookresearch/detectron2.git#subdirectory=projects/DensePose'` "
    "(see docs/real-models.md); otherwise use `--densepose geometric`"
)


def paste_part_labels(box_labels: np.ndarray, box_xywh: tuple[float, float, float, float],
                      image_hw: tuple[int, int]) -> np.ndarray:
    """Paste a box-sized fine-segmentation label map into an empty full-image map.

    As detectron2's `MatrixVisualizer`: the box is truncated to integers `x, y, w, h`; a label
    map of another size is resized to `(h, w)` with nearest neighbour; only labels > 0 are
    written. Parts of the box outside the image are clipped.

    Args:
        box_labels: `(h_box, w_box)` integer part ids 0..24.
        box_xywh: the detection box (x, y, width, height) in image pixels.
        image_hw: (H, W) of the image.
    Returns:
        `(H, W)` uint8 part ids 0..24.
    """
    import cv2

    height, width = image_hw
    out = np.zeros((height, width), dtype=np.uint8)
    x, y, w, h = (int(v) for v in box_xywh)
    box_labels = np.asarray(box_labels)
    if w <= 0 or h <= 0 or box_labels.size == 0:
        return out
    if box_labels.min() < 0 or box_labels.max() > 24:
        raise ValueError(f"DensePose part ids must be 0..24, got {box_labels.min()}..{box_labels.max()}")
    if box_labels.shape != (h, w):
        box_labels = cv2.resize(box_labels.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return out
    patch = box_labels[y0 - y: y1 - y, x0 - x: x1 - x].astype(np.uint8)
    region = out[y0:y1, x0:x1]
    region[patch > 0] = patch[patch > 0]
    return out


def best_instance(scores: np.ndarray, min_score: float) -> int | None:
    """Index of the highest-scoring detection at or above `min_score`, else None."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0 or scores.max() < min_score:
        return None
    return int(scores.argmax())


def import_densepose() -> dict[str, Any]:
    """detectron2 + DensePose entry points, or ImportError with the install hint."""
    try:
        from densepose import add_densepose_config
        from densepose.vis.extractor import DensePoseResultExtractor
        from detectron2.config import get_cfg
        from detectron2.engine import DefaultPredictor
    except Exception as exc:
        raise ImportError(f"{INSTALL_HINT} (import failed: {type(exc).__name__}: {exc})") from exc
    return {"add_densepose_config": add_densepose_config, "DensePoseResultExtractor": DensePoseResultExtractor,
            "get_cfg": get_cfg, "DefaultPredictor": DefaultPredictor}


class Detectron2DensePose:
    """detectron2 DensePose R-CNN (R_50_FPN_s1x by default) -> DensePose fine part ids.

    Options:
        config_path: DensePose config YAML (required: it is not shipped with pip packages).
        weights_path: `.pkl` weights (else `densepose-r50-fpn-s1x` from the model store).
        model_paths: the config file's `[models]` table (passed by `resolve_backends`).
        min_score: detection score threshold (default 0.8, `apply_net.py`'s default).
        device: "cuda" (default when available) or "cpu".
    """

    name = "detectron2"
    version = "1"

    def __init__(self, *, config_path: str | Path | None = None, weights_path: str | Path | None = None,
                 model_paths: dict[str, str] | None = None, min_score: float = 0.8, device: str | None = None) -> None:
        d2 = import_densepose()
        if config_path is None or not Path(config_path).is_file():
            raise FileNotFoundError(
                f"DensePose config {config_path!r} not found: pass config_path= (e.g. [options.detectron2] "
                "config_path = \".../projects/DensePose/configs/densepose_rcnn_R_50_FPN_s1x.yaml\")")
        weights = model_file("densepose-r50-fpn-s1x", weights_path, model_paths)
        import torch

        cfg = d2["get_cfg"]()
        d2["add_densepose_config"](cfg)
        cfg.merge_from_file(str(config_path))
        cfg.MODEL.WEIGHTS = str(weights)
        cfg.MODEL.DEVICE = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
        cfg.freeze()
        self.predictor = d2["DefaultPredictor"](cfg)
        self.extractor = d2["DensePoseResultExtractor"]()
        self.min_score = min_score

    def densepose(self, image_rgb: np.ndarray, keypoints: np.ndarray, parse: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB -> `(H, W)` uint8 fine part ids 0..24 of the highest-scoring person."""
        import torch

        with torch.no_grad():
            instances = self.predictor(np.ascontiguousarray(image_rgb[..., ::-1]))["instances"].to("cpu")
        index = best_instance(instances.scores.numpy(), self.min_score) if len(instances) else None
        if index is None:
            raise NoPersonError(None, f"DensePose found no person with score >= {self.min_score}")
        results, boxes_xywh = self.extractor(instances[index: index + 1])
        labels = results[0].labels.cpu().numpy()
        box = boxes_xywh[0].cpu().numpy() if hasattr(boxes_xywh[0], "cpu") else np.asarray(boxes_xywh[0])
        return paste_part_labels(labels, tuple(box), image_rgb.shape[:2])
