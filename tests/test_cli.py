from __future__ import annotations

import os
import subprocess
import sys

import pytest

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


def test_usage_errors_are_one_line(capsys):
    """A bad option value, an unknown option or command: one `ctbridge: error:` line, exit 2,
    as every other error (click's own form is a four-line usage block)."""
    for argv, says in (
            (["translate", "-i", "a", "-o", "b", "--model", "m", "--to", "ce", "--mode", "x"],
             "'x' is not one of 'full', 'window'"),
            (["translate", "--bogus"], "No such option: --bogus"),
            (["phantom", "-o", "x", "--phases", "nc,foo"], "unknown or repeated phases"),
            (["frobnicate"], "No such command 'frobnicate'")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ctbridge: error: "), err
        assert says in err and "Usage:" not in err, err
    assert main([]) == 2  # no command: the help, not an error line
    captured = capsys.readouterr()
    assert "Commands" in captured.out + captured.err
    assert "ctbridge: error" not in captured.out + captured.err


def test_library_warnings_are_one_line_and_the_rest_go_to_a_named_log(capsys):
    import logging
    import re
    import warnings
    from pathlib import Path

    from ctbridge.cli.boundary import one_line_warnings

    with one_line_warnings(), warnings.catch_warnings():
        warnings.simplefilter("always")
        for n in (18, 18, 19):  # repeats, and messages that differ in a number only
            warnings.warn(f"The number of bytes of pixel data is sufficient to contain {n} "
                          "frames\nwhich is larger than the given value", UserWarning,
                          stacklevel=1)
        assert capsys.readouterr().err == ("ctbridge: warning: UserWarning: The number of bytes "
                                           "of pixel data is sufficient to contain 18 frames\n")
        logging.getLogger("openjpeg.utils").warning("j2k: tile %d\nis damaged", 3)
        logging.getLogger("openjpeg.utils").info("not shown: below WARNING")
        logging.getLogger("ctbridge.train").warning("not shown: ctbridge logs to train.log")
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ctbridge: warning: more warnings; "), err
        log = Path(re.search(r"all of them in (\S+)", err)[1])
        warnings.warn("a third one", RuntimeWarning, stacklevel=1)
    assert capsys.readouterr().err == ""
    text = log.read_text()
    assert "contain 18 frames\nwhich is larger" in text and "contain 19 frames" in text
    assert "openjpeg.utils: j2k: tile 3\nis damaged" in text
    assert "RuntimeWarning: a third one" in text and "not shown" not in text
    log.unlink()
    with pytest.warns(UserWarning, match="after the command"):  # the handler is gone again
        warnings.warn("after the command", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == ""


def test_a_damaged_dicom_gives_a_warning_line_and_an_error_line(tmp_path, capsys):
    """pydicom warns (and logs) that the file ends inside the JPEG 2000 pixel data: one warning
    line, then the error, instead of a warning with its source line above the error."""
    import warnings
    from pathlib import Path

    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("explicit_VR-UN.dcm")).read_bytes()
    src = tmp_path / "truncated.dcm"
    src.write_bytes(data[: len(data) - len(data) // 5])
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["info", "-i", str(src)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("ctbridge: warning: ") and "End of file reached" in lines[0]
    assert lines[1].startswith(f"ctbridge: error: {src}: cannot decode pixel data")


def test_an_output_folder_at_the_filesystem_root_is_refused(tmp_path, capsys, monkeypatch):
    """`-o $nnUNet_raw/Dataset911_X` with the variable unset is /Dataset911_X: refused before
    any work (with the variable named), as is any new folder whose tree would start at /."""
    from pathlib import Path

    name = f"Dataset9{os.getpid() % 100:02d}_CtbridgeTestUnset"
    cases = [
        (["synthesize", "-i", str(tmp_path), "-o", f"/{name}", "--model", str(tmp_path),
          "--to", "ce"], f"-o /{name}: would create /{name} at the filesystem root; is "
                         "$nnUNet_raw set?"),
        (["phantom", "-o", "/", "--format", "nnunet", "--patients", "1"],
         "would create /Dataset901_CTBridgePhantomNC at the filesystem root; is $nnUNet_raw"),
        (["phantom", "-o", f"/ctbridge_test_{os.getpid()}/phantom", "--patients", "1"],
         f"would create /ctbridge_test_{os.getpid()} at the filesystem root; create the folder "
         "first if you mean it"),
        (["translate", "-i", str(tmp_path), "-o", f"/ctbridge_test_{os.getpid()}", "--model",
          str(tmp_path), "--to", "ce"], "at the filesystem root"),
        (["synthesize", "-i", str(tmp_path), "-o", str(tmp_path / "raw" / "Dataset911_X"),
          "--model", str(tmp_path), "--to", "ce"],
         f"its parent folder {tmp_path / 'raw'} does not exist"),
    ]
    for argv, says in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ctbridge: error: ") and says in err, err
    assert not Path(f"/{name}").exists() and not Path("/Dataset901_CTBridgePhantomNC").exists()
    assert not Path(f"/ctbridge_test_{os.getpid()}").exists()
    assert not (tmp_path / "raw").exists()
    # relative paths into folders yet to be made are fine (`-o data/nnunet` in a fresh clone)
    monkeypatch.chdir(tmp_path)
    assert main(["phantom", "-o", "data/nnunet", "--format", "nnunet", "--patients", "1",
                 "--size", "32", "--slices", "2", "--phases", "nc"]) == 0
    assert Path("data/nnunet/Dataset901_CTBridgePhantomNC/dataset.json").is_file()
