"""Is the paired ceiling of ``paired_bound.py`` the VGG/latent frame, or the task at this budget?

``paired_bound.py`` trains the translator's own networks with the answer and finds them short of
issue 14's body-MAE target into contrast in `cpu-small`'s minutes. This script asks the same of
a network built for image-to-image regression instead: MONAI's ``BasicUNet`` (skip connections
at every scale, no latent bottleneck), one per direction, predicting the change (output = input
+ U-Net(input), last layer zero at the start: the identity, like the translator's init). Same
paired patches and noise-keeping targets, same HU-aware L1, Adam, learning rate and linear
decay, batch, steps; scored exactly as an ablation row (bounds + smoothing, ``--test``) and
appended to ``OUT/ablation.jsonl``.

    python scripts/paired_unet_bound.py --data /tmp/ph0x36 --out runs/paired --name unet_4000 \
        --test patient_006.nii.gz,... [--steps 4000] [--features 8,16,32,64,64,8]

Not a translator ctbridge ships (a U-Net's skips bypass the shared latent that makes the method
unpaired); a measuring stick for what 32 x 32 patches and these minutes allow.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from monai.networks.nets import BasicUNet
from paired_bound import paired_data, record_row, summary_line, training_patients
from torch import nn
from tqdm import tqdm
from translation_ablation import score_directions

from ctbridge.config import load_config
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.inference.bounds import ContrastBounds
from ctbridge.inference.enhancement import EnhancementSmoothing
from ctbridge.inference.translator import Translator
from ctbridge.models import losses as L
from ctbridge.training.config import TrainConfig
from ctbridge.training.schedule import learning_rate_factor

DOMAINS = ("nc", "ce")


class ResidualUNetPair(nn.Module):
    """One residual BasicUNet per direction, with the translator interface inference uses."""

    domains = list(DOMAINS)
    downsampling = 4  # BasicUNet pools four times

    def __init__(self, features: tuple[int, ...], norm: str = "batch") -> None:
        super().__init__()
        self.nets = nn.ModuleDict({f"{s}2{d}": BasicUNet(spatial_dims=2, in_channels=1,
                                                         out_channels=1, features=features,
                                                         norm=None if norm == "none"
                                                         else (norm, {"affine": True}))
                                   for s in DOMAINS for d in DOMAINS if s != d})
        for net in self.nets.values():
            last = net.final_conv
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def translate(self, x: torch.Tensor, source: str, target: str, *,
                  sample: bool = False) -> torch.Tensor:
        if source == target:
            return x
        return x + self.nets[f"{source}2{target}"](x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--features", default="8,16,32,64,64,8")
    p.add_argument("--norm", default="batch", help="BasicUNet's norm: none, batch (running "
                   "statistics, so whole-slice inference sees what 32-px training saw) or "
                   "instance (MONAI's default: per-image statistics, which differ between a "
                   "patch and a slice)")
    p.add_argument("--preset", default="cpu-small", help="whose lr, batch and sampling to use")
    p.add_argument("--ce-phase", default="arterial")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()

    cfg = load_config(TrainConfig, Path("configs/gmm_unit.yaml"), preset=args.preset)
    torch.manual_seed(cfg.seed)
    cohort = load_cohort(args.data, ce_phase=args.ce_phase)
    holdout = args.test.split(",")
    patients = training_patients(cohort.names, holdout)
    scaler = cfg.intensity.scaler()
    _, sampler = paired_data(args.data, patients, {"nc": "nc", "ce": args.ce_phase}, cfg,
                             scaler, multiple_of=2 ** ResidualUNetPair.downsampling)

    model = ResidualUNetPair(tuple(int(f) for f in args.features.split(",")), args.norm)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr, betas=(0.5, 0.999),
                           weight_decay=cfg.optim.weight_decay)
    cap = cfg.model.recon_hu_weight_cap
    run_dir = args.out / args.name
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model.train()
    for step in tqdm(range(args.steps), disable=args.quiet):
        for group in opt.param_groups:
            group["lr"] = cfg.optim.lr * learning_rate_factor(step, args.steps,
                                                              cfg.optim.decay_start)
        batch = sampler.batch(step)
        loss = sum(L.reconstruction_loss(batch[f"target_{d}"],
                                         model.translate(batch[s], s, d),
                                         scaler.hu_weight(batch[f"target_{d}"], cap))
                   for s in DOMAINS for d in DOMAINS if s != d)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    translator = Translator(model, scaler, patch_size=cfg.data.patch_size, name="unet",
                            bounds=ContrastBounds("nc"), smoothing=EnhancementSmoothing())
    directions = score_directions(run_dir, args.name, cohort, holdout, args.quiet,
                                  translator=translator)
    row = {"name": args.name, "config": f"BasicUNet {args.features} {args.norm}",
           "preset": args.preset, "test": holdout, "set": [], "data": str(args.data),
           "steps": args.steps,
           "train_seconds": round(seconds, 1), "training_seconds": round(seconds, 1),
           "curve": [], "mode": "full", "bounds": True, "smooth": True, "paired": patients,
           "directions": directions}
    record_row(args.out / "ablation.jsonl", row)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.name}: BasicUNet {args.features} {args.norm} norm ({n_params} parameters, "
          "both directions), "
          f"{len(patients)} paired patients, {args.steps} steps, {seconds:.0f} s")
    print(summary_line(directions))


if __name__ == "__main__":
    main()
