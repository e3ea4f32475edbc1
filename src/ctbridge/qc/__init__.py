"""Quality control of synthetic CT slices: a small CNN that scores translation artefacts.

Example:
    >>> from ctbridge.qc import QualityControl
    >>> qc = QualityControl.load("runs/qc")                # doctest: +SKIP
    >>> scores = qc.score_slices(volume_hu)  # (z,) artefact probability   # doctest: +SKIP
    >>> bad = qc.rejected(volume_hu)         # (z,) bool, score > threshold  # doctest: +SKIP

Modules: ``artefacts`` (the synthetic artefacts), ``network`` (QCNet), ``dataset`` (real and
artefact slices, patient split), ``config`` (QCConfig and presets), ``train`` (training and
ROC AUC per kind), ``metrics`` (ROC), ``model_io`` (QC folder on disk), ``score``
(QualityControl, CSV), ``figures`` (ROC and example PNGs).
"""

from __future__ import annotations

from ctbridge.qc.artefacts import ARTEFACTS, KINDS, apply_artefact
from ctbridge.qc.config import QCConfig, qc_config
from ctbridge.qc.model_io import load_qc, save_qc
from ctbridge.qc.network import QCNet
from ctbridge.qc.score import QualityControl

__all__ = ["ARTEFACTS", "KINDS", "apply_artefact", "QCConfig", "qc_config",
           "load_qc", "save_qc", "QCNet", "QualityControl", "train_qc"]


def __getattr__(name: str):  # train pulls in tqdm/matplotlib: import it on first use
    if name == "train_qc":
        from ctbridge.qc.train import train_qc

        return train_qc
    raise AttributeError(name)
