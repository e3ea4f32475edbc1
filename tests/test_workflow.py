"""A user's path end to end through the CLI (DICOM export -> prepare -> train -> translate ->
synthesize): each step reads what the previous one wrote.

    ctbridge prepare DICOM_EXPORT data/
    ctbridge train --config gmm_unit --data data/ --out runs/gmm
    ctbridge translate data/nc runs/syn_ce --model runs/gmm --to ce
    ctbridge synthesize nnUNet_raw/Dataset901_... OUT --model runs/gmm --to ce

Tiny sizes and an untrained-for-quality model: this checks the plumbing, not the translation.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ctbridge.cli import main
from ctbridge.formats.nnunet import integrity_problems
from ctbridge.io import read_labelmap, read_scan
from tests.training.test_trainer import TINY


@pytest.mark.parametrize("patients, size, steps", [
    pytest.param(4, 160, 2, id="small"),  # CI
    pytest.param(8, 256, 200, id="large", marks=pytest.mark.slow),  # clinical-like pixels
])
def test_dicom_export_to_nnunet_dataset_with_synthetic_phase(tmp_path, patients, size, steps):
    export, data, run = tmp_path / "export", tmp_path / "data", tmp_path / "runs" / "gmm"
    assert main(["phantom", "-o", str(export), "--format", "dicom-study", "--patients",
                 str(patients), "--size", str(size), "--slices", "22",
                 "--phases", "nc,arterial"]) == 0
    assert main(["prepare", "-i", str(export), "-o", str(data)]) == 0
    assert sorted(p.name for p in (data / "nc").iterdir()) == \
        [f"CTB{1000 + i}_s002.nii.gz" for i in range(patients)]

    sets = [f"--set={s}" for s in (*TINY, f"optim.steps={steps}", "optim.d_warmup_steps=0",
                                   "model.n_components=2", "device=cpu")]
    assert main(["train", "--config", "gmm_unit", "--data", str(data), "--out", str(run),
                 *sets]) == 0
    log = (run / "train.log").read_text()
    assert f"{patients} patient(s) have scans in several domains" in log

    syn = tmp_path / "runs" / "syn_ce"
    assert main(["translate", "-i", str(data / "nc"), "-o", str(syn), "--model", str(run),
                 "--to", "ce"]) == 0
    for src in (data / "nc").iterdir():
        a, b = read_scan(src), read_scan(syn / src.name)
        assert a.shape == b.shape and np.allclose(a.affine_lps, b.affine_lps)

    nnunet = tmp_path / "nnUNet_raw"
    assert main(["phantom", "-o", str(nnunet), "--format", "nnunet", "--patients", "3", "--size",
                 "64",
                 "--slices", "8", "--phases", "nc"]) == 0
    [dataset] = list(nnunet.iterdir())
    out = nnunet / "Dataset911_PhantomNCSynCE"
    assert main(["synthesize", "-i", str(dataset), "-o", str(out), "--model", str(run), "--to",
                 "ce",
                 "--folds", "3"]) == 0
    assert integrity_problems(out) == []
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["numTraining"] == 6
    for case in ("patient_000", "patient_001", "patient_002"):
        np.testing.assert_array_equal(read_labelmap(out / "labelsTr" / f"{case}_synce.nii.gz"),
                                      read_labelmap(dataset / "labelsTr" / f"{case}.nii.gz"))
    splits = json.loads((out / "splits_final.json").read_text())
    for fold in splits:
        for case in fold["val"]:
            twin = case[:-len("_synce")] if case.endswith("_synce") else f"{case}_synce"
            assert twin in fold["val"]
