"""A 2-process gloo run averages gradients exactly like one process on the whole batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ctbridge.models import ModelConfig, build_model
from ctbridge.training.distributed import DistContext, average_gradients, broadcast_parameters


def _loss(model, x, y):
    # deterministic objective through encoder, shared latent and generator
    return torch.nn.functional.l1_loss(model.translate(x, "nc", "ce"), y)


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 1, 16, 16, generator=g), torch.randn(4, 1, 16, 16, generator=g)


def _build(seed):
    torch.manual_seed(seed)
    return build_model(ModelConfig(kind="gmm_unit", width=0.125, n_components=3))


def _worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    ctx = DistContext(rank, world, rank)
    model = _build(seed=100 + rank)  # different init per rank: broadcast must fix it
    broadcast_parameters(model, ctx)
    x, y = _data()
    shard = slice(rank * 2, rank * 2 + 2)
    _loss(model, x[shard], y[shard]).backward()
    params = list(model.generator_parameters())
    average_gradients(params, ctx)
    if rank == 0:
        torch.save([p.grad.clone() if p.grad is not None else None for p in params], out_path)
    dist.barrier()
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_rank_gloo_gradient_equals_single_process(tmp_path):
    out = tmp_path / "grads.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    ddp_grads = torch.load(out)

    model = _build(seed=100)  # rank 0's weights
    x, y = _data()
    # mean over two half-batch losses == DDP's average of per-rank gradients
    loss = 0.5 * (_loss(model, x[:2], y[:2]) + _loss(model, x[2:], y[2:]))
    loss.backward()
    for p, g in zip(model.generator_parameters(), ddp_grads, strict=True):
        if p.grad is None:
            assert g is None or torch.count_nonzero(g) == 0
        else:
            torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-7)
