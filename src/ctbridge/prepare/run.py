"""`ctbridge prepare`: sort a DICOM export into ``OUT/<domain>/`` NIfTI files with a manifest.

    OUT/<domain>/<patient>_s<series>.nii.gz   sorted series (HU, geometry kept)
    OUT/unsorted/<patient>_s<series>.nii.gz   CT scans whose phase the evidence does not settle
    OUT/manifest.csv                          one row per series: decision, evidence, reason
    OUT/skipped_files.csv                     files that are not (readable) DICOM, with reasons
    OUT/contact_sheets/<domain>.png           middle slice of every series of a domain

The folder is what ``ctbridge train --data OUT`` reads; the manifest also tells it which
patient each file belongs to, so a patient scanned in two phases is used in one domain only.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ctbridge.data.aorta_contrast import image_evidence
from ctbridge.data.contrast_tags import tag_evidence
from ctbridge.data.phase_evidence import Evidence, phase_words
from ctbridge.data.phase_keywords import description_evidence
from ctbridge.errors import CTBridgeError, DataError, one_line
from ctbridge.io import Scan, write_scan
from ctbridge.io.atomic import atomic_path
from ctbridge.io.dicom import read_dicom_files
from ctbridge.io.progress import progress_bar
from ctbridge.prepare.decide import Decision, decide, parse_domains
from ctbridge.prepare.index import SkippedFile, index_tree
from ctbridge.prepare.series import MIN_SLICES, Series, check_series, group_series
from ctbridge.prepare.sheet import series_sheet

MANIFEST = "manifest.csv"
SKIPPED_FILES = "skipped_files.csv"
UNSORTED = "unsorted"
SHEETS = "contact_sheets"
COLUMNS = ("patient", "study_uid", "series_uid", "series_number", "description", "protocol",
           "files", "slices", "spacing_mm", "status", "domain", "phase", "decided_by",
           "tags", "description_evidence", "image", "reason", "notes", "patient_domains",
           "output")


@dataclass
class SeriesResult:
    """What became of one series: ``status`` is sorted, unsorted or skipped."""

    series: Series
    status: str
    reason: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    decision: Decision | None = None
    output: Path | None = None
    shape: tuple[int, int, int] | None = None
    spacing: tuple[float, float, float] | None = None
    thumbnail: np.ndarray | None = None

    @property
    def domain(self) -> str:
        return (self.decision.domain or "") if self.decision else ""


@dataclass
class PrepareReport:
    results: list[SeriesResult]
    skipped_files: list[SkippedFile]
    seconds: float
    files: int

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def patients_in_several_domains(self) -> list[str]:
        return sorted(p for p, d in _patient_domains(self.results).items() if "+" in d)


def safe_name(text: str, fallback: str = "anonymous") -> str:
    """A file-name-safe form of a DICOM value: ``"Müller^Hans 1"`` -> ``"M_ller_Hans_1"``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("._") or fallback


def _series_names(series: Sequence[Series]) -> dict[str, str]:
    """``<patient>_s<number>``, with the UID's tail added where that is not unique."""
    names = {s.uid: f"{safe_name(s.patient_id)}_s{s.first.series_number or 0:03d}"
             for s in series}
    counts = Counter(names.values())
    return {uid: name if counts[name] == 1 else f"{name}_{safe_name(uid)[-8:]}"
            for uid, name in names.items()}


def _evidence(series: Series, scan: Scan) -> list[Evidence]:
    h = series.first
    acquired = h.acquisition_time or h.content_time or h.series_time
    return [
        tag_evidence(agent=h.contrast_agent, route=h.contrast_route,
                     start=h.contrast_start_time, acquired=acquired),
        description_evidence(h.series_description, h.protocol_name),
        image_evidence(scan),
    ]


def _thumbnail(scan: Scan, size: int = 128) -> np.ndarray:
    hu = scan.array[scan.shape[0] // 2]
    if scan.direction[1, 1] < 0:
        hu = hu[::-1]
    step = max(1, max(hu.shape) // size)
    return np.asarray(hu[::step, ::step], dtype=np.float32)


def _int16_if_lossless(scan: Scan) -> str | None:
    a = scan.array
    if np.all(np.isfinite(a)) and a.min() >= -32768 and a.max() <= 32767 \
            and np.array_equal(a, np.round(a)):
        return "int16"
    return None


def _prepare_output(out: Path, overwrite: bool) -> None:
    """Refuse to mix with other files; with ``overwrite``, clear a previous prepare's outputs."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / MANIFEST).is_file():
        raise DataError(f"{out}: exists, is not empty and is not a previous `ctbridge prepare` "
                        "output (no manifest.csv); choose a new folder")
    if not overwrite:
        raise DataError(f"{out}: holds a previous `ctbridge prepare` output; pass --overwrite "
                        "to replace it")
    with (out / MANIFEST).open(newline="") as f:
        folders = {Path(row["output"]).parts[0] for row in csv.DictReader(f) if row.get("output")}
    for name in {*folders, UNSORTED, SHEETS}:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in (MANIFEST, SKIPPED_FILES):
        (out / name).unlink(missing_ok=True)


def _process(series: Series, name: str, out: Path, domains: dict[str, frozenset[str]],
             dry_run: bool) -> SeriesResult:
    if not series.kept:
        return SeriesResult(series, "skipped", series.skip_reason)
    files = [h.path for h in series.files]
    try:
        scan = read_dicom_files(files, source=files[0].parent)
    except CTBridgeError as exc:
        return SeriesResult(series, "skipped", f"cannot read: {one_line(exc)}")
    evidence = _evidence(series, scan)
    decision = decide(evidence, domains)
    result = SeriesResult(series, "sorted" if decision.domain else "unsorted", decision.reason,
                          evidence, decision, shape=scan.shape, spacing=scan.spacing,
                          thumbnail=_thumbnail(scan))
    if not decision.requested:
        result.status = "skipped"
        return result
    folder = decision.domain or UNSORTED
    result.output = Path(folder) / f"{name}.nii.gz"
    if not dry_run:
        write_scan(scan, out / result.output, dtype=_int16_if_lossless(scan))
    return result


def _patient_domains(results: Sequence[SeriesResult]) -> dict[str, str]:
    held: dict[str, set[str]] = defaultdict(set)
    for r in results:
        if r.status == "sorted":
            held[r.series.patient_id].add(r.domain)
    return {p: "+".join(sorted(d)) for p, d in held.items()}


def _manifest_rows(results: Sequence[SeriesResult]) -> list[dict[str, str]]:
    both = _patient_domains(results)
    rows = []
    for r in results:
        s, h = r.series, r.series.first
        by_source = {e.source: e.detail for e in r.evidence}
        rows.append({
            "patient": s.patient_id, "study_uid": h.study_uid, "series_uid": s.uid,
            "series_number": "" if h.series_number is None else str(h.series_number),
            "description": h.series_description, "protocol": h.protocol_name,
            "files": str(len(s.files) + s.duplicates),
            "slices": str(r.shape[0]) if r.shape else "",
            "spacing_mm": " x ".join(f"{v:.3g}" for v in r.spacing) if r.spacing else "",
            "status": r.status, "domain": r.domain,
            "phase": phase_words(r.decision.phases) if r.decision and r.decision.phases else "",
            "decided_by": r.decision.decided_by if r.decision and r.decision.domain else "",
            "tags": by_source.get("tags", ""),
            "description_evidence": by_source.get("description", ""),
            "image": by_source.get("image", ""), "reason": r.reason,
            "notes": "; ".join(s.notes),
            "patient_domains": both.get(s.patient_id, ""),
            "output": r.output.as_posix() if r.output else "",
        })
    return rows


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")


def _write_sheets(results: Sequence[SeriesResult], out: Path) -> None:
    groups: dict[str, list[tuple[str, np.ndarray]]] = defaultdict(list)
    for r in results:
        if r.output is not None and r.thumbnail is not None:
            caption = f"{r.output.name[:-7]}\n{r.series.description[:28]}"
            groups[r.output.parts[0]].append((caption, r.thumbnail))
    for folder, thumbs in groups.items():
        series_sheet(thumbs, out / SHEETS / f"{folder}.png", title=folder)


def prepare_export(root: str | Path, out: str | Path, *, domains: str = "nc,ce",
                   min_slices: int = MIN_SLICES, dry_run: bool = False,
                   overwrite: bool = False, progress: bool = True) -> PrepareReport:
    """Sort the DICOM export under ``root`` into ``out`` (layout in the module docstring).

    Args:
        domains: comma-separated output domains (``nc,ce`` or ``nc,arterial,venous,delayed``).
        min_slices: series with fewer slices are skipped.
        dry_run: decide everything, write nothing.
        overwrite: replace a previous prepare output in ``out``.

    Raises:
        DataError: ``root`` missing or holding no DICOM file; ``out`` not usable.
        ConfigError: bad ``domains``.
    """
    t0 = time.perf_counter()
    root, out = Path(root), Path(out)
    wanted = parse_domains(domains)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    if out.resolve().is_relative_to(root.resolve()):
        raise DataError(f"{out}: the output must not be inside the export {root}")
    if not dry_run:
        _prepare_output(out, overwrite)
    headers, skipped_files = index_tree(root, progress=progress)
    if not headers:
        raise DataError(f"{root}: no DICOM files among {len(skipped_files)} file(s)")
    series = check_series(group_series(headers), min_slices)
    names = _series_names(series)
    results = [_process(s, names[s.uid], out, wanted, dry_run)
               for s in progress_bar(series, desc="series", unit="series", enabled=progress)]
    report = PrepareReport(results, skipped_files, time.perf_counter() - t0,
                           len(headers) + len(skipped_files))
    if not dry_run:
        _write_csv(out / MANIFEST, COLUMNS, _manifest_rows(results))
        _write_csv(out / SKIPPED_FILES, ("path", "reason"),
                   [{"path": str(f.path), "reason": f.reason} for f in skipped_files])
        _write_sheets(results, out)
    return report
