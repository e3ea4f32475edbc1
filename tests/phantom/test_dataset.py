"""A cohort on disk: layout, dataset.json, byte-identical reruns, geometry round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ctbridge.io import read_labelmap, read_scan
from ctbridge.phantom import (
    LABELS,
    generate_patient,
    patient_seed,
    write_phantom_dataset,
)

SMALL = dict(size=64, slices=6, slice_mm=2.5)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom")
    write_phantom_dataset(out, patients=2, phases=("nc", "venous"), seed=4, progress=False,
                          **SMALL)
    return out


def test_layout_and_dataset_json(cohort):
    meta = json.loads((cohort / "dataset.json").read_text())
    assert meta["labels"] == LABELS and meta["labels"]["background"] == 0
    assert {"aorta", "iliac", "ivc", "liver", "spleen", "pancreas", "plaque"} <= set(meta["labels"])
    assert meta["phases"] == ["nc", "venous"] and meta["seed"] == 4
    assert meta["spacing_xyz_mm"] == pytest.approx([360 / 64, 360 / 64, 2.5])
    assert meta["generator_version"] and meta["numTraining"] == 2
    names = [p["name"] for p in meta["patients"]]
    assert names == ["patient_000", "patient_001"]
    for sub in ("nc", "venous", "labels", "plaques"):
        assert sorted(p.name for p in (cohort / sub).iterdir()) == [f"{n}.nii.gz" for n in names]
    for n in names:
        png = (cohort / "contact_sheets" / f"{n}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    for p in meta["patients"]:
        assert p["n_plaques"] == len(p["plaques"])
        for pl in p["plaques"]:
            assert {"centre_voxel_zyx", "centre_mm_xyz", "diameter_mm", "peak_hu"} <= set(pl)


def test_geometry_and_voxels_round_trip(cohort):
    expected = generate_patient(patient_seed(4, 1), phases=("nc", "venous"), **SMALL)
    scan = read_scan(cohort / "venous" / "patient_001.nii.gz")
    assert scan.shape == (6, 64, 64)
    np.testing.assert_allclose(scan.spacing, expected.spacing, rtol=1e-6)
    np.testing.assert_allclose(scan.origin, expected.origin, atol=1e-4)
    np.testing.assert_allclose(scan.direction, np.eye(3), atol=1e-6)
    np.testing.assert_array_equal(scan.array, np.rint(expected.volumes["venous"]))  # int16 HU
    labels = read_labelmap(cohort / "labels" / "patient_001.nii.gz")
    np.testing.assert_array_equal(labels, expected.labels)
    plaques = read_labelmap(cohort / "plaques" / "patient_001.nii.gz")
    np.testing.assert_array_equal(plaques, expected.plaques)


def test_rerun_gives_identical_files(cohort, tmp_path):
    write_phantom_dataset(tmp_path, patients=2, phases=("nc", "venous"), seed=4, progress=False,
                          **SMALL)
    for rel in ("nc/patient_000.nii.gz", "labels/patient_001.nii.gz",
                "plaques/patient_001.nii.gz", "dataset.json"):
        assert (tmp_path / rel).read_bytes() == (cohort / rel).read_bytes(), rel


def test_patient_seeds_are_distinct_and_stable():
    seeds = [patient_seed(0, i) for i in range(50)]
    assert len(set(seeds)) == 50 and seeds[3] == patient_seed(0, 3) != patient_seed(1, 3)
