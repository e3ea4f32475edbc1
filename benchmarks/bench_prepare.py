"""`ctbridge prepare`: seconds to index the headers of a 10,000-file DICOM export.

    python benchmarks/bench_prepare.py [--files 10000] [--json OUT]

Files: 100 series of 100 axial slices (64 x 64 pixels: the header read does not touch pixel
data) with an 8 KB + 12 KB private block per file, as Siemens CSA headers are, copied to reach
``--files``. References in the same run: a bare `pydicom.dcmread(stop_before_pixels=True)` loop
over the same files (the floor of any pydicom-based index) and reading each file's first 64 KB
(the I/O floor). The files were just written, so the page cache is warm: a first pass over a
network drive will be slower. Target (issue 15): 10,000 files under 30 s on the 2-core machine.
Also times a whole `prepare` (index, checks, evidence, NIfTI) of a 6-patient phantom export.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pydicom
import torch

from ctbridge.io.dicom import write_dicom_series
from ctbridge.phantom import generate_patient
from ctbridge.phantom.dicom_export import write_dicom_study_export
from ctbridge.prepare.index import index_tree, walk_files
from ctbridge.prepare.run import prepare_export

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, report  # noqa: E402


def make_export(root: Path, files: int) -> None:
    scan = generate_patient(0, size=64, slices=100, phases=("nc",)).scan("nc")
    template = root / "template"
    write_dicom_series(scan, template)
    for f in template.iterdir():  # vendor private blocks: most of a real header's bytes
        ds = pydicom.dcmread(f)
        block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
        block.add_new(0x10, "OB", bytes(8192))
        block.add_new(0x20, "OB", bytes(12288))
        ds.save_as(f)
    slices = sorted(template.iterdir())
    for k in range(files):
        target = root / "export" / f"S{k // 100:03d}" / f"IM{k:05d}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(slices[k % len(slices)], target)
    shutil.rmtree(template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_export(root, args.files)
        export = root / "export"
        paths = list(walk_files(export))
        t0 = time.perf_counter()
        for p in paths:
            with p.open("rb") as f:
                f.read(65536)
        io_floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in paths:
            pydicom.dcmread(p, stop_before_pixels=True)
        bare = time.perf_counter() - t0
        t0 = time.perf_counter()
        headers, skipped = index_tree(export, progress=False)
        indexed = time.perf_counter() - t0
        assert len(headers) == args.files and not skipped
        phantom = root / "phantom"
        write_dicom_study_export(phantom, patients=6, size=256, slices=40, progress=False)
        n_files = sum(1 for _ in walk_files(phantom))
        t0 = time.perf_counter()
        result = prepare_export(phantom, root / "prepared", progress=False)
        whole = time.perf_counter() - t0
    rows = [
        Row(f"read first 64 KB of {args.files} files", io_floor, "s"),
        Row(f"pydicom.dcmread headers of {args.files} files", bare, "s", io_floor,
            "64 KB reads"),
        Row(f"index_tree of {args.files} files (target < 30 s)", indexed, "s", bare,
            "bare dcmread loop"),
        Row(f"prepare: phantom export, {n_files} files, {len(result.results)} series "
            f"({result.count('sorted')} sorted), 256 px", whole, "s"),
    ]
    report("ctbridge prepare: header index and whole run (warm page cache)", rows, args.json,
           torch.device("cpu"))


if __name__ == "__main__":
    main()
