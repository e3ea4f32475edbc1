"""Options every command spells the same way: named paths (``-i INPUT``, ``-o OUT``, as nnU-Net
and TotalSegmentator), ``--device`` and ``--bounds/--no-bounds``.

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

from pathlib import Path
from typing import Annotated

import typer

DEPRECATED = "[deprecated: use {flag}]"

Device = Annotated[str, typer.Option(
    help="cpu, cuda, cuda:N or auto (cuda when there is one).")]
"""``--device`` of commands that translate or score (default ``auto``)."""
PresetDevice = Annotated[str | None, typer.Option(
    help="cpu, cuda, cuda:N or auto; default: the preset's (cpu-small pins cpu).")]
"""``--device`` of commands that train, where a preset may pin one."""
Bounds = Annotated[bool, typer.Option(
    "--bounds/--no-bounds", help="Hold translations to physics: contrast only adds, fat and "
    "gas (<= -50 HU) are copied, and (with --smooth, translate's default) the change into "
    "contrast is smoothed where it is small and flat; --no-bounds: the network's raw output.")]
"""``--bounds/--no-bounds`` of every command that translates."""


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
