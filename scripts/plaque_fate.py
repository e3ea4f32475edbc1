"""Which plaques does a translation keep? One line per plaque of the held-out phantom patients.

For every plaque of ``dataset.json``: its true peak HU in both phases, whether it touches the
lumen, its size, and the peak HU the translation gives its voxels, marked LOST when a
translation out of contrast leaves it below 130 HU (the calcium threshold). Sorted by the true
non-contrast peak, so the pattern (small plaques, plaques in the wall) is plain to read.

Out of contrast, the last column asks whether the contrast-phase *input* can show the plaque at
all: the share of lumen and wall voxels within 5 px of it (same slice, plaques left out) that
are at least as bright in the true contrast scan as the plaque's own peak there. A plaque that
is the brightest thing around has 0; one that reads darker than most of the contrast-filled
lumen next to it (a small, faint plaque) reads like the lumen's own partial-volume edge, so its
HU alone does not say calcium. The summary compares lost and kept plaques.

    python scripts/plaque_fate.py --data /tmp/ph0big \
        --translations runs/abl/NAME/translations/NAME [--direction ce2nc|nc2ce]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from ctbridge.io import read_labelmap, read_scan

CALCIUM_HU = 130.0
NEAR_PX = 5  # neighbourhood of a plaque in which its contrast-phase rank is read


def brighter_neighbours(plaque: np.ndarray, vessel: np.ndarray, contrast_hu: np.ndarray
                        ) -> float:
    """Share of ``vessel`` voxels within NEAR_PX (in-plane) of ``plaque`` at least as bright in
    ``contrast_hu`` as the plaque's own peak there (0: the plaque stands out)."""
    near = ndimage.binary_dilation(plaque, np.ones((1, 2 * NEAR_PX + 1, 2 * NEAR_PX + 1), bool))
    near &= vessel
    if not near.any():
        return 0.0
    return float((contrast_hu[near] >= contrast_hu[plaque].max()).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="phantom cohort (dataset.json)")
    ap.add_argument("--translations", type=Path, required=True,
                    help="folder with nc2ce/ and ce2nc/")
    ap.add_argument("--direction", choices=("ce2nc", "nc2ce"), default="ce2nc")
    ap.add_argument("--test", default="patient_006,patient_007")
    args = ap.parse_args()
    meta = json.loads((args.data / "dataset.json").read_text())
    contrast = next(p for p in meta["phases"] if p != "nc")
    by_name = {p["name"]: p for p in meta["patients"]}
    ids = meta["labels"]
    vessel_ids = [int(ids[k]) for k in ("aorta", "iliac", "vessel_wall")]
    rows = []
    for name in args.test.split(","):
        plaques = read_labelmap(args.data / "plaques" / f"{name}.nii.gz")
        vessel = np.isin(read_labelmap(args.data / "labels" / f"{name}.nii.gz"), vessel_ids)
        vessel &= plaques == 0
        contrast_hu = read_scan(args.data / contrast / f"{name}.nii.gz").array
        pred = read_scan(args.translations / args.direction / f"{name}.nii.gz").array
        for entry in by_name[name]["plaques"]:
            voxels = plaques == entry["id"]
            if voxels.any():
                rows.append((entry["peak_hu"]["nc"], entry["peak_hu"][contrast],
                             float(pred[voxels].max()), entry["touches_lumen"],
                             int(voxels.sum()), name,
                             brighter_neighbours(voxels, vessel, contrast_hu)))
    print(f"patient | true NC peak | true {contrast} peak | translated peak | touches lumen "
          f"| voxels | share of vessel voxels brighter in {contrast}")
    lost = 0
    for nc, ce, out, touches, n, name, brighter in sorted(rows):
        flag = " LOST" if args.direction == "ce2nc" and out < CALCIUM_HU else ""
        lost += bool(flag)
        print(f"{name} | {nc:.0f} | {ce:.0f} | {out:.0f} | {touches} | {n} | {brighter:.2f}"
              f"{flag}")
    if args.direction == "ce2nc":
        apart = [out >= CALCIUM_HU for _, _, out, touches, _, _, _ in rows if not touches]
        print(f"lost {lost} of {len(rows)}; of the plaques apart from the lumen, kept "
              f"{sum(apart)} of {len(apart)}")
        for what, keep in (("lost", False), ("kept", True)):
            shares = [brighter for _, _, out, _, _, _, brighter in rows
                      if (out >= CALCIUM_HU) == keep]
            if shares:
                print(f"{what}: {len(shares)}, median share of brighter vessel voxels around "
                      f"them in {contrast} {np.median(shares):.2f}; darker than half of them: "
                      f"{sum(b >= 0.5 for b in shares)}")


if __name__ == "__main__":
    main()
