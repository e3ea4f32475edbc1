"""scripts/paired_unet_bound.py: the U-Net measuring stick starts where the translator does.

Its README row compares with the translator's paired ceiling, so it must start as the identity
(as the translator's identity init does) and go through the same Translator (bounds,
smoothing).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ctbridge.data.intensity import IntensityScaler
from ctbridge.inference.translator import Translator
from tests.conftest import make_scan

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def unet_bound():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("paired_unet_bound",
                                                      SCRIPTS / "paired_unet_bound.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_it_starts_as_the_identity_and_translates_scans_through_the_translator(unet_bound, norm):
    torch.manual_seed(0)
    model = unet_bound.ResidualUNetPair((4, 4, 8, 8, 8, 4), norm).eval()
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        assert torch.equal(model.translate(x, "nc", "ce"), x)
    scan = make_scan(shape=(2, 40, 52))
    out = Translator(model, IntensityScaler(), patch_size=32).translate_scan(
        scan, "ce", mode="full", bounded=False).scan.array
    assert np.abs(out - scan.array).max() < 0.01


def test_one_direction_learns_a_shift_and_the_other_does_not_move(unet_bound):
    torch.manual_seed(0)
    model = unet_bound.ResidualUNetPair((4, 4, 8, 8, 8, 4), "batch")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    scaler = IntensityScaler()
    x = torch.rand(8, 1, 32, 32) * 0.2
    for _ in range(60):
        target = x + 0.1
        loss = (scaler.hu_weight(target, 4.0)
                * (model.translate(x, "nc", "ce") - target).abs()).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert float((model.translate(x, "nc", "ce") - (x + 0.1)).abs().mean()) < 0.03
        assert torch.equal(model.translate(x, "ce", "nc"), x)  # its own net, never trained

