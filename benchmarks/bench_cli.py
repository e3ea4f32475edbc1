"""CLI start-up: seconds for `ctbridge --help`, `info` and `convert` of one DICOM file.

    python benchmarks/bench_cli.py [--repeats 5] [--json OUT]

A user scripting `info`/`convert` over thousands of files pays the start-up each time, so these
commands must not import torch. References in the same run: a bare interpreter
(`python -c pass`), and the interpreter importing torch (what every command cost before the
heavy imports moved into the commands that need them). Target: each command under 0.6 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from pydicom.data import get_testdata_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, report  # noqa: E402


def best_run(argv: list[str], repeats: int) -> float:
    """Best wall time of ``repeats`` runs of a command (seconds); a failure stops the bench."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    python = sys.executable
    script = Path(python).parent / "ctbridge"  # the console script a user runs
    cli = [str(script)] if script.is_file() else [python, "-m", "ctbridge.cli"]
    dicom = get_testdata_file("CT_small.dcm")
    bare = best_run([python, "-c", "pass"], args.repeats)
    with_torch = best_run([python, "-c", "import torch"], args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "ctbridge --help": [*cli, "--help"],
            "ctbridge info -i CT_small.dcm": [*cli, "info", "-i", dicom],
            "ctbridge convert -i CT_small.dcm -o out.nii.gz": [*cli, "convert", "-i", dicom, "-o",
                                                         str(Path(tmp) / "out.nii.gz")],
        }
        rows = [Row("python -c pass (interpreter start)", bare, "s"),
                Row("python -c 'import torch'", with_torch, "s", bare, "interpreter start")]
        rows += [Row(what, best_run(argv, args.repeats), "s", with_torch,
                     "interpreter + import torch")
                 for what, argv in commands.items()]
    report(f"CLI start-up (best of {args.repeats} runs)", rows, args.json, torch.device("cpu"))


if __name__ == "__main__":
    main()
