"""The HU table: ranges are ordered as published, and a patient's draws stay inside them."""

from __future__ import annotations

import numpy as np

from ctbridge.phantom.hu_table import HU_TABLE, LABELS, PHASES, hu_range, lookup_tables


def test_every_label_has_a_range_per_phase_and_ids_are_dense():
    assert sorted(LABELS.values()) == list(range(len(LABELS)))
    for name in LABELS:
        for ph in PHASES:
            low, high = HU_TABLE[name][ph]
            assert low <= high, (name, ph)


def test_published_contrast_behaviour():
    assert hu_range("aorta", "arterial") == (250, 350)
    assert hu_range("aorta", "venous") == (150, 180)
    assert hu_range("kidney_left_cortex", "arterial") == (150, 200)
    assert hu_range("pancreas", "arterial") == (100, 130)
    assert hu_range("renal_pelvis", "delayed")[0] >= 500  # excreted contrast
    assert hu_range("ivc", "arterial")[1] < hu_range("aorta", "arterial")[0]  # unopacified


def test_patient_draws_inside_ranges_and_fixed_tissues_do_not_change():
    tables = lookup_tables(PHASES, np.random.default_rng(0))
    for name, idx in LABELS.items():
        for ph in PHASES:
            low, high = hu_range(name, ph)
            assert low <= tables[ph][idx] <= high
    for name in ("fat", "bone_cortical", "bowel_gas", "background"):
        values = {float(tables[ph][LABELS[name]]) for ph in PHASES}
        assert len(values) == 1, name
