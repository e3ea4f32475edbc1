"""phantom -> nnU-Net data set -> `ctbridge synthesize` (add, replace) -> a data set nnU-Net
accepts, with the source's labels, leak-free folds, resume and bad cases handled."""

from __future__ import annotations

import csv
import json
import os

import nibabel as nib
import numpy as np
import pytest

from ctbridge.cli import main
from ctbridge.datasets.build import synthesize_dataset
from ctbridge.formats import nnunet
from ctbridge.io import read_scan, write_scan
from tests.labelled_data import PATIENTS, copy_dataset, source_of, write_checkpoint


def run(dataset, out, checkpoint, *extra) -> int:
    return main(["synthesize", "-i", str(dataset), "-o", str(out), "--model", str(checkpoint),
                 "--to", "ce",
                 *extra])


def manifest(out) -> dict[str, dict[str, str]]:
    with (out / "manifest.csv").open() as f:
        return {r["case"]: r for r in csv.DictReader(f)}


def mtimes(folder) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.rglob("*.nii.gz"))}


@pytest.fixture(scope="module")
def added(nc_dataset, checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "Dataset911_PhantomNCSynCE"
    assert run(nc_dataset, out, checkpoint) == 0
    return out


def test_add_writes_a_dataset_nnunet_accepts(added):
    assert nnunet.integrity_problems(added) == []
    meta = json.loads((added / "dataset.json").read_text())
    assert meta["numTraining"] == 2 * PATIENTS
    assert meta["channel_names"] == {"0": "CT"}  # nnU-Net picks CT normalisation by this name
    assert "nc->ce" in meta["description"] and "cyclegan" in meta["description"]
    assert meta["ctbridge"]["direction"] == "nc->ce" and meta["ctbridge"]["mode"] == "add"
    assert meta["ctbridge"]["model_sha256"] and meta["ctbridge"]["date"]
    assert meta["ctbridge"]["bounds"] is True  # what inference did after the network
    assert meta["ctbridge"]["postprocess"] == "bounds:on;smooth:11mm,25HU,150HU"


def test_synthetic_cases_carry_the_source_label_file_unchanged(added, nc_dataset):
    for i in range(PATIENTS):
        case = f"patient_{i:03d}"
        source_label = (nc_dataset / "labelsTr" / f"{case}.nii.gz").read_bytes()
        assert (added / "labelsTr" / f"{case}_synce.nii.gz").read_bytes() == source_label
        assert (added / "labelsTr" / f"{case}.nii.gz").read_bytes() == source_label
        assert (added / "imagesTr" / f"{case}_0000.nii.gz").read_bytes() == (
            nc_dataset / "imagesTr" / f"{case}_0000.nii.gz").read_bytes()
        real = read_scan(nc_dataset / "imagesTr" / f"{case}_0000.nii.gz")
        syn = read_scan(added / "imagesTr" / f"{case}_synce_0000.nii.gz")
        np.testing.assert_allclose(syn.affine_lps, real.affine_lps, atol=1e-4)
        assert not np.array_equal(syn.array, real.array)  # translated, not copied


def test_the_phantoms_plaque_maps_come_along_for_every_case(added, nc_dataset):
    """The phantom's dataset.json cites plaquesTr/<case>.nii.gz (plaque instance ids); the
    output holds it for the originals and, the same anatomy, for their synthetic twins."""
    meta = json.loads((added / "dataset.json").read_text())
    assert meta["ctbridge_phantom"]["plaques"].startswith("plaquesTr/<case>.nii.gz")
    files = sorted(p.name for p in (added / "plaquesTr").iterdir())
    assert files == sorted(f"patient_{i:03d}{s}.nii.gz" for i in range(PATIENTS)
                           for s in ("", "_synce"))
    for name in files:
        source = (nc_dataset / "plaquesTr" / f"{source_of(name[: -len('.nii.gz')])}.nii.gz")
        assert (added / "plaquesTr" / name).read_bytes() == source.read_bytes()


def test_folds_keep_each_synthetic_case_with_its_source(added):
    splits = json.loads((added / "splits_final.json").read_text())
    assert len(splits) == 5
    vals = [set(f["val"]) for f in splits]
    cases = {p.name[: -len("_0000.nii.gz")] for p in (added / "imagesTr").iterdir()}
    assert set().union(*vals) == cases and sum(map(len, vals)) == len(cases)  # a partition
    for fold in splits:
        train = {source_of(c) for c in fold["train"]}
        val = {source_of(c) for c in fold["val"]}
        assert not train & val
        assert set(fold["train"]) | set(fold["val"]) == cases
        for c in fold["val"]:
            assert f"{source_of(c)}_synce" in fold["val"] and source_of(c) in fold["val"]


def test_manifest_records_every_case(added, checkpoint):
    rows = manifest(added)
    assert sorted(rows) == [f"patient_{i:03d}_synce" for i in range(PATIENTS)]
    for case, row in rows.items():
        assert row["source"] == source_of(case) and row["direction"] == "nc->ce"
        assert row["decision"] == "written" and row["qc_rejected"] == ""
        assert row["model"] == str(checkpoint) and float(row["seconds"]) > 0
        assert len(row["key"]) == 64


def test_resume_skips_finished_cases_and_redoes_changed_ones(nc_dataset, checkpoint, tmp_path):
    data = copy_dataset(nc_dataset, tmp_path / "data")
    out = tmp_path / "out"
    assert run(data, out, checkpoint) == 0
    before, rows = mtimes(out), manifest(out)
    assert run(data, out, checkpoint) == 0
    assert mtimes(out) == before and manifest(out) == rows  # nothing redone
    # one source scan changes: only its synthetic case is redone
    image = data / "imagesTr" / "patient_002_0000.nii.gz"
    scan = read_scan(image)
    scan.array[scan.array > -500] += 7
    write_scan(scan, image, dtype="int16")
    assert run(data, out, checkpoint) == 0
    after = manifest(out)
    changed = {c for c in rows if after[c]["key"] != rows[c]["key"]}
    assert changed == {"patient_002_synce"}
    assert after["patient_001_synce"] == rows["patient_001_synce"]
    # another model: every case is redone
    other = write_checkpoint(tmp_path / "other", seed=1)
    assert run(data, out, other) == 0
    assert all(manifest(out)[c]["key"] != after[c]["key"] for c in rows)


def test_a_corrupt_case_is_reported_and_the_rest_written(nc_dataset, checkpoint, tmp_path,
                                                          capsys):
    data = copy_dataset(nc_dataset, tmp_path / "data")
    (data / "imagesTr" / "patient_003_0000.nii.gz").write_bytes(b"\x1f\x8b not a nifti")
    out = tmp_path / "out"
    assert run(data, out, checkpoint) == 101  # 100 + one failed case
    rows = manifest(out)
    assert rows["patient_003_synce"]["decision"] == "failed"
    assert "patient_003_0000.nii.gz" in rows["patient_003_synce"]["reason"]
    assert sum(r["decision"] == "written" for r in rows.values()) == PATIENTS - 1
    assert not list(out.rglob("patient_003*"))  # left out with its original
    assert nnunet.integrity_problems(out) == []  # numTraining counts the cases written
    splits = json.loads((out / "splits_final.json").read_text())
    assert all("patient_003" not in source_of(c) for f in splits for c in f["train"] + f["val"])
    err = capsys.readouterr().err
    assert "1 case(s) failed; exit code 101" in err and "patient_003_synce" in err


def test_replace_keeps_only_synthetic_cases(nc_dataset, checkpoint, tmp_path):
    out = tmp_path / "out"
    assert run(nc_dataset, out, checkpoint, "--mode", "replace") == 0
    assert nnunet.integrity_problems(out) == []
    cases = sorted(p.name for p in (out / "labelsTr").iterdir())
    assert cases == [f"patient_{i:03d}_synce.nii.gz" for i in range(PATIENTS)]
    splits = json.loads((out / "splits_final.json").read_text())
    assert sorted(c for f in splits for c in f["val"]) == [c[: -len(".nii.gz")] for c in cases]
    # switching an output from add to replace drops the originals (resumed synthetic cases)
    assert run(nc_dataset, out, checkpoint, "--mode", "add") == 0
    assert len(list((out / "labelsTr").iterdir())) == 2 * PATIENTS
    assert run(nc_dataset, out, checkpoint, "--mode", "replace") == 0
    assert len(list((out / "labelsTr").iterdir())) == PATIENTS
    assert sorted(p.name for p in (out / "plaquesTr").iterdir()) == cases  # originals gone
    assert nnunet.integrity_problems(out) == []


def test_the_input_splits_are_kept(nc_dataset, checkpoint, tmp_path):
    data = copy_dataset(nc_dataset, tmp_path / "data")
    mine = [{"train": ["patient_000", "patient_001", "patient_002"],
             "val": ["patient_003", "patient_004"]},
            {"train": ["patient_003", "patient_004"],
             "val": ["patient_000", "patient_001", "patient_002"]}]
    (data / "splits_final.json").write_text(json.dumps(mine))
    out = tmp_path / "out"
    assert run(data, out, checkpoint) == 0
    splits = json.loads((out / "splits_final.json").read_text())
    assert len(splits) == 2
    for fold, given in zip(splits, mine, strict=True):
        for part in ("train", "val"):
            assert sorted(fold[part]) == sorted(given[part] + [f"{c}_synce" for c in given[part]])


def test_too_few_cases_for_five_folds_is_a_one_line_error(nc_dataset, checkpoint, tmp_path,
                                                          capsys):
    data = copy_dataset(nc_dataset, tmp_path / "data")
    (data / "imagesTr" / "patient_004_0000.nii.gz").unlink()
    (data / "labelsTr" / "patient_004.nii.gz").unlink()
    assert run(data, tmp_path / "out", checkpoint) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "4 labelled cases cannot make 5" in err
    assert "lower --folds (now 5; at least 2)" in err  # names the option that helps
    assert not (tmp_path / "out").exists()  # nothing written
    assert run(data, tmp_path / "out", checkpoint, "--folds", "4") == 0


@pytest.mark.parametrize("problem", ["inside", "foreign", "not-a-dataset", "domain"])
def test_bad_arguments_fail_before_any_work(nc_dataset, checkpoint, tmp_path, capsys, problem):
    out, args = tmp_path / "out", []
    dataset = nc_dataset
    if problem == "inside":
        out = nc_dataset / "synthetic"
    elif problem == "foreign":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif problem == "not-a-dataset":
        dataset = tmp_path / "empty"
        dataset.mkdir()
    else:
        args = ["--from", "arterial"]
    assert run(dataset, out, checkpoint, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ctbridge: error: ") and err.count("\n") == 1
    assert not (nc_dataset / "synthetic").exists()
    if problem == "foreign":
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_quality_control_leaves_out_rejected_volumes(nc_dataset, checkpoint, tmp_path):
    from ctbridge.data.intensity import IntensityScaler
    from ctbridge.qc.model_io import save_qc
    from ctbridge.qc.network import QCNet

    strict = save_qc(tmp_path / "qc_strict", QCNet(width=4, depth=2),
                     {"threshold": -1.0, "intensity": IntensityScaler().to_dict()})
    out = tmp_path / "out"
    assert run(nc_dataset, out, checkpoint, "--qc", str(strict), "--max-rejected", "0.5") == 0
    rows = manifest(out)
    assert {r["decision"] for r in rows.values()} == {"rejected"}
    assert all(float(r["qc_rejected"]) == 1.0 and "--max-rejected 0.5" in r["reason"]
               for r in rows.values())
    assert not list(out.rglob("*_synce*"))
    assert nnunet.integrity_problems(out) == []  # the originals only
    assert json.loads((out / "dataset.json").read_text())["numTraining"] == PATIENTS
    # a QC that rejects nothing: the same output folder is redone (QC is part of the key)
    lenient = save_qc(tmp_path / "qc_lenient", QCNet(width=4, depth=2),
                      {"threshold": 2.0, "intensity": IntensityScaler().to_dict()})
    assert run(nc_dataset, out, checkpoint, "--qc", str(lenient)) == 0
    rows = manifest(out)
    assert {r["decision"] for r in rows.values()} == {"written"}
    assert all(float(r["qc_rejected"]) == 0.0 for r in rows.values())


def test_a_case_without_label_or_off_grid_fails_alone(nc_dataset, checkpoint, tmp_path):
    data = copy_dataset(nc_dataset, tmp_path / "data")
    (data / "labelsTr" / "patient_000.nii.gz").unlink()
    label = data / "labelsTr" / "patient_001.nii.gz"
    img = nib.load(str(label))
    moved = img.affine.copy()
    moved[:3, 3] += 5.0  # 5 mm off its image
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj), moved), str(label))
    result = synthesize_dataset(data, tmp_path / "out", model=checkpoint, target="ce",
                                folds=2, progress=False)
    failed = {r.case: r.reason for r in result.outcome.failed}
    assert set(failed) == {"patient_000_synce", "patient_001_synce"}
    assert "no label file" in failed["patient_000_synce"]
    assert "not on the grid" in failed["patient_001_synce"] and "origin" in failed[
        "patient_001_synce"]
    assert result.training_cases == 2 * (PATIENTS - 2)
    assert nnunet.integrity_problems(tmp_path / "out") == []


def test_real_nnunet_verify_dataset_integrity(added, tmp_path, capfd):
    """nnU-Net's own check (optional extra: pip install -e '.[nnunet]')."""
    integrity = pytest.importorskip(
        "nnunetv2.experiment_planning.verify_dataset_integrity",
        reason="nnunetv2 is not installed (optional extra 'nnunet'); the rules are checked by "
               "test_add_writes_a_dataset_nnunet_accepts through integrity_problems")
    os.environ.setdefault("nnUNet_raw", str(tmp_path))
    integrity.verify_dataset_integrity(str(added), num_processes=1)
    out = capfd.readouterr().out
    assert "verify_dataset_integrity Done" in out
    assert "Error" not in out and "Warning" not in out
    # and it does fail on a broken copy (the check can fail)
    broken = copy_dataset(added, tmp_path / "broken")
    (broken / "labelsTr" / "patient_000_synce.nii.gz").unlink()
    with pytest.raises(AssertionError, match="label"):
        integrity.verify_dataset_integrity(str(broken), num_processes=1)
