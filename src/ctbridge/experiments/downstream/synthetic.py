"""Synthetic scans of a cohort made by a trained translator, cached on disk.

Translators are trained elsewhere (``ctbridge train``); here they only translate, through the
same per-case loop as `ctbridge synthesize` (:func:`ctbridge.datasets.synthesize.synthesize`).
Each translation is written once to ``CACHE/<translator>/<source>2<target>/patient_XXX.nii.gz``
and recorded in that folder's ``manifest.csv`` with a key made of the source scan's bytes, the
model's content hash and the mode, so a second run (or the other folds, or the other
experiment) reuses the files, and a retrained translator or a regenerated phantom redoes them
instead of being silently mixed with old ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ctbridge.datasets.manifest import MANIFEST
from ctbridge.datasets.synthesize import Job, ModelRef, synthesize
from ctbridge.errors import CheckpointError, DataError
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.inference.translator import Translator

LEGACY_RECORD = "source.json"  # the cache record before the manifest (removed when met)


def translate_cohort(translator: Translator | str | Path, name: str, cohort: Cohort,
                     patients: Sequence[str], *, source: str, target: str, cache_dir: Path,
                     mode: str = "full", device: str | torch.device = "cpu",
                     progress: bool = True, bounded: bool = True, smooth: bool = True
                     ) -> dict[str, Path]:
    """Translate ``patients``' ``source`` scans to ``target``; reuse cached files.

    Args:
        translator: a run folder (loaded only if something is missing) or a Translator.
        name: row name (``gmm_unit``), the cache sub-folder.
        source, target: domains (``nc``, ``ce``) of the translator.
        cache_dir: root of the cache.
        bounded: hold translations to the physical bounds (:mod:`ctbridge.inference.bounds`).
        smooth: with ``bounded``, smooth the change into contrast
            (:mod:`ctbridge.inference.enhancement`).

    Returns:
        patient file name -> path of its synthetic ``target`` scan.

    Raises:
        CheckpointError: the translator lacks one of the domains.
        DataError: a scan could not be translated (an experiment needs every one).
    """
    folder = Path(cache_dir) / name / f"{source}2{target}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LEGACY_RECORD).unlink(missing_ok=True)
    jobs = [Job(patient, patient, cohort.scan_path(source, patient), folder / patient)
            for patient in patients]
    try:
        outcome = synthesize(jobs, ModelRef(translator, device), target=target, source=source,
                             manifest=folder / MANIFEST, mode=mode, progress=progress,
                             desc=f"{name} {source}->{target}", bounded=bounded,
                             smooth=smooth)
    except CheckpointError as exc:
        raise CheckpointError(f"translator {name!r}: {exc}") from None
    if outcome.failed:
        first = outcome.failed[0]
        raise DataError(f"translator {name!r}: {len(outcome.failed)} of {len(jobs)} scans could "
                        f"not be translated; {first.case}: {first.reason}")
    return {job.case: job.image_out for job in jobs}
