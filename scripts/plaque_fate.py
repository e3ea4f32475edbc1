"""Which plaques does a translation keep? One line per plaque of the held-out phantom patients.

For every plaque of ``dataset.json``: its true peak HU in both phases, whether it touches the
lumen, its size, and the peak HU the translation gives its voxels, marked LOST when a
translation out of contrast leaves it below 130 HU (the calcium threshold). Sorted by the true
non-contrast peak, so the pattern (small plaques, plaques in the wall) is plain to read.

    python scripts/plaque_fate.py --data /tmp/ph0big \
        --translations runs/abl/NAME/translations/NAME [--direction ce2nc|nc2ce]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ctbridge.io import read_labelmap, read_scan

CALCIUM_HU = 130.0


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
    rows = []
    for name in args.test.split(","):
        plaques = read_labelmap(args.data / "plaques" / f"{name}.nii.gz")
        pred = read_scan(args.translations / args.direction / f"{name}.nii.gz").array
        for entry in by_name[name]["plaques"]:
            voxels = plaques == entry["id"]
            if voxels.any():
                rows.append((entry["peak_hu"]["nc"], entry["peak_hu"][contrast],
                             float(pred[voxels].max()), entry["touches_lumen"],
                             int(voxels.sum()), name))
    print(f"patient | true NC peak | true {contrast} peak | translated peak | touches lumen "
          "| voxels")
    lost = 0
    for nc, ce, out, touches, n, name in sorted(rows):
        flag = " LOST" if args.direction == "ce2nc" and out < CALCIUM_HU else ""
        lost += bool(flag)
        print(f"{name} | {nc:.0f} | {ce:.0f} | {out:.0f} | {touches} | {n}{flag}")
    if args.direction == "ce2nc":
        apart = [out >= CALCIUM_HU for _, _, out, touches, _, _ in rows if not touches]
        print(f"lost {lost} of {len(rows)}; of the plaques apart from the lumen, kept "
              f"{sum(apart)} of {len(apart)}")


if __name__ == "__main__":
    main()
