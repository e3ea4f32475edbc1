"""`ctbridge <command>`: the command-line entry point.

Every :class:`~ctbridge.errors.CTBridgeError` becomes one line on stderr and exit code 2; other
exceptions are bugs and keep their traceback. Heavy imports (torch, monai) happen inside the
commands so that `ctbridge --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

import ctbridge
from ctbridge.errors import CTBridgeError

app = typer.Typer(
    name="ctbridge",
    help="Unpaired CT contrast-phase translation that keeps fine structures intact.",
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
def info(scan: Annotated[Path, typer.Argument(help="NIfTI file, DICOM file or series folder.")]
         ) -> None:
    """Shape, spacing, orientation and HU statistics of a scan."""
    from ctbridge.io import read_scan

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
    input: Annotated[Path, typer.Argument(help="NIfTI file, DICOM file or series folder.")],
    output: Annotated[Path, typer.Argument(
        help="Output: .nii/.nii.gz writes NIfTI, any other name a DICOM series folder.")],
    int16: Annotated[bool, typer.Option(help="NIfTI: store rounded int16 HU.")] = False,
) -> None:
    """Convert between DICOM series and NIfTI, keeping HU and geometry."""
    from ctbridge.io import is_nifti, read_scan, write_scan

    scan = read_scan(input)
    if is_nifti(output):
        write_scan(scan, output, dtype="int16" if int16 else None)
    else:
        write_scan(scan, output, study_instance_uid=scan.metadata.get("study_instance_uid"),
                   frame_of_reference_uid=scan.metadata.get("frame_of_reference_uid"),
                   derivation=f"converted by ctbridge {ctbridge.__version__} from {input.name}")
    typer.echo(f"wrote {output} ({' x '.join(map(str, scan.shape))} voxels)")


def _register_optional_commands() -> None:
    """Commands whose modules live beside this one; each registers itself if present."""
    try:
        from ctbridge.cli_phantom import phantom_command
    except ImportError:
        return
    app.command("phantom")(phantom_command)


_register_optional_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 for bad input, with a one-line message)."""
    try:
        app(args=argv, prog_name="ctbridge", standalone_mode=False)
    except CTBridgeError as exc:
        typer.echo(f"ctbridge: error: {exc}", err=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("ctbridge: aborted", err=True)
        return 130
    except Exception as exc:
        # usage errors (typer's vendored click): they know how to show themselves
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            return int(exc.exit_code)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
