"""`ctbridge qc`: train the quality-control network and score slices for artefacts.

Registered by ``ctbridge.cli.app`` as a sub-command group::

    ctbridge qc train --out QC_DIR [--data DIR] [--preset tiny|cpu-small|full] [--seed N]
                      [--set key=value ...]
    ctbridge qc score -i INPUT -o CSV [--model QC_DIR] [--threshold T]
    ctbridge qc calibrate -i REAL_SCANS [--model QC_DIR] [--keep-real 0.95]

``--data`` holds scans the translator did not train on (a phantom folder or a folder of
NIfTI files / DICOM series); without it a phantom cohort is generated with a seed apart from the
demo's. See :mod:`ctbridge.qc` for what is trained and measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctbridge.cli.options import (
    Device,
    PresetDevice,
    input_option,
    new_folder,
    old_argument,
    pick_path,
)

qc_app = typer.Typer(
    name="qc",
    help="Quality control of synthetic slices: a CNN that scores translation artefacts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_QC_DIR = Path("runs/qc")


@qc_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("-o", "--out", help=(
        "QC folder (created): model.safetensors, qc.json, roc.png, artefacts.png, train.log."))],
    data: Annotated[Path | None, typer.Option(
        "-i", "--data", help="Phantom folder or folder of scans NOT used to train the "
                             "translator; default: a generated phantom cohort.")] = None,
    preset: Annotated[str, typer.Option(help="tiny (tests), cpu-small (this CPU) or full "
                                             "(GPU).")] = "cpu-small",
    seed: Annotated[int | None, typer.Option(help="Seed of weights, batches, artefacts and "
                                                  "the patient split.")] = None,
    device: PresetDevice = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a QC config field: key=value (repeatable), e.g. "
                      "held_out=[] to train on every artefact kind, steps=1200.")] = None,
) -> None:
    """Train the QC network on real slices and synthetic artefacts; report ROC AUC per kind."""
    from ctbridge.config import parse_overrides
    from ctbridge.qc.config import qc_config
    from ctbridge.qc.train import train_qc

    overrides: dict[str, object] = {"progress": progress, **parse_overrides(set_ or [])}
    if seed is not None:
        overrides["seed"] = seed
    if device is not None:
        overrides["device"] = device
    config = qc_config(preset, overrides)
    qc, metrics = train_qc(config, new_folder(out), data)
    typer.echo(f"threshold {qc.threshold:.4f} (keeps {config.keep_real:.0%} of validation real "
               "slices)")
    for strength, m in metrics["by_strength"].items():
        kinds = ", ".join(f"{k} {_fmt(v['auc'])}" for k, v in m["per_kind"].items())
        typer.echo(f"strength {strength}: ROC AUC seen {_fmt(m['seen'])}, held-out "
                   f"{_fmt(m['held_out'])} ({kinds})")
    typer.echo(f"wrote {out} (qc.json, model.safetensors, roc.png, artefacts.png, train.log) "
               f"in {metrics['total_seconds']:.0f} s")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@qc_app.command("score")
def score_command(
    out: Annotated[Path, typer.Option("-o", "--out", help="CSV to write: file,slice,score,"
                                                          "rejected.")],
    input: Annotated[Path | None, input_option(
        "NIfTI file, DICOM series folder, or a folder of NIfTI scans.")] = None,
    model: Annotated[Path, typer.Option(help="QC folder written by `ctbridge qc train`.")]
    = DEFAULT_QC_DIR,
    threshold: Annotated[float | None, typer.Option(
        help="Reject slices scoring above this (default: the threshold in qc.json).")] = None,
    device: Device = "auto",
    old_input: Annotated[Path | None, old_argument("-i", "INPUT")] = None,
) -> None:
    """Score every slice for artefacts; list the rejected slices and write a CSV."""
    from ctbridge.device import resolve_device
    from ctbridge.qc.score import QualityControl, score_paths, write_scores_csv

    input = pick_path(input, old_input, flag="-i", what="INPUT")

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise typer.BadParameter("--threshold must be in [0, 1]")
    qc = QualityControl.load(model, device=resolve_device(device))
    t = qc.threshold if threshold is None else threshold
    rows = score_paths(qc, input, threshold=t)
    write_scores_csv(rows, out)
    rejected = [r for r in rows if r["rejected"]]
    for r in rejected:
        typer.echo(f"rejected: {r['file']} slice {r['slice']} score {r['score']:.3f}")
    files = len({r["file"] for r in rows})
    typer.echo(f"{len(rejected)} of {len(rows)} slices in {files} scan(s) rejected "
               f"(score > {t:.4f}); wrote {out}")
    if rows and len(rejected) > 0.5 * len(rows):
        typer.echo(f"warning: most slices rejected. If these are real scans, the QC model "
                   f"(expects ~{qc.expected_false_alarms:.0%} of real slices rejected) was "
                   "trained on different data: train it on scans like these with "
                   "`ctbridge qc train --data FOLDER`.", err=True)


@qc_app.command("calibrate")
def calibrate_command(
    input: Annotated[Path | None, input_option(
        "Real scans like the ones to be judged (not the QC's own training data): a NIfTI "
        "file, a DICOM series folder, or a folder of NIfTI scans.")] = None,
    model: Annotated[Path, typer.Option(help="QC folder; its qc.json gets the new threshold.")]
    = DEFAULT_QC_DIR,
    keep_real: Annotated[float | None, typer.Option(
        min=0.5, max=1.0, help="Share of these real slices to keep (default: as at training).")
    ] = None,
    device: Device = "auto",
    old_input: Annotated[Path | None, old_argument("-i", "REAL")] = None,
) -> None:
    """Set the rejection threshold on real scans of the kind to be filtered (false alarms)."""
    real = pick_path(input, old_input, flag="-i", what="REAL")
    from ctbridge.device import resolve_device
    from ctbridge.io import read_scan
    from ctbridge.qc.model_io import save_calibration
    from ctbridge.qc.score import QualityControl, scan_inputs

    qc = QualityControl.load(model, device=resolve_device(device))
    paths = scan_inputs(real)
    record = qc.calibrate((read_scan(p).array for p in paths), keep_real=keep_real)
    save_calibration(model, qc.threshold, {**record, "source": str(real)})
    typer.echo(f"threshold {record['threshold_before']:.4f} -> {qc.threshold:.4f}: keeps "
               f"{record['keep_real']:.0%} of {record['slices']} real slices in "
               f"{record['volumes']} scan(s); wrote {model / 'qc.json'}")
