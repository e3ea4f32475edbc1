"""`ctbridge evaluate` on tiny NIfTI files laid out like the phantom's output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from ctbridge.cli.evaluate import evaluate_command
from ctbridge.errors import DataError
from ctbridge.io import Scan, write_labelmap, write_scan
from tests.evaluation.synthetic import LABEL_IDS, SPACING, make_vessel, plaque_index

NAME = "patient_000.nii.gz"


@pytest.fixture
def phantom(tmp_path):
    """OUT/{arterial,labels,plaques}/patient_000.nii.gz + dataset.json, and a translation."""
    v = make_vessel()
    root = tmp_path / "phantom"
    scan = Scan(v.hu, spacing=SPACING)
    write_scan(scan, root / "arterial" / NAME)
    write_scan(scan.with_array(v.hu - 250), root / "nc" / NAME)
    write_labelmap(v.labels, scan, root / "labels" / NAME)
    write_labelmap(v.plaques, scan, root / "plaques" / NAME)
    (root / "dataset.json").write_text(json.dumps({"labels": LABEL_IDS}))
    pred = v.copy_hu()
    pred[plaque_index(1)] = 40.0  # one plaque lost: 4 voxels off by 560 HU
    write_scan(scan.with_array(pred), tmp_path / "pred" / NAME)
    return root, tmp_path / "pred", tmp_path / "report"


def app() -> typer.Typer:
    """A Typer app registering the command as ctbridge.cli.app does."""
    cli = typer.Typer()
    cli.command("evaluate")(evaluate_command)
    cli.command("other")(lambda: None)  # two commands, so "evaluate" is a subcommand
    return cli


def test_evaluate_through_typer(phantom):
    root, pred, out = phantom
    result = CliRunner().invoke(app(), [
        "evaluate", "--pred", str(pred), "--truth", str(root / "arterial"),
        "--labels", str(root / "labels"), "--plaques", str(root / "plaques"),
        "--input", str(root / "nc"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "kept 2/3" in result.output
    data = json.loads((out / "metrics.json").read_text())
    scan = data["scans"][0]
    assert scan["name"] == NAME
    voxels = 3 * 40 * 40  # all > -500 HU: the body mask is the whole volume
    assert scan["image"]["body"]["voxels"] == voxels
    assert scan["image"]["body"]["mae_hu"] == pytest.approx(4 * 560 / voxels, rel=1e-6)
    p = scan["plaques"]
    assert p["recall_pred"] == pytest.approx(2 / 3) and p["recall_truth"] == 1.0
    assert p["calcium_dice"] == pytest.approx(0.8)
    assert p["agatston"]["score_truth"] == pytest.approx(23.52)
    assert data["aggregate"]["plaques"]["recall_pred"]["mean"] == pytest.approx(2 / 3)
    assert data["settings"]["rules"]["margin_hu"] == 50
    md = (out / "report.md").read_text()
    assert "| patient_000.nii.gz |" in md and "0.667" in md
    assert (out / "panels" / "patient_000.png").is_file()
    assert (out / "panels" / "patient_000_plaques.png").is_file()


def test_input_adds_the_change_metrics(phantom):
    root, pred, out = phantom
    report = evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels",
                              out=out, plaques=root / "plaques", input=root / "nc",
                              max_plaques=0)
    change = report["scans"][0]["change"]
    # the input is the truth - 250 HU everywhere: the lumen's whole change is kept, and no
    # voxel stands still in truth, so nothing counts as made up
    assert change["enhancement"]["aorta"]["captured"] == pytest.approx(1.0)
    assert change["made_up"]["percent"] == 0.0
    md = (out / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| scan |"))
    assert "enh. aorta" in header and "made-up change (%)" in header
    assert "bone change (HU)" in header and "enhancement captured" in md
    without = evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels",
                               out=out, plaques=root / "plaques", max_plaques=0)
    assert "change" not in without["scans"][0]
    assert "enh. aorta" not in (out / "report.md").read_text()


def test_plaques_default_to_components_of_the_plaque_label(phantom):
    root, pred, out = phantom
    report = evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels",
                              out=out, max_plaques=0, margin_hu=400)
    p = report["scans"][0]["plaques"]
    assert p["plaques"] == 3
    assert p["recall_truth"] == 0.0  # 600 - 300 < 400: none kept, even in the truth
    assert not (out / "panels" / "patient_000_plaques.png").exists()


def test_mismatched_shape_names_the_file(phantom):
    root, pred, out = phantom
    bad = Scan(np.zeros((2, 40, 40), np.float32), spacing=SPACING)
    write_scan(bad, pred / NAME)
    with pytest.raises(DataError, match=f"pred/{NAME}.*shape"):
        evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels", out=out)


def test_missing_truth_names_the_file(phantom):
    root, pred, out = phantom
    write_scan(Scan(np.zeros((3, 40, 40), np.float32)), pred / "patient_001.nii.gz")
    with pytest.raises(DataError, match="patient_001.nii.gz: missing truth scan"):
        evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels", out=out)


def test_label_ids_required(phantom, tmp_path):
    root, pred, out = phantom
    (root / "dataset.json").unlink()
    with pytest.raises(DataError, match="dataset.json: no label ids"):
        evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels", out=out)
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps({"3": "aorta", "20": "plaque"}))  # nnU-Net v1 style id -> name
    report = evaluate_command(pred=pred, truth=root / "arterial", labels=root / "labels",
                              out=out, label_ids=ids, max_plaques=0)
    assert set(report["scans"][0]["image"]) == {"body", "vessels"}
