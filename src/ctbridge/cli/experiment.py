"""`ctbridge experiment plaque|pancreas`: the paper's downstream Tables 1 and 2 on a phantom.

Registered by ``ctbridge.cli.app`` as::

    app.command("experiment")(experiment_command)

    ctbridge experiment plaque --data PHANTOM --out DIR \\
        [--translator gmm_unit=RUN_DIR --translator unit=RUN_DIR ...] \\
        [--config configs/experiment_plaque.yaml] [--preset cpu-small] [--set folds=3] \\
        [--device cpu] [--quick]

Translators are not trained here: give the run folders of ``ctbridge train``; rows without one
are listed in the table as not run. Outputs: ``DIR/results.json``, ``results.csv``,
``results.md`` (the table, by plaque size, paired comparisons), ``results.png``,
``DIR/config.yaml`` and the cached synthetic scans in ``DIR/synthetic/``. The same command
into the same DIR resumes: folds already in results.json are not trained again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from ctbridge.cli.options import PresetDevice, new_folder, out_option
from ctbridge.errors import ConfigError

EXPERIMENTS = ("plaque", "pancreas")


def parse_translators(items: list[str] | None) -> dict[str, Path]:
    """``["gmm_unit=runs/g", "unit=runs/u"]`` -> ``{"gmm_unit": Path("runs/g"), ...}``.

    Raises:
        ConfigError: an item without ``=``, an empty name, or a name given twice.
    """
    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, run = item.partition("=")
        name = name.strip()
        if not sep or not name or not run.strip():
            raise ConfigError(f"--translator {item!r}: expected NAME=RUN_DIR, e.g. "
                              "gmm_unit=runs/demo/runs/gmm_unit")
        if name in out:
            raise ConfigError(f"--translator {name} given twice")
        out[name] = Path(run.strip())
    return out


def experiment_command(
    name: Annotated[Literal["plaque", "pancreas"], typer.Argument(
        help="plaque (Table 1) or pancreas (Table 2).")],
    data: Annotated[Path, typer.Option(
        "-i", "--data", help="Phantom folder (ctbridge phantom) with labels.")],
    out: Annotated[Path, out_option("Output folder: results.json, results.md.")],
    translators: Annotated[list[str] | None, typer.Option(
        "--translator", help="NAME=RUN_DIR of a trained translator (cyclegan, unit, gmm_unit); "
                             "repeatable. Rows without one are skipped.")] = None,
    config: Annotated[str | None, typer.Option(
        help="Experiment config: a YAML path or a built-in name (default: experiment_NAME).")
    ] = None,
    preset: Annotated[str | None, typer.Option(
        help="Preset in the config: cpu-small (this machine) or full (a GPU).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config field: key=value (repeatable), e.g. folds=3.")] = None,
    device: PresetDevice = None,
    qc: Annotated[Path | None, typer.Option(
        help="QC folder (ctbridge qc train): drop the synthetic slices it rejects.")] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Apply the config's quick preset after --preset (2 folds, the smallest "
                        "U-Net, 3 steps, CPU): checks that every step runs; the numbers mean "
                        "nothing.")] = False,
) -> None:
    """Run a downstream segmentation experiment (the paper's Tables 1 and 2) on a phantom."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    overrides = list(set_ or [])
    if qc is not None:
        overrides.append(f"qc={qc}")
    if device:
        overrides.append(f"device={device}")
    if quick:
        preset = f"{preset},quick" if preset else "quick"
    chosen = parse_translators(translators)
    path = config if config is not None else f"experiment_{name}"
    if name == "plaque":
        from ctbridge.experiments.downstream.plaque import run_plaque as run
    else:
        from ctbridge.experiments.downstream.pancreas import run_pancreas as run
    md = run(data, new_folder(out), config=path, preset=preset, overrides=overrides,
             translators=chosen)
    typer.echo(md.read_text())
    results = md.with_name("results.json")
    resumed = json.loads(results.read_text()).get("resumed_folds", 0)
    if resumed:
        typer.echo(f"resumed: {resumed} finished (row, fold) results reused from {results}")
    typer.echo(f"wrote {md}, {results}, {md.with_name('results.csv')} and "
               f"{md.with_name('results.png')}")
