"""Data-parallel training over `torch.distributed` (torchrun; gloo on CPU, nccl on GPU).

Why the gradients are averaged at each optimizer step instead of by DistributedDataParallel's
backward hooks: both HR-VITON stages call their discriminator several times per step (stage 1:
G-GAN, D-fake and D-real in separate forwards; the G loss back-propagates through the D too), and
stage 2 runs the generator a second time for the D step. DDP's reducer expects one forward per
backward and marks each parameter ready once, which these steps break. Averaging every
parameter's gradient over the ranks right before `optimizer.step()` (one all-reduce per
optimizer per step, same order on every rank) is what DDP computes, for any number of calls.

BatchNorm (stage-1 condition generator, train mode) must see the statistics of the global batch
for a multi-process run to equal a single-process one: `sync_batch_norm` swaps every BatchNorm2d
for torch's SyncBatchNorm on GPUs and for `DistributedBatchNorm2d` (below) on CPUs, where torch's
refuses to run. State-dict keys stay the same.
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


def average_gradients_on_step(optimizer: torch.optim.Optimizer, world: World) -> None:
    """Make `optimizer.step()` first replace each gradient by its mean over the ranks."""
    if world.size <= 1:
        return
    step = optimizer.step

    def averaged_step(*args, **kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)
            flat /= world.size
            offset = 0
            for g in grads:
                g.copy_(flat[offset: offset + g.numel()].view_as(g))
                offset += g.numel()
        return step(*args, **kwargs)

    optimizer.step = averaged_step  # type: ignore[method-assign]


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
        count = torch.tensor([x.shape[0] * x.shape[2] * x.shape[3]], dtype=x.dtype, device=x.device)
        stats = torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), count])
        stats = dist_fn.all_reduce(stats)
        channels = x.shape[1]
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels: 2 * channels] / total - mean * mean
        with torch.no_grad():
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
            momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
            unbiased = var.detach() * total / (total - 1)
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
