"""Aggregation, JSON and Markdown of the evaluation report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ctbridge.evaluation.panels import save_panel, save_plaque_crops
from ctbridge.evaluation.report import write_report
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from ctbridge.evaluation.tables import markdown_report
from ctbridge.io.outputs import to_jsonable
from tests.evaluation.synthetic import LABEL_IDS, SPACING, make_vessel, plaque_index


def test_aggregate_mean_std_and_skips():
    scans = [
        {"name": "a", "image": {"body": {"mae_hu": 10.0, "psnr_db": math.inf}},
         "plaques": {"recall_pred": 1.0, "table": [{"id": 1}], "rules": {"margin_hu": 50}}},
        {"name": "b", "image": {"body": {"mae_hu": 20.0, "psnr_db": 40.0}},
         "plaques": {"recall_pred": math.nan, "table": [], "rules": {"margin_hu": 50}}},
    ]
    agg = aggregate(scans)
    assert agg["image"]["body"]["mae_hu"] == {"mean": 15.0, "std": 5.0, "n": 2}
    assert agg["image"]["body"]["psnr_db"] == {"mean": 40.0, "std": 0.0, "n": 1}
    assert agg["plaques"]["recall_pred"]["n"] == 1
    assert "table" not in agg["plaques"] and "rules" not in agg["plaques"]


def test_to_jsonable_is_strict_json():
    data = to_jsonable({"a": np.float32(1.5), "b": math.inf, "c": [np.int64(3), math.nan]})
    assert json.loads(json.dumps(data, allow_nan=False)) == {"a": 1.5, "b": None,
                                                            "c": [3, None]}


def test_report_files(tmp_path):
    v = make_vessel()
    pred = v.copy_hu()
    pred[plaque_index(1)] = 40.0
    body = np.ones(v.hu.shape, bool)
    scans = [evaluate_scan("p0.nii.gz", pred, v.hu, v.labels, v.plaques, LABEL_IDS, SPACING,
                           body),
             evaluate_scan("p1.nii.gz", v.hu, v.hu, v.labels, v.plaques, LABEL_IDS, SPACING,
                           body)]
    assert set(scans[0]["image"]) == {"body", "vessels", "pancreas"}
    settings = {"pred": "pred", "truth": "truth", "rules": scans[0]["plaques"]["rules"]}
    result = write_report(tmp_path, scans, settings)
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["aggregate"]["plaques"]["recall_pred"]["mean"] == pytest.approx((2 / 3 + 1) / 2)
    assert data["scans"][1]["image"]["body"]["psnr_db"] is None  # inf
    assert result["aggregate"]["image"]["body"]["psnr_db"]["n"] == 1
    md = (tmp_path / "report.md").read_text()
    assert md == markdown_report(result)
    assert "| p0.nii.gz |" in md and "**mean ± std**" in md and "1 mm²" in md
    # erased to 40 HU, the peak within 1 px is the adjacent 300 HU lumen: not 50 HU above it
    assert "| 1 | 4 | 600 | 300 | 300 | 300 | yes | no |" in md
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave nothing behind

    panel = save_panel(tmp_path / "p0.png", pred, v.hu, v.plaques, input_hu=v.hu - 200)
    crops = save_plaque_crops(tmp_path / "p0_plaques.png", pred, v.hu, v.plaques,
                              scans[0]["plaques"]["table"], max_plaques=2)
    for path in (panel, crops):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert save_plaque_crops(tmp_path / "none.png", pred, v.hu, v.plaques, []) is None
