"""Train one translator variant on a phantom cohort and score it against the targets.

One row of the research log (docs/research-log.md): train a config (plus
``--set`` overrides) on the cohort's first patients, translate the held-out patients both ways,
score them against their true other phase, and check the targets of
:mod:`ctbridge.evaluation.targets` (scoring: :mod:`ctbridge.experiments.ablation`). Each run
appends one JSON line to ``OUT/ablation.jsonl``;
``--table`` prints every line so far as a Markdown table.

    python scripts/translation_ablation.py --data PHANTOM --out runs/ablation --name baseline \
        --config configs/gmm_unit.yaml --preset cpu-small [--set model.n_down=1 ...]
    python scripts/translation_ablation.py --out runs/ablation --table
    python scripts/translation_ablation.py --data PHANTOM --out runs/ablation --name baseline \
        --rescore [same --config/--set]   # score a finished run again (a metric was added)
    python scripts/translation_ablation.py --data WIDER --out runs/wide --name baseline \
        --score-from runs/ablation/baseline --test ...   # a finished run on more held-out patients

``--score-from`` scores a run trained elsewhere on another (larger) cohort's patients without
training it again: the phantom's held-out patient_006/007 carry 4-26 plaques each, so one
plaque moves a per-patient-mean share by 2-12 points; a cohort generated with the same seed
and more patients has the same first patients and unseen ones after them. It refuses a test
patient the run was trained on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

from ctbridge.config import load_config
from ctbridge.evaluation.targets import TargetRow, targets_table
from ctbridge.experiments.ablation import DIRECTIONS, read_rows, score_directions, table
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.models.checkpoint import resolve_checkpoint
from ctbridge.training.config import TrainConfig
from ctbridge.training.trainer import Trainer


def curve_stops(spec: str, steps: int) -> list[int]:
    """Steps at which ``--curve`` scores: ``"N"`` every N steps, ``"750,3000"`` those steps
    (the last step is always scored in full, so it is left out here).

    >>> curve_stops("3000", 9000), curve_stops("750,3000", 9000), curve_stops("", 9000)
    ([3000, 6000], [750, 3000], [])
    """
    if not spec:
        return []
    values = [int(v) for v in spec.split(",")]
    stops = list(range(values[0], steps, values[0])) if len(values) == 1 else values
    return sorted(s for s in stops if 0 < s < steps)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cohort = load_cohort(args.data, ce_phase=args.ce_phase)
    holdout = args.test.split(",") if args.test else cohort.names[-args.holdout:]
    cfg = load_config(TrainConfig, args.config, preset=args.preset, overrides=[
        *args.set, "data.holdout=[" + ", ".join(holdout) + "]",
        f"data.phase_of={{ce: {args.ce_phase}}}"])
    run_dir = Path(args.out) / args.name
    jsonl = Path(args.out) / "ablation.jsonl"
    earlier = read_rows(jsonl) if jsonl.is_file() else []
    t0 = time.perf_counter()
    curve: list[dict[str, Any]] = []
    if args.score_from:  # a run trained elsewhere, scored here on other held-out patients
        seconds, training, curve = _link_finished_run(args.score_from, run_dir, args.data, holdout)
    elif args.rescore:  # score the finished run again (new metrics); keep its timing and curve
        mine = [r for r in earlier if r["name"] == args.name]
        if not mine or not (run_dir / "checkpoints").is_dir():
            raise SystemExit(f"--rescore: no finished run {args.name!r} in {args.out}")
        seconds, curve = mine[-1]["train_seconds"], mine[-1]["curve"]
        training = mine[-1].get("training_seconds", seconds)
    else:
        training = 0.0  # seconds spent training, the curve's scoring left out
        for until in [*curve_stops(args.curve, cfg.optim.steps), cfg.optim.steps]:
            t_segment = time.perf_counter()
            Trainer(cfg, args.data, run_dir, resume=True, progress=not args.quiet).run(
                until=until)
            training += time.perf_counter() - t_segment
            if until < cfg.optim.steps:
                point: dict[str, Any] = {"step": until, "train_seconds": round(training, 1)}
                if args.curve_full:  # a copy of the model now, scored like the final one
                    snapshot = run_dir / "curve" / f"step_{until:06d}"
                    _snapshot_model(resolve_checkpoint(run_dir), snapshot)
                    point["directions"] = score_directions(snapshot, f"step_{until:06d}",
                                                           cohort, holdout, args.quiet,
                                                           bounded=not args.no_bounds,
                                                           smooth=not args.no_smooth)
                else:
                    point.update(quick_scores(run_dir, cohort, holdout))
                curve.append(point)
                print(json.dumps(point)[:2000], flush=True)
        seconds = time.perf_counter() - t0
    row: dict[str, Any] = {"name": args.name, "config": str(args.config), "preset": args.preset,
                           "test": holdout,
                           "set": args.set, "data": str(args.data), "steps": cfg.optim.steps,
                           "train_seconds": round(seconds, 1), "curve": curve,
                           "training_seconds": round(training, 1),
                           "mode": args.mode, "bounds": not args.no_bounds,
                           "smooth": not args.no_bounds and not args.no_smooth,
                           "directions": score_directions(run_dir, args.name, cohort, holdout,
                                                          args.quiet, args.mode,
                                                          not args.no_bounds,
                                                          not args.no_smooth)}
    if args.score_from:
        row["scored_from"] = str(args.score_from)
    if args.rescore or (args.score_from and any(r["name"] == args.name for r in earlier)):
        rows = [row if r["name"] == args.name else r for r in earlier]
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        with jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def _patient_seeds(data: Path) -> dict[str, int]:
    """Phantom patient file name -> its generator seed (``dataset.json``)."""
    meta = json.loads((data / "dataset.json").read_text())
    return {f"{p['name']}.nii.gz": int(p["seed"]) for p in meta["patients"]}


def _link_finished_run(source: Path, run_dir: Path, data: Path, holdout: list[str]
                       ) -> tuple[float, float, list[dict[str, Any]]]:
    """Link ``source``'s checkpoints into ``run_dir`` after checking that no held-out patient
    was one it trained on; its (seconds, training seconds, curve) from its ablation row."""
    rows = [r for r in read_rows(source.parent / "ablation.jsonl") if r["name"] == source.name] \
        if (source.parent / "ablation.jsonl").is_file() else []
    if not rows or not (source / "checkpoints").is_dir():
        raise SystemExit(f"--score-from: {source} is no finished run of an ablation.jsonl")
    theirs, ours = _patient_seeds(Path(rows[-1]["data"])), _patient_seeds(data)
    leaked = sorted(set(holdout) & (set(theirs) - set(rows[-1]["test"])))
    if leaked:
        raise SystemExit(f"--score-from: {source} was trained on {', '.join(leaked)}")
    if any(theirs[n] != ours[n] for n in theirs.keys() & ours.keys()):
        raise SystemExit(f"--score-from: {data} and {rows[-1]['data']} differ in the patients "
                         "they share (not one phantom seed?)")
    run_dir.mkdir(parents=True, exist_ok=True)
    link = run_dir / "checkpoints"
    if not link.exists():
        link.symlink_to((source / "checkpoints").resolve(), target_is_directory=True)
    return (rows[-1]["train_seconds"], rows[-1].get("training_seconds", 0.0),
            rows[-1]["curve"])


def _snapshot_model(checkpoint: Path, to: Path) -> None:
    """Copy what inference reads from ``checkpoint`` (not the optimiser state) to ``to``."""
    to.mkdir(parents=True, exist_ok=True)
    for f in checkpoint.iterdir():
        if f.is_file() and not f.name.startswith("trainer."):
            shutil.copy2(f, to / f.name)


def quick_scores(run_dir: Path, cohort: Any, patients: list[str]) -> dict[str, float]:
    """Lumen and fat shift, body MAE and lumen texture on every 4th slice of the held-out
    patients, both directions: a cheap progress reading between training segments."""
    import numpy as np

    from ctbridge.data.body_mask import body_mask
    from ctbridge.evaluation.image_metrics import mae_hu
    from ctbridge.evaluation.tissue_metrics import tissue_metrics
    from ctbridge.inference.translator import Translator
    from ctbridge.io import read_labelmap, read_scan

    translator = Translator.from_checkpoint(run_dir)
    out: dict[str, float] = {}
    for src, dst in DIRECTIONS:
        rows = []
        for p in patients:
            scan = read_scan(cohort.scan_path(src, p))
            sub = slice(None, None, 4)
            scan = dataclasses.replace(scan, array=scan.array[sub])
            pred = translator.translate_scan(scan, dst, source=src).scan.array
            truth = read_scan(cohort.scan_path(dst, p)).array[sub]
            labels = read_labelmap(cohort.labels_path(p))[sub]
            plaques = read_labelmap(cohort.plaques_path(p))[sub]
            t = tissue_metrics(pred, truth, labels, plaques, cohort.label_ids)
            rows.append((t["lumen"]["shift_hu"], t["fat"]["shift_hu"],
                         mae_hu(pred, truth, body_mask(truth)), t["lumen_texture"]["ratio"]))
        lumen, fat, mae, lumen_texture = np.mean(rows, axis=0)
        out.update({f"{src}2{dst}/lumen": round(float(lumen), 1),
                    f"{src}2{dst}/fat": round(float(fat), 1),
                    f"{src}2{dst}/mae": round(float(mae), 1),
                    f"{src}2{dst}/lumen_texture": round(float(lumen_texture), 2)})
    return out


def minutes_table(out: Path, names: list[str]) -> str:
    """The runs ``names`` of ``out/ablation.jsonl`` against training minutes, one line per
    fully scored point (``--curve-full`` readings, then the end), in the research log's columns."""
    rows = {r["name"]: r for r in read_rows(out / "ablation.jsonl")}
    cols = {"nc2ce": ("MAE", "lumen shift", "fat shift", "texture", "peak err", "recall",
                      "false calc"),
            "ce2nc": ("MAE", "lumen shift", "fat shift", "texture", "peak err", "recall", ">=130",
                      "false calc")}
    lines = ["| run | minutes (steps) | nc→ce " + " / ".join(cols["nc2ce"]) + " | ce→nc "
             + " / ".join(cols["ce2nc"]) + " | lumen std ÷ truth | targets |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name in names:
        if name not in rows:
            raise SystemExit(f"--minutes: no run {name!r} in {out / 'ablation.jsonl'}")
        r = rows[name]
        points = [p for p in r["curve"] if "directions" in p]
        points.append({"step": r["steps"], "directions": r["directions"],
                       "train_seconds": r.get("training_seconds", r["train_seconds"])})
        for point in points:
            cells = []
            for direction, keys in cols.items():
                s = point["directions"][direction]["summary"]
                cells.append(" / ".join("-" if s[k] is None else
                                        (f"{s[k]:+.0f}" if k == "lumen shift" else
                                         f"{s[k]:+.1f}" if k == "fat shift" else
                                         f"{s[k]:.1f}" if k in ("MAE", "false calc") else
                                         f"{s[k]:.2f}") for k in keys))
            std = " / ".join(f"{point['directions'][d]['summary']['lumen texture']:.1f}"
                             for d in cols)
            met = ", ".join(f"{point['directions'][d]['met']}/{point['directions'][d]['of']}"
                            for d in cols)
            lines.append(f"| {name} | {point['train_seconds'] / 60:.1f} ({point['step']}) | "
                         + " | ".join(cells) + f" | {std} | {met} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, help="phantom folder (nc + the ce phase)")
    p.add_argument("--out", type=Path, required=True, help="folder of runs and ablation.jsonl")
    p.add_argument("--name", help="variant name (run sub-folder)")
    p.add_argument("--config", type=Path, default=Path("configs/gmm_unit.yaml"))
    p.add_argument("--preset", default="cpu-small")
    p.add_argument("--set", action="append", default=[], help="config override key=value")
    p.add_argument("--ce-phase", default="arterial")
    p.add_argument("--holdout", type=int, default=2, help="last N patients are held out")
    p.add_argument("--test", help="held-out patient files, comma-separated (instead of the "
                   "last --holdout)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--mode", choices=("full", "window"), default="full",
                   help="inference mode the held-out scans are translated with (translate's "
                   "--mode; 'window' slides the training patch size)")
    p.add_argument("--no-bounds", action="store_true", help="score translations without the "
                   "physical bounds of inference (contrast only adds; fat and gas copied), as "
                   "every row before they existed was")
    p.add_argument("--no-smooth", action="store_true", help="score translations into contrast "
                   "without smoothing their change (ctbridge.inference.enhancement), as every "
                   "row before it existed was")
    p.add_argument("--curve", default="",
                   help="also score quickly every N steps, or at the listed steps "
                   "(750,3000): trains in segments, resuming")
    p.add_argument("--curve-full", action="store_true", help="score each --curve point like "
                   "the final model (all slices, plaques, targets) from a copy of its checkpoint")
    p.add_argument("--table", action="store_true", help="print the table of all runs and exit")
    p.add_argument("--minutes", help="runs (comma-separated) to print against training minutes, "
                   "from their --curve-full points; then exit")
    p.add_argument("--rescore", action="store_true", help="score the finished run --name again "
                   "(after a metric was added) without training; replaces its row")
    p.add_argument("--score-from", type=Path, help="a finished run of another --out: score it "
                   "on --data's --test patients (none of them trained on) without training")
    args = p.parse_args()
    if args.minutes:
        print(minutes_table(args.out, args.minutes.split(",")))
        return
    if not args.table:
        if args.data is None or args.name is None:
            p.error("--data and --name are needed to run a variant")
        row = run(args)
        for direction, d in row["directions"].items():
            print(direction, f"{d['met']}/{d['of']} targets met")
            print("\n".join(targets_table({args.name: [TargetRow(**t) for t in d["targets"]]})))
    print(table(read_rows(args.out / "ablation.jsonl")))


if __name__ == "__main__":
    main()
