"""PyTorch `state_dict` files (`.pth`): read with `torch.load(weights_only=True)`, so no code from
the file runs, and every way such a file goes wrong named in one error: a text file or a web page
saved in its place, random bytes, a cut-short download, a pickled module instead of its weights.

The HR-VITON checkpoints, the evaluation networks and the preprocessing backends' weights all
come through here.
"""
from __future__ import annotations

import logging
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch

from vtonkit.core.errors import FormatError, InputError

logger = logging.getLogger(__name__)

# State-dict keys a tool may have wrapped the weights in (not the official format, but common).
WRAPPER_KEYS = ("state_dict", "model", "generator", "tocg")


def _head(path: Path) -> str:
    with open(path, "rb") as file:
        return repr(file.read(16))


def foreign_global(message: str) -> str | None:
    """The Python object (`module.name`) a weights-only load refused, named in torch's error `message`."""
    # "Unsupported global: GLOBAL x.y" (not allow-listed) or "unsupported GLOBAL x.y whose module x is blocked"
    found = re.search(r"unsupported (?:global: )?GLOBAL ([\w.]+)", message, re.IGNORECASE)
    return found.group(1) if found else None


def _unpickling_problem(path: Path, message: str) -> str:
    """What a weights-only load refusal means for the user. Torch's text advises loading with
    `weights_only=False`, which runs whatever code the file holds: never the right advice here."""
    found = foreign_global(message)
    if found and path.name == "resume.pt":  # `vtonkit train`'s resume file (optimizer state, RNG states)
        return ("is a training run's resume file, not a network's weights: give the run folder's mtviton.pth "
                "(stage 1) or gen.pth (stage 2), or continue the run with vtonkit train --resume")
    if found:
        return (f"holds Python objects, not only tensors ({found}); vtonkit reads plain state_dicts "
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
