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


def _train_losses(root, device: str, precision: str, kind: str) -> list[dict[str, float]]:
    """Three logged steps of the trainer on ``device``: every loss column of metrics.csv."""
    import csv

    from ctbridge.config import load_config
    from ctbridge.training.config import TrainConfig
    from ctbridge.training.trainer import Trainer

    extra = (["model.pool_size=0", "model.n_res_blocks=2"] if kind == "cyclegan"
             else ["model.n_components=3"])
    cfg = load_config(TrainConfig, kind, overrides=[
        f"device={device}", f"precision={precision}", "optim.steps=3", "model.width=0.125",
        "data.batch_size=4", "tensorboard=false", "log_every=1", "optim.d_warmup_steps=0",
        *extra])
    run = root / f"{kind}_{device}_{precision}"
    Trainer(cfg, root / "data", run, progress=False).run()
    with (run / "metrics.csv").open() as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


@pytest.fixture
def data_root(tmp_path):
    from ctbridge.io import write_scan

    for i, d in enumerate(("nc", "ce")):
        write_scan(make_scan(shape=(3, 48, 48), seed=i), tmp_path / "data" / d / "p.nii.gz")
    return tmp_path


def test_a_cuda_training_step_gives_the_cpu_losses(data_root, monkeypatch):
    """CycleGAN without its fake pool draws nothing at random on the device: the same seed
    gives the same losses on both devices (TF32 off, so only float rounding differs)."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    cpu = _train_losses(data_root, "cpu", "fp32", "cyclegan")
    gpu = _train_losses(data_root, "cuda", "fp32", "cyclegan")
    assert len(cpu) == len(gpu) == 3
    for a, b in zip(cpu, gpu, strict=True):
        losses = [k for k in a if k.startswith(("g/", "d/"))]
        assert losses
        for key in losses:
            assert b[key] == pytest.approx(a[key], rel=1e-2, abs=1e-4), key


def test_bf16_on_cuda_trains_to_the_fp32_losses(data_root):
    """GMM-UNIT under bf16 autocast: the same draws on the device, losses within bf16's
    precision of the fp32 run, and a checkpoint that translates on the CPU."""
    fp32 = _train_losses(data_root, "cuda", "fp32", "gmm_unit")
    bf16 = _train_losses(data_root, "cuda", "bf16", "gmm_unit")
    first_a, first_b = fp32[0], bf16[0]
    losses = [k for k in first_a if k.startswith(("g/", "d/"))]
    assert losses
    for key in losses:
        assert np.isfinite(first_b[key]), key
        assert first_b[key] == pytest.approx(first_a[key], rel=0.1, abs=1e-2), key
    tr = Translator.from_checkpoint(data_root / "gmm_unit_cuda_bf16", device="cpu")
    out = tr.translate_scan(make_scan(shape=(2, 48, 48)), "ce", source="nc").scan.array
    assert np.isfinite(out).all()
