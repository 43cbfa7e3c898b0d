"""Tiny ONNX models with the real exports' signatures, for testing the backends' pre/post-processing.

The real weights (hundreds of MB, not downloadable here) cannot run in the tests, so each fake
model has the same input name/shape and output names/shapes as the distributed export, and
returns constant tensors the test computed from genuine annotations. The input still flows into
the graph (`0 * mean(input)` is added), so onnxruntime checks its name, rank and dtype.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def constant_model(path: Path, input_name: str, input_shape: tuple[int, ...],
                   outputs: list[tuple[str, np.ndarray]]) -> Path:
    """Write an ONNX model: input `input_name` (float32 `input_shape`) -> the given constant outputs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceMean", [input_name], ["input_mean"], keepdims=0),
        helper.make_node("Mul", ["input_mean", "zero"], ["input_zero"]),
    ]
    initializers = [numpy_helper.from_array(np.zeros((), dtype=np.float32), "zero")]
    graph_outputs = []
    for name, value in outputs:
        value = np.ascontiguousarray(value, dtype=np.float32)
        initializers.append(numpy_helper.from_array(value, f"{name}_const"))
        nodes.append(helper.make_node("Add", [f"{name}_const", "input_zero"], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes, "fake", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))],
        graph_outputs, initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# ------------------------------------------------------------------- independent reference geometry


def reference_schp_affine(center, scale_w, out_hw, inv=False):
    """SCHP `get_affine_transform` (rot 0) rebuilt from its three point pairs, as SCHP does."""
    out_h, out_w = out_hw
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0, scale_w * -0.5])
    dst[0] = [(out_w - 1) * 0.5, (out_h - 1) * 0.5]
    dst[1] = dst[0] + np.array([0, (out_w - 1) * -0.5])
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def schp_box_cs(width, height, input_hw, box=None):
    """SCHP `_box2cs(box)`, default box `[0, 0, w - 1, h - 1]` (the whole image, as SCHP does)."""
    x, y, w, h = box if box is not None else (0, 0, width - 1, height - 1)
    center = np.array([x + w * 0.5, y + h * 0.5])
    aspect = input_hw[1] / input_hw[0]
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    return center, w


def encode_schp_logits(labels, num_classes, input_hw, out_hw, box=None):
    """Logits a perfect SCHP would emit for `labels` (image pixels, model label ids).

    Warps the label map into the input crop (nearest), one-hot, and samples it on the
    align_corners grid of an `out_hw` output (what `nn.Upsample(align_corners=True)` inverts).
    """
    center, scale_w = schp_box_cs(labels.shape[1], labels.shape[0], input_hw, box)
    warped = cv2.warpAffine(labels, reference_schp_affine(center, scale_w, input_hw), input_hw[::-1],
                            flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    onehot = (np.arange(num_classes)[None, None] == warped[..., None]).astype(np.float32) * 8.0
    if out_hw != input_hw:
        onehot = cv2.blur(onehot, (3, 3))
        ys = np.linspace(0, input_hw[0] - 1, out_hw[0])
        xs = np.linspace(0, input_hw[1] - 1, out_hw[1])
        map_x, map_y = (m.astype(np.float32) for m in np.meshgrid(xs, ys))
        onehot = np.stack([cv2.remap(np.ascontiguousarray(onehot[..., c]), map_x, map_y, cv2.INTER_LINEAR)
                           for c in range(num_classes)], -1)
    return onehot.transpose(2, 0, 1)[None]


def fake_schp(tmp_path, labels, num_classes, input_hw, *, low_res=True, three_outputs=True, box=None):
    out_hw = ((input_hw[0] + 3) // 4, (input_hw[1] + 3) // 4) if low_res else input_hw
    logits = encode_schp_logits(labels, num_classes, input_hw, out_hw, box)
    if three_outputs:
        # SCHP export order: [parsing, fusion, edge]; the projects read output 1 (fusion).
        outputs = [("parsing", np.zeros_like(logits)), ("fusion", logits),
                   ("edge", np.zeros((1, 2, *out_hw), np.float32))]
    else:
        outputs = [("output", logits)]
    return constant_model(tmp_path / f"schp_{num_classes}.onnx", "input.1", (1, 3, *input_hw), outputs)
