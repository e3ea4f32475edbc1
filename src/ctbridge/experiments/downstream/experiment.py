"""What one downstream experiment defines: its volumes and its scoring (the loop is shared)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ctbridge.experiments.downstream.cohort import Cohort
from ctbridge.experiments.downstream.config import ExperimentConfig
from ctbridge.experiments.downstream.results import Column
from ctbridge.experiments.downstream.segmenter import SegVolume
from ctbridge.io import Scan


class Experiment(ABC):
    """One downstream experiment: data preparation and scoring; the loop is shared.

    Attributes:
        name: ``plaque`` or ``pancreas``.
        train_domain: the labelled real phase every row trains on (``nc`` for plaques).
        other_domain: the phase that is synthesised (or real, for the oracle).
        spatial_dims: 2 (slice-wise) or 3.
        columns: metrics of the table, per test phase.
        compared_metrics: metrics of the paired comparisons (``statistics``).
    """

    name: str
    train_domain: str
    other_domain: str
    spatial_dims: int
    columns: tuple[Column, ...]
    compared_metrics: tuple[str, ...] = ("dice",)
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
    def counts_from_dict(self, data: dict[str, Any]) -> Any:
        """The counts of :meth:`score` back from their JSON form (``dataclasses.asdict``)."""

    @abstractmethod
    def summarise(self, counts: Any) -> dict[str, Any]:
        """Metrics of a fold from its summed counts."""

    @property
    def size_labels(self) -> tuple[str, ...]:
        """Lesion-size bins whose scores :meth:`summarise` gives under ``by_size`` (none here)."""
        return ()
