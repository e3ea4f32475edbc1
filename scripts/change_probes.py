"""Inference-only probes of issue 43 (kept for one commit, see docs/research-log.md).

Re-scores a finished ablation run's cached translations after a post-process of the change
(translation - source), and prints the per-structure change of a few patients:

    python scripts/change_probes.py --run runs/abl43/vgg_s0 --data PHANTOM36 --variant zmed
    python scripts/change_probes.py --run runs/abl43/vgg_s0 --data PHANTOM36 --structures

Variants: ``pool`` (each connected region whose change is >= 150 HU, opened and hole-filled,
takes its median change, pixels far from the region's source median left out), ``guided``
(guided filter of the change with the source as guide, r 2 px, eps (25 HU)^2), ``zmed`` (the
median change over +-3 slices among those whose source is within 40 HU). Each is followed by
the physical bounds. ``--soft`` translates again decoding the responsibility-weighted mean of
the mixture components instead of the most responsible one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ctbridge.data.body_mask import body_mask
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from ctbridge.evaluation.tissue_metrics import erode_inplane
from ctbridge.experiments.ablation import SUMMARY, score_directions, summary_value
from ctbridge.experiments.downstream.cohort import Cohort, load_cohort
from ctbridge.io import read_labelmap, read_scan
from ctbridge.models.guided import guided_filter
from ctbridge.models.latent import MixtureLatent

STRUCTURES = ("aorta", "iliac", "ivc", "kidney_left_cortex", "kidney_left_medulla", "spleen",
              "bowel", "muscle")


def pool(src: np.ndarray, change: np.ndarray, sign: int) -> np.ndarray:
    out = change.copy()
    disk = ndimage.generate_binary_structure(2, 1)
    for z in range(src.shape[0]):
        region = ndimage.binary_fill_holes(ndimage.binary_opening(change[z] * sign >= 150, disk))
        lab, n = ndimage.label(region)
        for i in range(1, n + 1):
            m = lab == i
            if m.sum() < 12:
                continue
            m &= np.abs(src[z] - np.median(src[z][m])) <= 60
            out[z][m] = np.median(change[z][m])
    return out


def guided(src: np.ndarray, change: np.ndarray, sign: int) -> np.ndarray:
    g, c = torch.from_numpy(src)[:, None], torch.from_numpy(change)[:, None]
    return guided_filter(g, c, radius=2, eps=25.0 ** 2)[:, 0].numpy()


def zmed(src: np.ndarray, change: np.ndarray, sign: int, k: int = 3, tol: float = 40.0
         ) -> np.ndarray:
    stack, near = [], []
    for dz in range(-k, k + 1):
        idx = np.clip(np.arange(src.shape[0]) + dz, 0, src.shape[0] - 1)
        stack.append(change[idx])
        near.append(np.abs(src[idx] - src) <= tol)
    return np.nanmedian(np.where(np.stack(near), np.stack(stack), np.nan), axis=0)


VARIANTS = {"pool": pool, "guided": guided, "zmed": zmed}


def rescore(cache: Path, cohort: Cohort, variant: str) -> dict[str, dict[str, float | None]]:
    out = {}
    for s, d, sign in (("nc", "ce", 1), ("ce", "nc", -1)):
        scans = []
        for path in sorted((cache / f"{s}2{d}").glob("patient_*.nii.gz")):
            p = path.name
            truth = read_scan(cohort.scan_path(d, p))
            src = read_scan(cohort.scan_path(s, p)).array.astype(np.float32)
            pred = read_scan(path).array.astype(np.float32)
            pred = src + VARIANTS[variant](src, pred - src, sign)
            pred = np.maximum(pred, src) if sign > 0 else np.minimum(pred, src)
            pred = np.where(src <= -50, src, pred)  # fat and gas copied
            scans.append(evaluate_scan(p, pred, truth.array, read_labelmap(cohort.labels_path(p)),
                                       read_labelmap(cohort.plaques_path(p)), cohort.label_ids,
                                       truth.spacing, body_mask(truth.array), source_hu=src))
        agg = aggregate(scans)
        out[f"{s}2{d}"] = {k: summary_value(agg, path) for k, path in SUMMARY.items()}
    return out


def structures(cache: Path, cohort: Cohort, patients: list[str]) -> None:
    """Median change (truth T, translation P) and the translation's change std per structure."""
    for p in patients:
        pred = read_scan(cache / "nc2ce" / p).array.astype(np.float32)
        src = read_scan(cohort.scan_path("nc", p)).array.astype(np.float32)
        truth = read_scan(cohort.scan_path("ce", p)).array.astype(np.float32)
        labels = read_labelmap(cohort.labels_path(p))
        row = [p]
        for name in STRUCTURES:
            m = erode_inplane(labels == cohort.label_id(name), 1)
            if m.sum() >= 5:
                row.append(f"{name} T{np.median(truth[m] - src[m]):.0f} "
                           f"P{np.median(pred[m] - src[m]):.0f} sd{(pred[m] - src[m]).std():.0f}")
        print(" | ".join(row))


def soft_mean(self: MixtureLatent, features: torch.Tensor, domain_index: int) -> torch.Tensor:
    post = self.posterior(features, domain_index)
    r = torch.softmax(self.log_responsibilities(post), dim=1)  # (B, K, h, w)
    return (post.means * r[:, :, None]).sum(1).to(features.dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--variant", choices=sorted(VARIANTS))
    ap.add_argument("--structures", action="store_true")
    ap.add_argument("--soft", action="store_true")
    args = ap.parse_args()
    cohort = load_cohort(args.data)
    cache = args.run / "translations" / args.run.name
    patients = sorted(p.name for p in (cache / "nc2ce").glob("patient_*.nii.gz"))
    if args.structures:
        structures(cache, cohort, patients[:4])
    if args.variant:
        for direction, row in rescore(cache, cohort, args.variant).items():
            print(args.variant, direction, {k: None if v is None else round(v, 3)
                                            for k, v in row.items()})
    if args.soft:
        MixtureLatent.most_responsible_mean = soft_mean  # type: ignore[method-assign]
        out = score_directions(args.run, "soft", cohort, patients, quiet=True)
        for direction, v in out.items():
            print("soft", direction, {k: None if x is None else round(x, 3)
                                      for k, x in v["summary"].items()})


if __name__ == "__main__":
    main()
