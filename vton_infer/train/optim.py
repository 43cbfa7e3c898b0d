"""What both training stages share: Adam pairs, mixed precision, wrapped modules, frozen modules."""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn

from vtonkit.core.errors import VtonkitError

AUTOCAST_DTYPES = (torch.bfloat16, torch.float16)


class TrainerOptimizers(NamedTuple):
    """The generator's and the discriminator's optimizer (torch.optim.Adam, official settings)."""

    generator: torch.optim.Optimizer
    discriminator: torch.optim.Optimizer


def adam(module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """torch.optim.Adam over all parameters, as the official scripts create it.

    betas are cast to floats: the official `betas=(0, 0.9)` is refused by torch >= 2 (int/float mix)."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=(float(betas[0]), float(betas[1])))


def restore_rates(optimizers: TrainerOptimizers, rates: tuple[float, float],
                  schedulers: TrainerOptimizers | None = None) -> None:
    """After loading a saved state: the given base learning rates (generator, discriminator), each
    group's current rate keeping its schedule's factor.

    Optimizer.load_state_dict (and a scheduler's) brings back the saved rates: a run resumed with
    another --lr would otherwise go on silently at the old one."""
    for index, (optimizer, rate) in enumerate(zip(optimizers, rates)):
        for group in optimizer.param_groups:
            base = group.get("initial_lr", group["lr"])  # initial_lr: the base rate under a scheduler
            if base != rate:  # same rate: not even a rounding change to the resumed run
                group["lr"] = group["lr"] / base * rate
                if "initial_lr" in group:
                    group["initial_lr"] = rate
        if schedulers is not None:
            schedulers[index].base_lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel / DataParallel wrapper (or the module itself)."""
    if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        return module.module
    return module


def sync_only_last(module: nn.Module) -> contextlib.AbstractContextManager:
    """Around every forward of a DDP-wrapped module but the last before one backward: `no_sync()`
    (the backward then all-reduces the summed gradient once). A no-op on an unwrapped module."""
    if isinstance(module, nn.parallel.DistributedDataParallel):
        return module.no_sync()
    return contextlib.nullcontext()


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Parameters without gradient inside the block (the discriminator while the generator learns).

    The official scripts let the generator's backward fill the discriminator's gradients and
    discard them with `zero_grad()` before its own step; not computing them gives the same update,
    and keeps a DDP-wrapped discriminator's gradient hooks out of the generator's backward."""
    changed = [p for p in module.parameters() if p.requires_grad]
    for p in changed:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p in changed:
            p.requires_grad_(True)


DIVERGED = ("the run diverged; its checkpoints up to the previous one are kept. Lower --lr and start again, "
            "or resume from the last checkpoint with a lower --lr")


def stop_unless_finite(step: int, losses: Mapping[str, torch.Tensor]) -> None:
    """Raise before a backward when a loss is NaN or infinite: the run diverged.

    Checked before the backward (not after the step): a NaN sampling grid crashes grid_sample's
    backward with a segfault, and the optimizer step would write the NaN into the weights. Every
    rank learns whether any rank's loss is bad, so all stop together (none waits in an all-reduce)."""
    finite = torch.isfinite(torch.stack([loss.detach().float().reshape(()) for loss in losses.values()])).all()
    if dist.is_initialized() and dist.get_world_size() > 1:
        finite = finite.to(torch.int32)
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    if bool(finite):
        return
    values = {name: float(loss) for name, loss in losses.items()}
    bad = ", ".join(f"{name} {value}" for name, value in values.items() if not math.isfinite(value))
    raise VtonkitError(f"loss is not finite at step {step} ({bad or 'on another process'}): {DIVERGED}")


class Precision:
    """Autocast (bf16 / fp16) around the forwards and a GradScaler (fp16) around the steps."""

    def __init__(self, autocast_dtype: torch.dtype | None = None, grad_scaler: torch.amp.GradScaler | None = None) -> None:
        if autocast_dtype is not None and autocast_dtype not in AUTOCAST_DTYPES:
            raise ValueError(f"autocast_dtype must be one of {AUTOCAST_DTYPES} or None, not {autocast_dtype}")
        self.autocast_dtype = autocast_dtype
        self.grad_scaler = grad_scaler

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.autocast_dtype)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """zero_grad (to None), backward, step; scaled when a GradScaler is given."""
        optimizer.zero_grad(set_to_none=True)
        if self.grad_scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.grad_scaler.scale(loss).backward()
            self.grad_scaler.step(optimizer)

    def end_step(self) -> None:
        """Once per training step, after both optimizers stepped."""
        if self.grad_scaler is not None:
            self.grad_scaler.update()

    def state_dict(self) -> dict:
        return {} if self.grad_scaler is None else {"grad_scaler": self.grad_scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.grad_scaler is not None and "grad_scaler" in state:
            self.grad_scaler.load_state_dict(state["grad_scaler"])
