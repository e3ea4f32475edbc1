"""`ctbridge synthesize`: a labelled data set -> the same data set with synthetic-phase cases.

Registered by ``ctbridge.cli.app`` as ``app.command("synthesize")(synthesize_command)``; the work is
:func:`ctbridge.datasets.build.synthesize_dataset` (imported inside the command, so
``ctbridge --help`` does not load torch).

Exit codes: 0 every case written or left out by QC or the phase check; 100 + N when N cases
failed (capped at 125: see the manifest for the full count); 2 for a usage or input error
before any case (one line on stderr, as every ctbridge command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ctbridge.cli.options import (
    Bounds,
    Device,
    Force,
    NumParts,
    PartId,
    failed_exit_code,
    input_option,
    new_folder,
    old_argument,
    out_option,
    pick_path,
)


def synthesize_command(
    model: Annotated[Path, typer.Option(help="Run folder or checkpoint folder (ctbridge train).")],
    to: Annotated[str, typer.Option("--to", help="Target domain of the model, e.g. ce or nc.")],
    from_: Annotated[str | None, typer.Option(
        "--from", help="Domain of the data set's scans (needed only for models with > 2 "
                       "domains).")] = None,
    input: Annotated[Path | None, input_option(
        "nnU-Net v2 raw data set folder (dataset.json, imagesTr/, labelsTr/) or a "
        "Decathlon/MONAI datalist (a folder with dataset.json, or the JSON file).")] = None,
    out: Annotated[Path | None, out_option(
        "New data set folder, same format (or an earlier run's output: resumes).")] = None,
    mode: Annotated[Literal["add", "replace"], typer.Option(
        help="add: originals + one synthetic case <case>_syn<domain> each; replace: synthetic "
             "cases only.")] = "add",
    qc: Annotated[Path | None, typer.Option(
        help="QC folder (ctbridge qc train): leave out synthetic volumes it rejects.")] = None,
    max_rejected: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="With --qc: largest fraction of rejected slices a kept synthetic "
                               "volume may have.")] = 0.2,
    folds: Annotated[int, typer.Option(
        min=2, help="Cross-validation folds to make when the data set has none "
                    "(splits_final.json beside dataset.json, or fold keys).")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the folds made.")] = 0,
    translate_mode: Annotated[Literal["full", "window"], typer.Option(
        "--translate-mode", help="full (whole slices) or window (sliding windows).")] = "full",
    device: Device = "auto",
    bounds: Bounds = True,
    num_parts: NumParts = 1,
    part_id: PartId = 0,
    merge: Annotated[bool, typer.Option(
        "--merge", help="Translate nothing: merge the parts' manifests and write the data set "
                        "(the same arguments as the parts; the last part to finish does this "
                        "itself).")] = False,
    force: Force = False,
    old_input: Annotated[Path | None, old_argument("-i", "DATASET")] = None,
    old_out: Annotated[Path | None, old_argument("-o", "OUT")] = None,
) -> None:
    """Build a training set with synthetic-phase cases for nnU-Net or MONAI.

    Every labelled case is translated to --to and added as <case>_syn<domain>
    with its source's label file (--mode replace: synthetic cases only).
    Folds keep each synthetic case with its source (nnU-Net:
    splits_final.json; MONAI: a fold key per item). OUT/manifest.csv records
    every case; a re-run skips cases made from the same source and model. A
    case whose own evidence (the aorta's HU; DICOM contrast tags) says it is not
    in the source phase is left out as rejected, the evidence named (--force
    translates it anyway).

    Several processes: the same command with --num-parts N --part-id 0 ... N-1
    (case ids sorted, part I takes every N-th from I); each records its cases
    in OUT/manifest.part-I-of-N.csv, and the part that finds every case
    finished merges them and writes the data set (or run --merge).

    Exit code: 0 all cases written (or left out by QC or the phase check); 100
    + N when N cases failed (at most 125), the others written; 2 for a usage or
    input error.
    """
    from rich.console import Console
    from rich.table import Table

    from ctbridge.datasets.build import synthesize_dataset
    from ctbridge.datasets.synthesize import summary_counts

    dataset = pick_path(input, old_input, flag="-i", what="DATASET")
    out = new_folder(pick_path(out, old_out, flag="-o", what="OUT"), parent_must_exist=True)
    console = Console(stderr=True)
    result = synthesize_dataset(
        dataset, out, model=model, target=to, source=from_, mode=mode,  # type: ignore[arg-type]
        qc=qc, max_rejected=max_rejected, device=device, translate_mode=translate_mode,
        folds=folds, seed=seed, bounded=bounds, num_parts=num_parts, part_id=part_id,
        merge=merge, force=force)
    counts = summary_counts(result.outcome)
    part = f", part {part_id} of {num_parts}" if result.part else ", --merge" if merge else ""
    table = Table("synthetic cases", "count",
                  title=f"{result.out} ({result.format}, --mode {mode}{part})")
    table.add_row("written now", str(counts["written_now"]))
    table.add_row("already done (resumed)", str(counts["resumed"]))
    table.add_row("left out (QC or phase)", str(counts["rejected"]))
    table.add_row("failed", str(counts["failed"]))
    if result.merged:
        table.add_row("training cases in OUT", str(result.training_cases))
    if counts["seconds_per_case"] is not None:
        table.add_row("seconds per new case", f"{counts['seconds_per_case']:.1f}")
    console.print(table)
    problems = [r for r in result.outcome.rows if r.decision in ("failed", "rejected")]
    if problems:
        detail = Table("case", "decision", "reason", title="cases left out")
        for r in problems:
            detail.add_row(r.case, r.decision, r.reason)
        console.print(detail)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    if result.merged:
        if result.part:
            console.print(f"every part finished: merged into {result.out / 'manifest.csv'}, "
                          "folds and dataset.json written")
        console.print(f"manifest: {result.out / 'manifest.csv'}")
    else:
        console.print(f"part {part_id} of {num_parts} done; {len(result.waiting)} case(s) of "
                      "other parts not finished yet: the last part to finish merges (or run "
                      "the same command with --merge)")
    code = failed_exit_code(result.failed)
    if code:
        console.print(f"{result.failed} case(s) failed; exit code {code}")
        raise typer.Exit(code)
