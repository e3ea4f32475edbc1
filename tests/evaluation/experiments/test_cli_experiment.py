"""`ctbridge experiment` as a function: argument checks and a tiny run."""

from __future__ import annotations

import json

import pytest

from ctbridge.cli_experiment import experiment_command, parse_translators
from ctbridge.errors import ConfigError
from tests.evaluation.experiments.conftest import TINY


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
