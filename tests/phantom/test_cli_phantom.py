"""`ctbridge phantom` as typer runs it: documented layout, parsable dataset.json, usage errors."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from ctbridge.cli.phantom import phantom_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("phantom")(phantom_command)
    app.command("other")(lambda: None)  # two commands, so "phantom" is a sub-command
    return app


def test_cli_writes_the_documented_layout(tmp_path):
    out = tmp_path / "ph"
    result = CliRunner().invoke(_app(), [
        "phantom", "-o", str(out), "--patients", "1", "--size", "48", "--slices", "4",
        "--phases", "nc,arterial,venous,delayed", "--seed", "3", "--noise-hu", "10",
        "--slice-mm", "5", "--plaques-max", "5"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["phases"] == ["nc", "arterial", "venous", "delayed"]
    assert meta["noise_hu"] == 10 and meta["slice_mm"] == 5 and meta["plaques_max"] == 5
    for sub in ("nc", "arterial", "venous", "delayed", "labels", "plaques"):
        assert (out / sub / "patient_000.nii.gz").is_file(), sub
    assert (out / "contact_sheets" / "patient_000.png").is_file()


def test_unknown_phase_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(_app(), ["phantom", "-o", str(tmp_path / "x"), "--phases",
                                         "nc,portal"])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()
