"""`ctbridge demo`: the main job end to end on the embedded phantom.

phantom cohort -> train translator(s) on unpaired patients -> translate held-out patients in both
directions -> score against their true other phase -> quality control of the synthetic slices ->
``report.md`` with tables and figures.
Every step reuses what an earlier run left in the output folder (same settings), so a second
``make demo`` only redoes what is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console

from ctbridge.config import load_config
from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import WINDOWS, window
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from ctbridge.evaluation.tables import CHANGE_RULES, summary_table
from ctbridge.evaluation.targets import check_targets, targets_table
from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.experiments.downstream.synthetic import translate_cohort
from ctbridge.io import read_labelmap, read_scan
from ctbridge.io.outputs import write_json, write_text
from ctbridge.models.build import MODEL_TITLES
from ctbridge.phantom import write_phantom_dataset
from ctbridge.plotting import plaque_slice, plt, save_figure
from ctbridge.training.config import TrainConfig
from ctbridge.training.trainer import Trainer

NAMES = MODEL_TITLES
QC_FOLDS = 6  # patient groups of the QC's cross-validated false-alarm rate


class DemoConfig(BaseModel):
    """One demo run: cohort, held-out patients, translators and budgets (configs/demo.yaml)."""

    model_config = ConfigDict(extra="forbid")

    patients: int = Field(ge=2, description="phantom patients (seed 0)")
    test: list[int] = Field(min_length=1, description="indices of the held-out patients")
    size: int = Field(ge=32, description="in-plane matrix of the phantom")
    slices: int = Field(ge=2, description="axial slices of the phantom")
    models: list[str] = Field(min_length=1, description="translators to train: gmm_unit, unit, "
                                                        "cyclegan")
    config_preset: str | None = Field(description=(
        "preset(s) of each model's training config, comma-separated (e.g. cpu-small,paper)"))
    overrides: dict[str, Any] = Field(default_factory=dict, description=(
        "training config overrides for every model, dotted keys (e.g. {optim.steps: 100})"))
    ce_phase: str = Field("arterial", description="phantom phase of the ce domain")
    plaques_max: int = Field(30, ge=0, description="most plaques per patient")
    mode: Literal["full", "window"] = Field("full", description="translation mode")
    qc_preset: str = Field("cpu-small", description="preset of configs/qc.yaml")
    qc_overrides: dict[str, Any] = Field(default_factory=dict, description="QC config overrides")


def demo_config(preset: str = "cpu-small", overrides: Sequence[str] = ()) -> DemoConfig:
    """The demo run of ``preset`` in configs/demo.yaml, with ``key=value`` overrides."""
    return load_config(DemoConfig, "demo", preset=preset, overrides=list(overrides))


def _phantom(out: Path, p: DemoConfig, console: Console) -> Path:
    root = out / "phantom"
    meta = root / "dataset.json"
    want = {"numTraining": p.patients, "size": p.size, "slices": p.slices}
    if meta.is_file():
        have = json.loads(meta.read_text())
        if all(have.get(k) == v for k, v in want.items()):
            console.print(f"phantom: reusing {root}")
            return root
    console.rule("1. phantom cohort")
    write_phantom_dataset(root, patients=p.patients, size=p.size, slices=p.slices,
                          phases=("nc", p.ce_phase), seed=0, plaques_max=p.plaques_max)
    return root


def _train(out: Path, phantom: Path, kind: str, p: DemoConfig, test: list[str],
           console: Console) -> tuple[Path, float]:
    console.rule(f"2. train {NAMES[kind]}")
    cfg = load_config(TrainConfig, kind, preset=p.config_preset,
                      overrides={**p.overrides, "data.holdout": [f"{n}.nii.gz" for n in test],
                                 "data.phase_of": {"ce": p.ce_phase}})
    t0 = time.perf_counter()
    run = out / "runs" / kind
    Trainer(cfg, phantom, run, resume=True).run()
    return run, time.perf_counter() - t0


def _evaluate(phantom: Path, translated: Path, source_phase: str, truth_phase: str, name: str,
              label_ids: dict[str, int]) -> dict[str, Any]:
    truth = read_scan(phantom / truth_phase / f"{name}.nii.gz")
    source = read_scan(phantom / source_phase / f"{name}.nii.gz")
    pred = read_scan(translated)
    labels = read_labelmap(phantom / "labels" / f"{name}.nii.gz")
    plaques = read_labelmap(phantom / "plaques" / f"{name}.nii.gz")
    return evaluate_scan(name, pred.array, truth.array, labels, plaques, label_ids,
                         truth.spacing, body_mask(truth.array), source_hu=source.array)


DIFF_HU = 150.0  # colour limit of the difference rows (translation - truth)


def _kidney_slice(labels: np.ndarray, label_ids: dict[str, int]) -> int:
    """The slice with the most kidney cortex (the middle slice when there is none)."""
    ids = [label_ids[n] for n in ("kidney_left_cortex", "kidney_right_cortex") if n in label_ids]
    area = np.isin(labels, ids).sum(axis=(1, 2))
    return int(area.argmax()) if area.any() else labels.shape[0] // 2


def _figure(phantom: Path, out: Path, name: str, p: DemoConfig, kinds: list[str],
            directions: list[tuple[str, str]], label_ids: dict[str, int]) -> list[Path]:
    """Per direction: the source, the true phase and each translation at a plaque (slice and
    zoom) and at the kidneys, each with its difference from the truth (the paper's Fig. 1/3,
    plus where the translation is wrong)."""
    plaques = read_labelmap(phantom / "plaques" / f"{name}.nii.gz")
    labels = read_labelmap(phantom / "labels" / f"{name}.nii.gz")
    z, zk = plaque_slice(plaques), _kidney_slice(labels, label_ids)
    ys, xs = np.nonzero(plaques[z]) if plaques[z].any() else ([plaques.shape[1] // 2],
                                                              [plaques.shape[2] // 2])
    cy, cx = int(np.mean(ys)), int(np.mean(xs))
    half = max(12, plaques.shape[1] // 10)
    crop = (slice(max(cy - half, 0), cy + half), slice(max(cx - half, 0), cx + half))
    rows = ("plaque slice", "plaque zoom", "minus truth", "kidneys", "minus truth")
    written = []
    for src, dst in directions:
        truth = read_scan(phantom / _phase(dst, p) / f"{name}.nii.gz").array
        panels = [(f"real {src} (input)", read_scan(phantom / _phase(src, p) / f"{name}.nii.gz")
                   .array), (f"real {dst} (truth)", truth)]
        for kind in kinds:
            path = out / "translations" / kind / f"{src}2{dst}" / f"{name}.nii.gz"
            panels.append((f"{NAMES[kind]} {src}->{dst}", read_scan(path).array))
        fig, axes = plt.subplots(len(rows), len(panels), figsize=(2.6 * len(panels), 13),
                                 squeeze=False)
        for c, (title, vol) in enumerate(panels):
            soft = {"cmap": "gray", "vmin": 0, "vmax": 1}
            diff = {"cmap": "RdBu_r", "vmin": -DIFF_HU, "vmax": DIFF_HU}
            axes[0, c].imshow(window(vol[z], *WINDOWS["soft"]), **soft)
            axes[0, c].add_patch(plt.Rectangle((crop[1].start, crop[0].start), 2 * half,
                                               2 * half, fill=False, color="yellow", lw=0.8))
            axes[1, c].imshow(window(vol[z][crop], *WINDOWS["vessel"]), interpolation="nearest",
                              **soft)
            axes[3, c].imshow(window(vol[zk], *WINDOWS["soft"]), **soft)
            if c != 1:  # the truth minus itself says nothing
                axes[2, c].imshow(vol[z] - truth[z], **diff)
                axes[4, c].imshow(vol[zk] - truth[zk], **diff)
            axes[0, c].set_title(title, fontsize=8)
            for r in range(len(rows)):
                axes[r, c].axis("off")
        for r, row in enumerate(rows):
            axes[r, 0].text(-0.04, 0.5, row, transform=axes[r, 0].transAxes, rotation=90,
                            ha="right", va="center", fontsize=8)
        fig.suptitle(f"{name}: slice {z} (a plaque; zoom in the vessel window) and slice {zk} "
                     f"(kidneys); differences from the truth in HU, blue -{DIFF_HU:.0f} to red "
                     f"+{DIFF_HU:.0f}", fontsize=9)
        written.append(save_figure(fig, out / f"figure_{src}2{dst}.png", dpi=100))
    return written


def _quality_control(out: Path, phantom: Path, p: DemoConfig, train: list[str], test: list[str],
                     directions: list[tuple[str, str]], console: Console) -> dict[str, Any]:
    """Train (or reuse) the QC network on its own phantom cohort, calibrate its threshold on
    the real scans of the translators' training patients (the cohort whose synthetic slices it
    judges), then report the fraction of slices it rejects in each translation and, as the
    false-alarm check, in the held-out patients' real scans."""
    from ctbridge.qc import QualityControl, qc_config
    from ctbridge.qc.metrics import cross_validated_false_alarms, rate_interval
    from ctbridge.qc.model_io import save_calibration
    from ctbridge.qc.train import train_qc

    console.rule("5. quality control of the synthetic slices")
    qc_dir = out / "qc"
    if not (qc_dir / "qc.json").is_file():
        train_qc(qc_config(p.qc_preset, p.qc_overrides), qc_dir)
    else:
        console.print(f"QC: reusing {qc_dir}")
    qc = QualityControl.load(qc_dir)
    threshold_at_training = qc.info.get("threshold_at_training", qc.threshold)
    qc.threshold = threshold_at_training
    scores = {(n, d): qc.score_slices(read_scan(phantom / _phase(d, p) / f"{n}.nii.gz").array)
              for n in [*train, *test] for d in ("nc", "ce")}  # every real slice, scored once
    real = {n: np.concatenate([scores[n, d] for d in ("nc", "ce")]) for n in [*train, *test]}
    keep = 1.0 - qc.expected_false_alarms
    cross_validated, per_fold = cross_validated_false_alarms(real, keep, folds=QC_FOLDS)
    calibration = qc.calibrate_scores(np.concatenate([real[n] for n in train]))
    save_calibration(qc_dir, qc.threshold, {**calibration, "source": "demo training patients"})
    fractions: dict[str, float] = {}
    intervals: dict[str, dict[str, float]] = {}
    for domain in ("nc", "ce"):
        per_patient = [scores[n, domain] > qc.threshold for n in test]
        fractions[f"real {domain}"] = float(np.mean([np.mean(f) for f in per_patient]))
        flags = np.concatenate(per_patient)
        low, high = rate_interval(flags)
        intervals[f"real {domain}"] = {"low": low, "high": high, "slices": int(flags.size)}
    for kind in p.models:
        for src, dst in directions:
            folder = out / "translations" / kind / f"{src}2{dst}"
            vols = [read_scan(folder / f"{n}.nii.gz").array for n in test]
            fractions[f"{NAMES[kind]} {src}→{dst}"] = float(
                np.mean([qc.rejected(v).mean() for v in vols]))
    per_kind = json.loads((qc_dir / "qc.json").read_text())["metrics"]["by_strength"]["1"]
    return {"threshold": qc.threshold, "threshold_at_training": threshold_at_training,
            "calibration_slices": calibration["slices"], "rejected_fraction": fractions,
            "false_alarm_interval": intervals,
            "false_alarms_cross_validated": cross_validated, "false_alarms_per_fold": per_fold,
            "auc": {k: v["auc"] for k, v in per_kind["per_kind"].items()}}


def _interval_cell(ci: dict[str, float] | None) -> str:
    """``0.01-0.11 (96)`` for a real-slice false-alarm rate; blank for translations."""
    return "" if not ci else f"{ci['low']:.2f}-{ci['high']:.2f} ({ci['slices']})"


def _phase(domain: str, p: DemoConfig) -> str:
    return p.ce_phase if domain == "ce" else domain


def run_demo(out: str | Path = "runs/demo", preset: str = "cpu-small",
             overrides: Sequence[str] = ()) -> Path:
    """Run the whole demo into ``out``; returns the path of ``report.md``."""
    p = demo_config(preset, overrides)
    out = Path(out)
    console = Console(stderr=True)
    t_start = time.perf_counter()
    phantom = _phantom(out, p, console)
    meta = json.loads((phantom / "dataset.json").read_text())
    names = [e["name"] for e in meta["patients"]]
    test = [names[i] for i in p.test]
    directions = [("nc", "ce"), ("ce", "nc")]
    cohort = load_cohort(phantom, ce_phase=p.ce_phase)
    timings: dict[str, float] = {}
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in p.models:
        run, seconds = _train(out, phantom, kind, p, test, console)
        timings[f"train {NAMES[kind]}"] = seconds
        console.rule(f"3. translate held-out patients with {NAMES[kind]}")
        t0 = time.perf_counter()
        for src, dst in directions:
            # cached by the scan's and the checkpoint's bytes and what inference does after
            # the network: a resumed demo redoes translations only when one of them changed
            paths = translate_cohort(run, kind, cohort, [f"{n}.nii.gz" for n in test],
                                     source=src, target=dst, cache_dir=out / "translations",
                                     mode=p.mode)
            scans = [_evaluate(phantom, paths[f"{name}.nii.gz"], _phase(src, p), _phase(dst, p),
                               name, meta["labels"]) for name in test]
            results[(kind, f"{src}2{dst}")] = {"scans": scans, "aggregate": aggregate(scans)}
        timings[f"translate + evaluate {NAMES[kind]}"] = time.perf_counter() - t0
    console.rule("4. reference: no translation")
    for src, dst in directions:  # the input itself scored against the other phase
        scans = [_evaluate(phantom, phantom / _phase(src, p) / f"{n}.nii.gz", _phase(src, p),
                           _phase(dst, p), n, meta["labels"]) for n in test]
        results[("identity", f"{src}2{dst}")] = {"scans": scans, "aggregate": aggregate(scans)}
    figures = _figure(phantom, out, test[0], p, p.models, directions, meta["labels"])
    t0 = time.perf_counter()
    train = [n for n in names if n not in test]
    qc = _quality_control(out, phantom, p, train, test, directions, console)
    timings["quality control"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    write_json({"preset": p.model_dump(mode="json"), "timings_s": timings, "test_patients": test,
                "results": {f"{k}/{d}": v for (k, d), v in results.items()}, "qc": qc},
               out / "results.json")
    report = _report(out, preset, p, meta, test, results, timings, figures, qc)
    console.print(f"[bold green]demo done[/] in {timings['total'] / 60:.1f} min: {report}")
    return report


def _report(out: Path, preset: str, p: DemoConfig, meta: dict[str, Any], test: list[str],
            results: dict[tuple[str, str], dict[str, Any]], timings: dict[str, float],
            figures: list[Path], qc: dict[str, Any]) -> Path:
    rows, targets = [], {}
    for (kind, direction), res in results.items():
        label = f"{NAMES.get(kind, 'no translation')} {direction.replace('2', '→')}"
        rows.append((label, res["aggregate"]))
        if kind != "identity":
            targets[label] = check_targets(res["aggregate"],
                                           results[("identity", direction)]["aggregate"],
                                           target_domain=direction.split("2")[1])
    n_plaques = sum(e["n_plaques"] for e in meta["patients"] if e["name"] in test)
    lines = [
        f"# ctbridge demo ({preset})", "",
        f"Phantom cohort: {p.patients} patients, {p.size}x{p.size}x{p.slices} voxels "
        f"({360 / p.size:.2f} mm pixels, 3 mm slices), phases nc and {p.ce_phase} (the `ce` "
        f"domain). Trained on {p.patients - len(test)} patients split between the "
        f"domains (unpaired); scored on held-out {', '.join(test)} ({n_plaques} plaques) "
        "against their true other phase, which only a phantom provides.", "",
        "## Translation quality (mean ± std over held-out patients)", "",
        *summary_table(rows), "",
        "MAE/SSIM inside the body; lumen and fat shift: median HU of translation minus truth "
        "in the eroded aorta/iliac lumen (plaques left out) and fat; liver std / truth: "
        "texture inside the eroded liver (stripes, checkerboards raise it); lumen std / truth: "
        "the same inside the eroded lumen (a lumen changed only in part, e.g. a dotted grid, "
        "raises it); 'plaque recall': "
        "plaques whose peak in the translation is >= 130 HU and >= 50 HU above the adjacent "
        "lumen; 'recall in truth': the same rule on the real target phase (its ceiling); peak "
        "rel. error: median over plaques of |peak pred - peak truth| / peak truth; 'false "
        "calc.': calcium components in the vessel wall that are not plaques. " + CHANGE_RULES
        + " The 'no "
        "translation' rows score the input itself against the other phase: the gap a "
        "translator has to close. Translations are held to the physical bounds of "
        "`ctbridge translate` (contrast only adds; fat and gas, <= -50 HU, copied), and the "
        "change into contrast is smoothed where it is small and flat.", "",
        "## Targets (a translator worth using beats 'no translation')", "",
        *targets_table(targets), "",
        "Limits from `ctbridge.evaluation.targets` (mean over the held-out patients); the "
        "lumen limit is 60 HU into a contrast phase, 25 HU into non-contrast.", "",
        "## Quality control (fraction of slices rejected)", "",
        "| slices | rejected | exact 95% interval (slices) |", "| --- | --- | --- |",
        *[f"| {k} | {v:.2f} | {_interval_cell(qc['false_alarm_interval'].get(k))} |"
          for k, v in qc["rejected_fraction"].items()], "",
        f"QC network: `qc/`, trained on a separate phantom cohort (seed 20251) against "
        f"synthetic artefacts; threshold {qc['threshold']:.3f}, calibrated to keep 95% of the "
        f"{qc['calibration_slices']} real slices of the translators' training patients (at "
        f"training: {qc['threshold_at_training']:.3f}, 95% of its own validation slices). "
        f"Its false alarms, cross-validated over the cohort's {len(qc['false_alarms_per_fold'])} "
        "patient groups (each group judged by a threshold calibrated on the others): "
        f"{qc['false_alarms_cross_validated']:.1%} of real slices (per group "
        f"{min(qc['false_alarms_per_fold']):.0%}-{max(qc['false_alarms_per_fold']):.0%}: "
        "they come in patient-sized clumps, so the two held-out patients alone can read 0% or "
        "over 20%). ROC AUC per artefact kind at full strength: " + ", ".join(
            f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in qc["auc"].items())
        + ". The 'real' rows are its false alarms on the held-out patients' true scans.", "",
        "## Figures", "",
        *[f"![{f.stem}]({f.name})" for f in figures], "",
        "Training curves and samples: " + ", ".join(
            f"`runs/{k}/curves.png`, `runs/{k}/samples/`" for k in p.models), "",
        "## Timings", "",
        "| step | seconds |", "| --- | --- |",
        *[f"| {k} | {v:.0f} |" for k, v in timings.items()], "",
        "Not in this report: the choice of K (`ctbridge select-k`) and the downstream "
        "segmentation experiments (`ctbridge experiment plaque|pancreas`); see docs/usage.md.",
    ]
    return write_text("\n".join(lines) + "\n", out / "report.md")
