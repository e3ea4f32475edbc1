"""`ctbridge select-k`: train GMM-UNIT for several K and pick one on a validation fold.

Registered by ``ctbridge.cli.app`` as::

    ctbridge select-k --config configs/gmm_unit.yaml --k 1,5,10,25 --data PHANTOM --out DIR \\
        [--preset cpu-small] [--set key=value ...] [--val-patients 2] \\
        [--criterion ce_dice|plaque_recall|mae] [--no-downstream]

See :mod:`ctbridge.experiments.select_k` for what is trained and scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ctbridge.cli.options import Bounds, new_folder


def select_k_command(
    data: Annotated[Path, typer.Option(
        "-i", "--data", help="Phantom folder (ctbridge phantom): every phase, labels and "
                             "plaques.")],
    out: Annotated[Path, typer.Option(
        "-o", "--out", help="Output folder: results.md/json, select_k.png, one run folder per "
                            "K.")],
    k: Annotated[str, typer.Option("--k", help="K values to compare, comma-separated.")]
    = "1,5,10,25",
    config: Annotated[str, typer.Option(
        help="GMM-UNIT training config: a YAML path or a built-in name.")] = "gmm_unit",
    preset: Annotated[str | None, typer.Option(help="Preset of the training config.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a training config field for every K: key=value.")] = None,
    val_patients: Annotated[int, typer.Option(
        help="Last N patients by name form the validation fold.")] = 2,
    criterion: Annotated[Literal["ce_dice", "plaque_recall", "mae"], typer.Option(
        help="ce_dice (downstream, the paper's), plaque_recall or mae.")] = "ce_dice",
    downstream: Annotated[bool, typer.Option(
        help="Train a quick plaque U-Net per K (real NC + synthetic CE, tested on real CE).")]
    = True,
    downstream_preset: Annotated[str, typer.Option(
        help="Preset of configs/experiment_plaque.yaml for the downstream check.")]
    = "cpu-small",
    downstream_set: Annotated[list[str] | None, typer.Option(
        "--downstream-set", help="Override a field of that config: key=value.")] = None,
    mode: Annotated[Literal["full", "window"], typer.Option(
        help="Translation mode: full or window.")] = "full",
    bounds: Bounds = True,
) -> None:
    """Choose the number of mixture components K by validation scores (paper §3)."""
    from ctbridge.experiments.select_k import parse_ks, select_k

    out = new_folder(out)
    md = select_k(config, parse_ks(k), data, out, preset=preset, overrides=list(set_ or []),
                  val_patients=val_patients, downstream=downstream,
                  downstream_preset=downstream_preset,
                  downstream_overrides=list(downstream_set or []), criterion=criterion, mode=mode,
                  bounded=bounds)
    typer.echo(md.read_text())
    typer.echo(f"wrote {md}, {md.with_name('results.json')}, {md.with_name('select_k.png')}")
