"""`ctbridge <command>`: the command-line entry point.

Every :class:`~ctbridge.errors.CTBridgeError` becomes one line on stderr and exit code 2; other
exceptions are bugs and keep their traceback. Heavy imports (torch, monai) happen inside the
commands so that `ctbridge --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer

import ctbridge
from ctbridge.cli.options import (
    Bounds,
    Device,
    Force,
    NumParts,
    PartId,
    PresetDevice,
    failed_exit_code,
    input_option,
    new_folder,
    old_argument,
    out_option,
    pick_path,
)
from ctbridge.configs import builtin_config_names
from ctbridge.errors import CTBridgeError, one_line

app = typer.Typer(
    name="ctbridge",
    help="Unpaired CT contrast-phase translation that keeps fine structures intact.",
    epilog="Built-in configs (--config NAME, or a YAML path): "
           + ", ".join(builtin_config_names()) + ".",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctbridge {ctbridge.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Unpaired CT contrast-phase translation that keeps fine structures intact."""


@app.command()
def info(
    input: Annotated[Path | None, input_option("NIfTI file, DICOM file or series folder.")
                     ] = None,
    old_input: Annotated[Path | None, old_argument("-i", "INPUT")] = None,
) -> None:
    """Shape, spacing, orientation and HU statistics of a scan."""
    from ctbridge.io import read_scan

    scan = pick_path(input, old_input, flag="-i", what="INPUT")
    s = read_scan(scan)
    a = s.array
    meta = s.metadata
    rows = [
        ("file", str(scan)),
        ("format", meta.get("format", "?")),
        ("modality", meta.get("modality", "?")),
        ("series", meta.get("series_description", "") or "-"),
        ("shape (z, y, x)", " x ".join(str(n) for n in s.shape)),
        ("spacing (x, y, z) mm", ", ".join(f"{v:.4g}" for v in s.spacing)),
        ("origin (LPS) mm", ", ".join(f"{v:.4g}" for v in s.origin)),
        ("orientation", s.orientation),
        ("HU min / median / max", f"{a.min():.0f} / {np.median(a):.0f} / {a.max():.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")


@app.command()
def convert(
    input: Annotated[Path | None, input_option("NIfTI file, DICOM file or series folder.")
                     ] = None,
    out: Annotated[Path | None, out_option(
        "Output: .nii/.nii.gz writes NIfTI, any other name a DICOM series folder.")] = None,
    int16: Annotated[bool, typer.Option(help="NIfTI: store rounded int16 HU.")] = False,
    old_input: Annotated[Path | None, old_argument("-i", "INPUT")] = None,
    old_out: Annotated[Path | None, old_argument("-o", "OUT")] = None,
) -> None:
    """Convert between DICOM series and NIfTI, keeping HU and geometry."""
    from ctbridge.io import is_nifti, read_scan, write_scan

    input = pick_path(input, old_input, flag="-i", what="INPUT")
    output = pick_path(out, old_out, flag="-o", what="OUT")
    if not is_nifti(output):
        new_folder(output)  # a DICOM series folder

    scan = read_scan(input)
    if is_nifti(output):
        write_scan(scan, output, dtype="int16" if int16 else None)
    else:
        write_scan(scan, output, study_instance_uid=scan.metadata.get("study_instance_uid"),
                   frame_of_reference_uid=scan.metadata.get("frame_of_reference_uid"),
                   derivation=f"converted by ctbridge {ctbridge.__version__} from {input.name}")
    typer.echo(f"wrote {output} ({' x '.join(map(str, scan.shape))} voxels)")


@app.command()
def train(
    config: Annotated[str, typer.Option(
        help="Training config: a YAML path or a built-in name ("
             + ", ".join(builtin_config_names()) + ").")],
    data: Annotated[Path, typer.Option(
        "-i", "--data", help="Phantom folder, a folder per domain, or `ctbridge prepare`'s "
                             "output.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder (created).")],
    preset: Annotated[str | None, typer.Option(help=(
        "Presets of the config, comma-separated, applied left to right. Built-in training "
        "configs: cpu-small (the demo, ~8 min on 2 CPU cores), cpu-quality (cpu-small "
        "trained longer), gpu (full width, bf16, one GPU), whole-slice, paper (the paper's "
        "losses and patch sampling), e.g. --preset cpu-small,paper."))] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config field: key=value (repeatable), e.g. optim.steps=200.")
                    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/checkpoints/latest.")] = False,
    device: PresetDevice = None,
    precision: Annotated[str | None, typer.Option(
        help="fp32, bf16 (autocast) or auto (bf16 where the device computes it natively).")
    ] = None,
) -> None:
    """Train GMM-UNIT, UNIT or CycleGAN (the config's model.kind) on unpaired scans.

    Runs data-parallel when launched with `torchrun --nproc_per_node N -m ctbridge.cli train ...`.
    """
    from ctbridge.config import load_config
    from ctbridge.training.config import TrainConfig
    from ctbridge.training.trainer import Trainer

    overrides = list(set_ or [])
    if device:
        overrides.append(f"device={device}")
    if precision:
        overrides.append(f"precision={precision}")
    new_folder(out)
    cfg = load_config(TrainConfig, config, preset=preset, overrides=overrides)
    import os

    trainer = Trainer(cfg, data, out, resume=resume)
    latest = trainer.run()
    if os.environ.get("RANK", "0") == "0":
        if trainer.start_step >= cfg.optim.steps:  # resumed a finished run: nothing trained
            typer.echo(f"already at step {trainer.start_step} of {cfg.optim.steps}; raise "
                       f"optim.steps (--set optim.steps=N) to train on")
        typer.echo(f"checkpoint: {latest}")


@app.command()
def translate(
    model: Annotated[Path, typer.Option(help="Run folder or checkpoint folder.")],
    to: Annotated[str, typer.Option("--to", help="Target domain, e.g. ce or nc.")],
    input: Annotated[Path | None, input_option("Scan (NIfTI, DICOM) or a folder of scans.")
                     ] = None,
    out: Annotated[Path | None, out_option("Output scan, or folder when INPUT is one.")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="Source domain (needed only for models with > 2 domains).")] = None,
    mode: Annotated[Literal["full", "window"], typer.Option(
        help="full (whole slice at once; default: same quality, 1.6-6x faster, measured) or "
             "window (sliding training-size windows, Gaussian-blended; bounded memory).")
                    ] = "full",
    overlap: Annotated[float, typer.Option(help="Window overlap in [0, 1).")] = 0.5,
    batch: Annotated[int, typer.Option(help="Slices per batch.")] = 16,
    samples: Annotated[int, typer.Option(
        help="Latent samples for an uncertainty map: also writes <output>_std.nii.gz (a DICOM "
             "folder: <output>_std/), the per-voxel standard deviation in HU; 0 = "
             "deterministic only.")] = 0,
    device: Device = "auto",
    bounds: Bounds = True,
    smooth: Annotated[bool, typer.Option(
        "--smooth/--no-smooth", help="With --bounds, smooth the change a translation out of "
        "the non-contrast phase makes where it is small and flat (made-up blotches; "
        "measured: organ texture 1.5 x the truth's instead of 1.6-1.7; docs/method.md).")] = True,
    num_parts: NumParts = 1,
    part_id: PartId = 0,
    force: Force = False,
    old_input: Annotated[Path | None, old_argument("-i", "INPUT")] = None,
    old_out: Annotated[Path | None, old_argument("-o", "OUT")] = None,
) -> None:
    """Translate scans to another phase, in HU and in the input's geometry.

    Each scan's phase is checked first by its own evidence (the aorta's HU; DICOM
    contrast tags and series description): a scan that is already in the target
    phase, or not in the source one, is refused naming the evidence (--force
    translates it anyway). A folder goes on past a scan that fails and ends with
    "translated N, failed M (names)"; exit code 0, or 100 + M when M scans failed
    (at most 125), as synthesize.
    """
    from ctbridge.inference.run import translate_paths
    from ctbridge.io import is_nifti

    input = pick_path(input, old_input, flag="-i", what="INPUT")
    output = pick_path(out, old_out, flag="-o", what="OUT")
    if not is_nifti(output):
        new_folder(output)  # a folder of scans or a DICOM series folder
    if not 0 <= overlap < 1:
        raise typer.BadParameter("--overlap must be in [0, 1)")
    result = translate_paths(input, output, model=model, target=to, source=from_, mode=mode,
                             overlap=overlap, batch=batch, samples=samples, device=device,
                             bounded=bounds, smooth=smooth, num_parts=num_parts,
                             part_id=part_id, force=force)
    code = failed_exit_code(len(result.failed))
    if code:
        raise typer.Exit(code)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")] = Path("runs/demo"),
    preset: Annotated[str, typer.Option(
        help="Preset in configs/demo.yaml: tiny (CI), cpu-small (this CPU) or full (GPU).")
                      ] = "cpu-small",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a demo field: key=value (repeatable), e.g. "
                      "models='[unit, gmm_unit]'.")] = None,
) -> None:
    """The main job end to end: phantom, training, translation, evaluation, report."""
    from ctbridge.experiments.demo import run_demo

    run_demo(new_folder(out), preset, list(set_ or []))


def _register_commands() -> None:
    """Commands whose modules live beside this one. Every one is registered; a module that
    fails to import fails the CLI (and the tests) loudly instead of dropping its command.
    Their module-level imports are light (typer, numpy): torch loads inside the commands."""
    from ctbridge.cli.evaluate import evaluate_command
    from ctbridge.cli.experiment import experiment_command
    from ctbridge.cli.phantom import phantom_command
    from ctbridge.cli.prepare import prepare_command
    from ctbridge.cli.qc import qc_app
    from ctbridge.cli.select_k import select_k_command
    from ctbridge.cli.synthesize import synthesize_command

    app.command("phantom")(phantom_command)
    app.command("prepare")(prepare_command)
    app.command("evaluate")(evaluate_command)
    app.command("experiment")(experiment_command)
    app.command("select-k")(select_k_command)
    app.command("synthesize")(synthesize_command)
    app.add_typer(qc_app, name="qc")


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for bad input or usage, with a one-line message).

    Library warnings are one line each meanwhile (:mod:`ctbridge.cli.boundary`)."""
    from ctbridge.cli.boundary import one_line_warnings, usage_error_line

    try:
        with one_line_warnings():
            # without standalone mode, click hands a command's typer.Exit(code) back as the value
            value = app(args=argv, prog_name="ctbridge", standalone_mode=False)
    except CTBridgeError as exc:
        typer.echo(f"ctbridge: error: {one_line(exc)}", err=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("ctbridge: aborted", err=True)
        return 130
    except Exception as exc:
        # usage errors (typer's vendored click): one line as every error; the help that
        # no_args_is_help raises shows itself
        line = usage_error_line(exc)
        if line is not None:
            typer.echo(line, err=True)
            return int(exc.exit_code)  # type: ignore[attr-defined]
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return int(exc.exit_code)  # type: ignore[attr-defined]
        raise
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
