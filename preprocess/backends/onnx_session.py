"""Opening ONNX weights with onnxruntime (CPU), with errors that name the file."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vtonkit.core.errors import FormatError, InputError

logger = logging.getLogger(__name__)


def model_file(name: str, model_path: str | Path | None = None, model_paths: dict[str, str] | None = None) -> Path:
    """The weights file of registry model `name`: `model_path` when given, else the model store.

    Args:
        model_paths: the config file's `[models]` entries handed over by `resolve_backends`.
    """
    if model_path is not None:
        file = Path(model_path).expanduser()
        if not file.is_file():
            raise InputError(file, f"model file for {name} not found")
        return file
    from vtonkit.preprocess import models

    return models.path(name, configured=model_paths)


def open_session(file: str | Path, *, threads: int | None = None) -> Any:
    """`onnxruntime.InferenceSession` on the CPU for `file`.

    Raises:
        InputError: the file is missing. FormatError: it is not a loadable ONNX model.
        ImportError: onnxruntime is not installed (with the pip command).
    """
    file = Path(file)
    if not file.is_file():
        raise InputError(file, "ONNX model file not found")
    try:
        import onnxruntime as ort
    except ImportError as exc:  # a dependency of vtonkit, but keep the hint for partial installs
        raise ImportError("the real-model backends need onnxruntime: pip install onnxruntime") from exc
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(file), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (Fail, InvalidProtobuf, ...) classes
        raise FormatError(file, f"not a loadable ONNX model ({type(exc).__name__}: {exc})") from exc


def static_hw(session: Any, default: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of the first input `(N, C, H, W)` when fixed in the model, else `default`."""
    shape = session.get_inputs()[0].shape
    if len(shape) == 4 and all(isinstance(v, int) and v > 0 for v in shape[2:]):
        return int(shape[2]), int(shape[3])
    return default
