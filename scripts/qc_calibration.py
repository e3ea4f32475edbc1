"""False alarms of the demo's QC on real held-out slices, per QC training seed, before and after
calibrating its threshold on the translators' training patients (README "Quality control").

    python scripts/qc_calibration.py --data runs/demo/phantom --out runs/qc_seeds \
        [--seeds 0,1,2] [--test patient_006,patient_007]

Each seed trains the demo's QC (`cpu-small`, every artefact kind, 400 steps) on its own phantom
cohort (reused when its folder exists), then counts the held-out patients' real slices (both
phases) above the threshold set at training (95% of the QC cohort's validation slices) and above
the threshold calibrated on the other patients' real slices of the demo cohort.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ctbridge.io import read_scan
from ctbridge.qc import QualityControl, qc_config
from ctbridge.qc.train import train_qc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the demo's phantom folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--test", default="patient_006,patient_007")
    p.add_argument("--ce-phase", default="arterial")
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
            train_qc(qc_config("cpu-small", {"held_out": [], "steps": 400, "seed": seed,
                                             "progress": False}), folder)
        qc = QualityControl.load(folder)
        held_out = np.concatenate([qc.score_slices(v) for v in volumes(test)])
        at_training = qc.threshold
        record = qc.calibrate(volumes(train))
        rows.append({"seed": seed, "threshold_training": at_training,
                     "false_alarms_training": float(np.mean(held_out > at_training)),
                     "threshold_calibrated": qc.threshold,
                     "false_alarms_calibrated": float(np.mean(held_out > qc.threshold)),
                     "calibration_slices": record["slices"], "held_out_slices": held_out.size})
        print(json.dumps(rows[-1]), flush=True)
    print("\n| QC seed | threshold (training) | false alarms | threshold (calibrated) | "
          "false alarms |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['seed']} | {r['threshold_training']:.3f} | {r['false_alarms_training']:.1%} "
              f"| {r['threshold_calibrated']:.3f} | {r['false_alarms_calibrated']:.1%} |")
    for key in ("false_alarms_training", "false_alarms_calibrated"):
        values = np.array([r[key] for r in rows])
        print(f"{key}: {values.mean():.1%} ± {values.std():.1%} over {len(rows)} seeds "
              f"({rows[0]['held_out_slices']} held-out slices, "
              f"{rows[0]['calibration_slices']} calibration slices)")


if __name__ == "__main__":
    main()
