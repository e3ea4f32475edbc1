"""What both downstream experiments share: rows of the table, the fold loop, the outputs.

An experiment (``plaque``, ``pancreas``) says how a scan becomes a segmenter volume and how a
fold's predictions are scored; :func:`run_experiment` does the rest::

    for each translator given: synthetic scans of every patient (translated once, cached)
    for each row (baseline, + CycleGAN, + UNIT, + GMM-UNIT, oracle):
        for each fold (patient-disjoint):
            train a U-Net on the fold's training patients (real labelled phase [+ extra phase])
            predict the held-out patients' real NC and real CE scans, score them
            rewrite results.json/.csv/.md (a rerun resumes from there)
    paired comparisons (``statistics``), results.png (+ config.yaml)

Every row of a fold uses the same seed (same initial weights and sampling stream) and the same
number of steps, so rows differ by their training data only. The labels of a synthetic scan are
its source scan's: translation keeps the geometry.

The pieces live in sibling modules: ``cohort`` (loading, folds), ``planning`` (the rows),
``experiment`` (what an experiment defines), ``store`` (volumes, quality control),
``synthetic`` (translated cohorts), ``resume`` (reusing finished folds), ``results`` (the
tables), ``statistics`` (paired comparisons) and ``figure`` (results.png).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping
from dataclasses import asdict
from functools import reduce
from pathlib import Path
from typing import Any

import torch

from ctbridge.config import save_config
from ctbridge.device import resolve_device
from ctbridge.errors import CheckpointError
from ctbridge.experiments.downstream.cohort import Cohort, Fold, kfold, load_cohort
from ctbridge.experiments.downstream.config import ExperimentConfig
from ctbridge.experiments.downstream.experiment import Experiment
from ctbridge.experiments.downstream.figure import plot_results
from ctbridge.experiments.downstream.planning import RowPlan, plan_rows
from ctbridge.experiments.downstream.results import TEST_DOMAINS, RowResult, write_results
from ctbridge.experiments.downstream.resume import load_previous, run_identity
from ctbridge.experiments.downstream.segmenter import SegVolume, predict_volume, train_segmenter
from ctbridge.experiments.downstream.statistics import Comparisons, compare_rows
from ctbridge.experiments.downstream.store import VolumeStore
from ctbridge.experiments.downstream.synthetic import translate_cohort
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan
from ctbridge.io.progress import progress_bar


def train_volumes(store: VolumeStore, exp: Experiment, row: RowPlan, fold: Fold,
                   synthetic: Mapping[str, Path]) -> list[SegVolume]:
    """The fold's training volumes for ``row``: real labelled phase [+ real/synthetic other]."""
    vols = [store.real(exp.train_domain, p) for p in fold.train]
    if row.extra == "real":
        vols += [store.real(exp.other_domain, p) for p in fold.train]
    elif row.extra is not None:
        vols += [store.get(f"syn:{row.key}", p, synthetic[p]) for p in fold.train]
    return [v for v in vols if v is not None]


def run_fold(exp: Experiment, store: VolumeStore, row: RowPlan, fold: Fold,
              synthetic: Mapping[str, Path], device: torch.device) -> dict[str, Any]:
    """Train one segmenter for ``row`` on ``fold.train``; score it on ``fold.test``'s real NC
    and CE scans: the pooled scores (``test``) and each patient's counts (``patient_counts``,
    for the bootstrap of ``statistics``). Also used alone (one validation fold) by
    `ctbridge select-k`."""
    cfg = exp.config
    t0 = time.perf_counter()
    model = train_segmenter(train_volumes(store, exp, row, fold, synthetic), cfg.segmenter,
                            spatial_dims=exp.spatial_dims, seed=cfg.seed + fold.index,
                            device=device, progress=cfg.progress,
                            desc=f"{exp.name} {row.key} fold {fold.index}")
    t_train = time.perf_counter() - t0
    test: dict[str, dict[str, Any]] = {}
    per_patient: dict[str, dict[str, Any]] = {}
    for domain in TEST_DOMAINS:
        counts = {}
        for patient in fold.test:
            vol = store.real(domain, patient)
            pred = predict_volume(model, vol.image, cfg.segmenter,
                                  spatial_dims=exp.spatial_dims, device=device)
            counts[patient] = exp.score(pred, vol, patient)
        test[domain] = exp.summarise(reduce(operator.add, counts.values()))
        per_patient[domain] = {patient: asdict(c) for patient, c in counts.items()}
    return {"fold": fold.index, "train": list(fold.train), "test_patients": list(fold.test),
            "train_seconds": round(t_train, 1),
            "seconds": round(time.perf_counter() - t0, 1), "test": test,
            "patient_counts": per_patient}


def _given_translators(config: ExperimentConfig,
                       translators: Mapping[str, Translator | str | Path] | None
                       ) -> dict[str, Translator | Path]:
    """The config's translators, overridden by those passed in (run folders or loaded)."""
    given: dict[str, Translator | Path] = {k: Path(v) for k, v in config.translators.items()}
    for key, value in (translators or {}).items():
        given[key] = value if isinstance(value, Translator) else Path(value)
    return given


def _load_qc(config: ExperimentConfig, exp: Experiment, cohort: Cohort, data: str | Path,
             device: torch.device) -> tuple[Any, dict[str, Any] | None]:
    """The QC model (checked to fit the cohort's real scans of the synthetic phase) and its
    record for results.json; (None, None) without one."""
    if config.qc is None:
        return None, None
    if not Path(config.qc).is_dir():
        raise CheckpointError(f"{config.qc}: no such QC folder (make one with ctbridge qc "
                              "train)")
    from ctbridge.qc import QualityControl

    qc = QualityControl.load(config.qc, device=device)
    real = (read_scan(cohort.scan_path(exp.other_domain, p)).array for p in cohort.names)
    rate = qc.check_fits(real, f"{config.qc} on the real {exp.other_domain} scans of {data}",
                         limit=config.qc_max_real_rejected)
    return qc, {"folder": str(config.qc), "real_rejected_fraction": round(rate, 4)}


def _qc_caption(caption: str, qc_meta: dict[str, Any], config: ExperimentConfig,
                exp: Experiment) -> str:
    """The caption plus what quality control dropped, row by row."""
    dropped = "; ".join(f"{k} {v['rejected_slices']}/{v['slices']} slices"
                        + (f", {v['rejected_volumes']} volumes" if v["rejected_volumes"] else "")
                        for k, v in qc_meta.items() if isinstance(v, dict))
    return caption + (f" Quality control ({config.qc}; it rejects "
                      f"{qc_meta['real_rejected_fraction']:.0%} of the real "
                      f"{exp.other_domain} slices) dropped synthetic data: {dropped}.")


def run_experiment(experiment: type[Experiment], config: ExperimentConfig, data: str | Path,
                   out: str | Path, translators: Mapping[str, Translator | str | Path] | None
                   = None) -> Path:
    """Run every row of ``experiment`` over the folds; write results; returns results.md.

    Resumes: a (row, fold) already in ``out/results.json`` from a run of the same config is
    reused, not trained again (:mod:`~ctbridge.experiments.downstream.resume`); the results
    are rewritten after every fold.

    Args:
        experiment: :class:`~ctbridge.experiments.downstream.plaque.PlaqueExperiment` or the
            pancreas one.
        config: validated config; its ``translators`` are merged with ``translators``.
        data: phantom folder (``dataset.json``, phase folders, labels, plaques).
        out: output folder (created): results.json/.csv/.md/.png, config.yaml, synthetic/.
        translators: name -> run folder or ready :class:`Translator` (overrides the config).

    Raises:
        DataError: a data folder that does not fit; CheckpointError: a bad translator;
        ConfigError: ``out`` holds results of a different config.
    """
    out = Path(out)
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    cohort = load_cohort(data, ce_phase=config.ce_phase, patients=config.patients,
                         required_labels=experiment.required_labels)
    folds = kfold(cohort.names, config.folds, config.seed)
    exp = experiment(config, cohort)
    given = _given_translators(config, translators)
    identity = run_identity(config, cohort, given)
    previous = load_previous(out, identity)
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "config.yaml")
    cache_dir = Path(config.cache_dir) if config.cache_dir else out / "synthetic"
    meta: dict[str, Any] = {
        "experiment": exp.name, "data": str(Path(data)), "patients": cohort.names,
        "folds": [{"index": f.index, "train": list(f.train), "test": list(f.test)}
                  for f in folds],
        "device": str(device), "config": config.model_dump(mode="json"), "identity": identity}
    qc, qc_meta = _load_qc(config, exp, cohort, data, device)
    if qc_meta is not None:
        meta["qc"] = qc_meta
    store = VolumeStore(exp, qc)
    results: list[RowResult] = []
    t_start = time.perf_counter()
    rows = plan_rows(exp.train_domain, exp.other_domain, given, config.oracle)
    todo = {row.key: [f for f in folds if (row.key, f.index) not in previous.folds]
            for row in rows if not row.skip_reason}
    meta["resumed_folds"] = sum(len(folds) - len(t) for t in todo.values())
    # translate first: a broken checkpoint fails in seconds, not after hours of segmenters
    synthetic: dict[str, Mapping[str, Path]] = {
        row.key: translate_cohort(
            row.translator, row.key, cohort, cohort.names, source=exp.train_domain,
            target=exp.other_domain, cache_dir=cache_dir, mode=config.translate_mode,
            device=device, progress=config.progress, bounded=config.bounds)
        for row in rows if row.translator is not None and todo.get(row.key)}
    meta["translate_seconds"] = round(time.perf_counter() - t_start, 1)

    def write(caption: str, comparisons: Comparisons | None = None) -> Path:
        return write_results(out, title=exp.title, caption=caption, rows=results,
                             columns=exp.columns, folds=len(folds), size_labels=exp.size_labels,
                             comparisons=comparisons,
                             meta={**meta, "seconds": round(time.perf_counter() - t_start, 1),
                                   "complete": comparisons is not None})[1]

    for row in rows:
        result = RowResult(row.key, row.label)
        results.append(result)
        if row.skip_reason:
            result.status, result.reason = "skipped", row.skip_reason
            continue
        if row.translator is not None:
            result.translator = (row.translator.name if isinstance(row.translator, Translator)
                                 else str(row.translator))
        bar = progress_bar(folds, desc=f"{exp.name} {row.key}", enabled=config.progress,
                           unit="fold")
        for fold in bar:
            done = previous.folds.get((row.key, fold.index))
            if done is not None:  # resumed
                result.folds.append(done)
                continue
            result.folds.append(run_fold(exp, store, row, fold, synthetic.get(row.key, {}),
                                         device))
            write(exp.caption)
        tag = f"syn:{row.key}"
        store.drop(tag)
        if "qc" in meta and (tag in store.qc_counts or row.key in previous.qc):
            meta["qc"][row.key] = store.qc_counts.get(tag, previous.qc.get(row.key))
    caption = _qc_caption(exp.caption, meta["qc"], config, exp) if "qc" in meta else exp.caption
    comparisons = compare_rows(exp, results, config.comparisons,
                               resamples=config.bootstrap_resamples, seed=config.seed,
                               folds=len(folds))
    md = write(caption, comparisons)
    plot_results(results, out / "results.png", title=exp.title)
    return md
