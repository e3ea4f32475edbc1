"""One trainer for GMM-UNIT, UNIT and CycleGAN: alternating D and G Adam steps.

Everything model-specific lives behind :class:`~ctbridge.models.TranslationModel`; this file does
what every model needs: data, optimisers and their schedule, logging (CSV, TensorBoard, a
readable log, a progress bar), PNG samples, pickle-free checkpoints and bit-exact resume, and
data-parallel training under torchrun.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctbridge.config import save_config
from ctbridge.data.intensity import IntensityScaler
from ctbridge.data.patch_sampler import TrainingVolume, UnpairedPatchSampler, load_training_volume
from ctbridge.data.phase_contrast import HU_EDGES
from ctbridge.data.scan_summary import training_range
from ctbridge.data.sources import domain_scans, is_phantom_folder
from ctbridge.device import resolve_device, resolve_precision
from ctbridge.io.progress import progress_bar
from ctbridge.models import TranslationModel, build_model
from ctbridge.models import checkpoint as model_ckpt
from ctbridge.training import checkpoint as ckpt
from ctbridge.training import distributed as dist_utils
from ctbridge.training.config import TrainConfig
from ctbridge.training.figures import (
    component_map_figure,
    loss_curves,
    translation_grid,
)
from ctbridge.training.schedule import learning_rate_factor, log_to_file

log = logging.getLogger("ctbridge.train")
STATS_FILE = "stats.json"
PROGRESS_KEYS = ("d/total", "g/total", "g/recon", "g/cycle_recon", "g/cycle")


def intensity_stats(volumes: Mapping[str, list[TrainingVolume]], scaler: IntensityScaler
                    ) -> dict[str, dict[str, float]]:
    """HU percentiles inside the body per domain, kept with the checkpoint so that translation
    can warn about scans far outside what the model saw."""
    stats = {}
    for domain, vols in volumes.items():
        hu = np.concatenate([scaler.to_hu(v.values[v.body][::97]) for v in vols])
        stats[domain] = {f"p{q}": float(np.percentile(hu, q)) for q in (1, 5, 50, 95, 99)}
    return stats


class Trainer:
    """Train a translator on a phantom folder or a folder per domain.

    Args:
        config: the validated training config.
        data_root: phantom folder or folder with one sub-folder per domain.
        out_dir: run folder (config, logs, samples, checkpoints).
        resume: continue from ``out_dir/checkpoints/latest`` if it exists.
        progress: show a progress bar (rank 0 only).
    """

    def __init__(self, config: TrainConfig, data_root: str | Path, out_dir: str | Path, *,
                 resume: bool = False, progress: bool = True) -> None:
        self.config = config
        self.data_root = Path(data_root)
        self.out_dir = Path(out_dir)
        self.device = resolve_device(config.device)
        self.ctx = dist_utils.init_distributed(self.device)
        if self.device.type == "cuda" and self.ctx.enabled:
            self.device = torch.device("cuda", self.ctx.local_rank)
            torch.cuda.set_device(self.device)
        self.progress = progress and self.ctx.is_main
        self.precision = resolve_precision(config.precision, self.device)
        self.scaler = config.intensity.scaler()
        torch.manual_seed(config.seed)
        self.model: TranslationModel = build_model(config.model).to(self.device)
        self.memory_format = (torch.channels_last if config.channels_last
                              else torch.contiguous_format)
        self.model.to(memory_format=self.memory_format)
        dist_utils.broadcast_parameters(self.model, self.ctx)
        o = config.optim
        adam = dict(betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)
        self.optimizers = {
            "g": torch.optim.Adam(self.model.generator_parameters(), lr=o.lr, **adam),
            "d": torch.optim.Adam(self.model.discriminator_parameters(), lr=o.lr, **adam),
        }
        self.start_step = 0
        self._resume = resume
        self.volumes: dict[str, list[TrainingVolume]] = {}
        self.sampler: UnpairedPatchSampler | None = None

    # ----------------------------------------------------------------------------- set-up
    def _setup_logging(self) -> None:
        if not self.ctx.is_main:
            return
        log_to_file(log, self.out_dir / "train.log", "%(asctime)s %(levelname)s %(message)s")

    def _load_data(self) -> None:
        cfg = self.config
        scans = domain_scans(self.data_root, cfg.model.domains, phase_of=cfg.data.phase_of,
                             exclude=cfg.data.holdout, seed=cfg.data.split_seed, log=log)
        total = sum(len(v) for v in scans.values())
        bar = progress_bar(total=total, desc="loading scans", enabled=self.progress, leave=False)
        for domain, paths in scans.items():
            self.volumes[domain] = []
            for path in paths:
                self.volumes[domain].append(load_training_volume(path, self.scaler))
                bar.update()
            log.info("domain %s: %d scans: %s", domain, len(paths),
                     ", ".join(p.name for p in paths))
        bar.close()
        self.sampler = UnpairedPatchSampler(
            self.volumes, patch_size=cfg.data.patch_size, batch_size=cfg.data.batch_size,
            body_fraction=cfg.data.body_fraction, bright_fraction=cfg.data.bright_fraction,
            contrast_fraction=cfg.data.contrast_fraction,
            contrast_edges=self.scaler.to_model(np.asarray(HU_EDGES)),
            seed=cfg.seed, rank=self.ctx.rank, multiple_of=2 ** self.model.downsampling,
        )
        self.stats = {"domains": intensity_stats(self.volumes, self.scaler),
                      "training_data": self._training_range(),
                      "data_root": str(self.data_root),
                      "scans": {d: [str(p) for p in ps] for d, ps in scans.items()}}

    def _training_range(self) -> dict[str, Any]:
        """What the training scans look like (spacing, body area, body HU, region), kept in
        ``stats.json`` so translation can warn about scans far outside it
        (:mod:`ctbridge.data.scan_summary`). The phantom is an abdomen (liver dome to iliacs)."""
        region = "abdomen/pelvis" if is_phantom_folder(self.data_root) else ""
        summaries = {d: [{**v.summary, "region": v.summary["region"] or region}
                         for v in vols if v.summary is not None]
                     for d, vols in self.volumes.items()}
        return training_range(summaries)

    def _maybe_resume(self) -> None:
        latest = self.out_dir / "checkpoints" / "latest"
        if not (self._resume and (latest / model_ckpt.MODEL_FILE).is_file()):
            return
        model_ckpt.load_state_into(self.model, latest)
        state = ckpt.load_trainer_state(latest, self.optimizers)
        self.start_step = int(state["step"])
        log.info("resumed from %s at step %d", latest, self.start_step)

    # ----------------------------------------------------------------------------- steps
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _optimise(self, name: str, losses: Mapping[str, torch.Tensor]) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        dist_utils.average_gradients(
            (p for group in opt.param_groups for p in group["params"]), self.ctx)
        opt.step()

    def train_step(self, step: int) -> dict[str, float]:
        """One discriminator and one generator update on the batch of ``step``."""
        assert self.sampler is not None
        factor = learning_rate_factor(step, self.config.optim.steps, self.config.optim.decay_start)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = self.config.optim.lr * factor
        batch = {d: x.to(self.device, memory_format=self.memory_format, non_blocking=True)
                 for d, x in self.sampler.batch(step).items()}
        self.model.train()
        with self._autocast():
            d_losses = self.model.discriminator_losses(batch)
        self._optimise("d", d_losses)
        with self._autocast():
            g_losses = self.model.generator_losses(batch)
        self._optimise("g", g_losses)
        row = {f"d/{k}": float(v.detach()) for k, v in d_losses.items()}
        row.update({f"g/{k}": float(v.detach()) for k, v in g_losses.items()})
        row.update(self.model.stats())
        row["lr"] = self.config.optim.lr * factor
        return row

    def warm_up_discriminators(self) -> dict[str, float]:
        """``optim.d_warmup_steps`` discriminator-only steps on real patches (their own sampler
        stream), with the D optimiser; returns the mean loss and ranking accuracy of the last
        tenth of them."""
        assert self.sampler is not None
        steps = self.config.optim.d_warmup_steps
        self.model.train()
        tail: list[tuple[float, float]] = []
        bar = progress_bar(range(steps), desc="discriminator warm-up", enabled=self.progress,
                           leave=False)
        for s in bar:
            batch = {d: x.to(self.device, memory_format=self.memory_format)
                     for d, x in self.sampler.batch(s, stream=1).items()}
            with self._autocast():
                losses = self.model.discriminator_warmup_losses(batch)
            self._optimise("d", losses)
            if s >= steps - max(1, steps // 10):
                tail.append((float(losses["gan"]), float(losses["ranked"])))
        bar.close()
        loss, ranked = (float(v) for v in np.mean(tail, axis=0))
        log.info("discriminator warm-up: %d steps, loss %.4f, real ranked above other domain "
                 "%.3f", steps, loss, ranked)
        return {"loss": loss, "ranked": ranked}

    # ----------------------------------------------------------------------------- outputs
    def _checkpoint(self, next_step: int) -> None:
        if not self.ctx.is_main:
            return
        folder = self.out_dir / "checkpoints" / "latest"
        ckpt.save_checkpoint(folder, model=self.model,
                             config_tree=self.config.model_dump(mode="json"),
                             optimizers=self.optimizers, step=next_step)
        (folder / STATS_FILE).write_text(json.dumps(self.stats, indent=1))
        log.info("checkpoint at step %d -> %s", next_step, folder)

    @torch.no_grad()
    def write_samples(self, step: int) -> Path | None:
        """Whole middle slices of the first scan of each domain, translated to every other."""
        if not self.ctx.is_main:
            return None
        self.model.eval()
        m = 2 ** self.model.downsampling
        rows = []
        for src, vols in self.volumes.items():
            vol = vols[0]
            z = vol.slice_at(0.5)
            ny, nx = (s // m * m for s in vol.values.shape[1:])
            x = torch.from_numpy(vol.values[z, :ny, :nx].copy())[None, None].to(self.device)
            cols = [(f"real {src}", self.scaler.to_hu(x[0, 0].float().cpu().numpy()))]
            for dst in self.model.domains:
                if dst != src:
                    y = self.model.translate(x, src, dst)
                    hu = self.scaler.to_hu(y[0, 0].float().cpu().numpy())
                    cols.append((f"{src} -> {dst}", hu))
            rows.append((src, cols))
            if hasattr(self.model, "component_map") and src == self.model.domains[0]:
                comp = self.model.component_map(x, src)[0].cpu().numpy()
                component_map_figure(cols[0][1], comp, self.config.model.n_components,
                                     self.out_dir / "samples" / f"components_{step:07d}.png",
                                     title=f"{src} slice, step {step}")
        self.model.train()
        return translation_grid(rows, self.out_dir / "samples" / f"step_{step:07d}.png")

    def _log_row(self, writer: csv.DictWriter | None, row: dict[str, float], step: int,
                 tb: Any) -> None:
        if tb is not None:
            for key, value in row.items():
                tb.add_scalar(key, value, step)
        if writer is not None:
            writer.writerow({"step": step, **row})
            self._csv_file.flush()
        log.info("step %d %s", step, " ".join(f"{k}={v:.4g}" for k, v in row.items()))

    @contextlib.contextmanager
    def _metric_writers(self, first_row: Mapping[str, float]
                        ) -> Iterator[tuple[csv.DictWriter | None, Any]]:
        if not self.ctx.is_main:
            yield None, None
            return
        path = self.out_dir / "metrics.csv"
        fields = ["step", *first_row]
        new = not path.exists() or self.start_step == 0
        with path.open("w" if new else "a", newline="") as f:
            self._csv_file = f
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            tb = None
            if self.config.tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    tb = SummaryWriter(str(self.out_dir / "tensorboard"))
                except ImportError:
                    log.warning("tensorboard not installed; CSV only")
            try:
                yield writer, tb
            finally:
                if tb is not None:
                    tb.close()

    # ----------------------------------------------------------------------------- run
    def run(self, until: int | None = None) -> Path:
        """Train to ``optim.steps`` (or stop after step ``until``, with a checkpoint, as an
        interruption would); returns the latest checkpoint folder."""
        cfg = self.config
        end = cfg.optim.steps if until is None else min(until, cfg.optim.steps)
        self._setup_logging()
        if self.ctx.is_main:
            save_config(cfg, self.out_dir / "config.yaml")
        log.info("device %s (%s), world size %d, model %s (%d G / %d D parameters)",
                 self.device, self.precision, self.ctx.world_size, cfg.model.kind,
                 sum(p.numel() for p in self.model.generator_parameters()),
                 sum(p.numel() for p in self.model.discriminator_parameters()))
        self._load_data()
        self._maybe_resume()
        if self.start_step >= end:
            log.info("already trained to step %d of %d; raise optim.steps (--set "
                     "optim.steps=N) and --resume to train on", self.start_step, cfg.optim.steps)
            return self.out_dir / "checkpoints" / "latest"
        if self.start_step == 0 and cfg.optim.d_warmup_steps:
            self.warm_up_discriminators()
        bar = progress_bar(range(self.start_step, end), initial=self.start_step,
                           total=cfg.optim.steps, desc=f"train {cfg.model.kind}",
                           enabled=self.progress)
        t0 = time.perf_counter()
        first = self.train_step(self.start_step)
        with self._metric_writers(first) as (writer, tb):
            row = first
            for step in bar:
                if step > self.start_step:
                    row = self.train_step(step)
                if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.optim.steps:
                    row = {k: float(dist_utils.reduce_mean(torch.tensor(v), self.ctx))
                           for k, v in row.items()}
                    self._log_row(writer, row, step + 1, tb)
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in row.items()
                                     if k in PROGRESS_KEYS})
                if (step + 1) % cfg.sample_every == 0 or step + 1 == cfg.optim.steps:
                    self.write_samples(step + 1)
                    if writer is not None:
                        loss_curves(self.out_dir / "metrics.csv", self.out_dir / "curves.png")
                if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == end:
                    self._checkpoint(step + 1)
        bar.close()
        if self.ctx.is_main:
            loss_curves(self.out_dir / "metrics.csv", self.out_dir / "curves.png")
            done = end - self.start_step
            log.info("trained %d steps in %.1f s", done, time.perf_counter() - t0)
        dist_utils.shutdown(self.ctx)
        return self.out_dir / "checkpoints" / "latest"
