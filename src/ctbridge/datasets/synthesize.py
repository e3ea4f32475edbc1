"""The per-case loop that makes synthetic scans: translate, check, write, record, resume.

One path for every synthetic set ctbridge builds: `ctbridge synthesize` (nnU-Net and MONAI
data sets, :mod:`ctbridge.datasets.build`) and the downstream experiments' translated
cohorts (:mod:`ctbridge.experiments.downstream.synthetic`) both hand a list of
:class:`Job` to :func:`synthesize`.

For each job: compute its key (source and label bytes, model, direction, mode, QC settings);
skip it when the manifest already holds a finished row with that key and its files exist;
otherwise check that the label is on the image's grid, optionally check the scan's phase by its
own evidence (:mod:`ctbridge.inference.phase_guard`: a scan that is not in the source domain is
left out as ``rejected``, the evidence named), translate, optionally score the result
with quality control (a volume whose rejected-slice fraction exceeds the limit is left out),
write the image and copy the label byte for byte (temporary file + rename), check the written
grids, and record the row. A case that fails is recorded with its reason and the loop goes on;
the manifest is rewritten after every case, so an interrupted run loses one case at most.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch

from ctbridge.datasets.fingerprint import case_key, file_sha256, module_sha256
from ctbridge.datasets.manifest import ManifestRow, read_manifest, write_manifest
from ctbridge.errors import DataError, InvalidScanError, one_line
from ctbridge.formats.geometry import check_same_grid, grid_difference
from ctbridge.inference.enhancement import EnhancementSmoothing
from ctbridge.inference.phase_guard import FORCE_HINT
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan, write_scan
from ctbridge.io.atomic import atomic_path
from ctbridge.io.progress import progress_bar
from ctbridge.models import checkpoint as ckpt
from ctbridge.qc.score import rejected_fraction


@dataclass(frozen=True)
class Job:
    """One synthetic case to make.

    Attributes:
        case: synthetic case id (the manifest's key).
        source: the source case id.
        image: source image file.
        image_out: where the synthetic image goes.
        label: the source's label map, copied unchanged to ``label_out`` (None: no label).
        label_out: where the label copy goes.
        dtype: NIfTI storage of the synthetic image (None: float32; ``"int16"``: rounded HU).
        needs_label: a data set case: a missing label is this case's failure.
    """

    case: str
    source: str
    image: Path
    image_out: Path
    label: Path | None = None
    label_out: Path | None = None
    dtype: str | None = None
    needs_label: bool = False

    @property
    def outputs(self) -> tuple[Path, ...]:
        return (self.image_out,) + ((self.label_out,) if self.label_out else ())


PhaseCheck = Literal["skip", "check", "force"]
"""The phase check before each translation: ``skip`` (the caller knows the phases: the phantom
cohorts of the experiments), ``check`` (a scan whose evidence says it is not in the source domain
is rejected) or ``force`` (not checked, as the user asked: the cases a check rejected are redone,
the others resume as they are)."""
PHASE_REJECTED = "phase check: "  # how the reason of a case the phase check rejected starts


class SliceRejecter(Protocol):
    """What quality control must do: flag the slices of a ``(z, y, x)`` HU volume."""

    def rejected(self, volume_hu: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class QualityGate:
    """Leave out synthetic volumes whose rejected-slice fraction exceeds ``max_rejected``.

    Attributes:
        qc: a :class:`ctbridge.qc.QualityControl` (or anything with ``rejected``).
        max_rejected: the largest fraction of rejected slices a kept volume may have.
        identity: what identifies the QC model and its threshold (part of each case's key).
    """

    qc: SliceRejecter
    max_rejected: float
    identity: str


class ModelRef:
    """A translator given as a run folder or a loaded :class:`Translator`, with its identity.

    A folder is hashed without loading it and loaded only when a case needs translating, so a
    re-run over finished cases costs a few file hashes.
    """

    def __init__(self, model: Translator | str | Path, device: str | torch.device = "cpu"
                 ) -> None:
        self.model = model if isinstance(model, Translator) else Path(model)
        self.device = device

    @property
    def name(self) -> str:
        """What the manifest's ``model`` column shows: the checkpoint folder or model name."""
        if isinstance(self.model, Translator):
            return self.model.checkpoint or f"{self.model.name} (in memory)"
        return str(ckpt.resolve_checkpoint(self.model))

    @cached_property
    def sha256(self) -> str:
        if isinstance(self.model, Translator):
            if self.model.checkpoint:
                return ckpt.checkpoint_sha256(self.model.checkpoint)
            return module_sha256(self.model.model, self.model.name)
        return ckpt.checkpoint_sha256(self.model)

    @cached_property
    def translator(self) -> Translator:
        if isinstance(self.model, Translator):
            return self.model
        return Translator.from_checkpoint(self.model, device=self.device)


@dataclass
class Outcome:
    """What :func:`synthesize` did: a manifest row per job, in job order.

    Attributes:
        rows: the rows of this run's jobs.
        resumed: case ids skipped because a finished row with the same key exists.
    """

    rows: list[ManifestRow]
    resumed: set[str] = field(default_factory=set)

    def count(self, decision: str) -> int:
        return sum(r.decision == decision for r in self.rows)

    @property
    def failed(self) -> list[ManifestRow]:
        return [r for r in self.rows if r.decision == "failed"]

    @property
    def written(self) -> dict[str, ManifestRow]:
        return {r.case: r for r in self.rows if r.decision == "written"}


def job_key(job: Job, model: ModelRef, direction: str, mode: str, gate: QualityGate | None,
            bounded: bool = True, smooth: bool = True) -> str:
    """The resume key of ``job`` (module docstring); OSError when a source file is missing."""
    label = file_sha256(job.label) if job.label else "no-label"
    qc = f"qc:{gate.identity}:{gate.max_rejected!r}" if gate else "qc:none"
    return case_key(file_sha256(job.image), label, model.sha256, direction, mode,
                    str(job.dtype), qc, postprocess_tag(bounded, smooth))


def postprocess_tag(bounded: bool, smooth: bool) -> str:
    """What inference does after the network, for cache keys (a change redoes the case)."""
    if not bounded:
        return "bounds:off"
    return "bounds:on;" + (EnhancementSmoothing().tag if smooth else "smooth:off")


def is_finished(previous: ManifestRow | None, key: str, job: Job, phase: PhaseCheck = "skip"
                ) -> bool:
    """Whether the manifest's row makes redoing ``job`` unnecessary (a case the phase check
    rejected is redone when the check is forced)."""
    if previous is None or previous.key != key:
        return False
    if previous.decision == "written":
        return all(p.is_file() for p in job.outputs)
    if phase == "force" and previous.reason.startswith(PHASE_REJECTED):
        return False
    return previous.decision == "rejected"


def remove_outputs(job: Job) -> None:
    """Delete what an earlier run wrote for ``job`` (it is being redone or left out)."""
    for path in job.outputs:
        if path.is_file():
            path.unlink()


def copy_file(src: Path, dst: Path) -> Path:
    """Copy bytes (and modification time) via a temporary file and a rename."""
    with atomic_path(dst) as tmp:
        shutil.copy2(src, tmp)
    return dst


def make_case(job: Job, translator: Translator, *, target: str, source: str, mode: str,
              gate: QualityGate | None, bounded: bool = True, smooth: bool = True,
              phase: PhaseCheck = "skip") -> tuple[str, float | None, str, str]:
    """Translate one job and write it; returns (decision, QC rejected fraction, reason, what
    of the scan is far outside the training data)."""
    if job.needs_label and job.label is None:
        raise DataError(f"{job.image}: no label file for case {job.source!r}")
    if job.label is not None:
        if not job.label.is_file():
            raise DataError(f"{job.label}: no such label file (case {job.source!r})")
        check_same_grid(job.image, job.label)
    scan = read_scan(job.image)
    if phase == "check":
        check = translator.check_phase(scan, target, source)
        if not check.ok:
            remove_outputs(job)
            return "rejected", None, f"{PHASE_REJECTED}{check.reason()} ({FORCE_HINT})", ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = translator.translate_scan(  # the scan is read for this case only
            scan, target, source=source, mode=mode,  # type: ignore[arg-type]
            bounded=bounded, smooth=smooth, in_place=True)
    ood = "; ".join(result.warnings)  # the translator's check against its training data
    notes = "; ".join(str(w.message) for w in caught if str(w.message) not in result.warnings)
    fraction = None
    if gate is not None:
        fraction = rejected_fraction(gate.qc, result.scan.array)
        if fraction > gate.max_rejected:
            remove_outputs(job)
            return "rejected", fraction, (f"QC rejects {fraction:.0%} of its slices (more than "
                                          f"--max-rejected {gate.max_rejected:g})"), ood
    write_scan(result.scan, job.image_out, dtype=job.dtype)
    if job.label is not None and job.label_out is not None:
        copy_file(job.label, job.label_out)
        difference = grid_difference(job.image_out, job.label_out)
        if difference:  # translation keeps the grid: this would be a bug, never ship it
            remove_outputs(job)
            raise InvalidScanError(f"{job.image_out}: the synthetic image left its label's grid "
                                   f"({difference})")
    return "written", fraction, notes, ood


def synthesize(jobs: Sequence[Job], model: ModelRef, *, target: str, source: str,
               manifest: Path, mode: str = "full", gate: QualityGate | None = None,
               progress: bool = True, desc: str = "synthesize", bounded: bool = True,
               smooth: bool = True, previous: Mapping[str, ManifestRow] | None = None,
               phase: PhaseCheck = "skip") -> Outcome:
    """Make every job's synthetic case, resuming from ``manifest`` (rows of other cases kept).

    Args:
        jobs: the cases to make (distinct ``case`` ids).
        model: the translator (loaded on the first case that needs it).
        target, source: domains of the translator (``ce``, ``nc``).
        manifest: ``manifest.csv`` to read and rewrite after every case.
        mode: ``full`` or ``window`` (see :meth:`Translator.translate_scan`).
        gate: quality control, or None.
        bounded: hold translations to the physical bounds (:mod:`ctbridge.inference.bounds`).
        smooth: with ``bounded``, smooth the change into contrast
            (:mod:`ctbridge.inference.enhancement`).
        previous: rows to resume from besides those of ``manifest`` (which win), e.g. the
            merged manifest's rows for a part of a split run (:mod:`ctbridge.datasets.build`).
        phase: the phase check before each translation (:data:`PhaseCheck`).

    Returns:
        The rows of ``jobs``; failed cases have ``decision == "failed"`` and a reason.

    Raises:
        CheckpointError: the model cannot be loaded or lacks ``source`` or ``target`` (nothing
            can be made: the run stops before its first translation).
        DataError: an unreadable manifest.
    """
    rows = {**(previous or {}), **read_manifest(manifest)}
    direction = f"{source}->{target}"
    outcome = Outcome([])
    for job in progress_bar(jobs, desc=desc, unit="case", enabled=progress, leave=False):
        t0 = time.perf_counter()
        key, fraction, reason, ood = "", None, "", ""
        try:
            key = job_key(job, model, direction, mode, gate, bounded, smooth)
            if is_finished(rows.get(job.case), key, job, phase):
                outcome.rows.append(rows[job.case])
                outcome.resumed.add(job.case)
                continue
            translator = model.translator
            translator.resolve_source(target, source)  # CheckpointError: stop the run
            decision, fraction, reason, ood = make_case(
                job, translator, target=target, source=source, mode=mode, gate=gate,
                bounded=bounded, smooth=smooth, phase=phase)
        except (OSError, ValueError, RuntimeError, MemoryError, InvalidScanError,
                DataError) as exc:
            # one bad case (unreadable, mismatched, too small, out of memory) never stops a run
            remove_outputs(job)
            decision, reason = "failed", one_line(exc)
        row = ManifestRow(
            case=job.case, source=job.source, source_file=str(job.image), model=model.name,
            model_sha256=model.sha256[:16], direction=direction, mode=mode,
            seconds=time.perf_counter() - t0, qc_rejected=fraction, decision=decision,
            reason=reason, key=key, date=datetime.now(UTC).isoformat(timespec="seconds"),
            out_of_distribution=ood)
        rows[job.case] = row
        outcome.rows.append(row)
        write_manifest(manifest, rows.values())
    return outcome


def summary_counts(outcome: Outcome) -> dict[str, Any]:
    """Counts of each decision, of the cases written by this run (``written_now``) and of
    those resumed, and the mean seconds of the cases this run made (None when it made none)."""
    now = [r for r in outcome.rows if r.case not in outcome.resumed]
    made = [r.seconds for r in now if r.decision != "failed"]
    return {**{d: outcome.count(d) for d in ("written", "rejected", "failed")},
            "written_now": sum(r.decision == "written" for r in now),
            "resumed": len(outcome.resumed),
            "seconds_per_case": float(np.mean(made)) if made else None}
