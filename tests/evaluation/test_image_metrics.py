"""Image metrics against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ctbridge.evaluation.image_metrics import (
    image_metrics,
    mae_hu,
    psnr_hu,
    region_metrics,
    ssim_map,
    ssim_masked,
)


@pytest.fixture
def truth() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (40 + 100 * rng.standard_normal((3, 24, 24))).astype(np.float32)


def test_identical_volumes(truth):
    mask = np.ones(truth.shape, bool)
    m = image_metrics(truth, truth, mask)
    assert m["mae_hu"] == 0.0
    assert m["psnr_db"] == math.inf  # not capped: a perfect translation shows as inf
    assert m["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert m["voxels"] == truth.size


def test_constant_offset(truth):
    mask = np.ones(truth.shape, bool)
    pred = truth + 10.0
    assert mae_hu(pred, truth, mask) == pytest.approx(10.0)
    assert psnr_hu(pred, truth, mask) == pytest.approx(20 * math.log10(4024 / 10))
    assert 0.99 < ssim_masked(pred, truth, mask) < 1.0


def test_mask_restricts_the_error(truth):
    mask = np.zeros(truth.shape, bool)
    mask[:, :12] = True
    pred = truth.copy()
    pred[:, 12:] += 500.0  # outside the mask: invisible
    pred[0, 0, 0] += 72.0  # inside: one voxel of 3 * 12 * 24
    assert mae_hu(pred, truth, mask) == pytest.approx(72.0 / (3 * 12 * 24))
    assert psnr_hu(pred, truth, mask) == pytest.approx(
        10 * math.log10(4024**2 / (72.0**2 / (3 * 12 * 24))))


def test_psnr_and_ssim_clip_hu_but_mae_does_not():
    truth = np.full((1, 16, 16), 3500.0)
    pred = np.full((1, 16, 16), 3000.0)
    mask = np.ones(truth.shape, bool)
    assert mae_hu(pred, truth, mask) == 500.0
    assert psnr_hu(pred, truth, mask) == math.inf  # both clip to 3000
    assert ssim_masked(pred, truth, mask) == pytest.approx(1.0)


def test_ssim_averages_the_valid_map_inside_the_cropped_mask(truth):
    pred = truth + np.random.default_rng(1).normal(0, 50, truth.shape)
    mask = np.zeros(truth.shape, bool)
    mask[1, 8:14, 6:20] = True
    values = ssim_map(pred, truth)
    assert values.shape == (3, 14, 14)  # 24 - 11 + 1
    expected = values[1, 8 - 5:14 - 5, 6 - 5:20 - 5].mean()
    assert ssim_masked(pred, truth, mask) == pytest.approx(expected)


def test_ssim_undefined_without_full_windows(truth):
    mask = np.zeros(truth.shape, bool)
    mask[:, :5] = True  # only the border strip where no 11 px window fits
    assert math.isnan(ssim_masked(truth, truth, mask))
    assert math.isnan(mae_hu(truth, truth, np.zeros(truth.shape, bool)))


def test_region_metrics(truth):
    labels = np.zeros(truth.shape, np.int32)
    labels[:, 10:14, 10:14] = 3
    labels[:, 2:4, 2:4] = 4
    pred = truth.copy()
    pred[labels == 3] += 20.0
    out = region_metrics(pred, truth, labels, {"vessels": [3, 4], "pancreas": [9]},
                         body=np.ones(truth.shape, bool))
    assert set(out) == {"body", "vessels", "pancreas"}
    assert out["vessels"]["mae_hu"] == pytest.approx(20.0 * 48 / 60)
    assert out["body"]["mae_hu"] == pytest.approx(20.0 * 48 / truth.size)
    assert out["pancreas"]["voxels"] == 0 and math.isnan(out["pancreas"]["mae_hu"])


def test_shape_mismatch(truth):
    with pytest.raises(ValueError, match="shapes differ"):
        mae_hu(truth[:2], truth, np.ones(truth.shape, bool))
