"""`ctbridge phantom`: write a multi-phase phantom cohort (see :mod:`ctbridge.phantom.dataset`).

The main CLI registers :func:`phantom_command` as is (``app.command("phantom")(phantom_command)``);
its defaults are typer parameters, so ``--help`` documents every option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ctbridge.cli.options import new_folder, old_argument, out_option, pick_path
from ctbridge.phantom.hu_table import PHASES


def parse_phases(phases: str) -> tuple[str, ...]:
    """``"nc,arterial"`` -> ``("nc", "arterial")``; a bad name is a usage error (exit code 2)."""
    wanted = tuple(p.strip() for p in phases.split(",") if p.strip())
    unknown = [p for p in wanted if p not in PHASES]
    if unknown or not wanted or len(set(wanted)) != len(wanted):
        raise typer.BadParameter(f"unknown or repeated phases in {phases!r}; choose from "
                                 f"{','.join(PHASES)}", param_hint="--phases")
    return wanted


def phantom_command(
    out: Annotated[Path | None, out_option("Output folder (layout: see --format).")] = None,
    patients: Annotated[int, typer.Option(min=1, help="Number of patients.")] = 4,
    size: Annotated[int, typer.Option(min=32, help="In-plane matrix; the FOV stays 360 mm.")
                    ] = 512,
    slices: Annotated[int, typer.Option(min=2, help="Axial slices, liver dome to iliacs.")] = 64,
    phases: Annotated[str, typer.Option(help="Comma-separated phases.")
                      ] = ",".join(PHASES),
    seed: Annotated[int, typer.Option(help="Cohort seed (a seed is a set of patients).")] = 0,
    noise_hu: Annotated[float, typer.Option(min=0.0, help="Noise standard deviation, HU.")
                        ] = 15.0,
    slice_mm: Annotated[float, typer.Option(min=0.1, help="Slice thickness, mm.")] = 3.0,
    plaques_max: Annotated[int, typer.Option(min=0, help="Most plaques per patient.")] = 20,
    format_: Annotated[Literal["ctbridge", "nnunet", "decathlon", "dicom-study"], typer.Option(
        "--format", help="ctbridge: OUT/<phase>/, labels/, plaques/ (what train, experiment and "
                         "evaluate read); nnunet: one nnU-Net v2 raw data set per phase, "
                         "OUT/Dataset90N_CTBridgePhantom<Phase>/ (901 nc ... 904 delayed); "
                         "decathlon: the same as Decathlon/MONAI datalists, "
                         "OUT/Task90N_CTBridgePhantom<Phase>/dataset.json with a \"training\" "
                         "list; dicom-study: a hospital export for `ctbridge prepare` (one study "
                         "per patient, a series per phase, localizers, dose reports and other "
                         "junk, truth.json).")] = "ctbridge",
    phase_tags: Annotated[bool, typer.Option(
        help="dicom-study: write series descriptions and contrast tags; --no-phase-tags "
             "leaves only the pixels to tell the phases apart.")] = True,
    old_out: Annotated[Path | None, old_argument("-o", "OUT")] = None,
) -> None:
    """Generate the multi-phase abdominal CT phantom with labels and plaque ground truth."""
    out = new_folder(pick_path(out, old_out, flag="-o", what="OUT"))
    wanted = parse_phases(phases)
    if format_ in ("nnunet", "decathlon"):  # OUT/Dataset90N_...: `-o $nnUNet_raw/` unset
        from ctbridge.phantom.nnunet_export import dataset_name

        new_folder(out / dataset_name(wanted[0]))
    if format_ == "dicom-study":
        from ctbridge.phantom.dicom_export import write_dicom_study_export

        write_dicom_study_export(out, patients=patients, size=size, slices=slices,
                                 slice_mm=slice_mm, phases=wanted, seed=seed, noise_hu=noise_hu,
                                 plaques_max=plaques_max, describe=phase_tags,
                                 contrast_tags=phase_tags, progress=True)
        typer.echo(f"wrote a DICOM export of {patients} patient(s) x {len(wanted)} phase(s) "
                   f"to {out} (truth in {out / 'truth.json'})")
        return
    if format_ in ("nnunet", "decathlon"):
        from ctbridge.phantom.nnunet_export import write_phantom_decathlon, write_phantom_nnunet

        write = write_phantom_nnunet if format_ == "nnunet" else write_phantom_decathlon
        roots = write(out, patients=patients, size=size, slices=slices, slice_mm=slice_mm,
                      phases=wanted, seed=seed, noise_hu=noise_hu, plaques_max=plaques_max,
                      progress=True)
        what = "nnU-Net data sets" if format_ == "nnunet" else "Decathlon/MONAI datalists"
        typer.echo(f"wrote {patients} patient(s) as {what}: "
                   + ", ".join(str(r) for r in roots.values()))
        return
    from ctbridge.phantom import write_phantom_dataset

    write_phantom_dataset(out, patients=patients, size=size, slices=slices, slice_mm=slice_mm,
                          phases=wanted, seed=seed, noise_hu=noise_hu, plaques_max=plaques_max,
                          progress=True)
    typer.echo(f"wrote {patients} patient(s) x {len(wanted)} phase(s) to {out}")
