"""Score a trained translator on validation patients of a phantom, against their true phase.

Only a phantom has every phase of a patient, so a translation can be compared with the truth
voxel by voxel: the fine-structure metrics of :mod:`ctbridge.evaluation.plaque_metrics` (plaque
recall, false calcifications, calcium Dice) and the image metrics (MAE, PSNR, SSIM). This is
what `ctbridge select-k` ranks translators by, and what the demo reports.

Example:
    >>> scores = score_translator("runs/gmm_unit", "gmm_unit", cohort, ["patient_006.nii.gz"],
    ...                           source="nc", target="ce", cache_dir=Path("runs/cache"))
    ... # doctest: +SKIP
    >>> scores["aggregate"]["plaques"]["recall_pred"]["mean"]  # doctest: +SKIP
    0.83
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctbridge.data.body_mask import body_mask
from ctbridge.evaluation.scan_scores import aggregate, evaluate_scan
from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.downstream.synthetic import translate_cohort
from ctbridge.inference.translator import Translator
from ctbridge.io import read_labelmap, read_scan


def score_scan_against_truth(cohort: Cohort, patient: str, translated: Path, *, source: str,
                             target: str) -> dict[str, Any]:
    """Metrics of one scan translated from ``source`` against the patient's real ``target``
    phase, the change metrics (from the real ``source`` scan) included."""
    truth = read_scan(cohort.scan_path(target, patient))
    source_scan = read_scan(cohort.scan_path(source, patient))
    pred = read_scan(translated)
    labels = read_labelmap(cohort.labels_path(patient))
    plaque_path = cohort.plaques_path(patient)
    plaques = read_labelmap(plaque_path) if plaque_path else (labels == cohort.label_id(
        "plaque")).astype("int32")
    return evaluate_scan(patient, pred.array, truth.array, labels, plaques, cohort.label_ids,
                         truth.spacing, body_mask(truth.array), source_hu=source_scan.array)


def score_translator(translator: Translator | str | Path, name: str, cohort: Cohort,
                     patients: Sequence[str], *, source: str, target: str, cache_dir: Path,
                     progress: bool = True, **inference: Any) -> dict[str, Any]:
    """Translate ``patients`` from ``source`` to ``target`` (cached) and score each one.

    Args:
        translator: run folder or loaded :class:`Translator`.
        name: cache sub-folder of this translator (``k05``, ``gmm_unit``).
        cohort: the phantom (all phases of every patient).
        patients: validation patients' file names (not used to train the translator).
        source, target: domains (``nc``, ``ce``).
        cache_dir: where translations are kept (reused when the checkpoint is unchanged).
        inference: how to translate (``mode``, ``device``, ``bounded``, ``smooth``), as
            :func:`~ctbridge.experiments.downstream.synthetic.translate_cohort` takes them.

    Returns:
        ``{"scans": [per-scan metrics], "aggregate": mean/std/n of every metric}``.
    """
    paths = translate_cohort(translator, name, cohort, patients, source=source, target=target,
                             cache_dir=cache_dir, progress=progress, **inference)
    scans = [score_scan_against_truth(cohort, p, paths[p], source=source, target=target)
             for p in patients]
    return {"scans": scans, "aggregate": aggregate(scans)}
