"""Would a QC network that sees the source slice beside the candidate lose the patient effect?
(README "Quality control".)

    python scripts/qc_paired.py --data PHANTOM --out runs/qc_paired [--seeds 0,1,2] \
        [--set cohort.patients=24 --set val_patients=6]

A translated slice always comes with its source: the same patient's slice in the other phase.
The QC shipped today scores a slice alone, and its false alarms on real slices come in
patient-sized clumps (slim patients with much bowel gas score high). Here a QC of the same
architecture gets two more input channels, the twin slice (same patient and position, another
phase) and the candidate minus the twin, and learns real (slice, twin) pairs against (slice with
an artefact, clean twin) pairs on its own phantom cohort (the demo's QC settings: `cpu-small`,
every artefact kind, 400 steps). Each real slice of PHANTOM (both phases) is then judged with
its other-phase twin, as a translation would be judged with its source.

Printed per QC seed: false alarms on the held-out patients with the threshold calibrated on the
other patients (keeps 95%), cross-validated over the cohort (6 groups, range over them), and the
share of held-out slices caught when each carries an artefact of each kind at ``--strength``
(judged against its clean twin). The same numbers for today's single-slice QC are in the README
table it is compared with (`scripts/qc_calibration.py`, `scripts/qc_relative_scores.py`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ctbridge.config import parse_overrides
from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import IntensityScaler
from ctbridge.io import read_scan
from ctbridge.models.blocks import ConvNormAct, init_weights
from ctbridge.qc import qc_config
from ctbridge.qc.artefacts import KINDS, apply_artefact
from ctbridge.qc.dataset import AIR_HU, make_artefact, phantom_cohort, train_validation_split
from ctbridge.qc.metrics import cross_validated_false_alarms, keep_threshold
from ctbridge.qc.network import QCNet
from ctbridge.qc.train import LR_DECAY_START, LR_FLOOR, build_net
from ctbridge.training.schedule import learning_rate_factor

KEEP = 0.95


class PairedQCNet(QCNet):
    """QCNet whose input is ``(B, 2, H, W)``: the candidate and its twin; the network sees the
    candidate's own channels plus the twin and the candidate minus the twin."""

    @classmethod
    def from_single(cls, net: QCNet) -> PairedQCNet:
        net.__class__ = cls
        conv = net.features[0][0]  # the stem's Conv2d
        net.features[0] = ConvNormAct(conv.in_channels + 2, conv.out_channels, 3, norm="none",
                                      act="lrelu")
        init_weights(net.features[0])
        return net

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        own = super().inputs(x[:, :1])
        return torch.cat([own, x[:, 1:2], x[:, :1] - x[:, 1:2]], dim=1)


def slice_pairs(volumes: dict[str, list[np.ndarray]], patients: list[str], min_body: float,
                rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """(slice, twin from another phase at the same z, body, patient) for every usable slice."""
    out = []
    for name in patients:
        vols = volumes[name]
        bodies = [body_mask(v) for v in vols]
        for v, vol in enumerate(vols):
            for z in range(vol.shape[0]):
                if bodies[v][z].mean() < min_body:
                    continue
                u = int(rng.choice([i for i in range(len(vols)) if i != v]))
                out.append((vol[z].astype(np.float32), vols[u][z].astype(np.float32),
                            bodies[v][z], name))
    return out


def crop(arrays: list[np.ndarray], body: np.ndarray, size: int, rng: np.random.Generator
         ) -> tuple[list[np.ndarray], np.ndarray]:
    """The same ``size`` crop (centred on a random body pixel) of every array and the body."""
    pad = [(max(0, size - n),) * 2 for n in body.shape]
    arrays = [np.pad(a, pad, constant_values=AIR_HU) for a in arrays]
    body = np.pad(body, pad, constant_values=False)
    where = np.argwhere(body)
    cy, cx = where[int(rng.integers(len(where)))]
    y0 = int(np.clip(cy - size // 2, 0, body.shape[0] - size))
    x0 = int(np.clip(cx - size // 2, 0, body.shape[1] - size))
    box = (slice(y0, y0 + size), slice(x0, x0 + size))
    return [a[box] for a in arrays], body[box]


def to_input(scaler: IntensityScaler, cands: list[np.ndarray], twins: list[np.ndarray],
             bodies: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.stack([np.stack([c, t]) for c, t in zip(cands, twins, strict=True)])
    x = torch.from_numpy(np.asarray(scaler.to_model(x), np.float32))
    return x, torch.from_numpy(np.stack(bodies))[:, None]


def train(cfg, pairs, scaler: IntensityScaler) -> PairedQCNet:
    torch.manual_seed(cfg.seed)
    net = PairedQCNet.from_single(build_net(cfg, scaler))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: learning_rate_factor(
        s, cfg.steps, LR_DECAY_START, floor=LR_FLOOR))
    rng = np.random.default_rng(cfg.seed)
    half = cfg.batch_size // 2
    net.train()
    for step in range(cfg.steps):
        cands, twins, bodies, labels = [], [], [], []
        while len(labels) < 2 * half:
            hu, twin, body, _ = pairs[int(rng.integers(len(pairs)))]
            (hu, twin), body = crop([hu, twin], body, cfg.crop, rng)
            kind = cfg.train_kinds[int(rng.integers(len(cfg.train_kinds)))]
            bad = make_artefact(hu, body, kind, float(rng.uniform(*cfg.strength)), rng)
            if bad is None:
                continue
            cands += [hu, bad]
            twins += [twin, twin]
            bodies += [body, body]
            labels += [0.0, 1.0]
        x, b = to_input(scaler, cands, twins, bodies)
        loss = F.binary_cross_entropy_with_logits(net(x, b), torch.tensor(labels))  # (B,)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f"  step {step + 1} loss {loss.item():.4f}", flush=True)
    return net.eval()


@torch.no_grad()
def score(net: PairedQCNet, scaler: IntensityScaler, vol: np.ndarray, twin: np.ndarray,
          batch: int = 8) -> np.ndarray:
    """Logit of every slice of ``vol`` judged with the same slice of ``twin``."""
    body = body_mask(vol)
    out = []
    for s in range(0, vol.shape[0], batch):
        x, b = to_input(scaler, list(vol[s:s + batch]), list(twin[s:s + batch]),
                        list(body[s:s + batch]))
        out.append(net(x, b).numpy())
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="a paired phantom cohort")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--test", default="patient_006,patient_007")
    p.add_argument("--phases", default="nc,arterial")
    p.add_argument("--strength", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    torch.set_num_threads(2)
    phases = args.phases.split(",")
    test = args.test.split(",")
    names = [e["name"] for e in json.loads((args.data / "dataset.json").read_text())["patients"]]
    real = {(ph, n): read_scan(args.data / ph / f"{n}.nii.gz").array for ph in phases
            for n in names}
    twin_of = {phases[0]: phases[1], phases[1]: phases[0]}
    print("| QC seed | train s | false alarms, held-out | cross-validated (range) | caught: "
          + ", ".join(KINDS) + " |\n| --- | --- | --- | --- | --- |")
    for seed in (int(s) for s in args.seeds.split(",")):
        cfg = qc_config("cpu-small", {"held_out": [], "steps": args.steps, "seed": seed,
                                      "progress": False, **parse_overrides(args.set)})
        scaler = IntensityScaler(tuple(cfg.knots_hu), tuple(cfg.knots_model))
        t0 = time.perf_counter()
        volumes = phantom_cohort(cfg.cohort)
        train_names, _ = train_validation_split(list(volumes), cfg.val_patients, cfg.seed)
        pairs = slice_pairs(volumes, train_names, cfg.min_body_fraction,
                            np.random.default_rng(seed))
        net = train(cfg, pairs, scaler)
        seconds = time.perf_counter() - t0
        scores = {n: np.concatenate([score(net, scaler, real[ph, n], real[twin_of[ph], n])
                                     for ph in phases]) for n in names}
        margin = keep_threshold(np.concatenate([scores[n] for n in names if n not in test]), KEEP)
        held_out = float(np.mean(np.concatenate([scores[n] for n in test]) > margin))
        pooled, per_fold = cross_validated_false_alarms(scores, KEEP, folds=6)
        rng = np.random.default_rng(0)
        caught = []
        for kind in KINDS:
            flags = []
            for ph in phases:
                for n in test:
                    vol, body = real[ph, n], body_mask(real[ph, n])
                    bad = np.stack([apply_artefact(kind, s, args.strength, rng, body=b)
                                    for s, b in zip(vol, body, strict=True)])
                    flags.append(score(net, scaler, bad, real[twin_of[ph], n]) > margin)
            caught.append(float(np.mean(np.concatenate(flags))))
        print(f"| {seed} | {seconds:.0f} | {held_out:.1%} | {pooled:.1%} "
              f"({min(per_fold):.0%}-{max(per_fold):.0%}) | "
              + " / ".join(f"{c:.2f}" for c in caught) + " |", flush=True)


if __name__ == "__main__":
    main()
