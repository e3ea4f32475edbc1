"""`ctbridge prepare`: sort a hospital DICOM export by contrast phase (see ctbridge.prepare)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ctbridge.cli.options import input_option, new_folder, old_argument, out_option, pick_path
from ctbridge.errors import DataError


def prepare_command(
    input: Annotated[Path | None, input_option(
        "Folder holding the export: any depth, any file names, DICOMDIR or not.")] = None,
    out: Annotated[Path | None, out_option(
        "Output folder: <domain>/*.nii.gz, unsorted/, manifest.csv, contact_sheets/.")] = None,
    domains: Annotated[str, typer.Option(
        help="Output domains: nc,ce (ce = any contrast phase) or phases from "
             "nc,arterial,venous,delayed.")] = "nc,ce",
    min_slices: Annotated[int, typer.Option(min=2, help="Skip series with fewer slices.")
                          ] = 20,
    dry_run: Annotated[bool, typer.Option(help="Decide and print, write nothing.")] = False,
    overwrite: Annotated[bool, typer.Option(
        help="Replace a previous prepare output in OUT.")] = False,
    old_input: Annotated[Path | None, old_argument("-i", "DICOM_ROOT")] = None,
    old_out: Annotated[Path | None, old_argument("-o", "OUT")] = None,
) -> None:
    """Sort a DICOM export into phase folders that `ctbridge train --data OUT` reads.

    Every series gets a manifest row: the evidence from the contrast tags, the description and
    the image (is the aorta enhanced?), which of them decided, or why it was skipped or left in
    unsorted/ (evidence missing or disagreeing: nothing is guessed). Exit code 2 when no
    series is kept at all, naming the most common reason.
    """
    from rich.console import Console
    from rich.table import Table

    from ctbridge.prepare.run import MANIFEST, prepare_export

    dicom_root = pick_path(input, old_input, flag="-i", what="DICOM_ROOT")
    out = pick_path(out, old_out, flag="-o", what="OUT")
    if not dry_run:
        new_folder(out)
    report = prepare_export(dicom_root, out, domains=domains, min_slices=min_slices,
                            dry_run=dry_run, overwrite=overwrite, progress=True)
    console = Console(stderr=True)
    table = Table("series", "patient", "description", "status", "domain", "decided by / reason",
                  title=f"{report.files} files, {len(report.results)} series "
                        f"({report.seconds:.1f} s)")
    for r in report.results:
        decided = r.decision.decided_by if r.decision and r.decision.domain else r.reason
        table.add_row(str(r.series.first.series_number or ""), r.series.patient_id,
                      r.series.description[:32], r.status, r.domain, decided[:90])
    console.print(table)
    counts = Counter(r.domain or r.status for r in report.results
                     if r.status != "skipped")
    skipped = Counter(r.reason.split(" (")[0] for r in report.results if r.status == "skipped")
    console.print("sorted: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                                or "nothing"))
    if skipped:
        console.print("skipped series: " + ", ".join(f"{k} ({v})" for k, v in skipped.items()))
    if report.skipped_files:
        console.print(f"skipped files: {len(report.skipped_files)} (not DICOM or unreadable)")
    multi = report.patients_in_several_domains()
    if multi:
        console.print(f"{len(multi)} patient(s) have scans in several domains; `ctbridge "
                      "train` uses each patient in one domain only (unpaired)")
    if not counts:
        raise DataError(nothing_sorted(dicom_root, skipped, min_slices, domains))
    if not dry_run:
        console.print(f"wrote {out} (see {out / MANIFEST})")


def nothing_sorted(root: Path, skipped: Counter[str], min_slices: int, domains: str) -> str:
    """Why a prepare run kept no series: the most common skip reason and the option that
    changes it, where one does.

    Example:
        >>> nothing_sorted(Path("export"), Counter({"too few slices": 3, "localizer": 1}), 20,
        ...                "nc,ce")  # doctest: +NORMALIZE_WHITESPACE
        'export: nothing sorted: 4 series skipped, most often (3) for too few slices; lower
        --min-slices (now 20) to keep shorter series'
    """
    if not skipped:
        return f"{root}: nothing sorted: no CT series found"
    reason, count = skipped.most_common(1)[0]
    text = (f"{root}: nothing sorted: {sum(skipped.values())} series skipped, most often "
            f"({count}) for {reason}")
    if reason.startswith("too few slices"):
        return f"{text}; lower --min-slices (now {min_slices}) to keep shorter series"
    if "not among the requested domains" in reason:
        return f"{text}; add its phase to --domains (now {domains})"
    return f"{text}; no option of prepare changes that (see the table above)"
