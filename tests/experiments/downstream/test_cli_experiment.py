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
