"""Phantom speed and memory: one 512x512x64 patient in four phases (target < 30 s, < 4 GB).

    python benchmarks/bench_phantom.py [--size 512 --slices 64] [--json OUT]

Reference measured in the same run: the time numpy takes to fill the four output volumes with
Gaussian noise (the least any generator of that much data must spend), so the ratio says how
many "noise fills" the anatomy, partial volume and plaques cost.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, best_time, machine_info, peak_rss_gb, print_table, save_json  # noqa: E402

from ctbridge.phantom import PHASES, generate_patient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    shape = (args.slices, args.size, args.size)
    rng = np.random.default_rng(0)
    fill = best_time(lambda: [rng.standard_normal(shape, dtype=np.float32) for _ in PHASES],
                     repeats=2, warmup=0)
    rss_before = peak_rss_gb()
    t0 = time.perf_counter()
    ph = generate_patient(1, size=args.size, slices=args.slices, phases=PHASES)
    seconds = time.perf_counter() - t0
    rows = [
        Row(f"phantom {args.size}^2 x {args.slices}, 4 phases", seconds, "s", fill,
            "numpy noise fill of the 4 volumes"),
        Row("target: phantom time", seconds, "s", 30.0, "target 30 s"),
        Row("peak memory (RSS, whole process)", peak_rss_gb(), "GB", 4.0, "target 4 GB"),
        Row("peak memory before generating", rss_before, "GB"),
        Row("plaques rendered", len(ph.plaque_info), "count"),
    ]
    title = "phantom generation"
    print_table(title, rows)
    if args.json:
        save_json(args.json, title, rows, machine_info(torch.device("cpu")))


if __name__ == "__main__":
    main()
