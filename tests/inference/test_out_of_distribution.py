"""Scans far outside a model's training data are warned about, naming the measure.

A tiny GMM-UNIT trained for 2 steps on a tiny phantom (64 px of 5.6 mm, 3-mm slices) records
the range of its training scans in ``stats.json``; held-out phantom patients of the same kind
pass silently, and a head-sized crop, a 5-mm scan and pydicom-data's real head slice (CQ500,
0.48-mm pixels) are each named with the measure that is out of range.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from ctbridge.cli import main
from ctbridge.data.scan_summary import AREA_FACTOR, HU_MARGIN_HU, SPACING_FACTOR
from ctbridge.datasets.build import synthesize_dataset
from ctbridge.inference.translator import Translator
from ctbridge.io import Scan, read_scan, write_scan
from ctbridge.phantom import generate_patient, patient_seed, write_phantom_dataset
from ctbridge.phantom.nnunet_export import write_phantom_nnunet

SIZE, SLICES, SEED = 64, 8, 7
HELD_OUT = ("patient_004.nii.gz", "patient_005.nii.gz")
TINY = ["--set", "model.width=0.125", "--set", "model.n_components=3", "--set",
        "optim.steps=2", "--set", "data.batch_size=2", "--set", "tensorboard=false", "--set",
        "model.d_layers=2", "--set", "data.patch_size=16", "--set", "optim.d_warmup_steps=0"]


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    return write_phantom_dataset(tmp_path_factory.mktemp("ood") / "phantom", patients=6,
                                 size=SIZE, slices=SLICES, phases=("nc", "arterial"), seed=SEED,
                                 plaques_max=4, sheets=False, progress=False)


@pytest.fixture(scope="module")
def run_dir(phantom):
    run = phantom.parent / "run"
    assert main(["train", "--config", "gmm_unit", "--data", str(phantom), "--out", str(run),
                 "--set", "data.phase_of={ce: arterial}", "--set",
                 f"data.holdout=[{', '.join(HELD_OUT)}]", *TINY]) == 0
    return run


@pytest.fixture(scope="module")
def translator(run_dir):
    return Translator.from_checkpoint(run_dir)


def _warnings(translator: Translator, scan: Scan, target: str = "ce") -> tuple[str, ...]:
    """The translator's out-of-distribution lines for ``scan`` (also issued as warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return translator.translate_scan(scan, target).warnings


def test_the_checkpoint_records_its_training_range(run_dir, phantom):
    stats = json.loads((run_dir / "checkpoints" / "latest" / "stats.json").read_text())
    ref = stats["training_data"]
    assert ref["scans"] == 4  # six patients, two held out
    px = 360.0 / SIZE
    assert ref["inplane_spacing_mm"] == pytest.approx({"min": px, "max": px}, abs=1e-3)
    assert ref["slice_spacing_mm"] == {"min": 3.0, "max": 3.0}
    assert 300 < ref["body_area_cm2"]["min"] <= ref["body_area_cm2"]["max"] < 1000
    assert set(ref["body_hu_p50"]) == {"nc", "ce"}
    assert ref["regions"] == ["abdomen/pelvis"]
    assert ref["rules"] == {"spacing_factor": SPACING_FACTOR, "area_factor": AREA_FACTOR,
                            "hu_margin_hu": HU_MARGIN_HU}


def test_held_out_phantom_patients_of_the_same_kind_pass_silently(translator, phantom):
    for name in HELD_OUT:
        assert _warnings(translator, read_scan(phantom / "nc" / name), "ce") == ()
        assert _warnings(translator, read_scan(phantom / "arterial" / name), "nc") == ()


def test_a_head_sized_crop_is_named_by_its_body_area(translator, phantom):
    scan = read_scan(phantom / "nc" / HELD_OUT[0])
    lo, hi = SIZE // 2 - 12, SIZE // 2 + 12  # 24 px of 5.6 mm: 13.5 cm across, a head's size
    crop = Scan(scan.array[:, lo:hi, lo:hi].copy(), spacing=scan.spacing,
                metadata={"source": "crop.nii.gz"})
    (note,) = _warnings(translator, crop)
    assert note.startswith("crop.nii.gz: far outside the training data: body area ")
    area = float(note.split("body area ")[1].split(" cm2")[0])
    assert area == pytest.approx(24 * 24 * (360 / SIZE) ** 2 / 100, rel=0.05)
    assert "checked 244 to" in note or "checked" in note
    assert "spacing" not in note  # the pixels are the training scans' own


def test_a_5_mm_scan_is_named_by_its_slice_spacing(translator):
    pt = generate_patient(patient_seed(SEED, 4), size=SIZE, slices=5, slice_mm=5.0,
                          phases=("nc",))
    scan = pt.scan("nc")
    scan.metadata["source"] = "thick.nii.gz"
    (note,) = _warnings(translator, scan)
    assert note == ("thick.nii.gz: far outside the training data: slice spacing 5 mm "
                    "(training 3 mm; checked 2 to 4.5 mm)")


def test_a_real_head_ct_slice_is_named_by_its_pixels_and_its_size(translator):
    """pydicom-data's 693_UNCI.dcm: one axial slice of a head (CQ500), 512 x 512 pixels of
    0.48 mm, described "5/5mm Plain"."""
    scan = read_scan(get_testdata_file("693_UNCI.dcm"))
    (note,) = _warnings(translator, scan)
    assert note.startswith("693_UNCI.dcm: far outside the training data: in-plane spacing "
                           "0.479 mm")
    assert "body area" in note


def test_translate_warns_in_one_line_and_synthesize_records_a_column(translator, run_dir,
                                                                     tmp_path, capsys):
    head = get_testdata_file("693_UNCI.dcm")
    out = tmp_path / "head_ce.nii.gz"
    assert main(["translate", "-i", head, "-o", str(out), "--model", str(run_dir),
                 "--to", "ce"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "far outside" in line]
    assert len(err) == 1 and "in-plane spacing 0.479 mm" in err[0]
    # a data set of 5-mm cases: each synthetic case's row names the slice spacing
    roots = write_phantom_nnunet(tmp_path / "thick", patients=2, size=SIZE, slices=5,
                                 slice_mm=5.0, phases=("nc",), seed=SEED + 1, plaques_max=4,
                                 progress=False)
    result = synthesize_dataset(roots["nc"], tmp_path / "Dataset913_X", model=run_dir,
                                target="ce", folds=2, progress=False)
    with (tmp_path / "Dataset913_X" / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["decision"] for r in rows] == ["written", "written"]
    assert all("slice spacing 5 mm (training 3 mm" in r["out_of_distribution"] for r in rows)
    assert all("far outside" not in r["reason"] for r in rows)  # in its own column only
    assert not any("records no range" in n for n in result.notes)


def test_a_checkpoint_without_a_range_is_not_checked_and_says_so_once(
        tmp_path, run_dir, phantom, capsys):
    old = tmp_path / "old"
    shutil.copytree(run_dir / "checkpoints" / "latest", old)
    stats = json.loads((old / "stats.json").read_text())
    stats.pop("training_data")
    stats["domains"] = {}  # nor the older HU check
    (old / "stats.json").write_text(json.dumps(stats))
    folder = tmp_path / "in"
    crop = read_scan(phantom / "nc" / HELD_OUT[0])
    write_scan(Scan(crop.array[:, 20:44, 20:44].copy(), spacing=crop.spacing),
               folder / "a.nii.gz")
    write_scan(Scan(crop.array[:, 20:44, 20:44].copy(), spacing=crop.spacing),
               folder / "b.nii.gz")
    assert main(["translate", "-i", str(folder), "-o", str(tmp_path / "out"), "--model",
                 str(old), "--to", "ce"]) == 0
    err = capsys.readouterr().err
    assert err.count("records no range of its training data") == 1
    assert "far outside" not in err
    assert Translator.from_checkpoint(old).unchecked_note
    assert not Translator.from_checkpoint(run_dir).unchecked_note


def test_the_body_hu_check_names_a_scan_that_is_not_in_hu(translator, phantom):
    scan = read_scan(phantom / "nc" / HELD_OUT[0])
    shifted = Scan(np.where(scan.array > -500, scan.array + 1000, scan.array).astype(np.float32),
                   spacing=scan.spacing, metadata={"source": "raw.nii.gz"})
    (note,) = _warnings(translator, shifted)
    assert "median HU in the body" in note and "training 'nc' scans" in note
