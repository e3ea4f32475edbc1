"""Translation speed: seconds per 512x512 slice and per 512x512x100 volume, per mode and width.

    python benchmarks/bench_translate.py [--device cpu|cuda] [--widths 0.125,1.0] [--json OUT]
        [--volume-slices 100] [--measure-slices 4]

Untrained GMM-UNIT weights (speed does not depend on training). The volume time is measured on
``--measure-slices`` slices and scaled to ``--volume-slices`` (the work is per slice, so this is
exact up to batching); pass ``--measure-slices 100`` on a GPU to time the whole volume. The
reference for each mode is the other mode at the same width (window / full), and achieved
GFLOP/s is compared with this machine's conv peak measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, conv_peak_gflops, count_flops, peak_rss_gb, report  # noqa: E402

from ctbridge.data.intensity import IntensityScaler  # noqa: E402
from ctbridge.inference.translator import Translator, window_count  # noqa: E402
from ctbridge.io import Scan  # noqa: E402
from ctbridge.models import ModelConfig, build_model  # noqa: E402


def phantom_like_volume(n_slices: int, size: int = 512) -> Scan:
    """A body-shaped 512x512 volume (speed only; content does not matter)."""
    yy, xx = np.mgrid[:size, :size]
    body = ((yy - size / 2) / (0.35 * size)) ** 2 + ((xx - size / 2) / (0.45 * size)) ** 2 < 1
    rng = np.random.default_rng(0)
    vol = np.where(body, 40.0, -1000.0)[None] + rng.normal(0, 10, (n_slices, size, size))
    return Scan(vol.astype(np.float32), spacing=(0.7, 0.7, 3.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", default="0.125,1.0")
    parser.add_argument("--volume-slices", type=int, default=100)
    parser.add_argument("--measure-slices", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = conv_peak_gflops(device)
    rows = [Row("machine fp32 conv3x3 128ch", peak, "GFLOP/s")]
    scan = phantom_like_volume(args.measure_slices)
    for width in (float(w) for w in args.widths.split(",")):
        torch.manual_seed(0)
        model = build_model(ModelConfig(kind="gmm_unit", width=width, n_components=25))
        tr = Translator(model, IntensityScaler(), patch_size=32, device=device)
        per_slice: dict[str, float] = {}
        for mode in ("full", "window"):
            one = torch.zeros(1, 1, 512, 512, device=device)
            with torch.no_grad():
                flops = count_flops(lambda tr=tr, one=one, mode=mode: tr.translate_slices(
                    one, "nc", "ce", mode=mode, overlap=args.overlap))
            tr.translate_scan(scan, "ce", mode=mode, batch=args.batch)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            tr.translate_scan(scan, "ce", mode=mode, batch=args.batch)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - t0) / args.measure_slices
            per_slice[mode] = seconds
            mem = (torch.cuda.max_memory_allocated() / 1024**3 if device.type == "cuda"
                   else peak_rss_gb())
            other = per_slice.get("full") if mode == "window" else None
            rows.append(Row(f"w={width:g} {mode} s / 512^2 slice", seconds, "s", other,
                            "full mode, same width" if other else ""))
            rows.append(Row(f"w={width:g} {mode} s / 512^2 x {args.volume_slices} volume",
                            seconds * args.volume_slices, "s"))
            rows.append(Row(f"w={width:g} {mode} achieved", flops / seconds / 1e9, "GFLOP/s",
                            peak, "machine conv peak"))
            rows.append(Row(f"w={width:g} {mode} peak memory "
                            f"({'GPU' if device.type == 'cuda' else 'RSS'})", mem, "GB"))
        n_win = window_count((512, 512), 32, args.overlap)
        rows.append(Row(f"w={width:g} windows per slice (overlap {args.overlap})", n_win, "count"))
    title = f"translation speed on {device} (GMM-UNIT, K=25, batch {args.batch})"
    report(title, rows, args.json, device)


if __name__ == "__main__":
    main()
