"""The segmenter learns an easy task, and its sampler and inference keep shapes right."""

from __future__ import annotations

import numpy as np

from ctbridge.experiments.downstream.config import SegmenterConfig
from ctbridge.experiments.downstream.segmenter import (
    PatchSampler,
    SegVolume,
    predict_volume,
    train_segmenter,
)


def _bright_squares(seed: int) -> SegVolume:
    rng = np.random.default_rng(seed)
    hu = np.full((3, 32, 32), 40.0, np.float32) + rng.normal(0, 5, (3, 32, 32))
    target = np.zeros(hu.shape, np.uint8)
    for z in range(3):
        y, x = rng.integers(4, 26, 2)
        hu[z, y:y + 3, x:x + 3] = 600.0
        target[z, y:y + 3, x:x + 3] = 1
    return SegVolume.from_hu(hu.astype(np.float32), target, f"s{seed}")


def test_sampler_oversamples_foreground_and_pads_small_volumes():
    vol = _bright_squares(0)
    sampler = PatchSampler([vol], (4, 8, 8), fg_fraction=1.0, rng=np.random.default_rng(0))
    x, y = sampler.sample(20)
    assert x.shape == (20, 1, 4, 8, 8) and y.shape == x.shape  # z padded 3 -> 4
    assert (y.flatten(1).amax(1) > 0).float().mean() > 0.9


def test_2d_segmenter_learns_bright_squares():
    cfg = SegmenterConfig(channels=[8, 16], strides=[2], num_res_units=0, patch=[16, 16],
                          batch_size=8, steps=60, lr=5e-3, overlap=0.25)
    net = train_segmenter([_bright_squares(s) for s in range(3)], cfg, spatial_dims=2,
                          progress=False)
    test = _bright_squares(9)
    pred = predict_volume(net, test.image, cfg, spatial_dims=2)
    assert pred.shape == test.target.shape
    tp = (pred & test.target).sum()
    dice = 2 * tp / (pred.sum() + test.target.sum())
    assert dice > 0.7


def test_3d_prediction_pads_thin_volumes():
    cfg = SegmenterConfig(channels=[4, 8], strides=[2], num_res_units=0, patch=[8, 16, 16],
                          batch_size=1, steps=1)
    vol = _bright_squares(1)
    net = train_segmenter([vol], cfg, spatial_dims=3, progress=False)
    assert predict_volume(net, vol.image, cfg, spatial_dims=3).shape == vol.image.shape
