"""Translation memory: peak memory of `ctbridge translate`'s default batch (16 slices of 512x512,
GMM-UNIT K=25, full mode), one mixture component at a time (today) against all K means at once.

    python benchmarks/bench_translate_memory.py [--device cpu|cuda] [--width 0.125] [--json OUT]

Each variant runs in its own process, so the peaks are clean: CPU peak RSS above what the
process held before translating (model and scan loaded), or peak CUDA memory allocated. The
reference is the posterior path that holds all K component means of the batch, (B, K, C, h, w):
what translation did before, and still what training does on 32x32 patches.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, report  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import torch
from bench_translate import phantom_like_volume
from ctbridge.data.intensity import IntensityScaler
from ctbridge.inference.translator import Translator
from ctbridge.models import ModelConfig, build_model

device = torch.device({device!r})
torch.manual_seed(0)
model = build_model(ModelConfig(kind="gmm_unit", width={width}, n_components=25))
if {all_k}:  # the reference: every component's mean of the whole batch at once
    def translate(x, source, target, *, sample=False):
        post = model.encode(x, source)
        return model.decode(model.latent.sample(post, stochastic=sample), target)
    model.translate = translate
tr = Translator(model, IntensityScaler(), patch_size=32, device=device)
scan = phantom_like_volume({slices})
if device.type == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
t0 = time.perf_counter()
tr.translate_scan(scan, "ce", mode="full", batch={batch})
seconds = time.perf_counter() - t0
peak = (torch.cuda.max_memory_allocated() / 1024**3 if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2 - before)
print(json.dumps({{"peak_gb": peak, "seconds": seconds}}))
"""


def measure(args: argparse.Namespace, all_k: bool) -> dict[str, float]:
    code = CHILD.format(bench=str(Path(__file__).resolve().parent), device=args.device,
                        width=args.width, all_k=all_k, slices=args.batch, batch=args.batch)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--batch", type=int, default=16, help="slices per batch (translate's)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    streamed, all_k = measure(args, all_k=False), measure(args, all_k=True)
    kind = "GPU allocated" if args.device == "cuda" else "RSS"
    rows = [
        Row(f"w={args.width:g} one component at a time, peak {kind}", streamed["peak_gb"], "GB",
            all_k["peak_gb"], "all K=25 means at once"),
        Row(f"w={args.width:g} one component at a time, s / batch", streamed["seconds"], "s",
            all_k["seconds"], "all K=25 means at once"),
    ]
    report(f"translation memory on {args.device} (GMM-UNIT K=25, {args.batch} slices of "
           f"512x512 per batch; {time.perf_counter() - t0:.0f} s)", rows, args.json,
           __import__("torch").device(args.device))


if __name__ == "__main__":
    main()
