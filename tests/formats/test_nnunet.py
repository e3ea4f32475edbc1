"""nnU-Net v2's documented data set rules, reproduced by `integrity_problems` (so the default
suite checks them without nnunetv2), and reading a raw data set."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from ctbridge.errors import DataError
from ctbridge.formats import nnunet
from tests.labelled_data import PATIENTS, copy_dataset


def _edit_json(root, **changes):
    meta = json.loads((root / "dataset.json").read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    (root / "dataset.json").write_text(json.dumps(meta))


def _relabel(path, fn):
    img = nib.load(str(path))
    data, affine = np.asarray(img.dataobj), img.affine.copy()
    data, affine = fn(data, affine)
    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_the_phantom_export_follows_every_rule(nc_dataset):
    assert nnunet.integrity_problems(nc_dataset) == []


def _drop_key(root):
    _edit_json(root, file_ending=None)


def _gap_in_labels(root):
    labels = json.loads((root / "dataset.json").read_text())["labels"]
    labels["plaque"] = 30
    _edit_json(root, labels=labels)


def _background_not_zero(root):
    labels = json.loads((root / "dataset.json").read_text())["labels"]
    labels["background"], labels["fat"] = 1, 0
    _edit_json(root, labels=labels)


def _missing_label(root):
    (root / "labelsTr" / "patient_001.nii.gz").unlink()


def _num_training(root):
    _edit_json(root, numTraining=PATIENTS + 1)


def _undeclared_value(root):
    def add(data, affine):
        data = data.copy()
        data[0, 0, 0] = 99
        return data, affine
    _relabel(root / "labelsTr" / "patient_002.nii.gz", add)


def _spacing(root):
    def scale(data, affine):
        affine[:3, :3] *= 1.5
        return data, affine
    _relabel(root / "labelsTr" / "patient_003.nii.gz", scale)


def _direction(root):
    def flip(data, affine):
        affine[:3, 0] *= -1
        return data, affine
    _relabel(root / "labelsTr" / "patient_003.nii.gz", flip)


def _shape(root):
    _relabel(root / "labelsTr" / "patient_004.nii.gz", lambda d, a: (d[:, :, :-1], a))


def _channel_name(root):
    src = root / "imagesTr" / "patient_000_0000.nii.gz"
    src.rename(root / "imagesTr" / "patient_000.nii.gz")


BREAKS = {
    "missing key": (_drop_key, "lacks file_ending"),
    "labels not consecutive": (_gap_in_labels, "consecutive"),
    "background not 0": (_background_not_zero, "background as 0"),
    "image without label": (_missing_label, "no label for case 'patient_001'"),
    "numTraining": (_num_training, f"numTraining is {PATIENTS + 1}"),
    "undeclared label value": (_undeclared_value, "undeclared label values [99]"),
    "spacing": (_spacing, "spacing"),
    "direction": (_direction, "direction differs"),
    "shape": (_shape, "shape"),
    "channel suffix": (_channel_name, "<case>_0000.nii.gz"),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_broken_rule_is_reported(nc_dataset, tmp_path, name):
    root = copy_dataset(nc_dataset, tmp_path / "data")
    breaker, expected = BREAKS[name]
    breaker(root)
    problems = nnunet.integrity_problems(root)
    assert problems and any(expected in p for p in problems), problems


def test_read_nnunet_lists_cases_and_test_images(nc_dataset, tmp_path):
    root = copy_dataset(nc_dataset, tmp_path / "data")
    (root / "imagesTs").mkdir()
    (root / "imagesTr" / "patient_004_0000.nii.gz").rename(
        root / "imagesTs" / "patient_004_0000.nii.gz")
    (root / "labelsTr" / "patient_001.nii.gz").unlink()
    data = nnunet.read_nnunet(root)
    assert data.format == "nnunet" and data.file_ending == ".nii.gz"
    assert data.case_ids == [f"patient_{i:03d}" for i in range(4)]
    assert data.cases[1].label is None and data.cases[0].label.is_file()
    assert [p["image"].name for p in data.others["test"]] == ["patient_004_0000.nii.gz"]


@pytest.mark.parametrize("change, message", [
    ({"channel_names": {"0": "CT", "1": "PET"}}, "2 channels"),
    ({"file_ending": ".mha"}, "ctbridge reads NIfTI"),
    ({"labels": {"background": 0, "x": 2}}, "consecutive"),
    ({"dataset": {}}, "not supported"),
])
def test_unusable_datasets_are_one_line_errors(nc_dataset, tmp_path, change, message):
    root = copy_dataset(nc_dataset, tmp_path / "data")
    _edit_json(root, **change)
    with pytest.raises(DataError, match=message) as info:
        nnunet.read_nnunet(root)
    assert str(root / "dataset.json") in str(info.value)


def test_folder_name_note():
    assert nnunet.check_folder_name(Path("x/Dataset901_CTBridgePhantomNC")) is None
    assert "DatasetXXX_Name" in nnunet.check_folder_name(Path("x/synthetic"))
