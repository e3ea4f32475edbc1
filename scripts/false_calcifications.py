"""Where does a translator invent calcium? List every false calcification of one patient.

A false calcification (``ctbridge.evaluation.plaque_metrics``) is a calcium component in the
vessel-wall ROI that touches no true plaque. The count alone does not say whether the
translator sprinkles bright noise, shifts the lumen edge or keeps contrast in the wall; this
prints, per direction, each component's size, slices, peak HU, the true and the source HU
there, and its distance to the lumen label (docs/method.md, Departure 4).

    python scripts/false_calcifications.py --model RUN --data PHANTOM --patient patient_006
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage

from ctbridge.evaluation.plaque_metrics import (
    LUMEN_NAMES,
    PlaqueRules,
    calcium_mask,
    dilate_inplane,
    lumen_mask,
    vessel_roi,
)
from ctbridge.evaluation.scan_scores import excluded_ids
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.inference.translator import Translator
from ctbridge.io import read_labelmap, read_scan


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="training run folder (a checkpoint)")
    p.add_argument("--data", required=True, help="phantom folder with labels and plaques")
    p.add_argument("--patient", default="patient_006", help="scan name, with or without .nii.gz")
    p.add_argument("--ce-phase", default="arterial")
    args = p.parse_args()
    name = args.patient if args.patient.endswith(".nii.gz") else f"{args.patient}.nii.gz"
    cohort = load_cohort(args.data, ce_phase=args.ce_phase)
    translator = Translator.from_checkpoint(args.model)
    ids = cohort.label_ids
    labels = read_labelmap(cohort.labels_path(name))
    plaques = read_labelmap(cohort.plaques_path(name)).astype(np.int32)
    rules = PlaqueRules()
    lumen = lumen_mask(labels, plaques, [ids[n] for n in LUMEN_NAMES if n in ids])
    exclude = np.isin(labels, excluded_ids(ids)) & (plaques == 0)
    roi = vessel_roi(lumen, plaques, rules.roi_px, exclude, rules.pv_px)
    near_plaque = dilate_inplane(plaques > 0, rules.touch_px)
    to_lumen = ndimage.distance_transform_edt(~lumen, sampling=(1e3, 1, 1))  # in-plane px
    for src, dst in (("nc", "ce"), ("ce", "nc")):
        scan = read_scan(cohort.scan_path(src, name))
        pred = translator.translate_scan(scan, dst, source=src).scan.array
        truth = read_scan(cohort.scan_path(dst, name)).array
        components, n = ndimage.label(calcium_mask(pred, roi, lumen, rules),
                                      structure=np.ones((3, 3, 3), bool))
        false = [c for c in range(1, n + 1) if not (near_plaque & (components == c)).any()]
        print(f"{src}->{dst}: lumen median {np.median(pred[lumen]):.0f} HU (truth "
              f"{np.median(truth[lumen]):.0f}), {len(false)} false calcification(s)")
        for c in false:
            m = components == c
            z = np.unique(np.nonzero(m)[0])
            print(f"  {int(m.sum())} voxel(s), slices {z.min()}-{z.max()}: peak "
                  f"{pred[m].max():.0f} HU, truth there {truth[m].mean():.0f}, source "
                  f"{scan.array[m].mean():.0f}; {to_lumen[m].min():.1f}-{to_lumen[m].max():.1f} px "
                  f"from the lumen")


if __name__ == "__main__":
    main()
