"""``manifest.csv``: one row per synthetic case, what made it and what became of it.

It is both the user's record (which source, which model, how long, what QC said) and what makes
a run resumable: a row whose ``key`` matches the case's current key (see
:mod:`ctbridge.datasets.fingerprint`) and whose files exist is not redone.

Decisions: ``written`` (in the data set), ``rejected`` (left out by quality control, or by the
phase check because the source scan's own evidence says it is not in the source domain;
``reason`` says why and names the evidence), ``failed`` (could not be made; ``reason`` says
why).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ctbridge.errors import DataError
from ctbridge.io.atomic import atomic_path

MANIFEST = "manifest.csv"
DECISIONS = ("written", "rejected", "failed")


@dataclass
class ManifestRow:
    """One synthetic case.

    Attributes:
        case: the synthetic case id (``liver_003_synce``).
        source: the source case id.
        source_file: the source image it was translated from.
        model: checkpoint folder (or in-memory model name).
        model_sha256: first 16 hex digits of the model's content hash.
        direction: ``nc->ce``.
        mode: the translator's ``full`` or ``window``.
        seconds: wall time of this case (translation, QC, writing).
        qc_rejected: fraction of the synthetic volume's slices that QC rejects ("" without QC).
        decision: ``written``, ``rejected`` or ``failed``.
        reason: why rejected or failed, translator warnings otherwise.
        key: SHA-256 of everything the result depends on (resume key).
        date: when the case was made (ISO 8601, UTC).
        out_of_distribution: what of the source scan is far outside the model's training data
            (spacing, body area, body HU, body part: :mod:`ctbridge.data.scan_summary`), with
            the values and the training range; "" when nothing is or the model records no
            training range.
    """

    case: str
    source: str
    source_file: str
    model: str
    model_sha256: str
    direction: str
    mode: str
    seconds: float
    qc_rejected: float | None
    decision: str
    reason: str
    key: str
    date: str
    out_of_distribution: str = ""


FIELDS = tuple(f.name for f in fields(ManifestRow))
# the columns of manifests written before a column was added (read as "" in the new column)
OLDER_FIELDS = (FIELDS[:-1],)


def read_manifest(path: Path) -> dict[str, ManifestRow]:
    """Rows by case of an existing manifest ({} when there is none).

    Raises:
        DataError: a file that is not a manifest written by ctbridge.
    """
    if not path.is_file():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) not in (FIELDS, *OLDER_FIELDS):
                raise ValueError(f"columns {reader.fieldnames}, expected {list(FIELDS)}")
            rows = {}
            for raw in reader:
                qc = raw["qc_rejected"]
                rows[raw["case"]] = ManifestRow(**{
                    **raw, "seconds": float(raw["seconds"]),
                    "qc_rejected": float(qc) if qc else None})
    except (OSError, UnicodeDecodeError, ValueError, TypeError, csv.Error) as exc:
        raise DataError(f"{path}: not a ctbridge manifest ({exc}); move it away to start over") \
            from None
    return rows


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> Path:
    """Write rows sorted by case, atomically (an interrupted run keeps the previous file)."""
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r.case):
            out = asdict(row)
            out["seconds"] = f"{row.seconds:.2f}"
            out["qc_rejected"] = "" if row.qc_rejected is None else f"{row.qc_rejected:.4f}"
            writer.writerow(out)
    return Path(path)
