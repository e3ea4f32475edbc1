"""Which anatomy drives the QC's patient effect? (README "Quality control".)

    python scripts/qc_patient_features.py --data PHANTOM --qc runs/qc_seeds24 [--seeds 0,1,2]

For every patient of a phantom cohort: the median logit of the QC score over its real
non-contrast slices, and simple body statistics of the same scan (body area per slice, share of
fat, of gas and of bone inside the body, mean HU, spread of soft tissue, mean absolute
4-neighbour high-pass, 99.9th percentile). Prints the Spearman correlation of each statistic
with the median score, per QC seed (the QCs trained by ``scripts/qc_calibration.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ctbridge.data.body_mask import body_mask
from ctbridge.io import read_scan
from ctbridge.qc import QualityControl


def body_statistics(volume: np.ndarray) -> dict[str, float]:
    """Per-scan statistics of the body (HU volume (z, y, x))."""
    body = body_mask(volume)
    x = volume[body]
    soft = x[(x > 0) & (x < 100)]
    high_pass = volume - (np.roll(volume, 1, 1) + np.roll(volume, -1, 1)
                          + np.roll(volume, 1, 2) + np.roll(volume, -1, 2)) / 4
    return {"body area": float(body.sum(axis=(1, 2)).mean()),
            "fat": float(np.mean((x > -150) & (x < -50))),
            "gas": float(np.mean(x < -500)),
            "bone": float(np.mean(x > 200)),
            "mean HU": float(x.mean()),
            "soft-tissue std": float(soft.std()),
            "high-pass": float(np.abs(high_pass[body]).mean()),
            "p99.9": float(np.percentile(x, 99.9))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--qc", type=Path, required=True, help="folder of seedN QC models")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--phase", default="nc")
    args = p.parse_args()
    names = [e["name"] for e in json.loads((args.data / "dataset.json").read_text())["patients"]]
    volumes = {n: read_scan(args.data / args.phase / f"{n}.nii.gz").array for n in names}
    stats = {n: body_statistics(v) for n, v in volumes.items()}
    keys = list(stats[names[0]])
    print("| QC seed | " + " | ".join(keys) + " |")
    print("| --- |" + " --- |" * len(keys))
    for seed in args.seeds.split(","):
        qc = QualityControl.load(args.qc / f"seed{seed}")
        median = []
        for n in names:
            s = np.clip(qc.score_slices(volumes[n]), 1e-6, 1 - 1e-6)
            median.append(float(np.median(np.log(s / (1 - s)))))
        rho = [spearmanr(median, [stats[n][k] for n in names])[0] for k in keys]
        print(f"| {seed} | " + " | ".join(f"{r:+.2f}" for r in rho) + " |", flush=True)


if __name__ == "__main__":
    main()
