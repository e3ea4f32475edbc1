"""Would a QC score taken relative to the source slice lose the patient effect? (README
"Quality control".)

    python scripts/qc_relative_scores.py --data PHANTOM --qc runs/qc_seeds24 [--seeds 0,1,2]

A translated slice always has a real source: the same patient's slice in the other phase. This
scores every real slice of both phases of a paired phantom cohort with the QCs trained by
``scripts/qc_calibration.py`` (folders ``seedN``), and treats each real slice as if it were a
translation of its other-phase twin. Rules compared, all on the score's logit, each with a margin
that keeps 95% of the training patients' slices (all but ``--test``):

* ``none``: the slice's own score (what ctbridge does today);
* ``pair``: minus the twin slice's score;
* ``pair3``: minus the mean score of the twin and its two neighbours;
* ``median``: minus the median score of the twin volume.

Printed per rule: false alarms on the held-out patients, cross-validated over the cohort (6
groups as in ``qc_calibration.py``, each judged by a margin from the other patients) with the
range over the groups, and the share of the held-out slices caught when each carries an
artefact of each kind at ``--strength`` (the artefacted slice judged against its clean twin,
as a translation would be).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

from ctbridge.data.body_mask import body_mask
from ctbridge.io import read_scan
from ctbridge.qc import QualityControl
from ctbridge.qc.artefacts import KINDS, apply_artefact
from ctbridge.qc.metrics import cross_validated_false_alarms, keep_threshold

KEEP = 0.95

REFERENCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda twin: np.zeros_like(twin),
    "pair": lambda twin: twin,
    "pair3": lambda twin: uniform_filter1d(twin, 3, mode="nearest"),
    "median": lambda twin: np.full_like(twin, np.median(twin)),
}


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="a paired phantom cohort")
    p.add_argument("--qc", type=Path, required=True, help="folder of seedN QC models")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--test", default="patient_006,patient_007")
    p.add_argument("--phases", default="nc,arterial")
    p.add_argument("--strength", type=float, default=0.5)
    args = p.parse_args()
    phases = args.phases.split(",")
    twin_of = {phases[0]: phases[1], phases[1]: phases[0]}
    test = args.test.split(",")
    names = [e["name"] for e in json.loads((args.data / "dataset.json").read_text())["patients"]]
    volumes = {(ph, n): read_scan(args.data / ph / f"{n}.nii.gz").array
               for ph in phases for n in names}
    rng = np.random.default_rng(0)
    damaged = {}  # (phase, patient) -> kind -> the held-out volume, every slice damaged
    for key in [(ph, n) for ph in phases for n in test]:
        body = body_mask(volumes[key])
        damaged[key] = {kind: np.stack([apply_artefact(kind, s, args.strength, rng, body=b)
                                        for s, b in zip(volumes[key], body, strict=True)])
                        for kind in KINDS}
    print("| QC seed | rule | false alarms, held-out | cross-validated (range) | caught: "
          + ", ".join(KINDS) + " |")
    print("| --- | --- | --- | --- | --- |")
    for seed in args.seeds.split(","):
        qc = QualityControl.load(args.qc / f"seed{seed}")
        score = {k: logit(qc.score_slices(v)) for k, v in volumes.items()}
        bad = {key: {kind: logit(qc.score_slices(v)) for kind, v in d.items()}
               for key, d in damaged.items()}
        for rule, reference in REFERENCES.items():
            relative = {n: np.concatenate([score[(ph, n)] - reference(score[(twin_of[ph], n)])
                                           for ph in phases]) for n in names}
            margin = keep_threshold(np.concatenate([relative[n] for n in names
                                                    if n not in test]), KEEP)
            held_out = float(np.mean(np.concatenate([relative[n] for n in test]) > margin))
            _, per_fold = cross_validated_false_alarms(relative, KEEP, folds=6)
            caught = [np.mean(np.concatenate(
                [bad[(ph, n)][kind] - reference(score[(twin_of[ph], n)]) > margin
                 for ph in phases for n in test])) for kind in KINDS]
            print(f"| {seed} | {rule} | {held_out:.1%} | {np.mean(per_fold):.1%} "
                  f"({min(per_fold):.0%}-{max(per_fold):.0%}) | "
                  + " / ".join(f"{c:.2f}" for c in caught) + " |", flush=True)


if __name__ == "__main__":
    main()
