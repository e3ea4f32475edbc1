"""Distinctive voxels: intensities typical of one domain and rare in the others."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.data.phase_contrast import distinctive_bins, distinctive_masks

EDGES = np.arange(-200.0, 601.0, 20.0)


def _phantom_pair(rng):
    """A 'non-contrast' and an 'arterial' slab: same tissues, the vessel enhances."""
    shape = (2, 40, 40)
    vessel = np.zeros(shape, bool)
    vessel[:, 15:25, 15:25] = True
    fat = np.zeros(shape, bool)
    fat[:, :, :8] = True
    nc = np.where(fat, -100.0, 50.0) + rng.normal(0, 5, shape)
    nc[vessel] = 45.0 + rng.normal(0, 5, vessel.sum())
    ce = nc.copy()
    ce[vessel] = 300.0 + rng.normal(0, 5, vessel.sum())
    return nc, ce, vessel


def test_enhanced_vessel_is_distinctive_of_the_contrast_domain_only():
    nc, ce, vessel = _phantom_pair(np.random.default_rng(0))
    body = np.ones_like(vessel)
    masks = distinctive_masks({"nc": [nc], "ce": [ce]}, {"nc": [body], "ce": [body]}, EDGES)
    assert masks["ce"][0][vessel].mean() > 0.99  # every enhanced voxel
    assert not masks["ce"][0][~vessel].any()  # fat and soft tissue look alike in both
    assert not masks["nc"][0].any()  # nothing in nc is twice as common as in ce


def test_bins_need_the_ratio_and_mass_outside_the_body_is_ignored():
    hist = {"a": np.array([0.5, 0.3, 0.0]), "b": np.array([0.2, 0.3, 0.1])}
    bins = distinctive_bins(hist, min_ratio=2.0)
    assert bins["a"].tolist() == [True, False, False]
    assert bins["b"].tolist() == [False, False, True]
    nc, ce, vessel = _phantom_pair(np.random.default_rng(1))
    nobody = np.zeros_like(vessel)
    nobody[0] = True
    masks = distinctive_masks({"nc": [nc], "ce": [ce]}, {"nc": [nobody], "ce": [nobody]}, EDGES)
    assert not masks["ce"][0][1].any()  # outside the body mask: never


def test_one_domain_is_refused():
    with pytest.raises(ValueError, match="two domains"):
        distinctive_masks({"nc": [np.zeros((1, 2, 2))]}, {"nc": [np.ones((1, 2, 2), bool)]},
                          EDGES)
