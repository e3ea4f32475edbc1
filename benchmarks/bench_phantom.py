"""Phantom speed and memory: one 512x512x64 patient in four phases (target < 30 s, < 4 GB).

    python benchmarks/bench_phantom.py [OUT.json] [--size 512 --slices 64]

The reference is measured in the same run: the time numpy takes to fill the four output volumes
with Gaussian noise (the least any generator of that much data must spend), so the ratio says
how many "noise fills" anatomy, partial volume, plaques and noise cost, comparable across
machines. Memory: peak RSS of the process (what the target is about) and the tracemalloc peak
of a second, traced generation (the generator's own allocations, numpy included).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, best_time, machine_info, peak_rss_gb, print_table, save_json  # noqa: E402

from ctbridge.phantom import PHASES, generate_patient  # noqa: E402

TARGET_S, TARGET_GB = 30.0, 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", type=Path, nargs="?", default=None, help="write results here")
    parser.add_argument("--json", dest="json_opt", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = args.json or args.json_opt
    shape = (args.slices, args.size, args.size)

    rng = np.random.default_rng(0)
    fill = best_time(lambda: [rng.standard_normal(shape, dtype=np.float32) for _ in PHASES],
                     repeats=2, warmup=0)
    rss_before = peak_rss_gb()
    t0 = time.perf_counter()
    pt = generate_patient(args.seed, size=args.size, slices=args.slices, phases=PHASES)
    seconds = time.perf_counter() - t0
    rss_peak = peak_rss_gb()
    del pt

    tracemalloc.start()
    pt = generate_patient(args.seed, size=args.size, slices=args.slices, phases=PHASES)
    traced_gb = tracemalloc.get_traced_memory()[1] / 1024**3
    tracemalloc.stop()
    output_gb = sum(v.nbytes for v in pt.volumes.values()) / 1024**3

    what = f"phantom {args.size}x{args.size}x{args.slices}, {len(PHASES)} phases"
    rows = [
        Row(f"{what}: time", seconds, "s", fill, "numpy noise fill of the 4 volumes"),
        Row(f"{what}: time vs target", seconds, "s", TARGET_S, f"target {TARGET_S:.0f} s"),
        Row("peak memory (RSS, whole process)", rss_peak, "GB", TARGET_GB,
            f"target {TARGET_GB:.0f} GB"),
        Row("peak RSS before generating (python, torch, numpy)", rss_before, "GB"),
        Row("peak traced allocations while generating", traced_gb, "GB", output_gb,
            "the 4 float32 output volumes"),
        Row("plaques rendered", len(pt.plaque_info), "count"),
    ]
    title = "phantom generation"
    print_table(title, rows)
    verdict = "PASS" if seconds < TARGET_S and rss_peak < TARGET_GB else "FAIL"
    print(f"\ntargets (< {TARGET_S:.0f} s, < {TARGET_GB:.0f} GB): {verdict}")
    if out:
        save_json(out, title, rows, machine_info(torch.device("cpu")))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
