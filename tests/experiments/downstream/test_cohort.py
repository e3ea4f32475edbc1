"""Cohort loading and the patient-disjoint k-fold split."""

from __future__ import annotations

import json

import pytest

from ctbridge.errors import DataError
from ctbridge.experiments.downstream.cohort import kfold, load_cohort


@pytest.mark.parametrize("n, k", [(4, 2), (7, 3), (10, 5), (5, 5)])
def test_folds_are_patient_disjoint_and_test_everyone_once(n, k):
    names = [f"patient_{i:03d}.nii.gz" for i in range(n)]
    folds = kfold(names, k, seed=3)
    assert len(folds) == k
    tested = [p for f in folds for p in f.test]
    assert sorted(tested) == names  # each patient tested exactly once
    for f in folds:
        assert not set(f.train) & set(f.test)
        assert set(f.train) | set(f.test) == set(names)
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_depend_on_seed_only():
    names = [f"p{i}" for i in range(8)]
    assert kfold(names, 2, seed=1) == kfold(list(reversed(names)), 2, seed=1)
    assert kfold(names, 2, seed=1) != kfold(names, 2, seed=2)


def test_more_folds_than_patients_is_a_data_error():
    with pytest.raises(DataError, match="3 patients cannot make 4 cross-validation folds"):
        kfold(["a", "b", "c"], 4)


def test_load_cohort_lists_patients_with_both_phases(cohort_dir):
    cohort = load_cohort(cohort_dir, ce_phase="arterial", required_labels=["plaque"])
    assert cohort.names == [f"patient_{i:03d}.nii.gz" for i in range(4)]
    assert cohort.scan_path("ce", cohort.names[0]).parent.name == "arterial"
    assert cohort.label_id("pancreas") == 3
    assert load_cohort(cohort_dir, patients=2).names == cohort.names[:2]


def test_load_cohort_explains_what_is_missing(cohort_dir, tmp_path):
    with pytest.raises(DataError, match="no venous/ folder"):
        load_cohort(cohort_dir, ce_phase="venous")
    with pytest.raises(DataError, match="no label 'liver'"):
        load_cohort(cohort_dir, required_labels=["liver"])
    with pytest.raises(DataError, match="no dataset.json"):
        load_cohort(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"phases": ["nc"]}))
    with pytest.raises(DataError, match="no \"labels\""):
        load_cohort(tmp_path)
