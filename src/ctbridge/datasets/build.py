"""A labelled data set in, the same data set with synthetic-phase cases out.

:func:`synthesize_dataset` reads an nnU-Net v2 raw data set or a Decathlon/MONAI datalist,
translates every labelled case to the target domain through :func:`~ctbridge.datasets.
synthesize.synthesize` and writes a new data set in the same format:

* ``--mode add``: the original cases (copied) plus one synthetic case ``<case>_syn<domain>``
  each, carrying the source's label file unchanged;
* ``--mode replace``: the synthetic cases only.

Besides the images and labels: ``dataset.json`` (``numTraining`` updated, channel names kept:
nnU-Net picks its CT normalisation by the name "CT"; a description and a ``ctbridge`` entry
naming the model, direction and date), cross-validation folds that keep every synthetic case
with its source (nnU-Net: ``splits_final.json``; MONAI: a ``fold`` key per training item),
and ``manifest.csv``. A case that fails (unreadable, no label, label off the image grid) is
left out of OUT together with its original, recorded in the manifest, and the run goes on.

Split runs (``num_parts``/``part_id``, nnU-Net's convention): each part makes its share of the
cases and records them in its own ``manifest.part-I-of-N.csv`` (no shared file is written while
parts run). The data set itself (``manifest.csv``, copies, folds, ``dataset.json``) is written
by a merge, under a lock, once every case has a finished row with its current key: the part
that finds this at its end merges, or ``merge=True`` (``--merge``) does it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import ctbridge
from ctbridge.datasets.fingerprint import folder_sha256
from ctbridge.datasets.manifest import MANIFEST, ManifestRow, read_manifest, write_manifest
from ctbridge.datasets.splits import (
    Split,
    as_splits,
    expand_splits,
    groups_from_keys,
    leaks,
    make_folds,
    read_splits,
    write_splits,
)
from ctbridge.datasets.synthesize import (
    Job,
    ModelRef,
    Outcome,
    PhaseCheck,
    QualityGate,
    is_finished,
    job_key,
    postprocess_tag,
    synthesize,
)
from ctbridge.errors import DataError
from ctbridge.formats import decathlon, nnunet
from ctbridge.formats.cases import SourceDataset, nifti_ending
from ctbridge.formats.geometry import stored_dtype
from ctbridge.inference.parts import check_part, select_part
from ctbridge.inference.translator import Translator
from ctbridge.io.atomic import atomic_path
from ctbridge.io.progress import progress_bar

Mode = Literal["add", "replace"]
# per-case maps some data sets keep beside labelsTr (the phantom's plaque instance ids, which
# its dataset.json cites): copied, when the input has them, for every case made from a source
EXTRA_FOLDERS = ("plaquesTr",)
# folders of OUT this module writes; files in them that do not belong to the data set go
OWNED = ("imagesTr", "labelsTr", "imagesTs", "labelsTs", "imagesVal", "labelsVal",
         *EXTRA_FOLDERS)
OTHER_FOLDERS = {"test": ("imagesTs", "labelsTs"), "validation": ("imagesVal", "labelsVal")}


@dataclass
class DatasetResult:
    """What :func:`synthesize_dataset` wrote.

    Attributes:
        out: the new data set folder.
        format: ``nnunet`` or ``decathlon``.
        outcome: the manifest rows of the synthetic cases (and which were resumed).
        members: source case -> the cases of OUT made from it (itself in add mode, synthetic).
        splits: the folds as written, over OUT's case ids.
        notes: things the user should know (folder naming, empty folds).
        part: (part id, number of parts) of a split run, None for a whole run.
        merged: whether this call wrote the data set (manifest, folds, dataset.json); a part
            whose siblings are not finished leaves that to the last one (or to ``--merge``).
        waiting: the synthetic cases without a finished row when not merged.
    """

    out: Path
    format: str
    outcome: Outcome
    members: dict[str, list[str]]
    splits: list[Split]
    notes: list[str] = field(default_factory=list)
    part: tuple[int, int] | None = None
    merged: bool = False
    waiting: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.outcome.failed)

    @property
    def training_cases(self) -> int:
        return sum(len(m) for m in self.members.values())


def read_dataset(path: str | Path) -> SourceDataset:
    """An nnU-Net v2 raw data set folder or a Decathlon/MONAI datalist (folder or JSON file).

    Raises:
        DataError: neither format (the message says what each one needs).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if decathlon.is_datalist(path):
        return decathlon.read_decathlon(path)
    if path.is_dir() and nnunet.is_nnunet_dataset(path):
        return nnunet.read_nnunet(path)
    raise DataError(f"{path}: neither an nnU-Net v2 raw data set (dataset.json with "
                    "channel_names, labels, numTraining, file_ending; imagesTr/, labelsTr/) nor "
                    "a Decathlon/MONAI datalist (dataset.json with a \"training\" list)")


def _check_out(src: SourceDataset, out: Path) -> None:
    root, target = src.root.resolve(), out.resolve()
    if target == root or root in target.parents:
        raise DataError(f"{out}: the output must be a new folder outside the input data set "
                        f"{src.root}")
    if out.is_file():
        raise DataError(f"{out}: a file; the output is a folder")
    # dot files: another part's temporary manifest, the merge lock
    if out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()) \
            and not (out / MANIFEST).is_file():
        raise DataError(f"{out}: exists and is not the output of an earlier ctbridge synthesize "
                        f"(no {MANIFEST}); choose a new folder")


def _paths(src: SourceDataset, out: Path, case: str, ending: str) -> tuple[Path, Path]:
    """(image, label) paths of ``case`` in OUT's layout."""
    if src.format == "nnunet":
        return (out / "imagesTr" / nnunet.image_name(case, ending),
                out / "labelsTr" / nnunet.label_name(case, ending))
    return out / "imagesTr" / f"{case}{ending}", out / "labelsTr" / f"{case}{ending}"


def _ending(src: SourceDataset, image: Path) -> str:
    return src.file_ending if src.format == "nnunet" else (nifti_ending(image.name) or ".nii.gz")


def _source_splits(src: SourceDataset, labelled: Sequence[str], folds: int, seed: int
                   ) -> tuple[list[Split], str]:
    """Folds over source cases: the data set's own when it has them, else made; and whence."""
    if src.format == "nnunet" and (src.root / nnunet.SPLITS_FILE).is_file():
        return read_splits(src.root / nnunet.SPLITS_FILE), str(src.root / nnunet.SPLITS_FILE)
    if src.format == "decathlon":
        groups = groups_from_keys([(c.case_id, c.extra.get("fold")) for c in src.cases])
        if groups is not None:
            return as_splits(groups), "the datalist's fold keys"
    groups = make_folds(labelled, folds, seed, option=f"--folds (now {folds}; at least 2)")
    return as_splits(groups), f"made: {folds} folds, seed {seed}"


def _copy_if_changed(src: Path, dst: Path) -> None:
    """Copy unless ``dst`` already is a copy (same size and modification time)."""
    if dst.is_file():
        a, b = src.stat(), dst.stat()
        if a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns:
            return
    with atomic_path(dst) as tmp:
        shutil.copy2(src, tmp)


def _prune(out: Path, keep: set[Path]) -> None:
    """Delete NIfTI files (and temporary leftovers of a killed run) in OUT's data folders that
    are not part of the data set being written, so counts and file lists agree."""
    for sub in OWNED:
        folder = out / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            leftover = path.name.startswith(".") and ".tmp" in path.name
            if path.is_file() and (leftover or (nifti_ending(path.name) and path not in keep)):
                path.unlink()


def _fold_of(splits: Sequence[Split]) -> dict[str, int]:
    """Case -> index of the fold that validates it (the datalist's ``fold`` key)."""
    return {case: k for k, fold in enumerate(splits) for case in fold["val"]}


def part_manifest(out: Path, part_id: int, num_parts: int) -> Path:
    """``OUT/manifest.part-I-of-N.csv``: the rows part ``I`` of ``N`` writes until the merge."""
    return out / f"manifest.part-{part_id}-of-{num_parts}.csv"


def _part_files(out: Path) -> list[Path]:
    return sorted(out.glob("manifest.part-*-of-*.csv"))


@contextmanager
def _merge_lock(out: Path) -> Iterator[None]:
    """One merge at a time in ``out`` (an OS lock on ``OUT/.merge.lock``: released when its
    process ends, so a killed part leaves no stale lock; no lock where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: parts must not finish at the same moment
        yield
        return
    with (out / ".merge.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _seed_part(manifest: Path, part_file: Path, mine: Sequence[Job]) -> dict[str, ManifestRow]:
    """The finished rows of a part's cases (an earlier merged run's, then its own earlier ones),
    also written as its part file: resume works across splits. Failed rows are left out: they
    are redone, and a merge must not take an old failure for this run's."""
    cases = {job.case for job in mine}
    rows = {c: r for c, r in read_manifest(manifest).items() if c in cases}
    rows.update({c: r for c, r in read_manifest(part_file).items() if c in cases})
    rows = {c: r for c, r in rows.items() if r.decision != "failed"}
    write_manifest(part_file, rows.values())
    return rows


def _merged_rows(out: Path, jobs: Sequence[Job], expected: dict[str, str | None],
                 phase: PhaseCheck = "check") -> tuple[dict[str, ManifestRow], list[str]]:
    """The row of every job from ``manifest.csv`` and the part files, and the jobs that have
    none finished yet. A row counts when it has the job's current key (written: its files
    exist; a failed row: the key it could compute, "" when the source could not be read)."""
    sources = [read_manifest(out / MANIFEST), *(read_manifest(p) for p in _part_files(out))]
    chosen: dict[str, ManifestRow] = {}
    missing = []
    for job in jobs:
        key = expected[job.case]
        done = [rows[job.case] for rows in sources if job.case in rows and (
            is_finished(rows[job.case], key or "", job, phase)
            or (rows[job.case].decision == "failed" and rows[job.case].key == (key or "")))]
        done.sort(key=lambda r: r.decision == "failed")  # a success over an older failure
        if done:
            chosen[job.case] = done[0]
        else:
            missing.append(job.case)
    return chosen, missing


def synthesize_dataset(dataset: str | Path, out: str | Path, *, model: Translator | str | Path,
                       target: str, source: str | None = None, mode: Mode = "add",
                       qc: str | Path | None = None, max_rejected: float = 0.2,
                       device: str = "cpu", translate_mode: str = "full", folds: int = 5,
                       seed: int = 0, progress: bool = True, bounded: bool = True,
                       num_parts: int = 1, part_id: int = 0, merge: bool = False,
                       force: bool = False) -> DatasetResult:
    """Write ``out``: ``dataset`` with its labelled cases translated to ``target`` (module doc).

    Args:
        dataset: nnU-Net v2 raw data set folder or Decathlon/MONAI datalist.
        out: the new data set folder (new, or an earlier run's output to resume).
        model: run or checkpoint folder (or a loaded Translator).
        target: the model's domain to translate to (``ce``); names the synthetic cases.
        source: the input's domain; needed only for models with more than two domains.
        mode: ``add`` (originals + synthetic) or ``replace`` (synthetic only).
        qc: a QC folder (``ctbridge qc train``): leave out synthetic volumes with more than
            ``max_rejected`` of their slices rejected.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
        translate_mode: the translator's ``full`` or ``window``.
        folds, seed: folds to make when the data set brings none.
        bounded: hold translations to the physical bounds (:mod:`ctbridge.inference.bounds`).
        num_parts, part_id: make only this part's cases (:mod:`ctbridge.inference.parts`: the
            case ids sorted, every ``num_parts``-th from ``part_id``), recording them in
            ``manifest.part-I-of-N.csv``. Whichever part finds every case finished merges:
            ``manifest.csv``, the copies of the originals and test images, the folds and
            ``dataset.json`` are written once, over all cases.
        merge: make nothing; merge the parts' rows (the same arguments as the parts).
            DataError when a case has no finished row yet.
        force: translate every case without checking its phase first; by default a case whose
            own evidence (:mod:`ctbridge.inference.phase_guard`) says it is not in the source
            domain is left out as ``rejected``, the evidence in the manifest's reason.

    Raises:
        DataError: the input is not a data set, OUT is not a new folder, too few cases for the
            folds. CheckpointError: an unusable model or domain. ConfigError: a bad device or
            part.
    """
    from ctbridge.device import resolve_device

    if mode not in ("add", "replace"):
        raise DataError(f"--mode must be add or replace, got {mode!r}")
    if not 0.0 <= max_rejected <= 1.0:
        raise DataError(f"--max-rejected must be in [0, 1], got {max_rejected}")
    check_part(num_parts, part_id)
    out = Path(out)
    src = read_dataset(dataset)
    _check_out(src, out)
    if merge and not (out / MANIFEST).is_file():
        raise DataError(f"{out}: nothing to merge (no {MANIFEST}: run the parts first)")
    dev = resolve_device(device)
    ref = ModelRef(model, dev)
    source = ref.translator.resolve_source(target, source)  # fail before any work
    # said once per run: a checkpoint that cannot check scans against its training data
    model_notes = [ref.translator.unchecked_note] if ref.translator.unchecked_note else []
    if not target.isidentifier():
        raise DataError(f"--to {target!r}: a domain name makes case names; letters, digits, _")
    labelled = [c.case_id for c in src.cases if c.label is not None]
    splits, splits_from = _source_splits(src, labelled, folds, seed)
    gate = None
    if qc is not None:
        from ctbridge.qc import QualityControl
        from ctbridge.qc.model_io import QC_JSON, QC_MODEL

        gate = QualityGate(QualityControl.load(qc, device=dev), max_rejected,
                           folder_sha256(Path(qc), (QC_JSON, QC_MODEL)))
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    if not manifest.is_file():
        write_manifest(manifest, [])  # marks OUT as a synthesize output from the start
    syn = {c.case_id: f"{c.case_id}_syn{target}" for c in src.cases}
    jobs = []
    for case in src.cases:
        image_out, label_out = _paths(src, out, syn[case.case_id], _ending(src, case.image))
        jobs.append(Job(syn[case.case_id], case.case_id, case.image, image_out, case.label,
                        label_out, dtype=stored_dtype(case.image), needs_label=True))
    direction = f"{source}->{target}"
    phase: PhaseCheck = "force" if force else "check"
    part = (part_id, num_parts) if num_parts > 1 else None
    outcome = Outcome([])
    if not merge:
        mine = select_part(jobs, num_parts, part_id, name=lambda job: job.source)
        working, previous = manifest, None
        if part is not None:
            working = part_manifest(out, part_id, num_parts)
            previous = _seed_part(manifest, working, mine)
        outcome = synthesize(mine, ref, target=target, source=source, manifest=working,
                             mode=translate_mode, gate=gate, progress=progress,
                             desc=direction + (f" part {part_id}/{num_parts}" if part else ""),
                             bounded=bounded, previous=previous, phase=phase)
        if part is None:  # a whole run: this run's rows are every case's
            with _merge_lock(out):
                return _noted(model_notes, _finish(
                    src, out, jobs, {r.case: r for r in outcome.rows}, splits, splits_from, ref,
                    source, target, mode, translate_mode, gate, outcome, progress, bounded, part,
                    phase))
    with _merge_lock(out):
        if part is not None and not merge:  # cheap test first: does every case have a row?
            rows_anywhere = set().union(*(read_manifest(p) for p in _part_files(out)),
                                        read_manifest(manifest))
            waiting = [job.case for job in jobs if job.case not in rows_anywhere]
            if waiting:
                return _noted(model_notes, DatasetResult(out, src.format, outcome, {}, [],
                                                         part=part, waiting=waiting))
        expected = {}
        for job in jobs:
            try:
                expected[job.case] = job_key(job, ref, direction, translate_mode, gate, bounded)
            except OSError:
                expected[job.case] = None
        rows, waiting = _merged_rows(out, jobs, expected, phase)
        if waiting:
            if merge:
                raise DataError(f"{out}: cannot merge yet: {len(waiting)} case(s) have no "
                                f"finished row ({', '.join(waiting[:5])}); run their parts "
                                "with the same arguments first")
            return _noted(model_notes, DatasetResult(out, src.format, outcome, {}, [], part=part,
                                                     waiting=waiting))
        if merge:
            outcome = Outcome([rows[job.case] for job in jobs],
                              resumed={job.case for job in jobs})
        return _noted(model_notes, _finish(
            src, out, jobs, rows, splits, splits_from, ref, source, target, mode, translate_mode,
            gate, outcome, progress, bounded, part, phase))


def _noted(notes: Sequence[str], result: DatasetResult) -> DatasetResult:
    """``result`` with ``notes`` first among its notes."""
    result.notes[:0] = notes
    return result


def _finish(src: SourceDataset, out: Path, jobs: Sequence[Job], rows: dict[str, ManifestRow],
            splits: list[Split], splits_from: str, ref: ModelRef, source: str, target: str,
            mode: Mode, translate_mode: str, gate: QualityGate | None, outcome: Outcome,
            progress: bool, bounded: bool, part: tuple[int, int] | None,
            phase: PhaseCheck = "check") -> DatasetResult:
    """The merge: one manifest, the originals and test images copied, files of cases no
    longer in the input removed, folds and ``dataset.json`` over every case."""
    # rows of cases no longer in the input go, and their files with them (_prune)
    write_manifest(out / MANIFEST, [rows[job.case] for job in jobs])
    for path in _part_files(out):
        path.unlink()
    decisions = {job.source: rows[job.case].decision for job in jobs}
    members: dict[str, list[str]] = {}
    keep: set[Path] = set()
    for case, job in zip(src.cases, jobs, strict=True):
        made = []
        if mode == "add" and decisions[case.case_id] != "failed":
            assert case.label is not None  # a case without a label fails
            image, label = _paths(src, out, case.case_id, _ending(src, case.image))
            _copy_if_changed(case.image, image)
            _copy_if_changed(case.label, label)
            keep |= {image, label}
            made.append(case.case_id)
        if decisions[case.case_id] == "written":
            keep |= set(job.outputs)
            made.append(job.case)
        if made:
            members[case.case_id] = made
        ending = _ending(src, case.image)
        for folder in EXTRA_FOLDERS:
            extra = src.root / folder / f"{case.case_id}{ending}"
            if extra.is_file():
                for member in made:
                    dst = out / folder / f"{member}{ending}"
                    _copy_if_changed(extra, dst)
                    keep.add(dst)
    others = _copy_others(src, out, keep, progress)
    _prune(out, keep)
    written = expand_splits(splits, members)
    source_of = {m: s for s, ms in members.items() for m in ms}
    leaked = leaks(written, source_of)
    if leaked:  # cannot happen by construction; never write leaking folds
        raise RuntimeError(f"folds leak synthetic cases across train and val: {leaked[:3]}")
    notes = []
    unassigned = sorted(set(members) - {c for f in splits for c in f["train"] + f["val"]})
    if unassigned:
        notes.append(f"{len(unassigned)} cases are in no fold of {splits_from}: "
                     f"{', '.join(unassigned[:5])}")
    empty = [k for k, f in enumerate(written) if not f["val"] or not f["train"]]
    if empty:
        notes.append(f"folds {empty} have no training or no validation case left")
    merged = Outcome([rows[job.case] for job in jobs])
    provenance = _provenance(src, ref, source, target, mode, translate_mode, gate, merged,
                             splits_from, bounded, phase)
    if src.format == "nnunet":
        write_splits(out / nnunet.SPLITS_FILE, written)
        _write_nnunet_json(src, out, members, provenance)
        note = nnunet.check_folder_name(out)
        if note:
            notes.append(note)
    else:
        _write_datalist(src, out, members, written, others, provenance)
    return DatasetResult(out, src.format, outcome, members, written, notes, part=part,
                         merged=True)


def _copy_others(src: SourceDataset, out: Path, keep: set[Path], progress: bool
                 ) -> dict[str, list[dict[str, Any]]]:
    """Copy the test (and validation) images unchanged; returns their items with OUT paths."""
    copied: dict[str, list[dict[str, Any]]] = {}
    for key, items in src.others.items():
        image_dir, label_dir = OTHER_FOLDERS[key]
        copied[key] = []
        for item in progress_bar(items, desc=f"copy {key}", enabled=progress, leave=False):
            new = dict(item)
            for part, folder in (("image", image_dir), ("label", label_dir)):
                if part in item:
                    dst = out / folder / Path(item[part]).name
                    _copy_if_changed(Path(item[part]), dst)
                    keep.add(dst)
                    new[part] = dst
            copied[key].append(new)
    return copied


def _provenance(src: SourceDataset, ref: ModelRef, source: str, target: str, mode: str,
                translate_mode: str, gate: QualityGate | None, outcome: Outcome,
                splits_from: str, bounded: bool, phase: PhaseCheck = "check"
                ) -> dict[str, Any]:
    date = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "ctbridge_version": ctbridge.__version__, "date": date, "source_dataset": str(src.root),
        "model": ref.name, "model_sha256": ref.sha256, "model_kind": ref.translator.name,
        "direction": f"{source}->{target}", "mode": mode, "translate_mode": translate_mode,
        "bounds": bounded, "postprocess": postprocess_tag(bounded, smooth=True),
        "qc": None if gate is None else {"max_rejected": gate.max_rejected,
                                         "sha256": gate.identity},
        "phase_check": "forced" if phase == "force" else "on",
        "synthetic_cases": outcome.count("written"),
        "qc_rejected": sum(r.decision == "rejected" and r.qc_rejected is not None
                           for r in outcome.rows),
        "phase_rejected": sum(r.decision == "rejected" and r.qc_rejected is None
                              for r in outcome.rows),
        "failed": outcome.count("failed"), "folds_from": splits_from,
        "description": (f"{'Original cases plus' if mode == 'add' else 'Only'} synthetic "
                        f"'{target}' cases (<case>_syn{target}) made by ctbridge "
                        f"{ref.translator.name} ({ref.name}) translating {source}->{target} on "
                        f"{date[:10]}; labels are the source cases' files, unchanged."),
    }


def _describe(meta: Mapping[str, Any], provenance: Mapping[str, Any]) -> str:
    before = str(meta.get("description", "") or meta.get("name", "")).strip()
    return f"{before} -- {provenance['description']}" if before else provenance["description"]


def _write_nnunet_json(src: SourceDataset, out: Path, members: Mapping[str, list[str]],
                       provenance: dict[str, Any]) -> None:
    meta = dict(src.meta)
    meta["numTraining"] = sum(len(m) for m in members.values())
    meta["description"] = _describe(src.meta, provenance)
    meta["ctbridge"] = provenance
    nnunet.write_dataset_json(out, meta)


def _write_datalist(src: SourceDataset, out: Path, members: Mapping[str, list[str]],
                    splits: Sequence[Split], others: Mapping[str, list[dict[str, Any]]],
                    provenance: dict[str, Any]) -> None:
    meta = dict(src.meta)
    fold = _fold_of(splits)
    by_id = {c.case_id: c for c in src.cases}
    training = []
    for source_case, cases in members.items():
        ending = _ending(src, by_id[source_case].image)
        for case in cases:
            image, label = _paths(src, out, case, ending)
            item = {"image": decathlon.relative(image, out),
                    "label": decathlon.relative(label, out), **by_id[source_case].extra}
            if case in fold:
                item["fold"] = fold[case]
            training.append(item)
    meta["training"] = sorted(training, key=lambda item: item["image"])
    meta["numTraining"] = len(training)
    for key, items in others.items():
        raw = src.meta.get(key, [])
        meta[key] = [decathlon.relative(item["image"], out)
                     if i < len(raw) and isinstance(raw[i], str)
                     else {k: decathlon.relative(v, out) if k in ("image", "label") else v
                           for k, v in item.items()}
                     for i, item in enumerate(items)]
    if "modality" not in meta and "channel_names" not in meta:
        meta["modality"] = {"0": "CT"}
    meta["description"] = _describe(src.meta, provenance)
    meta["ctbridge"] = provenance
    decathlon.write_datalist(out / decathlon.DATASET_JSON, meta)
