"""Whole-scan translation batch by batch: the same voxels as before, memory bounded by the batch.

``translate_scan`` once translated the whole scan through the network, then ran the bounds and
the smoothing on the whole volume (float64 temporaries of the scan's size: 4.9 GB RSS for a
512x512x300 scan). It now takes each batch of slices end to end into a preallocated output.
The reference below is the earlier code, kept verbatim, so the restructuring is proved to change
no voxel.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import IntensityScaler
from ctbridge.inference.bounds import ContrastBounds
from ctbridge.inference.enhancement import EnhancementSmoothing
from ctbridge.inference.translator import Translator
from ctbridge.io import Scan
from ctbridge.models import ModelConfig, build_model


def _old_translate_scan(tr: Translator, scan: Scan, target: str, source: str, *,
                        batch: int = 16, mode: str = "full") -> np.ndarray:
    """``Translator.translate_scan`` as it was before the batches went end to end (deterministic
    output only): the whole volume to model range, every batch through the network, then the
    bounds, the smoothing and the body mask on the whole volume."""
    body = body_mask(scan.array)
    x = torch.from_numpy(np.asarray(tr.scaler.to_model(scan.array), np.float32))[:, None]
    bounds, smoothing = tr.postprocessing(source, bounded=True, smooth=True)
    source_hu = np.asarray(scan.array, np.float32)
    chunks = []
    for start in range(0, x.shape[0], batch):
        chunks.append(tr.translate_slices(x[start:start + batch], source, target, mode=mode,
                                          batch=batch, sample=False))
    hu = np.asarray(tr.scaler.to_hu(torch.cat(chunks)[:, 0].numpy()), np.float32)
    if bounds is not None:
        hu = bounds.apply(source_hu, hu, source=source, target=target)
        if smoothing is not None:
            hu = bounds.apply(source_hu, smoothing.apply(source_hu, hu, scan.spacing),
                              source=source, target=target)
    return np.where(body, hu, scan.array)


def _scan(slices: int, size: int = 64, seed: int = 0) -> Scan:
    """A body (a cylinder through every slice) with fat, soft tissue, a bright vessel, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size - 0.5
    body = (yy / 0.4) ** 2 + (xx / 0.45) ** 2 < 1
    fat = body & ((yy / 0.33) ** 2 + (xx / 0.38) ** 2 >= 1)
    vessel = (yy + 0.1) ** 2 + xx ** 2 < 0.004
    hu = np.where(body, 45.0, -1000.0) + np.where(fat, -145.0, 0.0) + np.where(vessel, 250.0, 0)
    vol = hu[None] + rng.normal(0, 15, (slices, size, size))
    return Scan(vol.astype(np.float32), spacing=(1.4, 1.4, 3.0))


@pytest.fixture(scope="module")
def translator() -> Translator:
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="gmm_unit", width=0.125, n_components=3))
    return Translator(model, IntensityScaler(), patch_size=32, bounds=ContrastBounds("nc"),
                      smoothing=EnhancementSmoothing())


@pytest.mark.parametrize(("source", "target"), [("nc", "ce"), ("ce", "nc")])
def test_batches_end_to_end_change_no_voxel(translator, source, target):
    scan = _scan(40)  # batches of 16, 16 and 8 slices
    new = translator.translate_scan(scan, target, source=source, batch=16).scan.array
    old = _old_translate_scan(translator, scan, target, source, batch=16)
    assert np.array_equal(new, old)
    assert not np.array_equal(new, scan.array)  # the network and the bounds did something


def test_two_halves_give_the_whole(translator):
    scan = _scan(40, seed=1)
    whole = translator.translate_scan(scan, "ce", batch=10).scan.array
    halves = [translator.translate_scan(Scan(scan.array[s].copy(), spacing=scan.spacing),
                                        "ce", batch=10).scan.array
              for s in (slice(0, 20), slice(20, 40))]
    assert np.array_equal(whole, np.concatenate(halves))


def test_memory_grows_with_the_output_not_with_float64_copies_of_the_scan(translator):
    """numpy's allocations (traced by tracemalloc) per extra voxel of a longer scan: the output
    (4 bytes) and the body mask's whole-volume work (a bool mask and the int32 labels of its
    connected components) are all that may grow; the earlier code held about 100 bytes per
    voxel (float64 copies in the intensity maps, the bounds and the smoothing)."""
    peaks = {}
    for slices in (16, 80):
        scan = _scan(slices, size=96)
        tracemalloc.start()
        translator.translate_scan(scan, "ce", batch=16)
        peaks[slices] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    per_voxel = (peaks[80] - peaks[16]) / (64 * 96 * 96)
    assert per_voxel < 16, per_voxel


def test_std_map_per_batch_is_zero_for_a_deterministic_model():
    class Deterministic(torch.nn.Module):
        domains, downsampling = ["nc", "ce"], 2

        def translate(self, x, source, target, *, sample=False):
            return x + 0.05

    scan = _scan(20)
    result = Translator(Deterministic(), IntensityScaler()).translate_scan(
        scan, "ce", batch=8, samples=3)
    assert result.std is not None and result.std.shape == scan.shape
    assert float(result.std.array.max()) == 0.0


def test_in_place_gives_the_same_voxels_in_the_scans_own_array(translator):
    scan = _scan(40, seed=2)
    copy = Scan(scan.array.copy(), spacing=scan.spacing)
    expected = translator.translate_scan(copy, "ce", batch=16).scan.array
    result = translator.translate_scan(scan, "ce", batch=16, in_place=True).scan
    assert np.array_equal(result.array, expected)
    assert result.array is scan.array  # the scan is held once
    read_only = Scan(copy.array.copy(), spacing=scan.spacing)
    read_only.array.flags.writeable = False  # not ours to overwrite: a new array
    again = translator.translate_scan(read_only, "ce", batch=16, in_place=True).scan
    assert again.array is not read_only.array and np.array_equal(again.array, expected)
