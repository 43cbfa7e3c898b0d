"""Data-parallel training over `torch.distributed` (torchrun; gloo on CPU, nccl on GPU).

The trained networks (condition generator or image generator, and the discriminator) are wrapped
in `DistributedDataParallel` (`data_parallel`): each rank computes its share of the global batch,
DDP's reducer averages the gradients during the backward pass, and N ranks with b samples each
compute the step of one process with N*b samples. What the trainers do so that DDP's
one-forward-per-backward reducer sees what it expects (and the result equals one process):

* the generator loss calls the discriminator through its unwrapped module with its parameters
  frozen (`optim.frozen`), so D's reducer is not armed by G's forward and G's backward computes no
  D gradients;
* a discriminator step with two separate forwards (stage 1: fake, then real; each with its own
  spectral-norm power iteration / dropout draw, as officially) runs all but the last forward under
  `no_sync()` (`optim.sync_only_last`): the one backward of the summed loss then accumulates both
  contributions locally and all-reduces each gradient once;
* the stage-2 discriminator step's second generator forward (no gradient) uses the unwrapped
  generator;
* the condition generator's `conv2.*` never get a gradient (fixture fact 3): it is wrapped with
  `find_unused_parameters=True`, which leaves their gradients None as in one process;
* `forward_sync_buffers=False` (torch >= 2.13's name for `broadcast_buffers=False`): buffers are
  copied from rank 0 once when wrapping, not before every forward. The only buffers are
  spectral-norm u/v (their power iteration depends on the weights only, so equal weights keep
  them equal on every rank) and the synchronised BatchNorm statistics (equal on every rank by
  construction), so the per-forward broadcast would copy equal values.

BatchNorm (stage-1 condition generator, train mode) must see the statistics of the global batch
for a multi-process run to equal a single-process one: `sync_batch_norm` swaps every BatchNorm2d
for torch's SyncBatchNorm on GPUs and for `DistributedBatchNorm2d` (below) on CPUs, where torch's
refuses to run (torch 2.13: "SyncBatchNorm expected input tensor to be on GPU"). State-dict keys
stay the same.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place: rank 0 of 1 without torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_world(device: str) -> World:
    """Join the torchrun process group (env RANK/WORLD_SIZE) if there is one; gloo on CPU, nccl on CUDA."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def close_world(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def data_parallel(module: nn.Module, world: World, device: str, *, find_unused_parameters: bool = False) -> nn.Module:
    """`module` wrapped in DistributedDataParallel on several ranks (itself on one).

    Parameters are broadcast from rank 0 when wrapping; see the module docstring for the options."""
    if world.size <= 1:
        return module
    device_ids = [torch.device(device).index] if device.startswith("cuda") else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids, forward_sync_buffers=False,
                                               find_unused_parameters=find_unused_parameters)


def mean_over_ranks(values: dict[str, float], world: World) -> dict[str, float]:
    """The mean of each logged loss over the ranks (each rank's loss is a mean over an equal share)."""
    if world.size <= 1:
        return values
    keys = sorted(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: (tensor[i] / world.size).item() for i, k in enumerate(keys)}


class DistributedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose train-mode statistics cover the batch of every rank (any device, gloo included).

    Per-channel sum and sum of squares are all-reduced with the differentiable collective, so the
    backward pass is that of one BatchNorm over the global batch; the running variance is unbiased
    with the global count, as in `F.batch_norm`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        # float64 sums: E[x^2] - E[x]^2 in float32 cancels digits when |mean| >> std (torch's own
        # BatchNorm uses a two-pass variance); in float64 the statistics match it to float32 rounding
        wide = x.double()
        count = torch.tensor([x.shape[0] * x.shape[2] * x.shape[3]], dtype=torch.float64, device=x.device)
        stats = torch.cat([wide.sum(dim=(0, 2, 3)), (wide * wide).sum(dim=(0, 2, 3)), count])
        stats = dist_fn.all_reduce(stats)
        channels = x.shape[1]
        total = stats[-1]
        mean64 = stats[:channels] / total
        var64 = stats[channels: 2 * channels] / total - mean64 * mean64
        mean, var = mean64.to(x.dtype), var64.to(x.dtype)
        with torch.no_grad():
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
            momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
            unbiased = (var64.detach() * total / (total - 1)).to(x.dtype)
            self.running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
        shape = (1, channels, 1, 1)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def sync_batch_norm(module: nn.Module, world: World, device: str) -> nn.Module:
    """Swap the BatchNorm2d layers of `module` for synchronised ones when running on several ranks."""
    if world.size <= 1:
        return module
    if device.startswith("cuda"):
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            synced = DistributedBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                            child.track_running_stats)
            synced.load_state_dict(child.state_dict())
            setattr(module, name, synced.to(child.weight.device if child.affine else "cpu"))
        else:
            sync_batch_norm(child, world, device)
    return module
