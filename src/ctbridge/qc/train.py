"""Train the QC network and measure it: ROC AUC on validation patients, per artefact kind.

Training sees only the training kinds (``QCConfig.train_kinds``); evaluation applies every kind
to the whole slices of the validation patients, so the AUC of the held-out kinds measures how
far the network generalises to artefacts it never saw. The rejection threshold is the score
that keeps ``keep_real`` of the validation real slices (the same slices the AUCs use: an AUC
does not depend on the threshold).

Outputs in ``QC_DIR``: ``model.safetensors``, ``qc.json`` (config, threshold, kinds, metrics),
``roc.png``, ``artefacts.png``, ``train.log``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ctbridge.data.intensity import IntensityScaler
from ctbridge.device import resolve_device
from ctbridge.io.outputs import to_jsonable
from ctbridge.io.progress import progress_bar
from ctbridge.qc.config import QCConfig
from ctbridge.qc.dataset import (
    ArtefactBatches,
    SliceSet,
    eval_artefacts,
    folder_volumes,
    phantom_cohort,
    slices_of,
    train_validation_split,
)
from ctbridge.qc.metrics import keep_threshold, roc_auc
from ctbridge.qc.model_io import save_qc
from ctbridge.qc.network import QCNet
from ctbridge.qc.score import QualityControl, score_batches
from ctbridge.training.schedule import learning_rate_factor, log_to_file

log = logging.getLogger("ctbridge.qc")


# measured on the tiny preset: a cosine decay over all 300 steps left the network underfit
# (noise-texture AUC 0.71 vs 0.93-0.97 with a constant rate, then a linear decay to 5% over the
# last 20% of the steps)
LR_DECAY_START, LR_FLOOR = 0.8, 0.05


def build_net(config: QCConfig, scaler: IntensityScaler) -> QCNet:
    """The QCNet of ``config``, its HU window and residual clip converted to model range."""
    m = config.model
    window = None if m.window_hu is None else [float(scaler.to_model(np.float64(v)))
                                               for v in m.window_hu]
    clip = None
    if m.residual_clip_hu is not None:  # slope of the scaler at soft tissue (40 HU)
        lo, hi = (float(scaler.to_model(np.float64(v))) for v in (40.0, 40.0 + m.residual_clip_hu))
        clip = hi - lo
    return QCNet(m.width, m.depth, m.norm, window=window, residual_clip=clip)


def evaluate(net: QCNet, scaler: IntensityScaler, val: SliceSet, config: QCConfig,
             device: torch.device) -> dict[str, Any]:
    """AUCs (seen, held-out, per kind) at each evaluation strength, threshold, detection rates.

    Returns a JSON-able dict; ``scores`` holds the raw scores for the ROC figure.
    """
    bs = max(1, config.batch_size // 2)
    real = score_batches(net, scaler, val.hu, val.body, device=device, batch_size=bs)
    threshold = keep_threshold(real, config.keep_real)
    out: dict[str, Any] = {"threshold": threshold, "real_slices": len(val),
                           "real_rejected": float(np.mean(real > threshold)),
                           "by_strength": {}, "scores": {"real": real.tolist()}}
    seen, held = config.train_kinds, config.held_out
    for strength in config.eval_strengths:
        per_kind: dict[str, dict[str, float | int]] = {}
        scores: dict[str, np.ndarray] = {}
        for kind in config.kinds:
            made = eval_artefacts(val, kind, strength, config.seed)
            keep = [i for i, a in enumerate(made) if a is not None]
            s = score_batches(net, scaler, [made[i] for i in keep], [val.body[i] for i in keep],
                              device=device, batch_size=bs)
            scores[kind] = s
            per_kind[kind] = {"auc": roc_auc(real, s), "slices": len(keep),
                              "detected": float(np.mean(s > threshold)) if len(s) else math.nan}
        pooled = {name: roc_auc(real, np.concatenate([scores[k] for k in group]))
                  if group else math.nan for name, group in (("seen", seen), ("held_out", held))}
        out["by_strength"][f"{strength:g}"] = {**pooled, "per_kind": per_kind}
        out["scores"][f"{strength:g}"] = {k: v.tolist() for k, v in scores.items()}
    return out


def _log_eval(metrics: dict[str, Any], config: QCConfig) -> list[str]:
    lines = [f"threshold {metrics['threshold']:.4f} (keeps {config.keep_real:.0%} of "
             f"{metrics['real_slices']} validation real slices; rejects "
             f"{metrics['real_rejected']:.1%} of them)"]
    for strength, m in metrics["by_strength"].items():
        lines.append(f"strength {strength}: ROC AUC seen {m['seen']:.3f}, held-out "
                     f"{m['held_out']:.3f}")
        for kind, k in m["per_kind"].items():
            tag = "held out" if kind in config.held_out else "seen"
            lines.append(f"  {kind:<20} {tag:<8} AUC {k['auc']:.3f}  detected "
                         f"{k['detected']:.1%} of {k['slices']} slices at the threshold")
    for line in lines:
        log.info(line)
    return lines


def train_qc(config: QCConfig, out: str | Path, data: str | Path | None = None
             ) -> tuple[QualityControl, dict[str, Any]]:
    """Train, evaluate and save a QC network into ``out``.

    Args:
        config: the QC config (see :func:`ctbridge.qc.config.qc_config` for presets).
        out: the QC folder (created).
        data: phantom folder or folder of scans the translator did not train on; None
            generates a phantom cohort (``config.cohort``) with a seed apart from the demo's.

    Returns:
        (the loaded :class:`QualityControl`, the metrics saved in ``qc.json``).
    """
    out = Path(out)
    handler = log_to_file(log, out / "train.log", mode="w")
    t0 = time.perf_counter()
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        device = resolve_device(config.device)
        scaler = IntensityScaler(tuple(config.knots_hu), tuple(config.knots_model))
        if data is None:
            log.info("data: phantom cohort, %d patients, %d px, %d slices, phases %s, seed %d",
                     config.cohort.patients, config.cohort.size, config.cohort.slices,
                     config.cohort.phases, config.cohort.seed)
            volumes = phantom_cohort(config.cohort, progress=config.progress)
        else:
            log.info("data: %s", data)
            volumes = folder_volumes(Path(data), progress=config.progress)
        train_names, val_names = train_validation_split(list(volumes), config.val_patients,
                                                        config.seed)
        train = slices_of(volumes, train_names, config.min_body_fraction)
        val = slices_of(volumes, val_names, config.min_body_fraction)
        log.info("patients: %d training (%d slices), %d validation (%d slices): %s",
                 len(train_names), len(train), len(val_names), len(val), val_names)
        log.info("artefacts in training: %s; held out: %s", config.train_kinds, config.held_out)

        net = build_net(config, scaler).to(device)
        log.info("QCNet %s, %d parameters, device %s", net.hparams,
                 sum(p.numel() for p in net.parameters()), device)
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: learning_rate_factor(
            s, config.steps, LR_DECAY_START, floor=LR_FLOOR))
        batches = ArtefactBatches(train, config.train_kinds, scaler, crop=config.crop,
                                  strength=config.strength, seed=config.seed,
                                  paired=config.paired)
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        bar = progress_bar(range(config.steps), desc="qc train", unit="step",
                           enabled=config.progress)
        for step in bar:
            x, body, y, _ = batches.batch(config.batch_size)
            x, body, y = x.to(device), body.to(device), y.to(device)
            logits = net(x, body)
            loss = F.binary_cross_entropy_with_logits(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int(((logits > 0).float() == y).sum())
            seen += len(y)
            if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
                msg = f"loss {loss_sum / seen:.4f} acc {correct / seen:.3f}"
                log.info("step %d %s lr %.2g", step + 1, msg, sched.get_last_lr()[0])
                bar.set_postfix_str(msg)
                loss_sum, correct, seen = 0.0, 0, 0
        train_s = time.perf_counter() - t0
        log.info("trained %d steps in %.1f s (%d no-op artefacts redrawn)", config.steps,
                 train_s, batches.no_ops)

        metrics = evaluate(net, scaler, val, config, device)
        _log_eval(metrics, config)
        scores = metrics.pop("scores")
        pixel_mm = (360.0 / config.cohort.size) if data is None else None
        info = {
            "threshold": metrics["threshold"], "keep_real": config.keep_real,
            "intensity": scaler.to_dict(), "kinds_seen": config.train_kinds,
            "kinds_held_out": list(config.held_out), "pixel_mm": pixel_mm,
            "data": str(data) if data is not None else "phantom cohort",
            "patients": {"train": train_names, "validation": val_names},
            "metrics": to_jsonable({**metrics, "train_seconds": round(train_s, 1),
                                     "total_seconds": None}),
            "config": config.model_dump(mode="json"),
        }
        from ctbridge.qc.figures import save_artefact_grid, save_roc

        qc = QualityControl(net.cpu(), scaler, metrics["threshold"], info)
        save_roc(out / "roc.png", scores, config)
        save_artefact_grid(out / "artefacts.png", qc, val, config)
        info["metrics"]["total_seconds"] = round(time.perf_counter() - t0, 1)
        save_qc(out, net, info)
        log.info("wrote %s in %.1f s", out, time.perf_counter() - t0)
        return qc, info["metrics"]
    finally:
        handler.close()
        log.handlers = []
