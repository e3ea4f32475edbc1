"""Seconds per training step of a preset's own model and losses, as shipped vs as before.

    python benchmarks/bench_preset_step.py [--config gmm_unit] [--preset cpu-small]
        [--chunks 8] [--steps 20] [--json OUT]

One step is the trainer's: a discriminator and a generator update on ``data.batch_size``
patches per domain, with every loss term the preset switches on (random patches in model
range: the cost does not depend on the anatomy). Three variants of the same model are timed in
interleaved chunks of ``--steps`` steps, so a machine whose speed drifts (a shared VM) slows
all of them alike, and the median chunk is reported:

* reference: one network call per input, fp32 (how the step ran before the batched calls);
* batched: G_d renders its reconstruction and translations, D_d judges real and translated
  patches, in one call each (``TranslationModel.batch_calls``), fp32;
* shipped: batched, with the preset's precision (``auto``: bf16 where the CPU has it natively).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, report  # noqa: E402

from ctbridge.config import load_config  # noqa: E402
from ctbridge.device import resolve_precision  # noqa: E402
from ctbridge.models import build_model  # noqa: E402
from ctbridge.training.config import TrainConfig  # noqa: E402


def make_variant(cfg: TrainConfig, *, batched: bool, precision: str):
    """A step function for a fresh model of ``cfg`` (same seed for every variant)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(memory_format=torch.channels_last)
    model.batch_calls = batched  # False: one call per input, the reference
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=cfg.optim.lr)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=cfg.optim.lr)
    p = cfg.data.patch_size or 32
    batch = {d: (torch.randn(cfg.data.batch_size, 1, p, p) * 0.2).contiguous(
        memory_format=torch.channels_last) for d in model.domains}
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" \
        else contextlib.nullcontext
    model.train()

    def step() -> None:
        for name, opt in (("d", opt_d), ("g", opt_g)):
            with autocast():
                losses = (model.discriminator_losses(batch) if name == "d"
                          else model.generator_losses(batch))
            opt.zero_grad(set_to_none=True)
            losses["total"].backward()
            opt.step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="gmm_unit")
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed chunk")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cfg = load_config(TrainConfig, args.config, preset=args.preset)
    if cfg.model.kind not in ("gmm_unit", "unit"):
        raise SystemExit(f"{args.config}: the batched calls are GMM-UNIT / UNIT's")
    shipped = resolve_precision(cfg.precision, torch.device("cpu"))
    variants = {"reference": make_variant(cfg, batched=False, precision="fp32"),
                "batched": make_variant(cfg, batched=True, precision="fp32"),
                "shipped": make_variant(cfg, batched=True, precision=shipped)}
    for step in variants.values():  # warm-up: oneDNN builds its kernels on first use
        for _ in range(3):
            step()
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.chunks):
        for name, step in variants.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.perf_counter() - t0) / args.steps)
    med = {name: statistics.median(s) for name, s in seconds.items()}
    ref = "one call per input, fp32 (same run, interleaved)"
    rows = [Row("reference step s", med["reference"], "s"),
            Row("batched calls step s (fp32)", med["batched"], "s", med["reference"], ref),
            Row(f"shipped step s (batched, {shipped})", med["shipped"], "s", med["reference"],
                ref)]
    title = (f"{args.config} --preset {args.preset}: one training step, batch "
             f"{cfg.data.batch_size} per domain, median of {args.chunks} chunks of "
             f"{args.steps} steps, {torch.get_num_threads()} threads")
    report(title, rows, args.json, torch.device("cpu"))


if __name__ == "__main__":
    main()
