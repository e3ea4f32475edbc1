"""What both downstream experiments share: rows of the table, the fold loop, the outputs.

An experiment (``plaque``, ``pancreas``) says how a scan becomes a segmenter volume and how a
fold's predictions are scored; :func:`run_experiment` does the rest::

    for each translator given: synthetic scans of every patient (translated once, cached)
    for each row (baseline, + CycleGAN, + UNIT, + GMM-UNIT, oracle):
        for each fold (patient-disjoint):
            train a U-Net on the fold's training patients (real labelled phase [+ extra phase])
            predict the held-out patients' real NC and real CE scans, score them
    results.json + results.md (+ config.yaml)

Every row of a fold uses the same seed (same initial weights and sampling stream) and the same
number of steps, so rows differ by their training data only. The labels of a synthetic scan are
its source scan's: translation keeps the geometry.

Cohort loading, fold splitting, translation caching and the table writer live in sibling
modules (``cohort``, ``synthetic``, ``results``) and are re-exported here.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ctbridge.config import save_config
from ctbridge.device import resolve_device
from ctbridge.errors import CheckpointError
from ctbridge.evaluation.experiments.cohort import Cohort, Fold, kfold, load_cohort
from ctbridge.evaluation.experiments.config import ExperimentConfig
from ctbridge.evaluation.experiments.results import Column, RowResult, write_results
from ctbridge.evaluation.experiments.synthetic import translate_cohort
from ctbridge.evaluation.segmentation import (
    BODY_HU,
    SCALER,
    SegVolume,
    predict_volume,
    train_segmenter,
)
from ctbridge.inference.translator import Translator
from ctbridge.io import Scan, read_scan
from ctbridge.models.config import MODEL_TITLES

__all__ = ["Cohort", "Fold", "kfold", "load_cohort", "translate_cohort", "write_results",
           "Column", "RowResult", "Experiment", "RowPlan", "plan_rows", "run_experiment",
           "TRANSLATOR_TITLES", "VolumeStore", "run_fold"]

TRANSLATOR_TITLES = MODEL_TITLES
DOMAIN_TITLES = {"nc": "NC", "ce": "CE"}


@dataclass(frozen=True)
class RowPlan:
    """A row to run: ``extra`` is None (baseline), ``"real"`` (oracle) or a translator name."""

    key: str
    label: str
    extra: str | None
    translator: Translator | Path | None = None
    skip_reason: str = ""


def plan_rows(train_domain: str, other_domain: str,
              translators: Mapping[str, Translator | Path], oracle: bool) -> list[RowPlan]:
    """Baseline, one row per translator (known ones always listed), then the oracle."""
    t, o = DOMAIN_TITLES[train_domain], DOMAIN_TITLES[other_domain]
    rows = [RowPlan("baseline", f"{t} only (baseline)", None)]
    for name in [*TRANSLATOR_TITLES, *sorted(set(translators) - set(TRANSLATOR_TITLES))]:
        label = f"{t} + {TRANSLATOR_TITLES.get(name, name)} synthetic {o}"
        if name in translators:
            rows.append(RowPlan(name, label, name, translators[name]))
        else:
            rows.append(RowPlan(name, label, name, None,
                                f"no translator given: --translator {name}=RUN_DIR"))
    label = f"{t} + real {o} (oracle)"
    rows.append(RowPlan("oracle", label, "real") if oracle
                else RowPlan("oracle", label, "real", None, "oracle: false in the config"))
    return rows


class Experiment(ABC):
    """One downstream experiment: data preparation and scoring; the loop is shared.

    Attributes:
        name: ``plaque`` or ``pancreas``.
        train_domain: the labelled real phase every row trains on (``nc`` for plaques).
        other_domain: the phase that is synthesised (or real, for the oracle).
        spatial_dims: 2 (slice-wise) or 3.
        columns: metrics of the table, per test phase.
    """

    name: str
    train_domain: str
    other_domain: str
    spatial_dims: int
    columns: tuple[Column, ...]
    required_labels: tuple[str, ...] = ()

    def __init__(self, config: ExperimentConfig, cohort: Cohort) -> None:
        self.config = config
        self.cohort = cohort

    @property
    @abstractmethod
    def title(self) -> str: ...

    @property
    @abstractmethod
    def caption(self) -> str: ...

    @abstractmethod
    def volume(self, scan: Scan, patient: str) -> SegVolume:
        """The segmenter's volume (image + target) of ``patient`` in any phase."""

    @abstractmethod
    def score(self, pred: np.ndarray, volume: SegVolume, patient: str) -> Any:
        """Counts of one test scan (summable with ``+``)."""

    @abstractmethod
    def summarise(self, counts: Any) -> dict[str, float]:
        """Metrics of a fold from its summed counts."""


class VolumeStore:
    """Volumes loaded once per run: real phases for the whole run, a synthetic set per row.

    With a quality-control model (``qc``), synthetic volumes (tags ``syn:*``) lose the slices
    it rejects (2D experiments) or are left out when too many are rejected (3D); the counts
    are kept in ``qc_counts[tag]`` for the results.
    """

    def __init__(self, experiment: Experiment, qc: Any = None) -> None:
        self.experiment = experiment
        self.qc = qc
        self.cache: dict[tuple[str, str], SegVolume | None] = {}
        self.qc_counts: dict[str, dict[str, int]] = {}

    def get(self, tag: str, patient: str, path: Path) -> SegVolume | None:
        """The volume, or None for a synthetic 3D volume that QC rejects."""
        key = (tag, patient)
        if key not in self.cache:
            scan = read_scan(path)
            volume = self.experiment.volume(scan, patient)
            if self.qc is not None and tag.startswith("syn:"):
                volume = self._quality_controlled(tag, scan.array, volume)
            self.cache[key] = volume
        return self.cache[key]

    def _quality_controlled(self, tag: str, hu: np.ndarray, volume: SegVolume
                            ) -> SegVolume | None:
        rejected = np.asarray(self.qc.rejected(hu), bool)  # (z,)
        counts = self.qc_counts.setdefault(tag, {"slices": 0, "rejected_slices": 0,
                                                 "volumes": 0, "rejected_volumes": 0})
        counts["slices"] += int(rejected.size)
        counts["rejected_slices"] += int(rejected.sum())
        counts["volumes"] += 1
        if self.experiment.spatial_dims == 3:
            if rejected.mean() > self.experiment.config.qc_max_rejected:
                counts["rejected_volumes"] += 1
                return None
            return volume
        keep = ~rejected
        if not keep.any():
            counts["rejected_volumes"] += 1
            return None
        if keep.all():
            return volume
        scaled = volume.image[keep]
        body = np.argwhere(scaled > SCALER.to_model(np.float32(BODY_HU)))
        box = None if body.size == 0 else (tuple(int(v) for v in body.min(0)),
                                           tuple(int(v) for v in body.max(0)))
        return SegVolume(scaled, volume.target[keep], volume.name, box)

    def real(self, domain: str, patient: str) -> SegVolume:
        """A real scan's volume (never filtered by QC)."""
        volume = self.get(f"real:{domain}", patient,
                          self.experiment.cohort.scan_path(domain, patient))
        assert volume is not None  # only synthetic volumes can be dropped
        return volume

    def drop(self, tag: str) -> None:
        for key in [k for k in self.cache if k[0] == tag]:
            del self.cache[key]


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
    and CE scans. Also used alone (one validation fold) by `ctbridge select-k`."""
    cfg = exp.config
    t0 = time.perf_counter()
    model = train_segmenter(train_volumes(store, exp, row, fold, synthetic), cfg.segmenter,
                            spatial_dims=exp.spatial_dims, seed=cfg.seed + fold.index,
                            device=device, progress=cfg.progress,
                            desc=f"{exp.name} {row.key} fold {fold.index}")
    t_train = time.perf_counter() - t0
    test: dict[str, dict[str, float]] = {}
    for domain in ("nc", "ce"):
        total = None
        for patient in fold.test:
            vol = store.real(domain, patient)
            pred = predict_volume(model, vol.image, cfg.segmenter,
                                  spatial_dims=exp.spatial_dims, device=device)
            counts = exp.score(pred, vol, patient)
            total = counts if total is None else total + counts
        test[domain] = exp.summarise(total)
    return {"fold": fold.index, "train": list(fold.train), "test_patients": list(fold.test),
            "train_seconds": round(t_train, 1),
            "seconds": round(time.perf_counter() - t0, 1), "test": test}


def run_experiment(experiment: type[Experiment], config: ExperimentConfig, data: str | Path,
                   out: str | Path, translators: Mapping[str, Translator | str | Path] | None
                   = None) -> Path:
    """Run every row of ``experiment`` over the folds; write results; returns results.md.

    Args:
        experiment: :class:`~ctbridge.evaluation.experiments.plaque.PlaqueExperiment` or the
            pancreas one.
        config: validated config; its ``translators`` are merged with ``translators``.
        data: phantom folder (``dataset.json``, phase folders, labels, plaques).
        out: output folder (created): results.json, results.md, config.yaml, synthetic/.
        translators: name -> run folder or ready :class:`Translator` (overrides the config).

    Raises:
        DataError: a data folder that does not fit; CheckpointError: a bad translator.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    given: dict[str, Translator | Path] = {k: Path(v) for k, v in config.translators.items()}
    for key, value in (translators or {}).items():
        given[key] = value if isinstance(value, Translator) else Path(value)
    device = resolve_device(config.device)
    cohort = load_cohort(data, ce_phase=config.ce_phase, patients=config.patients,
                         required_labels=experiment.required_labels)
    folds = kfold(cohort.names, config.folds, config.seed)
    exp = experiment(config, cohort)
    save_config(config, out / "config.yaml")
    cache_dir = Path(config.cache_dir) if config.cache_dir else out / "synthetic"
    meta = {"experiment": exp.name, "data": str(Path(data)), "patients": cohort.names,
            "folds": [{"index": f.index, "train": list(f.train), "test": list(f.test)}
                      for f in folds],
            "device": str(device), "config": config.model_dump(mode="json")}
    qc = None
    if config.qc is not None:
        if not Path(config.qc).is_dir():
            raise CheckpointError(f"{config.qc}: no such QC folder (make one with ctbridge qc "
                                  "train)")
        from ctbridge.qc import QualityControl

        qc = QualityControl.load(config.qc, device=device)
        real = (read_scan(cohort.scan_path(exp.other_domain, p)).array for p in cohort.names)
        rate = qc.check_fits(real, f"{config.qc} on the real {exp.other_domain} scans of "
                             f"{data}", limit=config.qc_max_real_rejected)
        meta["qc"] = {"folder": str(config.qc), "real_rejected_fraction": round(rate, 4)}
    store = VolumeStore(exp, qc)
    results: list[RowResult] = []
    t_start = time.perf_counter()
    rows = plan_rows(exp.train_domain, exp.other_domain, given, config.oracle)
    # translate first: a broken checkpoint fails in seconds, not after hours of segmenters
    synthetic: dict[str, Mapping[str, Path]] = {}
    for row in rows:
        if row.translator is not None and not row.skip_reason:
            synthetic[row.key] = translate_cohort(
                row.translator, row.key, cohort, cohort.names, source=exp.train_domain,
                target=exp.other_domain, cache_dir=cache_dir, mode=config.translate_mode,
                device=device, progress=config.progress)
    meta["translate_seconds"] = round(time.perf_counter() - t_start, 1)
    for row in tqdm(rows, desc=f"{exp.name} rows", disable=not config.progress, unit="row"):
        result = RowResult(row.key, row.label)
        results.append(result)
        if row.skip_reason:
            result.status, result.reason = "skipped", row.skip_reason
            continue
        t0 = time.perf_counter()
        if row.translator is not None:
            result.translator = (row.translator.name if isinstance(row.translator, Translator)
                                 else str(row.translator))
        for fold in folds:
            result.folds.append(run_fold(exp, store, row, fold, synthetic.get(row.key, {}),
                                          device))
        store.drop(f"syn:{row.key}")
        if f"syn:{row.key}" in store.qc_counts:
            meta["qc"][row.key] = store.qc_counts[f"syn:{row.key}"]
        result.seconds = time.perf_counter() - t0
        write_results(out, title=exp.title, caption=exp.caption, rows=results,
                      columns=exp.columns, folds=len(folds),
                      meta={**meta, "seconds": round(time.perf_counter() - t_start, 1),
                            "complete": False})
    caption = exp.caption
    if "qc" in meta:
        dropped = "; ".join(f"{k} {v['rejected_slices']}/{v['slices']} slices"
                            + (f", {v['rejected_volumes']} volumes" if v["rejected_volumes"]
                               else "")
                            for k, v in meta["qc"].items() if isinstance(v, dict))
        caption += (f" Quality control ({config.qc}; it rejects "
                    f"{meta['qc']['real_rejected_fraction']:.0%} of the real "
                    f"{exp.other_domain} slices) dropped synthetic data: {dropped}.")
    _, md = write_results(out, title=exp.title, caption=caption, rows=results,
                          columns=exp.columns, folds=len(folds),
                          meta={**meta, "seconds": round(time.perf_counter() - t_start, 1),
                                "complete": True})
    return md


def describe_folds(folds: Sequence[Fold]) -> str:
    """``"2 folds of 4 / 4 patients"`` for captions."""
    sizes = sorted({len(f.test) for f in folds})
    return f"{len(folds)} patient-disjoint folds ({'/'.join(map(str, sizes))} test patients each)"
