"""How low can a translation's body MAE go on the phantom? The noise floor of every MAE target.

The phantom's two phases carry independent noise (15 HU), which no translator can predict.
This script re-renders held-out patients of a phantom cohort with and without noise (the noise
has its own random stream, so the anatomy is the same bytes) and scores three oracles against
the true target phase the way ``ctbridge evaluate`` does (body MAE):

* no translation (the source scan itself);
* a perfect translation that keeps the source's noise: the noise-free target phase plus the
  source's own noise, i.e. what a translator with realistic texture reaches at best;
* a perfect noise-free translation (the target's noise-free phase): the floor of a denoiser.

With ``--translations DIR`` (a folder with ``nc2ce/`` and ``ce2nc/`` NIfTIs, as
``translation_ablation.py`` writes) it also splits each translation's error: MAE against the
noise-free truth, and the correlation of its residual with the source's noise (how much of the
source's noise the translator carries over). With ``--by-label`` it also prints, per phantom
label, what that label adds to the body MAE (its summed error over the body's pixel count) for
the translation and for the perfect noisy oracle: where the excess over the floor lives. With
``--noise-split`` it fits, inside eroded homogeneous tissues, translation - noise-free truth =
bias + slope x source noise + rest: slope 1 carries the source's noise over unchanged, and the
rest's standard deviation is texture the translator made up (the phantom's tissues are flat
before noise, so a perfect translation has bias 0, slope 1, rest 0); per patient, then the mean
over patients. With ``--plaques`` it scores the plaques of the oracles as ``ctbridge
evaluate`` does (share still >= 130 HU, recall, peak error, invented calcifications), mean over
patients: how many plaques a translation that keeps the source's noise can keep.

    python scripts/translation_floor.py --data /tmp/ph0big \
        --test patient_006,patient_007 [--plaques] [--translations runs/abl/NAME/translations/NAME
        [--by-label] [--noise-split]]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from ctbridge.data.body_mask import body_mask
from ctbridge.evaluation.image_metrics import mae_hu
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from ctbridge.io import read_labelmap, read_scan
from ctbridge.phantom.dataset import render_patient


def by_label(pred: np.ndarray, oracle: np.ndarray, truth: np.ndarray, body: np.ndarray,
             labels: np.ndarray, names: dict[str, int]) -> dict[str, tuple[float, float, float]]:
    """Per label: (body share, what it adds to the translation's body MAE, what it adds to the
    perfect noisy oracle's), in HU over the body's pixel count."""
    n = body.sum()
    out = {}
    for label, value in sorted(names.items(), key=lambda kv: kv[1]):
        inside = body & (labels == value)
        if inside.any():
            out[label] = (float(inside.sum() / n), float(np.abs(pred - truth)[inside].sum() / n),
                          float(np.abs(oracle - truth)[inside].sum() / n))
    return out


def print_by_label(rows: dict[str, tuple[float, float, float]], *, by_excess: bool = False
                   ) -> None:
    """The table of :func:`by_label` (labels by id, or by excess over the oracle, largest
    first), with the total excess."""
    print("    label | body share | translation adds | oracle adds | excess")
    order = sorted(rows, key=lambda k: rows[k][2] - rows[k][1]) if by_excess else list(rows)
    for label in order:
        share, ours, ideal = rows[label]
        print(f"    {label} | {share:.3f} | {ours:.2f} | {ideal:.2f} | {ours - ideal:+.2f}")
    print(f"    total excess | | | | {sum(o - i for _, o, i in rows.values()):+.2f}")


NOISE_SPLIT_TISSUES = ("fat", "muscle", "liver", "spleen", "kidney_left_cortex", "aorta",
                       "bowel_content")


def tissue_masks(labels: np.ndarray, names: dict[str, int]) -> dict[str, np.ndarray]:
    """The noise-split tissues, eroded 5 x 5 in-plane, where they have >= 50 pixels."""
    masks = {t: ndimage.binary_erosion(labels == names[t], np.ones((1, 5, 5), bool))
             for t in NOISE_SPLIT_TISSUES}
    return {t: m for t, m in masks.items() if m.sum() >= 50}


def noise_split(pred: np.ndarray, clean_truth: np.ndarray, source_noise: np.ndarray,
                masks: dict[str, np.ndarray]) -> dict[str, tuple[float, float, float]]:
    """Per tissue: the bias, the slope on the source's noise and the standard deviation of
    what is left of translation - noise-free truth (HU)."""
    out = {}
    for tissue, inside in masks.items():
        noise, residual = source_noise[inside], pred[inside] - clean_truth[inside]
        centred = residual - residual.mean()
        slope = float((noise * centred).sum() / (noise * noise).sum())
        out[tissue] = (float(residual.mean()), slope, float((centred - slope * noise).std()))
    return out


def print_noise_split(rows: dict[str, tuple[float, float, float]]) -> None:
    print("    tissue | bias | slope on source noise | made-up std")
    for tissue, (bias, slope, rest) in rows.items():
        print(f"    {tissue} | {bias:+.1f} | {slope:.2f} | {rest:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="phantom cohort (dataset.json)")
    ap.add_argument("--test", default="patient_006,patient_007")
    ap.add_argument("--translations", type=Path, help="folder with nc2ce/ and ce2nc/")
    ap.add_argument("--by-label", action="store_true",
                    help="split the translation's body MAE by phantom label")
    ap.add_argument("--noise-split", action="store_true",
                    help="per tissue: bias, slope on the source's noise, made-up texture")
    ap.add_argument("--plaques", action="store_true",
                    help="score the oracles' plaques as `ctbridge evaluate` does")
    args = ap.parse_args()
    if (args.by_label or args.noise_split) and not args.translations:
        ap.error("--by-label / --noise-split split a translation's error: give --translations")
    meta = json.loads((args.data / "dataset.json").read_text())
    contrast = next(p for p in meta["phases"] if p != "nc")
    by_name = {p["name"]: p for p in meta["patients"]}
    print("patient | direction | none | perfect + source noise | perfect, noise-free"
          + (" | translation | vs noise-free truth | residual~source noise" if
             args.translations else ""))
    split_rows: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    label_rows: dict[str, list[dict[str, tuple[float, float, float]]]] = {}
    plaque_scores: dict[tuple[str, str], list[dict]] = {}
    for name in args.test.split(","):
        noisy, clean = (render_patient(by_name[name], meta, n) for n in (meta["noise_hu"], 0.0))
        labels = (read_scan(args.data / "labels" / f"{name}.nii.gz").array.astype(int)
                  if args.by_label or args.noise_split or args.plaques else None)
        masks = tissue_masks(labels, meta["labels"]) if args.noise_split else {}
        if args.plaques:  # read once per patient, used by both directions
            plaques = read_labelmap(args.data / "plaques" / f"{name}.nii.gz")
            spacing = read_scan(args.data / "nc" / f"{name}.nii.gz").spacing
        for src, dst, folder in (("nc", contrast, "nc2ce"), (contrast, "nc", "ce2nc")):
            truth = noisy[dst]
            body = body_mask(truth)
            source_noise = noisy[src] - clean[src]
            cells = [mae_hu(v, truth, body) for v in
                     (noisy[src], clean[dst] + source_noise, clean[dst])]
            if args.translations:
                pred = read_scan(args.translations / folder / f"{name}.nii.gz").array
                residual = pred - clean[dst]
                cells += [mae_hu(pred, truth, body), mae_hu(pred, clean[dst], body),
                          float(np.corrcoef(residual[body], source_noise[body])[0, 1])]
            print(f"{name} | {src}->{dst} | " + " | ".join(f"{c:.2f}" for c in cells))
            if args.plaques:
                for oracle, volume in (("none", noisy[src]),
                                       ("perfect + source noise", clean[dst] + source_noise),
                                       ("perfect, noise-free", clean[dst])):
                    plaque_scores.setdefault((f"{src}->{dst}", oracle), []).append(
                        evaluate_scan(name, volume, truth, labels, plaques, meta["labels"],
                                      spacing, body))
            if args.noise_split:
                rows = noise_split(pred, clean[dst], source_noise, masks)
                print_noise_split(rows)
                for tissue, row in rows.items():
                    split_rows.setdefault((f"{src}->{dst}", tissue), []).append(row)
            if args.by_label:
                rows_l = by_label(pred, clean[dst] + source_noise, truth, body, labels,
                                  meta["labels"])
                print_by_label(rows_l)
                label_rows.setdefault(f"{src}->{dst}", []).append(rows_l)

    if plaque_scores:
        print("mean over patients | direction | oracle | >= 130 HU | recall | peak error | "
              "invented calcifications")
    for (direction, oracle), scans in plaque_scores.items():
        agg = aggregate(scans)["plaques"]
        cells = [agg[k]["mean"] for k in ("calcified_pred", "recall_pred",
                                          "peak_rel_error_median", "false_calcifications_pred")]
        print(f"mean over patients | {direction} | {oracle} | "
              + " | ".join("-" if c is None else f"{c:.2f}" for c in cells))
    for direction, per_patient in label_rows.items():  # a label missing in a patient adds 0
        print(f"mean over patients | {direction} | where the excess over the floor lives")
        names = dict.fromkeys(k for rows in per_patient for k in rows)
        print_by_label({k: tuple(float(np.mean([rows.get(k, (0.0, 0.0, 0.0))[i]
                                                for rows in per_patient])) for i in range(3))
                        for k in names}, by_excess=True)
    for direction in dict.fromkeys(d for d, _ in split_rows):
        print(f"mean over patients | {direction}")
        print_noise_split({t: tuple(np.mean(rows, axis=0)) for (d, t), rows in
                           split_rows.items() if d == direction})


if __name__ == "__main__":
    main()
