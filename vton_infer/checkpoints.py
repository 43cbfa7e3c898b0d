"""Load the published HR-VITON checkpoints (`mtviton.pth`, `gen.pth`) as they are.

Both files are plain `state_dict()` pickles. They are opened with `torch.load(weights_only=True)`
(no code from the file is executed) and `map_location`, so a checkpoint saved on a GPU loads on a
CPU-only machine. Keys get the official generator loader's renames (`'ace' -> 'alias'`,
`'.Spade' -> ''`; a no-op for the released file) and a `module.` prefix (DataParallel) is
dropped. Then every key and shape is checked against the network with a readable report:

* condition generator: the official code loads it with `strict=False`; here a missing key or a
  shape mismatch is an error (it would silently leave random weights), an unexpected key is
  logged and ignored;
* image generator: strict, as the official `load_checkpoint_G`.

HR-VITON weights are licensed for non-commercial use only (CC BY-NC 4.0, see docs/inference.md).
"""
from __future__ import annotations

import logging
import pickle
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator

from vtonkit.core.errors import FormatError, InputError

logger = logging.getLogger(__name__)

# State-dict keys a tool may have wrapped the weights in (not the official format, but common).
WRAPPER_KEYS = ("state_dict", "model", "generator", "tocg")


def _head(path: Path) -> str:
    with open(path, "rb") as file:
        return repr(file.read(16))


def _unpickling_problem(path: Path, message: str) -> str:
    """What a weights-only load refusal means for the user. Torch's text advises loading with
    `weights_only=False`, which runs whatever code the file holds: never the right advice here."""
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", message)
    if found:
        return (f"holds Python objects, not only tensors ({found.group(1)}); vtonkit reads plain state_dicts "
                "only (a pickle may run code): save the weights with torch.save(model.state_dict(), path)")
    return f"not a PyTorch checkpoint (unreadable pickle data, starts with {_head(path)})"


def read_state_dict(path: str | Path, map_location: str | torch.device = "cpu") -> OrderedDict:
    """Read a checkpoint file into an OrderedDict of tensors (keeps `_metadata` when present)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    if path.stat().st_size == 0:
        raise FormatError(path, "empty file (0 bytes): not a checkpoint")
    try:
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise FormatError(path, _unpickling_problem(path, str(exc))) from exc
    except KeyError as exc:  # the unpickler read the first byte of a text file (a saved web page, a URL) as an opcode
        raise FormatError(path, f"not a PyTorch checkpoint (starts with {_head(path)})") from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        if "zip archive" in str(exc):  # torch's own text goes on about causes; the file is what matters
            raise FormatError(path, "damaged or cut-short checkpoint (its zip archive does not open); "
                                    "download or copy it again") from exc
        raise FormatError(path, f"cannot read checkpoint ({exc or type(exc).__name__})") from exc
    if isinstance(loaded, Mapping):
        for key in WRAPPER_KEYS:
            inner = loaded.get(key)
            if isinstance(inner, Mapping) and inner and all(torch.is_tensor(v) for v in inner.values()):
                logger.info("%s: using the state dict stored under %r", path, key)
                loaded = inner
                break
    if not isinstance(loaded, Mapping) or not loaded or not all(torch.is_tensor(v) for v in loaded.values()):
        raise FormatError(path, "expected a state_dict (a mapping of parameter names to tensors)")
    state = OrderedDict(loaded)
    metadata = getattr(loaded, "_metadata", None)
    if metadata is not None:
        state._metadata = metadata  # type: ignore[attr-defined]
    return state


def official_renames(state: OrderedDict) -> OrderedDict:
    """The official generator loader's key renames, plus dropping a DataParallel `module.` prefix."""

    def rename(key: str) -> str:
        key = key.replace("ace", "alias").replace(".Spade", "")
        return key.removeprefix("module.")

    renamed = OrderedDict((rename(k), v) for k, v in state.items())
    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        renamed._metadata = OrderedDict((rename(k), v) for k, v in metadata.items())  # type: ignore[attr-defined]
    return renamed


HRVITON_HINT = "Is this the right checkpoint (mtviton.pth for --tocg-checkpoint, gen.pth for --gen-checkpoint)?"


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, *, allow_unexpected: bool,
                     hint: str = HRVITON_HINT) -> None:
    """Raise FormatError listing missing keys, shape mismatches (and unexpected keys when strict), then `hint`."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:5])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches ({'; '.join(mismatched[:5])})")
    if unexpected and not allow_unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:5])})")
    if problems:
        raise FormatError(
            path,
            f"does not fit {type(model).__name__}: " + "; ".join(problems) + ". " + hint,
        )
    if unexpected:
        logger.warning("%s: ignoring %d keys the network does not have (e.g. %s), as the official loader does",
                       path, len(unexpected), ", ".join(unexpected[:5]))


def width_of(state: Mapping[str, torch.Tensor], key: str, divisor: int, default: int) -> int:
    """The base width (`ngf`) a checkpoint was trained with, read from one weight's output channels.

    The published files give the official widths; `vtonkit train --width` runs give their own."""
    weight = state.get(key)
    return int(weight.shape[0]) // divisor if weight is not None and weight.ndim == 4 else default


def _load_into(build: Callable[[Mapping[str, torch.Tensor]], nn.Module], path: str | Path,
               map_location: str | torch.device, *, allow_unexpected: bool) -> nn.Module:
    path = Path(path)
    state = official_renames(read_state_dict(path, map_location))
    model = build(state)
    check_state_dict(model, state, path, allow_unexpected=allow_unexpected)
    model.load_state_dict(state, strict=not allow_unexpected)
    return model


def load_weights(model: nn.Module, path: str | Path, *, allow_unexpected: bool = False) -> nn.Module:
    """Load a state-dict file into an existing network (training inits), with the same checks and report."""
    return _load_into(lambda state: model, path, "cpu", allow_unexpected=allow_unexpected)


def load_condition_generator(path: str | Path, device: str | torch.device = "cpu") -> ConditionGenerator:
    """`mtviton.pth` -> ConditionGenerator in eval mode on `device`."""
    model = _load_into(lambda state: ConditionGenerator(ngf=width_of(state, "ClothEncoder.0.scale.weight", 1, 96)),
                       path, "cpu", allow_unexpected=True)
    return model.to(device).eval()


def load_generator(path: str | Path, device: str | torch.device = "cpu", *, sparse_modulation: bool = True) -> SPADEGenerator:
    """`gen.pth` -> SPADEGenerator in eval mode on `device` (spectral norm folded once here)."""
    model = _load_into(lambda state: SPADEGenerator(ngf=width_of(state, "conv_0.weight", 16, 64),
                                                    sparse_modulation=sparse_modulation),
                       path, "cpu", allow_unexpected=False)
    model = model.to(device).eval()
    model.fold_spectral_norm()
    return model
