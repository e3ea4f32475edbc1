"""Rendering: HU per tissue as published, partial volume, correlated noise of the asked sigma."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ctbridge.phantom import LABELS, PHASES, hu_range
from ctbridge.phantom.render import add_correlated_noise

IN_PLANE = np.zeros((3, 3, 3), bool)
IN_PLANE[1] = ndimage.generate_binary_structure(2, 1)
SKIP = ("plaque",)


def _eroded(labels: np.ndarray, idx: int) -> np.ndarray:
    """The label without its border voxels in-plane (no partial volume with neighbours)."""
    return ndimage.binary_erosion(labels == idx, structure=IN_PLANE)


@pytest.mark.parametrize("phase", PHASES)
def test_median_hu_per_label_inside_the_published_range(noisy, clean, phase):
    checked = []
    for name, idx in LABELS.items():
        if name in SKIP:
            continue
        mask = _eroded(clean.labels, idx)
        if mask.sum() < 30:
            continue
        low, high = hu_range(name, phase)
        exact = float(np.median(clean.volumes[phase][mask]))
        assert low <= exact <= high, (name, phase, exact)
        measured = float(np.median(noisy.volumes[phase][mask]))  # 15 HU noise: +-3 HU slack
        assert low - 3 <= measured <= high + 3, (name, phase, measured)
        checked.append(name)
    assert {"aorta", "liver", "spleen", "pancreas", "kidney_left_cortex", "fat", "muscle",
            "bone_cancellous", "ivc", "bowel_gas"} <= set(checked)


def test_phases_differ_only_where_contrast_goes(clean):
    fixed = np.isin(clean.labels, [LABELS[k] for k in ("background", "fat", "bowel_gas",
                                                       "bowel_content", "bone_cortical")])
    fixed = ndimage.binary_erosion(fixed, structure=IN_PLANE, iterations=2)
    for ph in PHASES[1:]:
        np.testing.assert_array_equal(clean.volumes[ph][fixed], clean.volumes["nc"][fixed])
    aorta = _eroded(clean.labels, LABELS["aorta"])
    assert np.all(clean.volumes["arterial"][aorta] > clean.volumes["nc"][aorta] + 150)


def test_partial_volume_at_borders(clean):
    """Voxels on the aortic border in the arterial phase lie between lumen and wall values."""
    vol, lab = clean.volumes["arterial"], clean.labels
    lumen = lab == LABELS["aorta"]
    border = ndimage.binary_dilation(lumen, structure=IN_PLANE) & ~lumen
    values = vol[border & (lab != LABELS["plaque"])]
    inner = float(np.median(vol[_eroded(lab, LABELS["aorta"])]))
    assert np.mean((values > 80) & (values < inner - 20)) > 0.2


def test_noise_has_the_asked_sigma_and_is_correlated():
    vol = np.zeros((6, 128, 128), np.float32)
    add_correlated_noise(vol, 20.0, px_mm=0.7, rng=np.random.default_rng(0))
    assert abs(float(vol.std()) - 20.0) < 0.6
    lag1 = np.corrcoef(vol[:, :, :-1].ravel(), vol[:, :, 1:].ravel())[0, 1]
    assert lag1 > 0.3  # smoothed, not white
    zero = np.zeros((2, 8, 8), np.float32)
    add_correlated_noise(zero, 0.0, 0.7, np.random.default_rng(0))
    assert not zero.any()


def test_noise_is_the_only_difference_between_noisy_and_clean(noisy, clean):
    for ph in PHASES:
        diff = noisy.volumes[ph] - clean.volumes[ph]
        assert abs(float(diff.std()) - 15.0) < 0.5
    assert noisy.labels.tobytes() == clean.labels.tobytes()
