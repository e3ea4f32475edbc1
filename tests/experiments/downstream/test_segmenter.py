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


def test_sampler_centres_the_hard_share_on_the_hard_region():
    vol = _bright_squares(0)
    hard = np.zeros(vol.image.shape, bool)
    hard[:, 28:, 28:] = True  # a corner with no foreground
    vol = SegVolume(vol.image, vol.target, vol.name, vol.box, hard)
    sampler = PatchSampler([vol], (1, 4, 4), fg_fraction=0.0, rng=np.random.default_rng(0),
                           hard_fraction=0.5)
    centres = np.array([sampler._centre(0) for _ in range(400)])
    in_corner = ((centres[:, 1] >= 27) & (centres[:, 2] >= 27)).mean()
    # half on the hard corner (jittered by a quarter patch: one pixel), the rest anywhere in
    # the box, of which the corner is (5/32)^2 ~ 2%
    assert 0.45 < in_corner < 0.6
    no_hard = PatchSampler([vol], (1, 4, 4), fg_fraction=0.0, rng=np.random.default_rng(0))
    centres = np.array([no_hard._centre(0) for _ in range(400)])
    assert ((centres[:, 1] >= 27) & (centres[:, 2] >= 27)).mean() < 0.1


def test_slice_stacks_give_each_slice_its_neighbours():
    import torch

    from ctbridge.experiments.downstream.segmenter import slice_stacks

    x = torch.arange(4.0)[:, None, None].expand(4, 2, 2)
    stacks = slice_stacks(x, 1)
    assert stacks.shape == (4, 3, 2, 2)
    assert stacks[:, :, 0, 0].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]
    assert slice_stacks(x, 0).shape == (4, 1, 2, 2)


def _tubes_and_specks(seed: int) -> SegVolume:
    """Bright tubes through every slice (targets) and equally bright one-slice specks (not):
    a slice alone cannot tell them apart, its neighbours can."""
    rng = np.random.default_rng(seed)
    hu = np.full((6, 32, 32), 40.0, np.float32) + rng.normal(0, 5, (6, 32, 32))
    target = np.zeros(hu.shape, np.uint8)
    for _ in range(3):
        y, x = rng.integers(2, 28, 2)
        hu[:, y:y + 3, x:x + 3] = 600.0
        target[:, y:y + 3, x:x + 3] = 1
    for z in range(1, 5):
        y, x = rng.integers(2, 28, 2)
        if not target[z, y:y + 3, x:x + 3].any():
            hu[z, y:y + 3, x:x + 3] = 600.0
    return SegVolume.from_hu(hu, target, f"t{seed}")


def test_context_slices_let_a_2d_segmenter_tell_tubes_from_specks():
    def dice(context: int) -> float:
        cfg = SegmenterConfig(channels=[8, 16], strides=[2], num_res_units=0, patch=[16, 16],
                              batch_size=8, steps=80, lr=5e-3, overlap=0.25,
                              context_slices=context, fg_fraction=0.5)
        net = train_segmenter([_tubes_and_specks(s) for s in range(4)], cfg, spatial_dims=2,
                              progress=False)
        test = _tubes_and_specks(9)
        pred = predict_volume(net, test.image, cfg, spatial_dims=2)[1:5]
        truth = test.target[1:5]
        return 2 * (pred & truth).sum() / (pred.sum() + truth.sum())

    assert dice(1) > dice(0) + 0.05
