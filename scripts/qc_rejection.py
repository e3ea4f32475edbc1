"""Fraction of slices a QC model rejects: real scans vs each translator's translations.

    python scripts/qc_rejection.py --data PHANTOM --qc runs/qc \\
        --translator gmm100=RUN_A --translator gmm800=RUN_B [--patients patient_006,patient_007]

Issue 7 asks whether QC tells an under-trained translator from a well-trained one. This scores
the real NC and CE scans of the named (held-out) patients -- QC's false alarms -- and both
directions of each translator on the same patients, and prints the rejected fraction and the
median score per row.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan
from ctbridge.qc import QualityControl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="phantom folder")
    parser.add_argument("--qc", type=Path, required=True, help="QC folder")
    parser.add_argument("--translator", action="append", default=[], help="NAME=RUN_DIR")
    parser.add_argument("--patients", default="patient_006,patient_007")
    parser.add_argument("--ce-phase", default="arterial")
    args = parser.parse_args()
    qc = QualityControl.load(args.qc)
    patients = args.patients.split(",")
    phase = {"nc": "nc", "ce": args.ce_phase}

    def source(domain: str, name: str):
        return read_scan(args.data / phase[domain] / f"{name}.nii.gz")

    rows: dict[str, list[np.ndarray]] = {}
    for domain in ("nc", "ce"):
        rows[f"real {domain}"] = [qc.score_slices(source(domain, n).array) for n in patients]
    for spec in args.translator:
        name, run = spec.split("=", 1)
        translator = Translator.from_checkpoint(run)
        for src, dst in (("nc", "ce"), ("ce", "nc")):
            rows[f"{name} {src}->{dst}"] = [
                qc.score_slices(translator.translate_scan(source(src, n), dst, source=src)
                                .scan.array) for n in patients]
    print(f"QC {args.qc} (threshold {qc.threshold:.3f}); patients {', '.join(patients)}")
    summary = {}
    for label, scores in rows.items():
        s = np.concatenate(scores)
        summary[label] = {"rejected": float(np.mean(s > qc.threshold)),
                          "median_score": float(np.median(s))}
        print(f"{label:24s} rejected {summary[label]['rejected']:.2f}  "
              f"median score {summary[label]['median_score']:.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
