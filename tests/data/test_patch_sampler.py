from __future__ import annotations

import numpy as np
import pytest

from ctbridge.data.patch_sampler import TrainingVolume, UnpairedPatchSampler, small_bright_mask
from ctbridge.errors import DataError


def _coded_volume(name, offset, shape=(10, 64, 64), body=None):
    """Voxel value encodes (z, row, col): patches reveal where they were cut."""
    z, y, x = np.indices(shape)
    values = (offset + z * 10_000 + y * 100 + x).astype(np.float32)
    if body is None:
        body = np.ones(shape, bool)
    return TrainingVolume(name, values, body, np.zeros(shape, bool))


def _decode(patch):
    v = patch - (patch[0, 0] // 1_000_000) * 1_000_000
    return int(v[0, 0] // 10_000), int(v[0, 0] % 10_000 // 100), int(v[0, 0] % 100)


def test_same_location_and_level_in_every_domain():
    vols = {"nc": [_coded_volume("a", 0)], "ce": [_coded_volume("b", 1_000_000)],
            "venous": [_coded_volume("c", 2_000_000)]}
    sampler = UnpairedPatchSampler(vols, patch_size=16, batch_size=8, seed=1)
    batch = sampler.batch(0)
    assert set(batch) == {"nc", "ce", "venous"}
    for i in range(8):
        where = {_decode(batch[d][i, 0].numpy()) for d in batch}
        assert len(where) == 1, where
    assert batch["nc"].shape == (8, 1, 16, 16)


def test_deterministic_per_step_and_rank():
    vols = {"nc": [_coded_volume("a", 0)], "ce": [_coded_volume("b", 0)]}
    s0 = UnpairedPatchSampler(vols, batch_size=4, seed=5, rank=0)
    s1 = UnpairedPatchSampler(vols, batch_size=4, seed=5, rank=1)
    assert np.array_equal(s0.batch(7)["nc"], s0.batch(7)["nc"])
    assert not np.array_equal(s0.batch(7)["nc"], s0.batch(8)["nc"])
    assert not np.array_equal(s0.batch(7)["nc"], s1.batch(7)["nc"])


def test_centres_inside_body_when_body_fraction_is_one():
    body = np.zeros((10, 64, 64), bool)
    body[:, 40:60, 40:60] = True
    vols = {"nc": [_coded_volume("a", 0, body=body)], "ce": [_coded_volume("b", 0, body=body)]}
    sampler = UnpairedPatchSampler(vols, patch_size=8, batch_size=64, body_fraction=1.0)
    for patch in sampler.batch(0)["nc"][:, 0].numpy():
        _, row, col = _decode(patch)
        assert 40 <= row + 4 < 61 and 40 <= col + 4 < 61


def test_bright_fraction_centres_on_small_bright_structures():
    shape = (4, 64, 64)
    hu = np.zeros(shape, np.float32)
    hu[:, 50, 10] = 600.0  # a one-pixel plaque
    hu[:, 5:30, 30:60] = 700.0  # a large bright region (bone): not "small"
    bright = small_bright_mask(hu)
    assert bright[:, 50, 10].all() and not bright[:, 15, 45].any()
    v = TrainingVolume("a", hu, np.ones(shape, bool), bright)
    sampler = UnpairedPatchSampler({"nc": [v], "ce": [v]}, patch_size=8, batch_size=32,
                                   bright_fraction=1.0, body_fraction=0.0)
    patches = sampler.batch(0)["nc"][:, 0].numpy()
    assert np.all(patches.max(axis=(1, 2)) == 600.0)


def test_whole_slice_mode_crops_to_multiple():
    shape = (3, 50, 45)
    vols = {"nc": [_coded_volume("a", 0, shape=shape)], "ce": [_coded_volume("b", 0, shape=shape)]}
    batch = UnpairedPatchSampler(vols, patch_size=None, batch_size=2, multiple_of=8).batch(0)
    assert batch["ce"].shape == (2, 1, 48, 40)


def test_patch_larger_than_slice_is_refused():
    vols = {"nc": [_coded_volume("small", 0, shape=(2, 20, 20))], "ce": [_coded_volume("b", 0)]}
    with pytest.raises(DataError, match="small: slices"):
        UnpairedPatchSampler(vols, patch_size=32)


def test_slice_level_uses_body_extent():
    body = np.zeros((10, 8, 8), bool)
    body[2:8] = True
    v = TrainingVolume("a", np.zeros((10, 8, 8), np.float32), body, np.zeros((10, 8, 8), bool))
    assert (v.slice_at(0.0), v.slice_at(1.0), v.slice_at(0.5)) == (2, 7, 4)


def test_contrast_fraction_centres_where_the_domains_differ():
    shape = (4, 64, 64)
    nc = np.full(shape, 0.05, np.float32)  # model range: soft tissue
    ce = nc.copy()
    ce[:, 40:48, 8:16] = 0.45  # an enhancing organ, only in the contrast domain
    body = np.ones(shape, bool)
    none = np.zeros(shape, bool)
    vols = {"nc": [TrainingVolume("a", nc, body, none)], "ce": [TrainingVolume("b", ce, body,
                                                                                none)]}
    sampler = UnpairedPatchSampler(vols, patch_size=8, batch_size=32, body_fraction=0.0,
                                   contrast_fraction=1.0, contrast_edges=np.linspace(-1, 1, 41))
    patches = sampler.batch(0)["ce"][:, 0].numpy()
    assert np.all(patches.max(axis=(1, 2)) == np.float32(0.45))  # every patch shows the organ
    with pytest.raises(DataError, match="histogram edges"):
        UnpairedPatchSampler(vols, patch_size=8, contrast_fraction=0.5)


def test_streams_are_independent_and_stream_zero_is_the_training_sequence():
    vols = {"nc": [_coded_volume("a", 0)], "ce": [_coded_volume("b", 0)]}
    s = UnpairedPatchSampler(vols, batch_size=4, seed=5)
    assert np.array_equal(s.batch(3)["nc"], s.batch(3, stream=0)["nc"])
    assert not np.array_equal(s.batch(3)["nc"], s.batch(3, stream=1)["nc"])
