"""`make bench`: every benchmark, one combined table, results saved as JSON.

    python benchmarks/run_all.py [--out runs/bench] [--device cpu|cuda] [--quick]

Each benchmark runs in its own process (clean peak-memory numbers) and writes its JSON; this
script prints them together. ``--quick`` skips the width-1.0 (VGG-16) models, which take minutes
per step on a laptop CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    widths = "0.125" if args.quick else "0.125,1.0"
    jobs = {
        "phantom": ["bench_phantom.py"],
        "training": ["bench_training.py", "--device", args.device, "--widths", widths,
                     "--repeats", "1" if not args.quick else "3"],
        "translate": ["bench_translate.py", "--device", args.device, "--widths", widths,
                      "--measure-slices", "2" if args.device == "cpu" else "100"],
        "translate-memory": ["bench_translate_memory.py", "--device", args.device],
        "translate-scan-memory": ["bench_translate_scan_memory.py", "--device", args.device,
                                  "--widths", widths],
        "preset-step": ["bench_preset_step.py"],
        "evaluate": ["bench_evaluate.py"],
        "cli": ["bench_cli.py"],
        "prepare": ["bench_prepare.py"],
    }
    combined = {}
    for name, cmd in jobs.items():
        path = args.out / f"{name}.json"
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:], "--json", str(path)],
                       check=True, stdout=subprocess.DEVNULL)
        combined[name] = json.loads(path.read_text())
    print(f"\n{'benchmark':<10} {'measured':<52} {'value':>10} {'unit':<8} {'reference':>10} "
          f"{'ratio':>7}  reference is")
    for name, result in combined.items():
        for r in result["rows"]:
            ref = f"{r['reference']:10.4g}" if r["reference"] is not None else f"{'-':>10}"
            ratio = f"{r['ratio']:7.3f}" if r["ratio"] is not None else f"{'-':>7}"
            print(f"{name:<10} {r['what']:<52} {r['value']:10.4g} {r['unit']:<8} {ref} {ratio}"
                  f"  {r['reference_what']}")
    (args.out / "bench.json").write_text(json.dumps(combined, indent=1))
    print(f"\nsaved {args.out / 'bench.json'}")


if __name__ == "__main__":
    main()
