"""Inference-only tries on saved translations (README "Averaging the weights, and what inference
alone can do"): blend the source's detail back into a translation, then score as evaluate does.

    python scripts/translation_detail_blend.py PHANTOM RUN/translations/NAME \
        "none;g:0.75;g:1;g:1.5;g:2;gf:2:400;gf:3:1000;med:3"

Variants: g:SIGMA (source + Gaussian of translation - source), gf:R:EPS (guided filter of the
difference, guide = translation, EPS in HU^2), med:SIZE (median of the difference). Not shipped.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from ctbridge.evaluation.scan_scores import aggregate
from ctbridge.evaluation.targets import check_targets
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.validation import score_scan_against_truth
from ctbridge.io import read_scan, write_scan

data, tdir = Path(sys.argv[1]), Path(sys.argv[2])
variants = sys.argv[3].split(";")
cohort = load_cohort(data)
hold = ["patient_006.nii.gz", "patient_007.nii.gz"]
out = Path(tempfile.mkdtemp(prefix="detail_blend_"))


def box(a, r):
    return ndi.uniform_filter(a, size=(1, 2 * r + 1, 2 * r + 1), mode="nearest")


def guided(guide, p, r, eps):
    mI, mp = box(guide, r), box(p, r)
    cov = box(guide * p, r) - mI * mp
    var = box(guide * guide, r) - mI * mI
    a = cov / (var + eps)
    b = mp - a * mI
    return box(a, r) * guide + box(b, r)


def fuse(S, T, v):
    if v == "none":
        return T
    kind, *ps = v.split(":")
    d = (T - S).astype(np.float64)
    if kind == "g":
        s = float(ps[0])
        return (S + ndi.gaussian_filter(d, (0, s, s))).astype(np.float32)
    if kind == "gf":  # guided filter of delta, guide = translation
        r, eps = int(ps[0]), float(ps[1])
        return (S + guided(T.astype(np.float64), d, r, eps)).astype(np.float32)
    if kind == "med":
        s = int(ps[0])
        return (S + ndi.median_filter(d, size=(1, s, s))).astype(np.float32)
    raise ValueError(v)


for src, dst in [("nc", "ce"), ("ce", "nc")]:
    tag = {"nc": "nc", "ce": "ce"}
    sub = tdir / f"{tag[src]}2{tag[dst]}"
    ident = aggregate(
        [score_scan_against_truth(cohort, p, cohort.scan_path(src, p), dst) for p in hold]
    )
    for v in variants:
        scans = []
        for p in hold:
            S = read_scan(cohort.scan_path(src, p))
            T = read_scan(sub / p)
            f = fuse(S.array.astype(np.float32), T.array.astype(np.float32), v)
            path = out / f"{p}"
            write_scan(S.with_array(f), path)
            scans.append(score_scan_against_truth(cohort, p, path, dst))
        agg = aggregate(scans)
        rows = check_targets(agg, ident, target_domain=dst)
        print(
            f"{tag[src]}2{tag[dst]} {v:12s} "
            + " | ".join(f"{r.name[:14]} {r.value:.2f}{'✓' if r.passed else '✗'}" for r in rows),
            flush=True,
        )
