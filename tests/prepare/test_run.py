"""`ctbridge prepare` end to end on the phantom's DICOM export, checked against its truth."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_files

from ctbridge.cli import main
from ctbridge.data.sources import domain_scans
from ctbridge.errors import DataError
from ctbridge.io import read_scan
from ctbridge.io.dicom import read_dicom_files
from ctbridge.phantom.dicom_export import write_dicom_study_export
from ctbridge.prepare.run import prepare_export

EXPORT = dict(patients=6, size=192, slices=22, plaques_max=4, progress=False)
FOUR = "nc,arterial,venous,delayed"


def rows(out: Path, name: str = "manifest.csv") -> list[dict[str, str]]:
    with (out / name).open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """Six patients x four phases with junk, plus every test file pydicom ships."""
    root = tmp_path_factory.mktemp("export") / "EXPORT"
    write_dicom_study_export(root, **EXPORT)
    real = root / "pydicom"
    real.mkdir()
    for i, path in enumerate(get_testdata_files()):
        (real / f"F{i:04d}").symlink_to(path)
    return root


@pytest.fixture(scope="module")
def prepared(export, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "OUT"
    report = prepare_export(export, out, domains=FOUR, progress=False)
    return out, report


def test_every_series_is_sorted_or_skipped_as_the_truth_says(export, prepared):
    out, report = prepared
    truth = json.loads((export / "truth.json").read_text())["series"]
    by_uid = {r["series_uid"]: r for r in rows(out)}
    assert set(truth) <= set(by_uid)
    for uid, t in truth.items():
        row = by_uid[uid]
        if t["expect"].startswith("skip:"):
            assert row["status"] == "skipped" and t["expect"][5:] in row["reason"], (t, row)
        else:
            assert (row["status"], row["domain"]) == ("sorted", t["expect"]), (t, row)
            assert "image" in row["decided_by"] or t["expect"] != "nc", row
    assert sum(t["expect"] in FOUR.split(",") for t in truth.values()) == 24
    assert report.count("unsorted") == 0


def test_pydicom_files_are_each_sorted_or_skipped_with_a_reason(export, prepared):
    out, _ = prepared
    real = {str(p) for p in (export / "pydicom").iterdir()}
    skipped_files = {r["path"]: r["reason"] for r in rows(out, "skipped_files.csv")}
    in_series = [r for r in rows(out) if r["series_uid"] not in
                 json.loads((export / "truth.json").read_text())["series"]]
    assert in_series, "pydicom's CT/MR files form series of their own"
    for r in in_series:
        assert r["status"] in {"sorted", "unsorted", "skipped"}
        assert r["reason"] or r["domain"], r
    assert all(skipped_files[p] for p in real & set(skipped_files))
    reasons = {r["reason"].split(" (")[0] for r in in_series}
    assert {"too few slices", "modality MR, not CT"} <= reasons


def test_junk_files_are_listed_with_their_reason(export, prepared):
    out, _ = prepared
    truth = json.loads((export / "truth.json").read_text())["files"]
    listed = {Path(r["path"]).relative_to(export).as_posix(): r["reason"]
              for r in rows(out, "skipped_files.csv")}
    for name, reason in truth.items():
        assert reason in listed[name], (name, listed.get(name))


def test_outputs_keep_hu_and_geometry_and_the_manifest_says_who_has_both(export, prepared):
    out, report = prepared
    sorted_rows = [r for r in rows(out) if r["status"] == "sorted" and r["patient"] == "CTB1001"]
    assert len(sorted_rows) == 4
    assert {r["patient_domains"] for r in sorted_rows} == {"arterial+delayed+nc+venous"}
    row = next(r for r in sorted_rows if r["domain"] == "arterial")
    result = next(r for r in report.results if r.series.uid == row["series_uid"])
    source = read_dicom_files([h.path for h in result.series.files])
    written = read_scan(out / row["output"])
    np.testing.assert_array_equal(written.array, source.array)
    np.testing.assert_allclose(written.affine_lps, source.affine_lps, atol=1e-4)
    for domain in FOUR.split(","):
        assert (out / "contact_sheets" / f"{domain}.png").stat().st_size > 1000
    assert report.patients_in_several_domains() == [f"CTB{1000 + i}" for i in range(6)]


def test_train_reads_the_output_with_each_patient_in_one_domain(prepared):
    out, _ = prepared
    scans = domain_scans(out, ["nc", "arterial"], seed=0)
    patients = {d: {p.name.split("_")[0] for p in ps} for d, ps in scans.items()}
    assert not patients["nc"] & patients["arterial"]
    assert patients["nc"] | patients["arterial"] == {f"CTB{1000 + i}" for i in range(6)}
    assert all(len(ps) == 3 for ps in scans.values())


def test_image_evidence_alone_sorts_non_contrast_from_arterial(tmp_path):
    root = write_dicom_study_export(tmp_path / "bare", phases=("nc", "arterial"),
                                    describe=False, contrast_tags=False, junk=False, **EXPORT)
    out = tmp_path / "out"
    prepare_export(root, out, domains="nc,ce", progress=False)
    truth = json.loads((root / "truth.json").read_text())["series"]
    manifest = {r["series_uid"]: r for r in rows(out)}
    for uid, t in truth.items():
        row = manifest[uid]
        assert row["decided_by"] == "image" and row["description"] == "", row
        assert row["domain"] == ("nc" if t["expect"] == "nc" else "ce"), (t, row)


def test_disagreement_goes_to_unsorted_and_dry_run_writes_nothing(tmp_path):
    root = write_dicom_study_export(tmp_path / "e", phases=("nc", "arterial"), junk=False,
                                    **{**EXPORT, "patients": 1})
    # the technologist typed "nativ" on the arterial series
    arterial = next(p for p in (root / "DICOM" / "PA000" / "ST000" / "SE003").iterdir())
    import pydicom

    for f in arterial.parent.iterdir():
        ds = pydicom.dcmread(f)
        ds.SeriesDescription = "Abdomen nativ"
        ds.save_as(f)
    out = tmp_path / "out"
    report = prepare_export(root, out, dry_run=True, progress=False)
    assert not out.exists()
    assert [r.status for r in report.results] == ["sorted", "unsorted"]
    assert "disagrees" in report.results[1].reason and "enhanced aorta" in report.results[1].reason
    prepare_export(root, out, progress=False)
    assert sorted(p.name for p in (out / "unsorted").iterdir()) == ["CTB1000_s003.nii.gz"]


def test_output_folder_rules(tmp_path, export):
    small = write_dicom_study_export(tmp_path / "e", junk=False, phases=("nc", "arterial"),
                                     **{**EXPORT, "patients": 1})
    out = tmp_path / "out"
    prepare_export(small, out, progress=False)
    with pytest.raises(DataError, match="--overwrite"):
        prepare_export(small, out, progress=False)
    (out / "ce" / "stale.nii.gz").write_bytes(b"")
    prepare_export(small, out, overwrite=True, progress=False)
    assert not (out / "ce" / "stale.nii.gz").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("x")
    with pytest.raises(DataError, match="not a previous"):
        prepare_export(small, other, overwrite=True, progress=False)
    with pytest.raises(DataError, match="inside the export"):
        prepare_export(small, small / "out", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no dicom here")
    with pytest.raises(DataError, match="no DICOM files"):
        prepare_export(empty, tmp_path / "o2", progress=False)


def test_a_series_with_a_corrupt_slice_is_skipped_and_the_rest_written(tmp_path):
    root = write_dicom_study_export(tmp_path / "e", phases=("nc", "arterial"), junk=False,
                                    **{**EXPORT, "patients": 1})
    victim = sorted((root / "DICOM" / "PA000" / "ST000" / "SE003").iterdir())[5]
    victim.write_bytes(victim.read_bytes()[:-3000])  # pixel data cut short
    out = tmp_path / "out"
    report = prepare_export(root, out, progress=False)
    statuses = {r.series.first.series_number: (r.status, r.reason) for r in report.results}
    assert statuses[2] == ("sorted", "")
    assert statuses[3][0] == "skipped" and "cannot read" in statuses[3][1]
    assert [p.name for p in (out / "nc").iterdir()] == ["CTB1000_s002.nii.gz"]


def test_cli_prepare_and_phantom_dicom_study(tmp_path, capsys):
    root = tmp_path / "export"
    assert main(["phantom", "-o", str(root), "--format", "dicom-study", "--patients", "1",
                 "--size", "160", "--slices", "22", "--phases", "nc,venous"]) == 0
    out = tmp_path / "out"
    assert main(["prepare", "-i", str(root), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "sorted: ce 1, nc 1" in err and "localizer" in err
    assert [r["domain"] for r in rows(out) if r["status"] == "sorted"] == ["nc", "ce"]
    assert main(["prepare", "-i", str(root), "-o", str(tmp_path / "o"), "--domains",
                 "nc,portal"]) == 2
    assert "--domains 'nc,portal'" in capsys.readouterr().err
    assert main(["phantom", "-o", str(root), "--format", "dicom-study"]) == 2  # not empty
    shutil.rmtree(out)


def test_ctbridge_train_runs_on_the_output_unchanged(prepared, tmp_path):
    from ctbridge.config import load_config
    from ctbridge.training.config import TrainConfig
    from ctbridge.training.trainer import Trainer
    from tests.training.test_trainer import TINY

    out, _ = prepared
    cfg = load_config(TrainConfig, "gmm_unit", overrides=[
        *TINY, "optim.steps=2", "optim.d_warmup_steps=0", "model.n_components=2",
        "model.domains=[nc, arterial]"])
    latest = Trainer(cfg, out, tmp_path / "run", progress=False).run()
    assert (latest / "model.safetensors").is_file()
    log = (tmp_path / "run" / "train.log").read_text()
    assert "6 patient(s) have scans in several domains" in log
    assert "domain nc: 3 scans" in log and "domain arterial: 3 scans" in log


def test_a_run_that_sorts_nothing_fails_and_names_the_reason_and_option(tmp_path, capsys):
    root = write_dicom_study_export(tmp_path / "e", junk=False, phases=("nc", "arterial"),
                                    **{**EXPORT, "patients": 1})  # two series of 22 slices
    out = tmp_path / "out"
    assert main(["prepare", "-i", str(root), "-o", str(out), "--min-slices", "30"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "sorted: nothing" in err
    assert err[-1] == (f"ctbridge: error: {root}: nothing sorted: 2 series skipped, most often "
                       "(2) for too few slices; lower --min-slices (now 30) to keep shorter "
                       "series")
    assert len(rows(out)) == 2  # the manifest says why, series by series
    # the default keeps them: the named option is the one that helps
    assert main(["prepare", "-i", str(root), "-o", str(out), "--overwrite"]) == 0
    assert "sorted: ce 1, nc 1" in capsys.readouterr().err
    # a phase nobody asked for: --domains is named
    assert main(["prepare", "-i", str(root), "-o", str(tmp_path / "o2"), "--domains",
                 "venous,delayed"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert "not among the requested domains" in last and "--domains (now venous,delayed)" in last
