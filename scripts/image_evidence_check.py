"""How often the image evidence of `ctbridge prepare` is right, undecided or wrong.

    python scripts/image_evidence_check.py --size 192 --first-seed 2000 --patients 12

Phantom patients (all four phases) it was not tuned on: the aorta vote must say "nc" for the
non-contrast scan and "contrast" for the others. Prints one line per miss and a summary row
(the README's table of `prepare` results).
"""

from __future__ import annotations

import argparse
import time

from ctbridge.phantom import FOV_MM, generate_patient
from ctbridge.prepare.evidence import CONTRAST
from ctbridge.prepare.image import image_evidence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--slices", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=2000)
    parser.add_argument("--patients", type=int, default=12)
    args = parser.parse_args()
    right = undecided = wrong = 0
    t0 = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.patients):
        pt = generate_patient(seed, size=args.size, slices=args.slices)
        for phase in pt.volumes:
            ev = image_evidence(pt.scan(phase))
            truth = {"nc"} if phase == "nc" else CONTRAST
            if ev.phases == truth:
                right += 1
                continue
            undecided += not ev.phases
            wrong += bool(ev.phases)
            print(f"seed {seed} {phase}: {ev.detail}")
    print(f"| {FOV_MM / args.size:.2f} mm pixels ({args.size} px), seeds {args.first_seed}.."
          f"{args.first_seed + args.patients - 1} | {right} | {undecided} | {wrong} | "
          f"{time.perf_counter() - t0:.0f} s |")


if __name__ == "__main__":
    main()
