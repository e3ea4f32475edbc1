"""What the translator's own networks reach with perfect paired supervision: the paired
ceiling that the unpaired translators are compared with (docs/results.md).

The unpaired translators miss two targets on the phantom (body MAE into contrast <= 0.85 x no
translation; >= 90% of plaques still >= 130 HU out of contrast, <= 2 invented calcifications).
Is that the unpaired method, or the networks themselves: these encoders and generators, 32 x 32
patches, ~7 minutes of 2 CPU cores? This script trains the very same model (config, preset,
patch sampling, learning-rate schedule, precision) with the answer given: each patch of one
phase is paired with the same patient's same-location patch of the other, and the target is
the perfect translation that keeps the source's noise,

    target(src -> dst) = src (noisy, as written) + dst_noise_free - src_noise_free,

the oracle of ``scripts/translation_floor.py`` (16.9 HU on the demo cohort's 14 held-out
patients). The loss is the translation's HU-aware L1 to that target, both directions, with
no discriminator, reconstruction, KL or cycle term. The phantom re-renders each training
patient without noise (its noise has its own random stream). Paired training sees every
training patient in both phases, where the unpaired run gives each domain its own half: more
data, on purpose, for a ceiling.

The model is then scored exactly as an ablation row (bounds + smoothing, ``--test``) and
appended to ``OUT/ablation.jsonl``, so ``translation_ablation.py --table`` and
``--score-from`` work on it.

    python scripts/paired_bound.py --data /tmp/ph0x36 --out runs/paired --name paired \
        --preset cpu-small --test patient_006.nii.gz,... [--set optim.steps=N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctbridge.config import load_config
from ctbridge.data.intensity import IntensityScaler
from ctbridge.data.patch_sampler import TrainingVolume, UnpairedPatchSampler, load_training_volume
from ctbridge.data.phase_contrast import HU_EDGES
from ctbridge.experiments.ablation import record_row, score_directions, summary_line
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.models import losses as L
from ctbridge.phantom.dataset import render_patient
from ctbridge.training.config import TrainConfig
from ctbridge.training.schedule import learning_rate_factor
from ctbridge.training.trainer import Trainer, intensity_stats


class PairedPatchSampler(UnpairedPatchSampler):
    """Same-location patches of *one* patient in every domain, plus each domain's target.

    ``targets[d][i]`` is what patient ``i``'s scans of the other domains should translate
    into in domain ``d`` (two domains: one target each). The batch holds ``{d: x_d,
    "target_" + d: t_d}``.
    """

    def __init__(self, volumes: Mapping[str, Sequence[TrainingVolume]],
                 targets: Mapping[str, Sequence[np.ndarray]], **kwargs: Any) -> None:
        super().__init__(volumes, **kwargs)
        self.targets = {d: list(t) for d, t in targets.items()}

    def _sample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        first = self.domains[0]
        i = int(rng.integers(len(self.volumes[first])))
        chosen = {d: self.volumes[d][i] for d in self.domains}
        z = chosen[first].slice_at(rng.random())
        slices = {d: z for d in self.domains}
        centre = self._centre(rng, chosen, slices, {d: i for d in self.domains})
        out = {d: self._cut(v.values[z], centre) for d, v in chosen.items()}
        out.update({f"target_{d}": self._cut(self.targets[d][i][z], centre)
                    for d in self.domains})
        return out


def noise_keeping_targets(data: Path, patients: Sequence[str], phases: Mapping[str, str],
                          volumes: Mapping[str, Sequence[TrainingVolume]],
                          scaler: IntensityScaler) -> dict[str, list[np.ndarray]]:
    """Per domain, the perfect noise-keeping translation into it of each patient's other
    phase (model units): the other phase as loaded (``volumes[d][i]`` is ``patients[i]`` in
    domain ``d``) plus this phase's noise-free change, re-rendered from the phantom."""
    meta = json.loads((data / "dataset.json").read_text())
    entries = {p["name"]: p for p in meta["patients"]}
    (a, pa), (b, pb) = phases.items()
    targets: dict[str, list[np.ndarray]] = {a: [], b: []}
    for i, name in enumerate(patients):
        clean = render_patient(entries[name], meta, noise_hu=0.0)
        change = clean[pa].astype(np.float32) - clean[pb].astype(np.float32)  # b -> a
        targets[a].append(scaler.to_model(scaler.to_hu(volumes[b][i].values) + change)
                          .astype(np.float32))
        targets[b].append(scaler.to_model(scaler.to_hu(volumes[a][i].values) - change)
                          .astype(np.float32))
    return targets


def paired_data(data: Path, patients: Sequence[str], phases: Mapping[str, str],
                cfg: TrainConfig, scaler: IntensityScaler, *, rank: int = 0,
                multiple_of: int = 4) -> tuple[dict[str, list[TrainingVolume]],
                                               PairedPatchSampler]:
    """Every training patient's scan of each domain (``phases``: domain -> phase folder) and
    the sampler of paired patches with their noise-keeping targets, drawn as ``cfg.data``
    says."""
    volumes = {d: [load_training_volume(data / ph / f"{p}.nii.gz", scaler) for p in patients]
               for d, ph in phases.items()}
    targets = noise_keeping_targets(data, patients, phases, volumes, scaler)
    sampler = PairedPatchSampler(
        volumes, targets, patch_size=cfg.data.patch_size, batch_size=cfg.data.batch_size,
        body_fraction=cfg.data.body_fraction, bright_fraction=cfg.data.bright_fraction,
        contrast_fraction=cfg.data.contrast_fraction,
        contrast_edges=scaler.to_model(np.asarray(HU_EDGES)), seed=cfg.seed, rank=rank,
        multiple_of=multiple_of)
    return volumes, sampler


def training_patients(names: Sequence[str], holdout: Sequence[str]) -> list[str]:
    """The cohort's patients (``names``, file names) not held out, without ``.nii.gz``."""
    held = {h.removesuffix(".nii.gz") for h in holdout}
    return [n.removesuffix(".nii.gz") for n in names if n.removesuffix(".nii.gz") not in held]


class PairedBoundTrainer(Trainer):
    """The Trainer with paired patches and a supervised translation loss (no discriminator)."""

    def __init__(self, config: TrainConfig, data_root: Path, out_dir: Path,
                 patients: Sequence[str], **kwargs: Any) -> None:
        super().__init__(config, data_root, out_dir, **kwargs)
        self.patients = list(patients)

    def _load_data(self) -> None:
        cfg = self.config
        phases = {d: cfg.data.phase_of.get(d, d) for d in cfg.model.domains}
        self.volumes, self.sampler = paired_data(
            self.data_root, self.patients, phases, cfg, self.scaler, rank=self.ctx.rank,
            multiple_of=2 ** self.model.downsampling)
        self.stats = {"domains": intensity_stats(self.volumes, self.scaler),
                      "data_root": str(self.data_root), "paired_patients": self.patients}

    def train_step(self, step: int) -> dict[str, float]:
        assert self.sampler is not None
        factor = learning_rate_factor(step, self.config.optim.steps, self.config.optim.decay_start)
        for group in self.optimizers["g"].param_groups:
            group["lr"] = self.config.optim.lr * factor
        batch = {k: x.to(self.device, memory_format=self.memory_format)
                 for k, x in self.sampler.batch(step).items()}
        self.model.train()
        losses: dict[str, torch.Tensor] = {}
        with self._autocast():
            for src, dst in self.model.pairs():
                target = batch[f"target_{dst}"]
                pred = self.model.translate(batch[src], src, dst)
                losses[f"{src}2{dst}"] = L.reconstruction_loss(
                    target, pred.float(), self.model.recon_weight(target))
        losses["total"] = sum(losses.values())
        self._optimise("g", losses)
        row = {f"g/{k}": float(v.detach()) for k, v in losses.items()}
        row["lr"] = self.config.optim.lr * factor
        return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="phantom folder (nc + ce phase)")
    p.add_argument("--out", type=Path, required=True, help="folder of runs and ablation.jsonl")
    p.add_argument("--name", required=True, help="run sub-folder and row name")
    p.add_argument("--config", type=Path, default=Path("configs/gmm_unit.yaml"))
    p.add_argument("--preset", default="cpu-small")
    p.add_argument("--set", action="append", default=[], help="config override key=value")
    p.add_argument("--ce-phase", default="arterial")
    p.add_argument("--test", required=True, help="held-out patient files, comma-separated")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()

    cohort = load_cohort(args.data, ce_phase=args.ce_phase)
    holdout = args.test.split(",")
    cfg = load_config(TrainConfig, args.config, preset=args.preset, overrides=[
        *args.set, "optim.d_warmup_steps=0", "data.holdout=[" + ", ".join(holdout) + "]",
        f"data.phase_of={{ce: {args.ce_phase}}}"])
    patients = training_patients(cohort.names, holdout)
    run_dir = args.out / args.name
    t0 = time.perf_counter()
    PairedBoundTrainer(cfg, args.data, run_dir, patients, resume=True,
                       progress=not args.quiet).run()
    seconds = time.perf_counter() - t0
    directions = score_directions(run_dir, args.name, cohort, holdout, args.quiet)
    row = {"name": args.name, "config": str(args.config), "preset": args.preset, "test": holdout,
           "set": args.set, "data": str(args.data), "steps": cfg.optim.steps,
           "train_seconds": round(seconds, 1), "training_seconds": round(seconds, 1),
           "curve": [], "mode": "full", "bounds": True, "smooth": True,
           "paired": patients, "directions": directions}
    record_row(args.out / "ablation.jsonl", row)
    print(f"{args.name}: {len(patients)} paired patients, {cfg.optim.steps} steps, "
          f"{seconds:.0f} s")
    print(summary_line(directions))


if __name__ == "__main__":
    main()
