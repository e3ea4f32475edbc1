from __future__ import annotations

import subprocess
import sys

import ctbridge
from ctbridge.cli import main
from ctbridge.io import write_scan
from tests.conftest import make_scan


def test_version_and_help_in_a_real_process():
    out = subprocess.run([sys.executable, "-m", "ctbridge.cli", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"ctbridge {ctbridge.__version__}"
    out = subprocess.run([sys.executable, "-m", "ctbridge", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"ctbridge {ctbridge.__version__}"
    help_text = subprocess.run([sys.executable, "-m", "ctbridge.cli", "--help"],
                               capture_output=True, text=True, check=True).stdout
    for command in ("info", "convert", "train", "translate", "phantom", "prepare", "demo",
                    "evaluate", "experiment", "select-k", "synthesize", "qc"):
        assert command in help_text


def test_help_info_and_convert_do_not_import_torch(tmp_path):
    """Start-up cost: torch (~1 s) loads only in the commands that need it (bench_cli.py)."""
    src = write_scan(make_scan(), tmp_path / "a.nii.gz")
    argvs = (["--help"], ["synthesize", "--help"], ["info", "-i", str(src)],
             ["convert", "-i", str(src), "-o", str(tmp_path / "b.nii.gz")],
             ["convert", "-i", str(src), "-o", str(tmp_path / "series")])
    heavy = ("torch", "monai", "scipy.ndimage")
    for argv in argvs:
        code = (f"import sys; from ctbridge.cli import main; rc = main({argv!r}); "
                f"print(rc, sorted(m for m in {heavy!r} if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split("\n")
        assert out[-2] == "0 []", (argv, out[-2:])


def test_info_reports_geometry_and_hu(tmp_path, capsys):
    path = write_scan(make_scan(shape=(4, 10, 12), spacing=(0.7, 0.8, 2.5)), tmp_path / "a.nii.gz")
    assert main(["info", "-i", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 x 10 x 12" in out
    assert "0.7, 0.8, 2.5" in out
    assert "orientation            LPS" in out
    assert "-1024 /" in out and "/ 2999" in out


def test_convert_nifti_to_dicom_and_back(tmp_path, capsys):
    scan = make_scan()
    src = write_scan(scan, tmp_path / "a.nii.gz")
    assert main(["convert", "-i", str(src), "-o", str(tmp_path / "series")]) == 0
    assert main(["convert", "-i", str(tmp_path / "series"), "-o", str(tmp_path / "b.nii.gz"),
                 "--int16"]) == 0
    assert main(["info", "-i", str(tmp_path / "b.nii.gz")]) == 0
    assert "6 x 20 x 24" in capsys.readouterr().out


def test_usage_error_exit_code_2(capsys):
    assert main(["convert"]) == 2


def test_named_paths_and_the_deprecated_positional_spelling(tmp_path, capsys):
    src = write_scan(make_scan(), tmp_path / "a.nii.gz")
    assert main(["convert", "-i", str(src), "-o", str(tmp_path / "b.nii.gz")]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert main(["convert", str(src), str(tmp_path / "c.nii.gz")]) == 0  # one more release
    err = capsys.readouterr().err
    assert err.count("deprecated") == 2 and "write -i" in err and "write -o" in err
    assert (tmp_path / "c.nii.gz").is_file()
    assert main(["convert", str(src), "-i", str(src), "-o", str(tmp_path / "d.nii.gz")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(["convert", "-o", str(tmp_path / "e.nii.gz")]) == 2
    assert "missing INPUT" in capsys.readouterr().err
    assert not (tmp_path / "d.nii.gz").exists() and not (tmp_path / "e.nii.gz").exists()
    assert main(["info", "-i", str(src)]) == 0


def test_every_command_takes_named_paths_and_typed_choices(capsys):
    """One convention (nnU-Net's, TotalSegmentator's): -i INPUT, -o OUT, choices checked by
    the parser before any work."""
    named = {("convert",): "-i -o", ("translate",): "-i -o", ("info",): "-i",
             ("phantom",): "-o", ("prepare",): "-i -o", ("synthesize",): "-i -o",
             ("train",): "-i -o", ("demo",): "-o", ("evaluate",): "-o",
             ("experiment",): "-i -o", ("select-k",): "-i -o", ("qc", "train"): "-i -o",
             ("qc", "score"): "-i -o", ("qc", "calibrate"): "-i"}
    for command, flags in named.items():
        assert main([*command, "--help"]) == 0
        text = capsys.readouterr().out
        for flag in flags.split():
            assert f" {flag} " in text, (command, flag)
    for argv, choices in ((["translate", "-i", "a", "-o", "b", "--model", "m", "--to", "ce",
                            "--mode", "tiles"], "full"),
                          (["phantom", "-o", "x", "--format", "png"], "dicom-study"),
                          (["experiment", "liver", "-i", "a", "-o", "b"], "pancreas"),
                          (["select-k", "-i", "a", "-o", "b", "--criterion", "auc"], "ce_dice")):
        assert main(argv) == 2
        assert choices in capsys.readouterr().err, argv
