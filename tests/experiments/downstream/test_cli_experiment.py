"""`ctbridge experiment` as a function: argument checks and a tiny run."""

from __future__ import annotations

import json

import pytest

from ctbridge.cli.experiment import experiment_command, parse_translators
from ctbridge.errors import ConfigError
from tests.experiments.downstream.conftest import TINY


def test_parse_translators():
    out = parse_translators(["gmm_unit=runs/g", " unit = runs/u "])
    assert {k: str(v) for k, v in out.items()} == {"gmm_unit": "runs/g", "unit": "runs/u"}
    for bad in (["gmm_unit"], ["=runs/g"], ["a=x", "a=y"]):
        with pytest.raises(ConfigError):
            parse_translators(bad)


def test_unknown_experiment_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown experiment"):
        experiment_command("liver", data=tmp_path, out=tmp_path)


def test_command_runs_plaque_without_translators(cohort_dir, tmp_path, capsys):
    experiment_command("plaque", data=cohort_dir, out=tmp_path / "o", preset="cpu-small",
                       set_=[*TINY, "segmenter.patch=[16, 16]", "oracle=false"],
                       device="cpu")
    captured = capsys.readouterr()
    assert "| NC only (baseline) |" in captured.out
    rows = json.loads((tmp_path / "o" / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["ok"] + ["skipped"] * 4


@pytest.mark.parametrize("preset, expected", [(None, "quick"),
                                              ("cpu-small", "cpu-small,quick")])
def test_quick_applies_its_preset_after_the_others(preset, expected, tmp_path, monkeypatch):
    from ctbridge.experiments.downstream import plaque

    seen = {}

    def fake_run(data, out, **kwargs):
        seen.update(kwargs)
        md = out / "results.md"
        out.mkdir()
        md.write_text("table")
        (out / "results.json").write_text("{}")
        return md

    monkeypatch.setattr(plaque, "run_plaque", fake_run)
    experiment_command("plaque", data=tmp_path, out=tmp_path / "o", preset=preset, quick=True)
    assert seen["preset"] == expected


def test_a_missing_qc_folder_is_a_one_line_error(cohort_dir, tmp_path):
    from ctbridge.cli import main

    code = main(["experiment", "plaque", "--data", str(cohort_dir), "--out", str(tmp_path / "o"),
                 "--preset", "cpu-small", "--qc", str(tmp_path / "no_qc"),
                 *[a for s in TINY for a in ("--set", s)]])
    assert code == 2


def test_a_qc_model_that_rejects_real_slices_is_refused_before_training(cohort_dir, tmp_path,
                                                                        capsys):
    """A QC model trained on other data (here: threshold 0, every slice rejected) would drop
    every synthetic slice; the run stops with a one-line error instead of a baseline-like
    table."""
    from ctbridge.cli import main

    qc_dir = tmp_path / "qc"
    assert main(["qc", "train", "--out", str(qc_dir), "--preset", "tiny", "--no-progress",
                 "--set", "steps=2", "--set", "cohort.patients=2", "--set",
                 "val_patients=1"]) == 0
    info = json.loads((qc_dir / "qc.json").read_text())
    info["threshold"] = 0.0
    (qc_dir / "qc.json").write_text(json.dumps(info))
    capsys.readouterr()
    code = main(["experiment", "plaque", "--data", str(cohort_dir), "--out", str(tmp_path / "o"),
                 "--preset", "cpu-small", "--qc", str(qc_dir),
                 *[a for s in TINY for a in ("--set", s)]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "rejects 100% of these real slices" in err and "qc train --data" in err
    assert not (tmp_path / "o" / "results.json").exists()


@pytest.mark.parametrize("name", ["plaque", "pancreas"])
def test_quick_writes_every_output_and_a_rerun_resumes(name, cohort_dir, checkpoint, tmp_path,
                                                       capsys):
    """--quick end to end through the CLI, with a (random) translator so that a comparison
    runs: the tables, the by-size values, the comparisons, the CSV and the figure."""
    from ctbridge.cli import main

    out = tmp_path / "quick"
    args = ["experiment", name, "--data", str(cohort_dir), "--out", str(out), "--quick",
            "--translator", f"gmm_unit={checkpoint}", "--set", "progress=false"]
    assert main(args) == 0
    data = json.loads((out / "results.json").read_text())
    assert data["complete"] and data["resumed_folds"] == 0
    assert (data["config"]["folds"], data["config"]["segmenter"]["steps"]) == (2, 3)
    ran = [r for r in data["rows"] if r["status"] == "ok"]
    assert [r["key"] for r in ran] == ["baseline", "gmm_unit", "oracle"]
    for row in ran:
        assert [f["fold"] for f in row["folds"]] == [0, 1]
        for fold in row["folds"]:
            assert set(fold["patient_counts"]) == {"nc", "ce"}
            assert sorted(fold["patient_counts"]["ce"]) == fold["test_patients"]
    comparisons = data["comparisons"]
    metrics = ["dice", "recall"] if name == "plaque" else ["dice"]
    assert [(c["domain"], c["metric"]) for c in comparisons["results"]] == [
        (d, m) for d in ("nc", "ce") for m in metrics]
    assert all(c["row"] == "gmm_unit" and c["against"] == "baseline" and c["patients"] == 4
               for c in comparisons["results"])
    assert comparisons["skipped"] == ["gmm_unit vs unit: not compared (unit did not run)"]
    md = (out / "results.md").read_text()
    assert "## Paired comparisons" in md and "| gmm_unit vs baseline | CE | Dice |" in md
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0] == "row,fold,test_domain,metric,size_bin,value"
    assert "gmm_unit,1,ce,dice,," in "\n".join(csv_lines)
    if name == "plaque":
        assert set(data["size_bins"]) == {"1-3", "4-10", ">10"}
        assert ran[0]["summary_by_size"]["ce"]["4-10"]["plaques"] == 8  # 4 patients x 2
        assert "## By plaque size" in md and "| CE recall 4-10 | CE Dice 4-10 |" in md
        assert any(line.startswith("oracle,0,nc,recall,4-10,") for line in csv_lines)
        assert len(csv_lines) == 1 + 3 * 2 * 2 * (3 + 3 * 4)  # rows x folds x domains x values
    else:
        assert "By plaque size" not in md and data["size_bins"] == []
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(args) == 0  # the same command again: nothing to train
    assert "resumed: 6 finished (row, fold) results reused" in capsys.readouterr().out
