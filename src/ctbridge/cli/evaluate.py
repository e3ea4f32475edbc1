"""`ctbridge evaluate`: score translations against the true target phase of the phantom.

Registered by ``ctbridge.cli.app`` as::

    ctbridge evaluate --pred DIR --truth DIR --labels DIR [--plaques DIR] [--input DIR] \\
        --out REPORT_DIR

Folders hold NIfTI files with matching names (``patient_003.nii.gz``; read by
:mod:`ctbridge.evaluation.cases`): every scan in ``--pred``
needs its truth and label map (and plaque map / input when those folders are given). Label ids
come from the phantom's ``dataset.json`` (``"labels"``: name -> id) in the parent of
``--labels``, or from ``--label-ids``. Without ``--plaques`` the plaque instances are the 3D
connected components of the ``plaque`` label. With ``--input`` the report also compares each
translation's change from its input with the true change (:mod:`~ctbridge.evaluation.
change_metrics`: enhancement captured per structure, bone change, made-up change).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ctbridge.cli.options import new_folder, out_option
from ctbridge.errors import DataError


def evaluate_command(
    pred: Annotated[Path, typer.Option(help="Folder of translated scans (NIfTI).")],
    truth: Annotated[Path, typer.Option(help="Folder of true target-phase scans, same names.")],
    labels: Annotated[Path, typer.Option(help="Folder of organ label maps, same names.")],
    out: Annotated[Path, out_option("Report folder (metrics.json, report.md, panels/).")],
    plaques: Annotated[Path | None, typer.Option(
        help="Folder of plaque instance maps; default: components of the 'plaque' label.")
                       ] = None,
    input: Annotated[Path | None, typer.Option(
        help="Folder of the untranslated input scans: shown in the panels, and the change "
             "metrics (enhancement captured, bone change, made-up change).")] = None,
    margin_hu: Annotated[float, typer.Option(
        help="A kept plaque's peak exceeds the adjacent lumen median by this much.")] = 50.0,
    min_area_mm2: Annotated[float, typer.Option(
        help="Smallest lesion counted by the Agatston-style score (mm²).")] = 1.0,
    label_ids: Annotated[Path | None, typer.Option(
        help="JSON with \"labels\": name -> id; default: dataset.json beside --labels.")] = None,
    max_plaques: Annotated[int, typer.Option(
        help="Plaque crops per scan in the panels (0: none).")] = 8,
) -> dict[str, Any]:
    """Score translations against the true phase: image and fine-structure metrics, report."""
    from ctbridge.data.body_mask import body_mask
    from ctbridge.evaluation.cases import load_case, load_label_ids, nifti_files
    from ctbridge.evaluation.panels import save_panel, save_plaque_crops
    from ctbridge.evaluation.plaque_metrics import PlaqueRules
    from ctbridge.evaluation.report import write_report
    from ctbridge.evaluation.scan_scores import evaluate_scan

    new_folder(out)
    ids = load_label_ids(labels, label_ids)
    rules = PlaqueRules(margin_hu=margin_hu, min_area_mm2=min_area_mm2)
    for folder in (truth, labels, plaques, input):
        if folder is not None and not folder.is_dir():
            raise DataError(f"{folder}: not a folder")
    scans = []
    for path in nifti_files(pred):
        case = load_case(path.name, pred, truth, labels, plaques, input, ids)
        body = body_mask(case["truth"])
        result = evaluate_scan(path.name, case["pred"], case["truth"], case["labels"],
                               case["plaques"], ids, case["spacing"], body, rules,
                               source_hu=case["input"])
        scans.append(result)
        stem = path.name.split(".")[0]
        save_panel(out / "panels" / f"{stem}.png", case["pred"], case["truth"], case["plaques"],
                   case["input"])
        if max_plaques > 0:
            save_plaque_crops(out / "panels" / f"{stem}_plaques.png", case["pred"],
                              case["truth"], case["plaques"], result["plaques"]["table"],
                              case["input"], max_plaques=max_plaques)
        p = result["plaques"]
        typer.echo(f"{path.name}: MAE {result['image']['body']['mae_hu']:.1f} HU, "
                   f"plaques kept {p['kept_pred']}/{p['plaques']} "
                   f"(truth {p['kept_truth']}), false calc. {p['false_calcifications_pred']}")
    settings = {"pred": str(pred), "truth": str(truth), "labels": str(labels),
                "plaques": str(plaques) if plaques else None,
                "input": str(input) if input else None, "label_ids": ids,
                "rules": asdict(rules)}
    report = write_report(out, scans, settings)
    typer.echo(f"wrote {out / 'metrics.json'} and {out / 'report.md'}")
    return report
