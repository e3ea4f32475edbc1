"""The demo at a tiny size (CI), so `make demo` cannot rot: every stage runs and reports."""

from __future__ import annotations

import json

import pytest

from ctbridge.cli import main
from ctbridge.datasets.manifest import read_manifest


def test_tiny_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--preset", "tiny"]) == 0
    report = (out / "report.md").read_text()
    assert "| GMM-UNIT (ours) nc→ce |" in report and "no translation" in report
    results = json.loads((out / "results.json").read_text())
    scored = results["results"]["gmm_unit/nc2ce"]["scans"][0]
    assert scored["plaques"]["plaques"] >= 1
    # 4 steps from the identity start, held to the physical bounds: the translation is still
    # "no translation" give or take a little, never worse than it by more than 10% of its MAE,
    # and every plaque of the source is still there
    for direction in ("nc2ce", "ce2nc"):
        ours = results["results"][f"gmm_unit/{direction}"]["scans"][0]
        none = results["results"][f"identity/{direction}"]["scans"][0]
        mae, none_mae = ours["image"]["body"]["mae_hu"], none["image"]["body"]["mae_hu"]
        assert none_mae > 5.0                      # the phases differ: there is work to do
        assert 0.5 * none_mae < mae <= 1.10 * none_mae
        assert ours["plaques"]["recall_pred"] >= none["plaques"]["recall_pred"] - 0.25
    assert "## Quality control" in report and "| real nc |" in report
    rejected = results["qc"]["rejected_fraction"]
    assert set(rejected) == {"real nc", "real ce", "GMM-UNIT (ours) nc→ce",
                             "GMM-UNIT (ours) ce→nc"}
    assert all(0.0 <= v <= 1.0 for v in rejected.values())
    intervals = results["qc"]["false_alarm_interval"]
    assert set(intervals) == {"real nc", "real ce"}
    for name, ci in intervals.items():
        assert ci["low"] <= rejected[name] <= ci["high"] and ci["slices"] % 6 == 0
    # the threshold is calibrated on the 3 training patients' real slices (2 phases x 6)
    assert results["qc"]["calibration_slices"] == 3 * 2 * 6
    calibration = json.loads((out / "qc/qc.json").read_text())["calibration"]
    assert calibration["source"] == "demo training patients"
    assert calibration["threshold"] == results["qc"]["threshold"]
    assert "calibrated to keep 95% of the 36 real slices" in report
    # cross-validated over the 4 patients (one per group, 12 slices each): pooled = mean
    per_fold = results["qc"]["false_alarms_per_fold"]
    assert len(per_fold) == 4
    assert results["qc"]["false_alarms_cross_validated"] == pytest.approx(sum(per_fold) / 4)
    for name in ("qc/qc.json", "qc/model.safetensors", "figure_nc2ce.png", "figure_ce2nc.png",
                 "runs/gmm_unit/curves.png",
                 "translations/gmm_unit/ce2nc/patient_003.nii.gz"):
        assert (out / name).is_file(), name
    assert "## Targets" in report
    assert "| GMM-UNIT (ours) nc→ce | " in report.split("## Targets")[1]
    assert "lumen shift (HU)" in report and "plaques >= 130 HU" in report
    # a second run reuses everything (phantom, checkpoint, translations): nothing is rewritten
    kept = [out / "runs/gmm_unit/checkpoints/latest/model.safetensors",
            out / "translations/gmm_unit/nc2ce/patient_003.nii.gz",
            out / "phantom/nc/patient_000.nii.gz"]
    stamps = [p.stat().st_mtime_ns for p in kept]
    assert main(["demo", "--out", str(out), "--preset", "tiny"]) == 0
    assert [p.stat().st_mtime_ns for p in kept] == stamps
    # translations made by an older inference (another cache key) are redone, not reused
    manifest = out / "translations/gmm_unit/nc2ce/manifest.csv"
    rows = read_manifest(manifest)
    assert rows and all(r.key for r in rows.values())
    text = manifest.read_text()
    for row in rows.values():
        text = text.replace(row.key, "0" * len(row.key))
    manifest.write_text(text)
    assert main(["demo", "--out", str(out), "--preset", "tiny"]) == 0
    assert kept[1].stat().st_mtime_ns != stamps[1] and kept[0].stat().st_mtime_ns == stamps[0]


def test_full_preset_configs_validate_and_three_models_run_at_tiny_size(tmp_path):
    """The full preset (GPU) cannot run in CI; its configs must validate, and the path it takes
    (three models, one figure panel each) runs at the tiny size."""
    from ctbridge.config import load_config
    from ctbridge.experiments.demo import demo_config
    from ctbridge.qc import qc_config
    from ctbridge.training.config import TrainConfig

    full = demo_config("full")
    for kind in full.models:
        cfg = load_config(TrainConfig, kind, preset=full.config_preset,
                          overrides=full.overrides)
        assert cfg.model.kind == kind and cfg.model.width == 1.0
    assert qc_config(full.qc_preset, full.qc_overrides).cohort.size == 512
    tiny = demo_config("tiny")
    shared = {k: v for k, v in tiny.overrides.items() if k != "model.n_components"}  # K: GMM
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--preset", "tiny",
                 "--set", f"models=[{', '.join(full.models)}]",
                 "--set", f"overrides={json.dumps(shared)}"]) == 0
    report = (out / "report.md").read_text()
    for name in ("CycleGAN", "UNIT", "GMM-UNIT (ours)"):
        assert f"| {name} nc→ce |" in report and f"| {name} ce→nc |" in report
    rejected = json.loads((out / "results.json").read_text())["qc"]["rejected_fraction"]
    assert len(rejected) == 2 + 2 * 3
