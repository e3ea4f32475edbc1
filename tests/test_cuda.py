"""CUDA paths: skipped on machines without a GPU (CI), run on a lent GPU machine.

The same code must give the same answers on both devices (to float tolerance) and train.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ctbridge.data.intensity import IntensityScaler
from ctbridge.inference.translator import Translator
from ctbridge.models import ModelConfig, build_model
from tests.conftest import make_scan

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("kind", ["gmm_unit", "unit", "cyclegan"])
def test_train_step_on_cuda_matches_cpu_losses(kind):
    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, width=0.125, n_components=3 if kind == "gmm_unit" else 1,
                      n_res_blocks=2)
    cpu = build_model(cfg)
    gpu = build_model(cfg).cuda()
    gpu.load_state_dict(cpu.state_dict())
    batch = {d: torch.randn(4, 1, 32, 32) for d in cpu.domains}
    x = batch["nc"]
    y_cpu = cpu.translate(x, "nc", "ce")
    y_gpu = gpu.translate(x.cuda(), "nc", "ce").cpu()
    torch.testing.assert_close(y_gpu, y_cpu, rtol=1e-3, atol=1e-3)
    opt = torch.optim.Adam(gpu.generator_parameters(), lr=1e-3)
    losses = gpu.generator_losses({d: v.cuda() for d, v in batch.items()})
    losses["total"].backward()
    opt.step()
    assert all(v.device.type == "cuda" for v in losses.values())
    assert torch.isfinite(losses["total"])


@pytest.mark.parametrize("mode", ["window", "full"])
def test_translate_scan_on_cuda_matches_cpu(mode):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gmm_unit", width=0.125, n_components=3)).eval()
    scan = make_scan(shape=(3, 64, 64))
    a = Translator(model, IntensityScaler(), device="cpu").translate_scan(scan, "ce", mode=mode)
    b = Translator(model, IntensityScaler(), device="cuda").translate_scan(scan, "ce", mode=mode)
    assert np.abs(a.scan.array - b.scan.array).max() < 1.0  # HU


def test_trainer_runs_on_cuda_with_bf16(tmp_path):
    from ctbridge.config import load_config
    from ctbridge.io import write_scan
    from ctbridge.training.config import TrainConfig
    from ctbridge.training.trainer import Trainer

    for d in ("nc", "ce"):
        write_scan(make_scan(shape=(3, 48, 48)), tmp_path / "data" / d / "p.nii.gz")
    cfg = load_config(TrainConfig, "configs/gmm_unit.yaml", overrides=[
        "device=cuda", "precision=bf16", "optim.steps=3", "model.width=0.125",
        "model.n_components=3", "data.batch_size=4", "tensorboard=false"])
    latest = Trainer(cfg, tmp_path / "data", tmp_path / "run", progress=False).run()
    assert (latest / "model.safetensors").is_file()
