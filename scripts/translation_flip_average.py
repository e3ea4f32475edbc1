"""Inference-only try (README "Averaging the weights, and what inference alone can do"): average
the translations of flipped copies of each held-out scan, then score as evaluate does.

    python scripts/translation_flip_average.py PHANTOM RUN

Not shipped: it breaks the lumen into contrast.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from ctbridge.evaluation.scan_scores import aggregate
from ctbridge.evaluation.targets import check_targets
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.validation import score_scan_against_truth
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan, write_scan

torch.set_num_threads(2)
data, model = Path(sys.argv[1]), Path(sys.argv[2])
flipsets = {"id": [()], "lr": [(), (2,)], "lrud": [(), (2,), (1,), (1, 2)]}
cohort = load_cohort(data)
tr = Translator.from_checkpoint(model)
hold = ["patient_006.nii.gz", "patient_007.nii.gz"]
out = Path(tempfile.mkdtemp(prefix="flip_average_"))
for src, dst in [("nc", "ce"), ("ce", "nc")]:
    ident = aggregate(
        [score_scan_against_truth(cohort, p, cohort.scan_path(src, p), dst) for p in hold]
    )
    cache = {}
    for p in hold:
        S = read_scan(cohort.scan_path(src, p))
        for f in [(), (2,), (1,), (1, 2)]:
            a = np.flip(S.array, f).copy() if f else S.array
            t = tr.translate_scan(S.with_array(a), dst, source=src).scan.array
            cache[p, f] = np.flip(t, f).copy() if f else t
    for name, fs in flipsets.items():
        scans = []
        for p in hold:
            S = read_scan(cohort.scan_path(src, p))
            avg = np.mean([cache[p, f] for f in fs], axis=0).astype(np.float32)
            path = out / p
            write_scan(S.with_array(avg), path)
            scans.append(score_scan_against_truth(cohort, p, path, dst))
        rows = check_targets(aggregate(scans), ident, target_domain=dst)
        print(
            f"{src}2{dst} {name:6s} "
            + " | ".join(f"{r.name[:14]} {r.value:.2f}{'✓' if r.passed else '✗'}" for r in rows),
            flush=True,
        )
