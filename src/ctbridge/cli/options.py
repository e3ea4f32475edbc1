"""Options every command spells the same way: named paths (``-i INPUT``, ``-o OUT``, as nnU-Net
and TotalSegmentator), ``--device``, ``--bounds/--no-bounds`` and ``--num-parts/--part-id``; and
the exit code of commands that go on past a bad item.

Until this release ``convert``, ``translate``, ``phantom``, ``prepare``, ``synthesize``,
``info``, ``qc score`` and ``qc calibrate`` took their paths positionally. The positional
spelling still works for one release and prints a deprecation line; giving a path both ways,
or not at all, is a usage error (exit code 2).

Example:
    >>> from pathlib import Path
    >>> pick_path(Path("a.nii.gz"), None, flag="-i", what="INPUT")
    PosixPath('a.nii.gz')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ctbridge.errors import DataError

DEPRECATED = "[deprecated: use {flag}]"

Device = Annotated[str, typer.Option(
    help="cpu, cuda, cuda:N or auto (cuda when there is one).")]
"""``--device`` of commands that translate or score (default ``auto``)."""
PresetDevice = Annotated[str | None, typer.Option(
    help="cpu, cuda, cuda:N or auto; default: the preset's (cpu-small pins cpu).")]
"""``--device`` of commands that train, where a preset may pin one."""
NumParts = Annotated[int, typer.Option(
    min=1, help="Split the work into this many parts, run as separate processes (nnU-Net's "
                "-num_parts): the items sorted by name, part I takes every N-th from I.")]
"""``--num-parts`` of commands that go over many scans (translate of a folder, synthesize)."""
PartId = Annotated[int, typer.Option(
    min=0, help="Which part this process makes, 0 ... --num-parts - 1.")]
"""``--part-id``, with ``--num-parts``."""
Bounds = Annotated[bool, typer.Option(
    "--bounds/--no-bounds", help="Hold translations to physics: contrast only adds, fat and "
    "gas (<= -50 HU) are copied, and (with --smooth, translate's default) the change into "
    "contrast is smoothed where it is small and flat; --no-bounds: the network's raw output.")]
"""``--bounds/--no-bounds`` of every command that translates."""
Force = Annotated[bool, typer.Option(
    "--force", help="Translate a scan even when its own evidence (the aorta's HU in front of "
    "the spine; DICOM contrast tags and series description) says it is already in the target "
    "phase or not in the source one (without it: translate refuses such a scan, synthesize "
    "lists it as rejected).")]
"""``--force`` of every command that translates: skip the phase check."""


EXIT_FAILED_BASE = 100
EXIT_FAILED_MAX = 125


def failed_exit_code(failed: int) -> int:
    """The exit code of a command that goes on past bad items (synthesize, translate of a
    folder): 0 without failures, else 100 + failures, capped at 125 (distinct from 1, 2, 130).

    Example:
        >>> failed_exit_code(0), failed_exit_code(3), failed_exit_code(400)
        (0, 103, 125)
    """
    return 0 if failed <= 0 else min(EXIT_FAILED_BASE + failed, EXIT_FAILED_MAX)


def new_folder(path: Path, *, flag: str = "-o", parent_must_exist: bool = False) -> Path:
    """``path``, a folder the command may create, checked before any work.

    Refused (DataError, one line naming the folder): a folder that does not exist yet and would
    be made directly in the filesystem root, or whose missing parents would start there: what
    ``-o $nnUNet_raw/Dataset911_X`` becomes when the variable is unset (``/Dataset911_X``).
    Create it first if that is meant. With ``parent_must_exist`` (a data set folder inside an
    existing raw folder) a missing parent folder is refused too.

    Example:
        >>> try:
        ...     new_folder(Path("/Dataset911_X"))
        ... except DataError as exc:
        ...     print(exc)  # doctest: +ELLIPSIS
        -o /Dataset911_X: would create /Dataset911_X at the filesystem root; is $nnUNet_raw ...
    """
    if path.exists():
        return path
    absolute = Path(os.path.abspath(path))
    hint = ""
    if str(absolute).startswith(f"{absolute.anchor}Dataset"):
        hint = ("is $nnUNet_raw set? (-o $nnUNet_raw/Dataset... with it unset or empty gives "
                f"{absolute.anchor}Dataset...); ")
    if parent_must_exist and not absolute.parent.is_dir():
        raise DataError(f"{flag} {path}: its parent folder {absolute.parent} does not exist; "
                        f"{hint}create it first or check the path")
    existing = next(p for p in absolute.parents if p.exists())
    if existing == Path(absolute.anchor):
        first = absolute.parents[len(absolute.parents) - 2] if len(absolute.parents) > 1 \
            else absolute
        raise DataError(f"{flag} {path}: would create {first} at the filesystem root; {hint}"
                        "create the folder first if you mean it")
    return path


def pick_path(named: Path | None, positional: Path | None, *, flag: str, what: str) -> Path:
    """The path given as ``flag`` (or, deprecated, positionally); a usage error otherwise."""
    if named is not None and positional is not None:
        raise typer.BadParameter(f"{what} given twice ({positional} and {flag} {named})",
                                 param_hint=flag)
    if positional is not None:
        typer.echo(f"ctbridge: warning: a positional {what} is deprecated and will be removed "
                   f"in the next release; write {flag} {positional}", err=True)
        return positional
    if named is None:
        raise typer.BadParameter(f"missing {what}", param_hint=flag)
    return named


def input_option(help: str) -> typer.models.OptionInfo:
    return typer.Option("-i", "--input", help=help, show_default=False)


def out_option(help: str) -> typer.models.OptionInfo:
    return typer.Option("-o", "--out", help=help, show_default=False)


def old_argument(flag: str, metavar: str) -> typer.models.ArgumentInfo:
    """The former positional spelling: optional, listed as deprecated in --help."""
    return typer.Argument(metavar=metavar, help=DEPRECATED.format(flag=flag), show_default=False,
                          rich_help_panel="Deprecated")
