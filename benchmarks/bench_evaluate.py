"""Evaluation speed: seconds to score one 512x512x64 translation (image + plaque metrics).

    python benchmarks/bench_evaluate.py [--json OUT]

Reference in the same run: a plain numpy masked MAE over the same volume (the cheapest metric),
so the ratio is the cost of SSIM and the fine-structure metrics on top.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, best_time, report  # noqa: E402

from ctbridge.data.body_mask import body_mask  # noqa: E402
from ctbridge.evaluation.scan_scores import evaluate_scan  # noqa: E402
from ctbridge.phantom import LABELS, generate_patient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ph = generate_patient(2, size=args.size, slices=args.slices, phases=("nc", "arterial"))
    pred, truth = ph.volumes["nc"], ph.volumes["arterial"]
    body = body_mask(truth)
    mae = best_time(lambda: float(np.abs(pred[body] - truth[body]).mean()), repeats=3)
    t0 = time.perf_counter()
    evaluate_scan("p", pred, truth, ph.labels, ph.plaques, LABELS, ph.spacing, body)
    seconds = time.perf_counter() - t0
    rows = [Row(f"evaluate_scan {args.size}^2 x {args.slices} (image + plaques)", seconds, "s",
                mae, "numpy masked MAE, same volume"),
            Row("plaques scored", len(ph.plaque_info), "count")]
    title = "evaluation speed"
    report(title, rows, args.json, torch.device("cpu"))


if __name__ == "__main__":
    main()
