"""`ctbridge synthesize --num-parts N --part-id I`: parts make disjoint shares of the cases, and
their manifests merge into the data set one run would have written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctbridge.cli import main
from ctbridge.phantom.nnunet_export import write_phantom_nnunet
from tests.labelled_data import PHANTOM, copy_dataset

CASES = [f"patient_{i:03d}" for i in range(6)]


@pytest.fixture(scope="module")
def six(tmp_path_factory) -> Path:
    """A six-case nnU-Net data set (the tiny phantom, NC phase)."""
    root = tmp_path_factory.mktemp("six")
    return write_phantom_nnunet(root, **{**PHANTOM, "patients": 6, "phases": ("nc",)})["nc"]


def run(dataset, out, checkpoint, *extra) -> int:
    return main(["synthesize", "-i", str(dataset), "-o", str(out), "--model", str(checkpoint),
                 "--to", "ce", *extra])


def part(k: int, n: int = 2) -> list[str]:
    return ["--num-parts", str(n), "--part-id", str(k)]


def manifest(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as f:
        return {r["case"]: r for r in csv.DictReader(f)}


def snapshot(out: Path) -> dict[str, object]:
    """Everything in OUT that does not depend on when or how fast it was made."""
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
             if p.is_file() and p.name not in ("manifest.csv", "dataset.json", ".merge.lock")}
    meta = json.loads((out / "dataset.json").read_text())
    meta["ctbridge"].pop("date")
    rows = {case: {k: v for k, v in row.items() if k not in ("seconds", "date")}
            for case, row in manifest(out / "manifest.csv").items()}
    return {"files": files, "dataset.json": meta, "manifest": rows}


@pytest.fixture(scope="module")
def whole(six, checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "Dataset911_Whole"
    assert run(six, out, checkpoint) == 0
    return out


def test_two_parts_give_the_files_and_manifest_of_one_run(six, checkpoint, whole, tmp_path,
                                                          capsys):
    out = tmp_path / "Dataset911_Whole"
    assert run(six, out, checkpoint, *part(0)) == 0
    err = capsys.readouterr().err
    assert "part 0 of 2 done; 3 case(s) of other parts not finished yet" in err
    # part 0 made the sorted cases 0, 2, 4 and wrote nothing of the data set yet
    rows = manifest(out / "manifest.part-0-of-2.csv")
    assert sorted(rows) == [f"{c}_synce" for c in CASES[0::2]]
    assert {r["decision"] for r in rows.values()} == {"written"}
    assert sorted(p.name for p in (out / "imagesTr").iterdir()) == [
        f"{c}_synce_0000.nii.gz" for c in CASES[0::2]]
    assert not (out / "dataset.json").exists() and not (out / "splits_final.json").exists()
    # an early --merge names what is missing and writes nothing
    assert run(six, out, checkpoint, "--merge") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot merge yet: 3 case(s)" in err
    assert "patient_001_synce" in err and not (out / "dataset.json").exists()
    # the last part merges
    assert run(six, out, checkpoint, *part(1)) == 0
    assert "every part finished: merged" in capsys.readouterr().err
    assert not list(out.glob("manifest.part-*"))
    assert snapshot(out) == snapshot(whole)
    # merging again changes nothing; a whole run over it resumes every case
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")}
    assert run(six, out, checkpoint, "--merge") == 0
    assert run(six, out, checkpoint) == 0
    assert "already done (resumed) │ 6" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.nii.gz")} == before
    assert snapshot(out) == snapshot(whole)


def test_parts_in_parallel_processes(six, checkpoint, whole, tmp_path):
    """Two processes started together (as on two GPUs): each its share, one merge."""
    out = tmp_path / "Dataset911_Whole"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "ctbridge", "synthesize", "-i", str(six), "-o", str(out),
         "--model", str(checkpoint), "--to", "ce", "--device", "cpu", *part(k)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for k in (0, 1)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert sum("every part finished: merged" in err for _, err in results) >= 1
    assert snapshot(out) == snapshot(whole)


def test_parts_resume_a_whole_run_and_record_failures(six, checkpoint, whole, tmp_path,
                                                      capsys):
    data = copy_dataset(six, tmp_path / "data")
    out = copy_dataset(whole, tmp_path / "Dataset911_Whole")
    (data / "imagesTr" / "patient_004_0000.nii.gz").write_bytes(b"\x1f\x8b not a nifti")
    codes, errs = [], []
    for k in range(3):
        codes.append(run(data, out, checkpoint, *part(k, 3)))
        errs.append(capsys.readouterr().err)
    # part 1 of 3 holds the sorted cases 1 and 4: case 4 fails there, and only there
    assert codes == [0, 101, 0]
    assert all("already done (resumed) │ 2" in errs[k] for k in (0, 2))  # nothing redone
    # part 0 cannot merge (case 4 changed since the whole run); once part 1 has recorded it,
    # every case has a row with its current key, and each later part (re)merges
    assert "merged" not in errs[0] and "1 case(s) of other parts not finished" in errs[0]
    assert all("every part finished: merged" in errs[k] for k in (1, 2))
    rows = manifest(out / "manifest.csv")
    assert rows["patient_004_synce"]["decision"] == "failed"
    assert sum(r["decision"] == "written" for r in rows.values()) == 5
    assert not list(out.rglob("patient_004*"))  # left out with its original
    assert json.loads((out / "dataset.json").read_text())["numTraining"] == 10
    assert run(data, out, checkpoint, "--merge") == 101  # the merge reports it too


@pytest.mark.parametrize("argv, says", [
    (part(2, 2), "--part-id must be in 0..1 for --num-parts 2, got 2"),
    (["--num-parts", "0"], "--num-parts"),
    (["--merge"], "nothing to merge"),
])
def test_bad_parts_fail_before_any_work(six, checkpoint, tmp_path, capsys, argv, says):
    out = tmp_path / "out"
    assert run(six, out, checkpoint, *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ctbridge: error: ") and says in err, err
    assert not out.exists()
