"""One patient: determinism, seed-dependent anatomy, shared labels, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from ctbridge.phantom import LABELS, PHASES, generate_patient

TINY = dict(size=64, slices=8)


def test_same_seed_identical_bytes_different_seed_different_anatomy():
    a = generate_patient(5, **TINY)
    b = generate_patient(5, **TINY)
    c = generate_patient(6, **TINY)
    for ph in PHASES:
        assert a.volumes[ph].tobytes() == b.volumes[ph].tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.plaques.tobytes() == b.plaques.tobytes()
    assert (a.labels != c.labels).mean() > 0.02
    liver = LABELS["liver"]
    assert (a.labels == liver).sum() != (c.labels == liver).sum()


def test_a_subset_of_phases_renders_the_same_patient():
    full = generate_patient(7, **TINY)
    part = generate_patient(7, phases=("venous",), **TINY)
    assert list(part.volumes) == ["venous"]
    assert part.volumes["venous"].tobytes() == full.volumes["venous"].tobytes()


def test_geometry_follows_size_and_slice_thickness():
    pt = generate_patient(1, size=96, slices=5, slice_mm=2.5, phases=("nc",))
    assert pt.volumes["nc"].shape == pt.labels.shape == pt.plaques.shape == (5, 96, 96)
    assert pt.volumes["nc"].dtype == np.float32
    assert pt.spacing == pytest.approx((3.75, 3.75, 2.5))
    scan = pt.scan("nc")
    assert scan.origin == pt.origin and scan.metadata["modality"] == "CT"


def test_every_abdominal_structure_is_present_somewhere(clean):
    present = set(np.unique(clean.labels).tolist())
    wanted = ["fat", "muscle", "bone_cortical", "bone_cancellous", "aorta", "iliac", "ivc",
              "liver", "spleen", "kidney_left_cortex", "kidney_left_medulla",
              "kidney_right_cortex", "kidney_right_medulla", "renal_pelvis", "pancreas",
              "bowel", "bowel_content", "bowel_gas", "spinal_canal"]
    assert {LABELS[n] for n in wanted} <= present


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="phases"):
        generate_patient(0, phases=("nc", "portal"), **TINY)
    with pytest.raises(ValueError, match="size"):
        generate_patient(0, size=16, slices=4)
