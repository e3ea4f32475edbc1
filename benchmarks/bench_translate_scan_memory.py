"""Whole-process peak memory of `ctbridge translate` for a short and a long 512x512 scan.

    python benchmarks/bench_translate_scan_memory.py [--slices 64,300] [--widths 0.125,1.0]
        [--wide-slices 4,8] [--wide-batch 2] [--device cpu] [--json OUT]

Each case is one `ctbridge translate` process (read the NIfTI, translate, write the NIfTI), run
under its own small wrapper process that reads ``ru_maxrss`` of its one child
(``resource.getrusage(RUSAGE_CHILDREN)``): the peak RSS of the whole command, start-up, model,
input and output included. The scans are phantom-like (a body-shaped ellipse of soft tissue,
``bench_translate.phantom_like_volume``), written as int16 NIfTI; the model is an untrained
GMM-UNIT (K = 25) saved with the checkpoint writer (memory does not depend on training). The
reference of each row is the scan itself in float32, so a peak that grows with the scan by more
than the input and the output shows in the ratio.

Width 1.0 takes about 21 s per 512x512 slice on a 2-core CPU, so it translates
``--wide-slices`` short scans with ``--wide-batch`` slices per batch: what grows with the scan's
length then shows between the two, and one batch's work is the rest.
``PYTHONPATH=<another checkout>/src`` measures another version of ctbridge with the same cases.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_translate import phantom_like_volume  # noqa: E402
from common import Row, report  # noqa: E402

WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                      text=True)
seconds = time.perf_counter() - t0
if code.returncode != 0:
    sys.stderr.write(code.stderr)
    raise SystemExit(code.returncode)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB -> GiB
print(json.dumps({"peak_gb": peak, "seconds": seconds}))
"""


def write_model(folder: Path, width: float) -> Path:
    """An untrained GMM-UNIT (K 25) of ``width`` as a checkpoint folder."""
    import torch

    from ctbridge.models import ModelConfig, build_model
    from ctbridge.models.checkpoint import CONFIG_FILE, MODEL_FILE, save_tensors

    torch.manual_seed(0)
    config = ModelConfig(kind="gmm_unit", width=width, n_components=25)
    folder.mkdir(parents=True, exist_ok=True)
    save_tensors(build_model(config).state_dict(), folder / MODEL_FILE)
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(
        {"model": config.model_dump(mode="json"), "data": {"patch_size": 32}}))
    return folder


def write_input(path: Path, slices: int) -> float:
    """A phantom-like 512x512 scan of ``slices`` slices as int16 NIfTI; its float32 GB."""
    from ctbridge.io import write_scan

    scan = phantom_like_volume(slices)
    write_scan(scan, path, dtype="int16")
    return scan.array.nbytes / 1024**3


def measure(scan: Path, model: Path, out: Path, batch: int, device: str) -> dict[str, float]:
    cmd = [sys.executable, "-m", "ctbridge.cli", "translate", "-i", str(scan), "-o", str(out),
           "--model", str(model), "--to", "ce", "--batch", str(batch), "--device", device]
    result = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True,
                            text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", default="64,300", help="scan lengths at width 0.125")
    parser.add_argument("--batch", type=int, default=16, help="translate's --batch at 0.125")
    parser.add_argument("--widths", default="0.125,1.0")
    parser.add_argument("--wide-slices", default="4,8", help="scan lengths at width 1.0")
    parser.add_argument("--wide-batch", type=int, default=2, help="translate's --batch at 1.0")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-translate-memory-") as tmp:
        root = Path(tmp)
        for width in (float(w) for w in args.widths.split(",")):
            small = width < 0.5
            lengths = [int(n) for n in (args.slices if small else args.wide_slices).split(",")]
            batch = args.batch if small else args.wide_batch
            model = write_model(root / f"model_w{width:g}", width)
            for n in lengths:
                scan = root / f"scan_{n}.nii.gz"
                if not scan.is_file():
                    scan_gb = write_input(scan, n)
                else:
                    scan_gb = n * 512 * 512 * 4 / 1024**3
                got = measure(scan, model, root / "out.nii.gz", batch, args.device)
                (root / "out.nii.gz").unlink()
                rows.append(Row(f"w={width:g} 512x512x{n} batch {batch}, peak RSS", got["peak_gb"],
                                "GB", scan_gb, "the scan in float32"))
                rows.append(Row(f"w={width:g} 512x512x{n} batch {batch}, wall time",
                                got["seconds"], "s"))
                print(f"w={width:g} {n} slices: {got['peak_gb']:.2f} GB, {got['seconds']:.0f} s",
                      file=sys.stderr, flush=True)
    import torch

    report(f"`ctbridge translate` whole-process peak RSS on {args.device} (untrained GMM-UNIT "
           f"K=25, phantom-like 512x512 int16 NIfTI in and float32 out; "
           f"{time.perf_counter() - t0:.0f} s)", rows, args.json, torch.device(args.device))


if __name__ == "__main__":
    main()
