"""Data-parallel training under ``torchrun``: gloo on CPU, nccl on CUDA.

Why not ``DistributedDataParallel``: its gradient hooks assume one ``forward`` per backward,
while GAN training alternates D and G losses computed by several model methods over disjoint
parameter sets. We do what DDP does, explicitly: identical initial weights (broadcast from rank
0), then gradients averaged over ranks (one flattened all-reduce per parameter set) before every
optimiser step. Each rank draws its own shard of patches (the sampler is seeded by rank).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1), else no-op."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def broadcast_parameters(module: torch.nn.Module, ctx: DistContext) -> None:
    """Make every rank start from rank 0's weights and buffers."""
    if not ctx.enabled:
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def average_gradients(params: Iterable[torch.nn.Parameter], ctx: DistContext) -> None:
    """Replace each gradient by its mean over ranks (missing gradients count as zero)."""
    if not ctx.enabled:
        return
    params = [p for p in params if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= ctx.world_size
    for p, g in zip(params, _unflatten_dense_tensors(flat, grads), strict=True):
        if p.grad is None:
            p.grad = g.clone()
        else:
            p.grad.copy_(g)


def reduce_mean(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean of a scalar over ranks (for logging)."""
    if not ctx.enabled:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / ctx.world_size


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
