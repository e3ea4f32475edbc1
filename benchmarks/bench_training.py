"""Training throughput: patches/s and achieved GFLOP/s per model and width, vs machine peak.

    python benchmarks/bench_training.py [--device cpu|cuda] [--widths 0.25,1.0] [--json OUT]

One "step" is what the trainer does per iteration: a discriminator update and a generator
update on a batch of ``batch`` 32x32 patches per domain. The reference column is this machine's
fp32 conv throughput measured in the same run (3x3 conv, 128 channels), so the ratio is the
fraction of practical peak the model reaches.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, best_time, conv_peak_gflops, count_flops, matmul_peak_gflops, report  # noqa: E402

from ctbridge.models import ModelConfig, build_model  # noqa: E402

KINDS = {"gmm_unit": {"n_components": 25}, "unit": {}, "cyclegan": {}}


def make_step(model, opt_d, opt_g, batch):
    def step() -> None:
        d = model.discriminator_losses(batch)
        opt_d.zero_grad(set_to_none=True)
        d["total"].backward()
        opt_d.step()
        g = model.generator_losses(batch)
        opt_g.zero_grad(set_to_none=True)
        g["total"].backward()
        opt_g.step()
    return step


def bench_model(kind: str, width: float, device: torch.device, batch_size: int, patch: int,
                precision: str, repeats: int = 3) -> tuple[float, float]:
    """(patches per second, achieved GFLOP/s) of one D+G training step."""
    torch.manual_seed(0)
    extra = dict(KINDS[kind])
    if kind == "cyclegan" and width < 1.0:
        extra["n_res_blocks"] = 3
    model = build_model(ModelConfig(kind=kind, width=width, **extra)).to(device)
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=1e-4)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=1e-4)
    batch = {d: torch.randn(batch_size, 1, patch, patch, device=device) for d in model.domains}
    step = make_step(model, opt_d, opt_g, batch)
    ctx = (torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16"
           else torch.autocast(device.type, enabled=False))
    with ctx:
        flops = count_flops(step)
        seconds = best_time(step, repeats=repeats, warmup=1, device=device)
    patches = batch_size * len(model.domains)
    return patches / seconds, flops / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", default="0.25,1.0")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3, help="timed steps (best is kept)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    peak_mm = matmul_peak_gflops(device)
    peak_conv = conv_peak_gflops(device)
    rows = [Row("machine fp32 matmul 2048^2", peak_mm, "GFLOP/s"),
            Row("machine fp32 conv3x3 128ch", peak_conv, "GFLOP/s")]
    baseline = None
    for width in (float(w) for w in args.widths.split(",")):
        for kind in KINDS:
            pps, gflops = bench_model(kind, width, device, args.batch, args.patch,
                                      args.precision, args.repeats)
            if kind == "unit":
                baseline = pps
            rows.append(Row(f"{kind} w={width:g} train patches/s ({args.precision})", pps,
                            "patch/s", baseline if kind == "gmm_unit" else None,
                            "UNIT, same width (next row)" if kind == "gmm_unit" else ""))
            rows.append(Row(f"{kind} w={width:g} train achieved", gflops, "GFLOP/s", peak_conv,
                            "machine conv peak"))
    # gmm rows were written before their UNIT baseline existed: fill it in
    for i, r in enumerate(rows):
        if r.what.startswith("gmm_unit") and "patches/s" in r.what:
            r.reference = rows[i + 2].value
    title = f"training throughput, batch {args.batch} x {args.patch}^2 per domain"
    report(title, rows, args.json, device)


if __name__ == "__main__":
    main()
