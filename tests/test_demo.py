"""The demo at a tiny size (CI), so `make demo` cannot rot: every stage runs and reports."""

from __future__ import annotations

import json

from ctbridge.cli import main


def test_tiny_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--preset", "tiny"]) == 0
    report = (out / "report.md").read_text()
    assert "| GMM-UNIT (ours) nc→ce |" in report and "no translation" in report
    results = json.loads((out / "results.json").read_text())
    scored = results["results"]["gmm_unit/nc2ce"]["scans"][0]
    assert scored["plaques"]["plaques"] >= 1
    assert 0 < scored["image"]["body"]["mae_hu"] < 1000
    assert "## Quality control" in report and "| real nc |" in report
    rejected = results["qc"]["rejected_fraction"]
    assert set(rejected) == {"real nc", "real ce", "GMM-UNIT (ours) nc→ce",
                             "GMM-UNIT (ours) ce→nc"}
    assert all(0.0 <= v <= 1.0 for v in rejected.values())
    for name in ("qc/qc.json", "qc/model.safetensors", "figure_nc2ce.png", "figure_ce2nc.png",
                 "runs/gmm_unit/curves.png",
                 "translations/gmm_unit/ce2nc/patient_003.nii.gz"):
        assert (out / name).is_file(), name
    # a second run reuses everything (phantom, checkpoint, translations)
    assert main(["demo", "--out", str(out), "--preset", "tiny"]) == 0
    assert "reusing" not in report  # first report says nothing about reuse
