"""`ctbridge phantom --format nnunet`: one nnU-Net data set per phase, the same cohort as the
ctbridge layout, labels nnU-Net accepts."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from ctbridge.formats import nnunet
from ctbridge.io import read_labelmap, read_scan
from ctbridge.phantom import LABELS, write_phantom_dataset
from ctbridge.phantom.nnunet_export import (
    dataset_name,
    write_phantom_decathlon,
    write_phantom_nnunet,
)
from tests.phantom.test_cli_phantom import _app

ARGS = dict(patients=2, size=48, slices=4, phases=("nc", "venous"), seed=5, plaques_max=3,
            progress=False)


def test_one_dataset_per_phase_with_the_same_patients_as_the_ctbridge_layout(tmp_path):
    roots = write_phantom_nnunet(tmp_path / "nn", **ARGS)
    assert {ph: r.name for ph, r in roots.items()} == {
        "nc": "Dataset901_CTBridgePhantomNC", "venous": "Dataset903_CTBridgePhantomVenous"}
    plain = write_phantom_dataset(tmp_path / "plain", sheets=False, **ARGS)
    for phase, root in roots.items():
        assert nnunet.integrity_problems(root) == []
        meta = json.loads((root / "dataset.json").read_text())
        assert meta["labels"] == LABELS and meta["numTraining"] == 2
        assert meta["ctbridge_phantom"]["phase"] == phase
        for case in ("patient_000", "patient_001"):
            a = read_scan(root / "imagesTr" / f"{case}_0000.nii.gz")
            b = read_scan(plain / phase / f"{case}.nii.gz")
            np.testing.assert_array_equal(a.array, b.array)
            np.testing.assert_allclose(a.affine_lps, b.affine_lps)
            np.testing.assert_array_equal(read_labelmap(root / "labelsTr" / f"{case}.nii.gz"),
                                          read_labelmap(plain / "labels" / f"{case}.nii.gz"))
            np.testing.assert_array_equal(read_labelmap(root / "plaquesTr" / f"{case}.nii.gz"),
                                          read_labelmap(plain / "plaques" / f"{case}.nii.gz"))
    # both downstream targets are labels of the one label map: plaques and pancreas
    found = set()
    for case in ("patient_000", "patient_001"):
        labels = read_labelmap(roots["nc"] / "labelsTr" / f"{case}.nii.gz")
        plaques = read_labelmap(roots["nc"] / "plaquesTr" / f"{case}.nii.gz")
        assert np.all(labels[plaques > 0] == LABELS["plaque"])
        found |= set(np.unique(labels).tolist())
    assert {LABELS["plaque"], LABELS["pancreas"]} <= found


def test_dataset_names_are_fixed_by_phase():
    assert [dataset_name(p) for p in ("nc", "arterial", "venous", "delayed")] == [
        "Dataset901_CTBridgePhantomNC", "Dataset902_CTBridgePhantomArterial",
        "Dataset903_CTBridgePhantomVenous", "Dataset904_CTBridgePhantomDelayed"]


def test_cli_format_option(tmp_path):
    result = CliRunner().invoke(_app(), ["phantom", "-o", str(tmp_path / "nn"), "--format",
                                         "nnunet",
                                         "--patients", "1", "--size", "32", "--slices", "2",
                                         "--phases", "nc,arterial"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "nn").iterdir()) == [
        "Dataset901_CTBridgePhantomNC", "Dataset902_CTBridgePhantomArterial"]
    bad = CliRunner().invoke(_app(), ["phantom", "-o", str(tmp_path / "x"), "--format", "dicom"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()


def test_decathlon_layout_holds_the_same_cohort_as_a_monai_datalist(tmp_path):
    from monai.data import load_decathlon_datalist

    roots = write_phantom_decathlon(tmp_path / "msd", **ARGS)
    nn = write_phantom_nnunet(tmp_path / "nn", **ARGS)
    assert roots["nc"].name == "Task901_CTBridgePhantomNC"
    for phase, root in roots.items():
        items = load_decathlon_datalist(root / "dataset.json", True, "training")
        assert [p.split("/")[-1] for p in (i["image"] for i in items)] == [
            "patient_000.nii.gz", "patient_001.nii.gz"]
        meta = json.loads((root / "dataset.json").read_text())
        assert meta["labels"]["0"] == "background" and meta["modality"] == {"0": "CT"}
        for item in items:
            case = item["image"].split("/")[-1][: -len(".nii.gz")]
            np.testing.assert_array_equal(
                read_scan(item["image"]).array,
                read_scan(nn[phase] / "imagesTr" / f"{case}_0000.nii.gz").array)
            np.testing.assert_array_equal(
                read_labelmap(item["label"]),
                read_labelmap(nn[phase] / "labelsTr" / f"{case}.nii.gz"))
