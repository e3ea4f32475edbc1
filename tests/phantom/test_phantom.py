"""The phantom: determinism, HU per tissue and phase, plaques, layout, geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from ctbridge.cli import main
from ctbridge.io import read_labelmap, read_scan
from ctbridge.phantom import HU_TABLE, LABELS, PHASES, generate_patient, write_phantom_dataset

SMALL = dict(size=192, slices=20)


@pytest.fixture(scope="module")
def patient():
    return generate_patient(11, noise_hu=15.0, plaques_max=20, **SMALL)


@pytest.fixture(scope="module")
def clean():
    return generate_patient(11, noise_hu=0.0, plaques_max=20, **SMALL)


def test_same_seed_same_voxels_different_seed_different_anatomy():
    a = generate_patient(5, size=96, slices=8)
    b = generate_patient(5, size=96, slices=8)
    c = generate_patient(6, size=96, slices=8)
    for ph in PHASES:
        assert a.volumes[ph].tobytes() == b.volumes[ph].tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert (a.labels != c.labels).mean() > 0.02  # different body, organs, vessels


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path):
    for run in ("a", "b"):
        write_phantom_dataset(tmp_path / run, patients=1, size=64, slices=4, seed=3,
                              progress=False, sheets=False)
    for rel in ("nc/patient_000.nii.gz", "labels/patient_000.nii.gz", "dataset.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


@pytest.mark.parametrize("phase", PHASES)
def test_median_hu_per_tissue_matches_the_table(patient, phase):
    """Medians inside eroded masks (no partial volume), measured from the noisy volume."""
    vol = patient.volumes[phase]
    checked = 0
    for name, idx in LABELS.items():
        if name in ("plaque", "background"):
            continue
        mask = ndimage.binary_erosion(patient.labels == idx, iterations=1)
        if mask.sum() < 30:
            continue
        expected = HU_TABLE[name][PHASES.index(phase)]
        assert abs(float(np.median(vol[mask])) - expected) < 12, (name, phase)
        checked += 1
    assert checked >= 14


def test_contrast_behaviour_is_physiological(patient):
    def med(label, phase):
        return float(np.median(patient.volumes[phase][patient.labels == LABELS[label]]))

    assert med("aorta", "nc") < 60 and 250 <= med("aorta", "arterial") <= 350
    assert 140 <= med("aorta", "venous") <= 185
    assert med("kidney_left_cortex", "arterial") > med("kidney_left_medulla", "arterial") + 60
    assert 100 <= med("pancreas", "arterial") <= 130 and med("pancreas", "nc") < 55
    assert med("liver", "venous") > med("liver", "nc") + 30


def test_phases_differ_only_where_contrast_goes(clean):
    """Noise-free: fat, bone, air, bowel gas and content are identical in every phase."""
    fixed = np.isin(clean.labels, [LABELS[k] for k in ("background", "bone_cortical",
                                                       "bowel_gas", "bowel_content")])
    fixed = ndimage.binary_erosion(fixed, iterations=2)
    for ph in PHASES[1:]:
        np.testing.assert_allclose(clean.volumes[ph][fixed], clean.volumes["nc"][fixed],
                                   atol=1e-3)


def test_plaques_in_range_in_every_phase_and_on_the_vessel_wall(clean):
    info = clean.plaque_info
    assert len(info) >= 3
    vessel = np.isin(clean.labels, [LABELS["aorta"], LABELS["iliac"], LABELS["vessel_wall"]])
    spacing = clean.spacing[0]
    for entry in info:
        mask = clean.plaques == entry["id"]
        assert mask.sum() == entry["voxels"] >= 1
        assert 0.5 <= entry["diameter_mm"] <= 3.0
        assert mask.sum(axis=(1, 2)).max() <= np.pi * (3.0 / spacing) ** 2  # a few pixels
        for ph in PHASES:  # same voxels, visible calcium in every phase
            assert clean.volumes[ph][mask].max() >= 130, (entry, ph)
        assert 130 <= entry["calcium_hu"] <= 2000
        touching = ndimage.binary_dilation(mask, iterations=1) & vessel
        assert touching.any(), entry


def test_plaque_burden_varies_with_seed():
    counts = {len(generate_patient(s, size=160, slices=16).plaque_info) for s in range(6)}
    assert len(counts) >= 3


def test_noise_level_is_what_was_asked(clean, patient):
    air = ndimage.binary_erosion(clean.labels == LABELS["background"], iterations=3)
    assert abs(float(np.std(patient.volumes["nc"][air])) - 15.0) < 1.0


def test_cli_layout_dataset_json_and_geometry(tmp_path):
    out = tmp_path / "ph"
    assert main(["phantom", str(out), "--patients", "2", "--size", "64", "--slices", "6",
                 "--phases", "nc,venous", "--seed", "4", "--slice-mm", "2.5"]) == 0
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"]["pancreas"] == LABELS["pancreas"] and meta["phases"] == ["nc", "venous"]
    assert [p["name"] for p in meta["patients"]] == ["patient_000", "patient_001"]
    for sub in ("nc", "venous", "labels", "plaques"):
        assert sorted(p.name for p in (out / sub).iterdir()) == [
            "patient_000.nii.gz", "patient_001.nii.gz"]
    assert (out / "contact_sheets" / "patient_001.png").stat().st_size > 1000
    scan = read_scan(out / "nc" / "patient_000.nii.gz")
    assert scan.shape == (6, 64, 64)
    np.testing.assert_allclose(scan.spacing, (360 / 64, 360 / 64, 2.5), rtol=1e-6)
    labels = read_labelmap(out / "labels" / "patient_000.nii.gz")
    assert labels.shape == scan.shape and labels.max() <= max(LABELS.values())
    assert np.all(scan.array == np.round(scan.array))  # int16 on disk


def test_bad_phase_is_a_usage_error(tmp_path, capsys):
    assert main(["phantom", str(tmp_path / "x"), "--phases", "nc,portal"]) == 2
    assert not (tmp_path / "x").exists()
