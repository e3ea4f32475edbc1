"""QCNet: any slice size, one logit per slice, pooling restricted to the body."""

from __future__ import annotations

import pytest
import torch

from ctbridge.qc.network import QCNet


@pytest.mark.parametrize("shape", [(64, 64), (96, 80), (130, 70), (512, 512)])
def test_any_slice_size_gives_one_logit(shape):
    net = QCNet(width=4, depth=3, window=(-0.5, 0.15), residual_clip=0.1).eval()
    with torch.no_grad():
        out = net(torch.zeros(2, 1, *shape), torch.ones(2, 1, *shape, dtype=torch.bool))
    assert out.shape == (2,) and torch.isfinite(out).all()


def test_air_far_from_the_body_does_not_change_the_score():
    torch.manual_seed(0)
    net = QCNet(width=4, depth=3).eval()
    x = torch.full((1, 1, 64, 256), -1.0)
    x[..., 16:48, 8:56] = 0.1 * torch.randn(1, 1, 32, 48)
    body = torch.zeros_like(x, dtype=torch.bool)
    body[..., 16:48, 8:56] = True
    y = x.clone()
    y[..., 160:] += 0.3 * torch.randn(1, 1, 64, 96)  # junk outside the body, beyond the RF
    with torch.no_grad():
        assert net(x, body).item() == pytest.approx(net(y, body).item(), abs=1e-5)
        assert net(x).item() != pytest.approx(net(y).item(), abs=1e-5)  # unmasked: it does


def test_empty_body_pools_over_the_slice_and_max_half_starts_silent():
    net = QCNet(width=4, depth=2).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert net(x, torch.zeros_like(x, dtype=torch.bool)).item() == pytest.approx(
            net(x).item())
    half = net.head.weight.shape[1] // 2
    assert torch.all(net.head.weight[:, half:] == 0) and torch.any(net.head.weight[:, :half] != 0)


def test_bad_hyperparameters():
    with pytest.raises(ValueError):
        QCNet(width=0)
    with pytest.raises(ValueError):
        QCNet(window=(0.2, 0.1))
    with pytest.raises(ValueError):
        QCNet(residual_clip=0.0)
