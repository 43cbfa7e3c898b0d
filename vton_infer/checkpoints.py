"""Load the published HR-VITON checkpoints (`mtviton.pth`, `gen.pth`) as they are.

Both files are plain `state_dict()` pickles. They are opened with `torch.load(weights_only=True)`
(no code from the file is executed; `datasets.io.state_dicts` names every way a file goes wrong)
and `map_location`, so a checkpoint saved on a GPU loads on a
CPU-only machine. Keys get the official generator loader's renames (`'ace' -> 'alias'`,
`'.Spade' -> ''`; a no-op for the released file) and a `module.` prefix (DataParallel) is
dropped. Then every key, shape and value is checked against the network with a readable report (a
weight must be a dense floating-point tensor without NaN or infinity, where the network holds
one: anything else loads silently and makes black images):

* condition generator: the official code loads it with `strict=False`; here a missing key or a
  shape mismatch is an error (it would silently leave random weights), an unexpected key is
  logged and ignored;
* image generator: strict, as the official `load_checkpoint_G`.

HR-VITON weights are licensed for non-commercial use only (CC BY-NC 4.0, see docs/inference.md).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from vtonkit.datasets.io.state_dicts import read_state_dict
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator

from vtonkit.core.errors import FormatError

logger = logging.getLogger(__name__)

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


def value_problem(stored: torch.Tensor, network: torch.Tensor) -> str | None:
    """What makes `stored` unfit to replace the network's tensor (None when it fits).

    Only a floating-point slot is checked for its kind: an integer counter (BatchNorm's
    num_batches_tracked) may come back as a float from a file converted with `.half()`."""
    if stored.layout != torch.strided:
        return f"{stored.layout} tensor, not a dense one"
    if network.is_floating_point() and not stored.is_floating_point():
        return f"{stored.dtype}, not floating point"
    if stored.is_floating_point() and not torch.isfinite(stored).all():
        return "NaN or infinite values"
    return None


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, *, allow_unexpected: bool,
                     hint: str = HRVITON_HINT) -> None:
    """Raise FormatError listing missing keys, shape mismatches, unusable values (and unexpected keys
    when strict), then `hint`."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    unusable = [f"{k}: {problem}" for k in expected if k in state
                for problem in [value_problem(state[k], expected[k])] if problem]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:5])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches ({'; '.join(mismatched[:5])})")
    if unusable:
        problems.append(f"{len(unusable)} unusable tensors ({'; '.join(unusable[:5])})")
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

    The published files give the official widths; `vtonkit train --width` runs give their own. A
    weight too narrow for any width gives `default` (the check then reports its shape)."""
    weight = state.get(key)
    if weight is None or weight.ndim != 4 or weight.shape[0] < divisor:
        return default
    return int(weight.shape[0]) // divisor


def _read(path: str | Path) -> tuple[Path, OrderedDict]:
    path = Path(path)
    return path, official_renames(read_state_dict(path, "cpu"))


def _load_checked(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path, *, allow_unexpected: bool,
                  hint: str = HRVITON_HINT) -> nn.Module:
    check_state_dict(model, state, path, allow_unexpected=allow_unexpected, hint=hint)
    model.load_state_dict(state, strict=not allow_unexpected)
    return model


def _build_checked(network: Callable[[int], nn.Module], width: int, official_width: int,
                   state: Mapping[str, torch.Tensor], path: Path, *, allow_unexpected: bool) -> nn.Module:
    """`network(width)` holding `state`, every key checked.

    The width comes from one key of the file: a network wider than the published one is first
    checked as a meta-device blueprint (no memory), so a forged width key cannot allocate a huge
    network before the other keys are read. The published widths skip the blueprint: building it
    costs about a second once per process (the spectral norms' first meta-device kernels)."""
    if width > official_width:
        with torch.device("meta"):
            check_state_dict(network(width), state, path, allow_unexpected=allow_unexpected)
    return _load_checked(network(width), state, path, allow_unexpected=allow_unexpected)


# The key whose output channels give a network's base width, and the channels per unit of width
# (`width_of` reads the inference networks the same way).
WIDTH_KEYS = {"ConditionGenerator": ("ClothEncoder.0.scale.weight", 1), "SPADEGenerator": ("conv_0.weight", 16),
              "ConditionDiscriminator": ("layer0.0.weight", 1),
              "ImageDiscriminator": ("discriminator_0.model0.0.weight", 1)}


def trained_width(model: nn.Module, state: Mapping[str, torch.Tensor]) -> int | None:
    """The base width `state` holds for `model`'s kind of network, or None where its shapes do not tell."""
    key, divisor = WIDTH_KEYS.get(type(model).__name__, ("", 1))
    weight = state.get(key)
    if not torch.is_tensor(weight) or weight.ndim != 4 or weight.shape[0] % divisor:
        return None
    return int(weight.shape[0]) // divisor


@dataclass(frozen=True)
class InitHint:
    """The hint of a training init file that does not fit: the file the option takes, and the width
    the run builds against the one the file's shapes show (a static "was it trained at the --width
    given (none: ...)?" read wrongly when a --width was given)."""

    what: str  # the file the option takes, e.g. "mtviton.pth for --init-tocg"
    width_option: str  # "--width" or "--disc-width"
    given: int | None  # the option's value; None builds the official width
    official: int

    def text(self, model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
        built = self.given or self.official
        run = f"{self.width_option} {self.given}" if self.given else f"the official width {built} (no {self.width_option} given)"
        trained = trained_width(model, state)
        if trained is None or trained == built:
            return f"Is this the right file ({self.what}), and was it trained at the width this run builds, {run}?"
        fix = f"leave out {self.width_option}" if trained == self.official else f"pass {self.width_option} {trained}"
        return (f"Is this the right file ({self.what})? Its shapes say it was trained at width {trained}, and this "
                f"run builds {run}: {fix} to start from it.")


def _hint_text(hint: str | InitHint, model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    return hint if isinstance(hint, str) else hint.text(model, state)


def load_weights(model: nn.Module, path: str | Path, *, allow_unexpected: bool = False,
                 hint: str | InitHint = HRVITON_HINT) -> nn.Module:
    """Load a state-dict file into an existing network (training inits), with the same checks and report."""
    path, state = _read(path)
    return _load_checked(model, state, path, allow_unexpected=allow_unexpected, hint=_hint_text(hint, model, state))


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], path: str | Path, *,
               hint: str | InitHint = HRVITON_HINT) -> nn.Module:
    """Load `state` (read from `path`, named in errors) into an existing network, every key checked."""
    return _load_checked(model, state, Path(path), allow_unexpected=False, hint=_hint_text(hint, model, state))


def load_condition_generator(path: str | Path, device: str | torch.device = "cpu") -> ConditionGenerator:
    """`mtviton.pth` -> ConditionGenerator in eval mode on `device`."""
    path, state = _read(path)
    width = width_of(state, "ClothEncoder.0.scale.weight", 1, 96)
    model = _build_checked(lambda ngf: ConditionGenerator(ngf=ngf), width, 96, state, path, allow_unexpected=True)
    return model.to(device).eval()


def load_generator(path: str | Path, device: str | torch.device = "cpu", *, sparse_modulation: bool = True) -> SPADEGenerator:
    """`gen.pth` -> SPADEGenerator in eval mode on `device` (spectral norm folded once here)."""
    path, state = _read(path)
    width = width_of(state, "conv_0.weight", 16, 64)
    model = _build_checked(lambda ngf: SPADEGenerator(ngf=ngf, sparse_modulation=sparse_modulation), width, 64,
                           state, path, allow_unexpected=False)
    model = model.to(device).eval()
    model.fold_spectral_norm()
    return model
