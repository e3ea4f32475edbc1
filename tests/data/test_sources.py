from __future__ import annotations

import json

import pytest

from ctbridge.data.sources import domain_scans, split_patients
from ctbridge.errors import DataError
from ctbridge.io import write_scan
from tests.conftest import make_scan


@pytest.fixture
def phantom_like(tmp_path):
    root = tmp_path / "phantom"
    for phase in ("nc", "arterial", "venous"):
        for i in range(5):
            write_scan(make_scan(shape=(2, 8, 8)), root / phase / f"patient_{i:03d}.nii.gz")
    (root / "dataset.json").write_text(json.dumps({"phases": ["nc", "arterial", "venous"]}))
    return root


def test_phantom_split_is_disjoint_and_complete(phantom_like):
    scans = domain_scans(phantom_like, ["nc", "ce"], phase_of={"ce": "arterial"}, seed=3)
    nc = {p.name for p in scans["nc"]}
    ce = {p.name for p in scans["ce"]}
    assert not nc & ce
    assert len(nc | ce) == 5
    assert all(p.parent.name == "arterial" for p in scans["ce"])


def test_three_domains_and_exclusion(phantom_like):
    scans = domain_scans(phantom_like, ["nc", "arterial", "venous"], exclude=["patient_004.nii.gz"])
    names = [p.name for ps in scans.values() for p in ps]
    assert len(names) == len(set(names)) == 4
    assert "patient_004.nii.gz" not in names


def test_a_holdout_that_names_no_patient_is_refused(phantom_like):
    # without its extension the name matches no file: training would use the test patient
    with pytest.raises(DataError, match="data.holdout names patient_004, which is not"):
        domain_scans(phantom_like, ["nc", "arterial"], exclude=["patient_004"])


def test_unknown_phase_is_named(phantom_like):
    with pytest.raises(DataError, match="phase 'delayed' not in this phantom"):
        domain_scans(phantom_like, ["nc", "delayed"])


def test_folder_per_domain(tmp_path):
    write_scan(make_scan(shape=(2, 8, 8)), tmp_path / "nc" / "a.nii.gz")
    write_scan(make_scan(shape=(2, 8, 8)), tmp_path / "ce" / "series_b")
    scans = domain_scans(tmp_path, ["nc", "ce"])
    assert [p.name for p in scans["ce"]] == ["series_b"]
    with pytest.raises(DataError, match="venous/ is missing"):
        domain_scans(tmp_path, ["nc", "venous"])


def test_split_patients_deterministic():
    names = [f"p{i}" for i in range(7)]
    assert split_patients(names, 2, 1) == split_patients(names, 2, 1)
    assert sorted(sum(split_patients(names, 3, 0), [])) == names


def test_prepared_patients_in_two_domains_are_kept_in_one(tmp_path):
    import csv
    import logging

    from ctbridge.data.sources import domain_scans
    from ctbridge.io import write_scan
    from tests.conftest import make_scan

    rows = []
    for patient, domains in (("A", "nc,ce"), ("B", "nc,ce"), ("C", "nc"), ("D", "ce")):
        for domain in domains.split(","):
            path = write_scan(make_scan(shape=(2, 8, 8)), tmp_path / domain / f"{patient}.nii.gz")
            rows.append({"patient": patient, "output": f"{domain}/{path.name}"})
    with (tmp_path / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["patient", "output"])
        writer.writeheader()
        writer.writerows(rows)
    log = logging.getLogger("test.sources")
    messages = []
    log.addHandler(type("H", (logging.Handler,), {"emit": lambda s, r: messages.append(
        r.getMessage())})())
    log.setLevel(logging.INFO)
    for seed in range(4):
        scans = domain_scans(tmp_path, ["nc", "ce"], seed=seed, log=log)
        names = {d: {p.name[0] for p in ps} for d, ps in scans.items()}
        assert not names["nc"] & names["ce"]
        assert "C" in names["nc"] and "D" in names["ce"] and {"A", "B"} <= names["nc"] | names["ce"]
    assert "2 patient(s) have scans in several domains" in messages[0]
    (tmp_path / "manifest.csv").unlink()  # a plain folder: used as it is
    assert {p.name for p in domain_scans(tmp_path, ["nc", "ce"])["nc"]} == {"A.nii.gz", "B.nii.gz",
                                                                            "C.nii.gz"}
