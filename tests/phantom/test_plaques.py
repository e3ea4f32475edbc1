"""Plaques: small, calcified, on the aortic / iliac wall, the same voxels in every phase."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ctbridge.phantom import LABELS, PHASES

WALL = [LABELS["aorta"], LABELS["iliac"], LABELS["vessel_wall"]]
LUMEN = [LABELS["aorta"], LABELS["iliac"]]


def _masks(patient):
    return [(entry, patient.plaques == entry["id"]) for entry in patient.plaque_info]


def test_there_are_plaques_and_they_are_labelled(plaque_patient):
    info = plaque_patient.plaque_info
    assert len(info) >= 4
    assert [e["id"] for e in info] == list(range(1, len(info) + 1))
    plaque_voxels = plaque_patient.plaques > 0
    np.testing.assert_array_equal(plaque_voxels, plaque_patient.labels == LABELS["plaque"])


def test_plaque_size_and_peak_hu_in_range_in_every_phase(plaque_patient):
    px = plaque_patient.spacing[0]
    for entry, mask in _masks(plaque_patient):
        assert 0.5 <= entry["diameter_mm"] <= 3.0
        assert mask.sum() == entry["voxels"] >= 1
        zz, yy, xx = np.nonzero(mask)
        for extent in (np.ptp(yy) + 1, np.ptp(xx) + 1):  # a few pixels across
            assert extent <= np.ceil(3.0 / px) + 1, entry
        assert 130 <= entry["calcium_hu"] <= 2000
        for ph in PHASES:  # the same voxels carry visible calcium in every phase
            peak = float(plaque_patient.volumes[ph][mask].max())
            assert 130 <= peak <= 2000, (entry, ph, peak)
            assert abs(peak - entry["peak_hu"][ph]) < 0.1


def test_partial_volume_lowers_the_peak_of_small_plaques(plaque_patient):
    small = [e for e in plaque_patient.plaque_info if e["diameter_mm"] < 1.5]
    assert small, "seed should have small plaques"
    for entry in small:
        assert entry["peak_hu"]["nc"] < entry["calcium_hu"]


def test_every_plaque_touches_the_aortic_or_iliac_wall(plaque_patient):
    lab = plaque_patient.labels
    near_lumen = 0
    for entry, mask in _masks(plaque_patient):
        ring = ndimage.binary_dilation(mask, structure=np.ones((3, 3, 3), bool)) & ~mask
        assert np.isin(lab[ring], WALL).any(), entry
        near_lumen += bool(np.isin(lab[ring], LUMEN).any())
    assert near_lumen >= len(plaque_patient.plaque_info) // 2
    assert any(e["touches_lumen"] for e in plaque_patient.plaque_info)
