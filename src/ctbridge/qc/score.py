"""Score CT slices for translation artefacts and list the slices to reject.

Example:
    >>> qc = QualityControl.load("runs/qc")                      # doctest: +SKIP
    >>> scores = qc.score_slices(volume_hu)  # (z,) in [0, 1]      # doctest: +SKIP
    >>> keep = ~qc.rejected(volume_hu)       # (z,) bool           # doctest: +SKIP

A score is the network's probability that the slice carries an artefact. A slice is rejected
when its score is above the saved threshold (the score that keeps ``keep_real`` -- by default
95% -- of real validation slices at training, or of the real slices given to
:meth:`QualityControl.calibrate`), or above the one passed.
Slices are scored whole, at their own pixel size: a model trained at one pixel size (qc.json
``pixel_mm``) judges scans of another less reliably.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import IntensityScaler
from ctbridge.errors import CheckpointError, DataError
from ctbridge.io.atomic import atomic_path
from ctbridge.qc.metrics import keep_threshold
from ctbridge.qc.model_io import QC_JSON, load_qc
from ctbridge.qc.network import QCNet

NIFTI_SUFFIXES = (".nii.gz", ".nii")


@torch.no_grad()
def score_batches(net: QCNet, scaler: IntensityScaler, hus: Sequence[np.ndarray],
                  bodies: Sequence[np.ndarray], *, device: torch.device | str = "cpu",
                  batch_size: int = 16) -> np.ndarray:
    """Artefact probability of each ``(y, x)`` HU slice; runs of equal shape share a batch."""
    net.eval()
    scores = np.zeros(len(hus), np.float64)
    i = 0
    while i < len(hus):
        j = i + 1
        while j < len(hus) and j - i < batch_size and hus[j].shape == hus[i].shape:
            j += 1
        x = np.asarray(scaler.to_model(np.stack(hus[i:j]).astype(np.float32)), np.float32)
        xt = torch.from_numpy(x)[:, None].to(device)
        bt = torch.from_numpy(np.stack(bodies[i:j]))[:, None].to(device)
        scores[i:j] = torch.sigmoid(net(xt, bt).float()).cpu().numpy()
        i = j
    return scores


class QualityControl:
    """A trained QC network with its intensity scaling and rejection threshold.

    Args:
        net: the network (put in eval mode).
        scaler: HU -> network range, as at training.
        threshold: default rejection threshold on the score.
        info: the ``qc.json`` tree (kinds seen / held out, metrics, config).
        device: where the network runs.
    """

    def __init__(self, net: QCNet, scaler: IntensityScaler, threshold: float,
                 info: dict[str, Any] | None = None, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.scaler = scaler
        self.threshold = float(threshold)
        self.info = dict(info or {})

    @classmethod
    def load(cls, qc_dir: str | Path, device: str | torch.device = "cpu") -> QualityControl:
        """Load ``qc_dir`` (``qc.json`` + ``model.safetensors``); CheckpointError if unusable."""
        net, tree = load_qc(qc_dir)
        try:
            scaler = IntensityScaler.from_dict(tree["intensity"])
            threshold = float(tree["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{Path(qc_dir) / QC_JSON}: bad intensity or threshold "
                                  f"({exc})") from None
        return cls(net, scaler, threshold, tree, device)

    def score_slices(self, volume_hu: np.ndarray, *, batch_size: int = 16) -> np.ndarray:
        """Artefact probability ``(z,)`` in [0, 1] of each slice of a ``(z, y, x)`` HU volume.

        A single ``(y, x)`` slice gives a ``(1,)`` array. The body mask is computed from the
        volume as at training (largest 3D component above -500 HU).
        """
        vol = np.asarray(volume_hu, np.float32)
        if vol.ndim == 2:
            vol = vol[None]
        if vol.ndim != 3 or vol.shape[0] == 0:
            raise ValueError(f"expected a (z, y, x) volume or a (y, x) slice, got {vol.shape}")
        body = body_mask(vol)
        return score_batches(self.net, self.scaler, list(vol), list(body), device=self.device,
                             batch_size=batch_size)

    def rejected(self, volume_hu: np.ndarray, threshold: float | None = None, *,
                 scores: np.ndarray | None = None) -> np.ndarray:
        """Bool ``(z,)``: slices whose score exceeds ``threshold`` (default: the saved one).

        Pass ``scores`` from :meth:`score_slices` to skip scoring again.
        """
        t = self.threshold if threshold is None else float(threshold)
        s = self.score_slices(volume_hu) if scores is None else np.asarray(scores)
        return s > t

    @property
    def expected_false_alarms(self) -> float:
        """Fraction of real slices the threshold was set to reject (``1 - keep_real``)."""
        return 1.0 - float(self.info.get("config", {}).get("keep_real", 0.95))

    def check_fits(self, real_volumes: Iterable[np.ndarray], source: str, *,
                   limit: float = 0.25) -> float:
        """Fraction of the slices of ``real_volumes`` (real scans, any iterable) rejected;
        DataError above ``limit``.

        Why: a QC network judges "looks like the CT it was trained on". On scans of another
        scanner, protocol or phantom version it rejects real slices as readily as synthetic
        ones (measured: a QC trained on phantom v2 rejected 100% of real phantom v1 slices),
        and filtering synthetic data with it would silently drop everything. ``source`` names
        the scans in the message.
        """
        rejected = total = 0
        for volume in real_volumes:  # one volume in memory at a time
            flags = self.rejected(volume)
            rejected, total = rejected + int(flags.sum()), total + flags.size
        if total == 0:
            raise ValueError("check_fits needs at least one real slice")
        rate = rejected / total
        if rate > limit:
            raise DataError(
                f"{source}: the QC model rejects {rate:.0%} of these real slices (expected "
                f"about {self.expected_false_alarms:.0%}); it was trained on different data. "
                "Train it on real scans like these: ctbridge qc train --data FOLDER")
        return rate

    def calibrate(self, real_volumes: Iterable[np.ndarray], *, keep_real: float | None = None
                  ) -> dict[str, Any]:
        """Set the threshold so that ``keep_real`` (default: as at training) of the slices of
        ``real_volumes`` are kept; returns the record that :func:`save_calibration` stores.

        Why: the training threshold keeps 95% of the QC cohort's validation slices, but the
        scans to be filtered come from another cohort (scanner, protocol, slice count), where
        the same threshold rejected 0-21% of real slices from run to run. Calibrated on real
        scans like the ones to be judged, the false-alarm rate is what was asked for.
        """
        scores = [self.score_slices(v) for v in real_volumes]  # one volume at a time
        if not scores:
            raise ValueError("calibrate needs at least one real volume")
        return {**self.calibrate_scores(np.concatenate(scores), keep_real=keep_real),
                "volumes": len(scores)}

    def calibrate_scores(self, real_scores: np.ndarray, *, keep_real: float | None = None
                         ) -> dict[str, Any]:
        """:meth:`calibrate` from scores already computed by :meth:`score_slices`."""
        keep = 1.0 - self.expected_false_alarms if keep_real is None else float(keep_real)
        before = self.threshold
        self.threshold = keep_threshold(real_scores, keep)
        return {"keep_real": keep, "slices": int(np.asarray(real_scores).size),
                "threshold": self.threshold, "threshold_before": before}

    @property
    def kinds_seen(self) -> list[str]:
        return list(self.info.get("kinds_seen", []))

    @property
    def kinds_held_out(self) -> list[str]:
        return list(self.info.get("kinds_held_out", []))


def rejected_fraction(qc: Any, volume_hu: np.ndarray) -> float:
    """Fraction of a ``(z, y, x)`` volume's slices that ``qc`` rejects (what the demo reports
    per volume, and what `ctbridge synthesize --max-rejected` and the 3D experiment compare with
    their limit). ``qc`` is a :class:`QualityControl` or anything with its ``rejected``."""
    return float(np.mean(np.asarray(qc.rejected(volume_hu), bool)))


def scan_inputs(path: str | Path) -> list[Path]:
    """The scans named by ``path``: a NIfTI/DICOM file, a DICOM series folder, or a folder of
    NIfTI files (and DICOM series sub-folders)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    niftis = [p for p in entries if p.is_file() and p.name.lower().endswith(NIFTI_SUFFIXES)]
    if niftis:
        return niftis + [p for p in entries if p.is_dir()]
    if any(p.is_file() for p in entries):
        return [path]  # one DICOM series
    subdirs = [p for p in entries if p.is_dir()]
    if not subdirs:
        raise DataError(f"{path}: empty folder, no scans to score")
    return subdirs


def score_paths(qc: QualityControl, input: str | Path, *, threshold: float | None = None
                ) -> list[dict[str, Any]]:
    """One row per slice of every scan under ``input``: file, slice, score, rejected."""
    from ctbridge.io import read_scan

    t = qc.threshold if threshold is None else float(threshold)
    rows: list[dict[str, Any]] = []
    for path in scan_inputs(input):
        scores = qc.score_slices(read_scan(path).array)
        for z, s in enumerate(scores):
            rows.append({"file": path.name, "slice": z, "score": float(s),
                         "rejected": bool(s > t)})
    return rows


def write_scores_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write ``file,slice,score,rejected`` rows atomically."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "slice", "score", "rejected"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "score": f"{row['score']:.6f}",
                             "rejected": int(bool(row["rejected"]))})
    return Path(path)
