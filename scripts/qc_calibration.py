"""False alarms of the demo's QC on real slices, per QC training seed, with the threshold set at
training and with the threshold calibrated on real slices of the demo cohort
(README "Quality control").

    python scripts/qc_calibration.py --data runs/demo/phantom --out runs/qc_seeds \
        [--seeds 0,1,2] [--test patient_006,patient_007] [--folds 6] [--set cohort.patients=24]

Each seed trains the demo's QC (`cpu-small`, every artefact kind, 400 steps) on its own phantom
cohort (reused when its folder exists) and scores every real slice of the demo cohort (both
phases) once. Reported: the false alarms on the demo's held-out patients with the training
threshold (95% of the QC cohort's validation slices) and with the threshold calibrated on the
other patients (what the demo does), and, because two patients are few and their slices are
correlated, the same calibration cross-validated: patients in ``--folds`` groups, each group's
slices judged by a threshold calibrated on all the other groups, pooled over every patient.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ctbridge.config import parse_overrides
from ctbridge.io import read_scan
from ctbridge.qc import QualityControl, qc_config
from ctbridge.qc.metrics import cross_validated_false_alarms, keep_threshold
from ctbridge.qc.train import train_qc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the demo's phantom folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--test", default="patient_006,patient_007")
    p.add_argument("--ce-phase", default="arterial")
    p.add_argument("--folds", type=int, default=6)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="QC config override on top of the demo's (e.g. cohort.patients=24)")
    args = p.parse_args()
    phases = ("nc", args.ce_phase)
    meta = json.loads((args.data / "dataset.json").read_text())
    names = [e["name"] for e in meta["patients"]]
    test = args.test.split(",")
    train = [n for n in names if n not in test]

    def volumes(patients: list[str]):
        return (read_scan(args.data / ph / f"{n}.nii.gz").array for ph in phases for n in patients)

    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        folder = args.out / f"seed{seed}"
        if not (folder / "qc.json").is_file():
            extra = parse_overrides(args.set)
            train_qc(qc_config("cpu-small", {"held_out": [], "steps": 400, "seed": seed,
                                             "progress": False, **extra}), folder)
        qc = QualityControl.load(folder)
        keep = 1.0 - qc.expected_false_alarms
        scores = {n: np.concatenate([qc.score_slices(v) for v in volumes([n])]) for n in names}
        held_out = np.concatenate([scores[n] for n in test])
        calibrated = keep_threshold(np.concatenate([scores[n] for n in train]), keep)
        pooled, alarms = cross_validated_false_alarms(scores, keep, args.folds)
        rows.append({"seed": seed, "threshold_training": qc.threshold,
                     "false_alarms_training": float(np.mean(held_out > qc.threshold)),
                     "threshold_calibrated": calibrated,
                     "false_alarms_calibrated": float(np.mean(held_out > calibrated)),
                     "false_alarms_all_training": float(np.mean(
                         np.concatenate(list(scores.values())) > qc.threshold)),
                     "false_alarms_cross_validated": pooled,
                     "fold_range": [float(min(alarms)), float(max(alarms))],
                     "held_out_slices": held_out.size})
        print(json.dumps(rows[-1]), flush=True)
    print("\n| QC seed | threshold at training | false alarms, held-out 2 | same, all 24 "
          "| calibrated threshold | false alarms, held-out 2 | cross-validated (range over "
          "folds) |\n| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        lo, hi = r["fold_range"]
        print(f"| {r['seed']} | {r['threshold_training']:.3f} | {r['false_alarms_training']:.1%} "
              f"| {r['false_alarms_all_training']:.1%} | {r['threshold_calibrated']:.3f} "
              f"| {r['false_alarms_calibrated']:.1%} | {r['false_alarms_cross_validated']:.1%} "
              f"({lo:.0%}-{hi:.0%}) |")
    for key in ("false_alarms_training", "false_alarms_all_training", "false_alarms_calibrated",
                "false_alarms_cross_validated"):
        values = np.array([r[key] for r in rows])
        print(f"{key}: {values.mean():.1%} ± {values.std():.1%} over {len(rows)} seeds")


if __name__ == "__main__":
    main()
