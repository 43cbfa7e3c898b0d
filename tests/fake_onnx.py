"""Tiny ONNX models with the real exports' signatures, for testing the backends' pre/post-processing.

The real weights (hundreds of MB, not downloadable here) cannot run in the tests, so each fake
model has the same input name/shape and output names/shapes as the distributed export, and
returns constant tensors the test computed from genuine annotations. The input still flows into
the graph (`0 * mean(input)` is added), so onnxruntime checks its name, rank and dtype.
"""
from __future__ import annotations

from pathlib import Path

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
