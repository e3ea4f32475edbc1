"""Real slices and artefact slices for the QC network, split by patient.

Real slices come from CT scans the translator never saw: a phantom folder (every phase of a
patient is a real slice), a folder of NIfTI files / DICOM series (one patient each), or, with
no folder, a phantom cohort generated with a seed apart from the demo's. Patients, not slices,
are split between training and validation, so a validation score is on unseen anatomy.

Label 1 = artefact, 0 = real. A training batch is exactly half real, half artefact. By default
the real half is the clean version of the artefact half (``paired``): the anatomy then cancels
out of the gradient and only the artefact is left to learn from. Measured on the tiny preset
(300 steps, 3 seeds): with independent halves the network learned blur and erasure only on one
seed (noise texture, drift, seams at chance); paired, every training kind reached AUC >= 0.75
on every seed. Slices are still scored one by one; nothing compares them at inference.
Held-out kinds are never asked for here: the sampler only knows the kinds it is given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ctbridge.data.body_mask import body_mask
from ctbridge.data.intensity import IntensityScaler
from ctbridge.errors import DataError
from ctbridge.io.progress import progress_bar
from ctbridge.qc.artefacts import apply_artefact
from ctbridge.qc.config import CohortConfig

AIR_HU = -1024.0
MIN_CHANGE_HU = 1.0  # an "artefact" that changes no pixel by this much is not one (retry)


@dataclass
class SliceSet:
    """Real ``(y, x)`` HU slices with their body masks, patients and a readable source."""

    hu: list[np.ndarray] = field(default_factory=list)
    body: list[np.ndarray] = field(default_factory=list)
    patient: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.hu)


def phantom_cohort(cohort: CohortConfig, *, progress: bool = False
                   ) -> dict[str, list[np.ndarray]]:
    """patient -> HU volumes (one per phase) of a phantom cohort made in memory."""
    from ctbridge.phantom import generate_patient, patient_name, patient_seed

    volumes: dict[str, list[np.ndarray]] = {}
    for i in progress_bar(range(cohort.patients), desc="qc phantom", unit="patient",
                          enabled=progress, leave=False):
        pt = generate_patient(patient_seed(cohort.seed, i), size=cohort.size,
                              slices=cohort.slices, phases=cohort.phases,
                              plaques_max=cohort.plaques_max)
        volumes[patient_name(i)] = [pt.volumes[ph] for ph in cohort.phases]
    return volumes


def folder_volumes(root: Path, *, progress: bool = False) -> dict[str, list[np.ndarray]]:
    """patient -> HU volumes from a phantom folder or a folder of scans.

    A phantom folder (``dataset.json`` with ``"phases"``) gives one volume per phase of each
    patient; any other folder gives one patient per NIfTI file or DICOM series folder.
    """
    from ctbridge.data.sources import is_phantom_folder, list_scans
    from ctbridge.io import read_scan

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    paths: dict[str, list[Path]] = {}
    if is_phantom_folder(root):
        phases = json.loads((root / "dataset.json").read_text())["phases"]
        for phase in phases:
            for path in list_scans(root / phase):
                paths.setdefault(path.name, []).append(path)
    else:
        for path in list_scans(root):
            paths[path.name] = [path]
    if not paths:
        raise DataError(f"{root}: no NIfTI files or DICOM series (or phase folders) to learn "
                        "real slices from")
    bar = progress_bar(total=sum(map(len, paths.values())), desc="reading scans",
                       enabled=progress, leave=False)
    volumes: dict[str, list[np.ndarray]] = {}
    for name, files in sorted(paths.items()):
        volumes[name] = []
        for path in files:
            volumes[name].append(read_scan(path).array)
            bar.update()
    bar.close()
    return volumes


def train_validation_split(names: Sequence[str], val_patients: int, seed: int
                   ) -> tuple[list[str], list[str]]:
    """(train, validation) patient names; shuffled with ``seed``, both non-empty."""
    names = sorted(names)
    if len(names) < 2:
        raise DataError(f"need at least 2 patients (training and validation), got {len(names)}")
    n_val = min(val_patients, len(names) - 1)
    order = np.random.default_rng(seed).permutation(len(names))
    val = sorted(names[i] for i in order[:n_val])
    return [n for n in names if n not in val], val


def slices_of(volumes: dict[str, list[np.ndarray]], patients: Sequence[str],
              min_body_fraction: float) -> SliceSet:
    """Every slice of ``patients`` with at least ``min_body_fraction`` of body."""
    out = SliceSet()
    for name in patients:
        for v, vol in enumerate(volumes[name]):
            body = body_mask(vol)
            for z in range(vol.shape[0]):
                if body[z].mean() < min_body_fraction:
                    continue
                out.hu.append(np.ascontiguousarray(vol[z], np.float32))
                out.body.append(body[z])
                out.patient.append(name)
                out.source.append(f"{name}[{v}] z={z}")
    if not out.hu:
        raise DataError(f"no slice of patients {list(patients)} has {min_body_fraction:.0%} body")
    return out


def crop_around_body(hu: np.ndarray, body: np.ndarray, size: int | None,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` crop centred on a random body pixel (padded with air if needed)."""
    if size is None:
        return hu, body
    pad = [(max(0, size - n), max(0, size - n)) for n in hu.shape]
    if any(p[0] for p in pad):
        hu = np.pad(hu, pad, constant_values=AIR_HU)
        body = np.pad(body, pad, constant_values=False)
    where = np.argwhere(body)
    cy, cx = where[int(rng.integers(len(where)))] if len(where) else np.array(hu.shape) // 2
    y0 = int(np.clip(cy - size // 2, 0, hu.shape[0] - size))
    x0 = int(np.clip(cx - size // 2, 0, hu.shape[1] - size))
    box = (slice(y0, y0 + size), slice(x0, x0 + size))
    return hu[box], body[box]


def make_artefact(hu: np.ndarray, body: np.ndarray, kind: str, strength: float,
                  rng: np.random.Generator) -> np.ndarray | None:
    """``kind`` applied to the slice, or None when it changes nothing (no bright spot to erase)."""
    out = apply_artefact(kind, hu, strength, rng, body=body)
    return out if np.abs(out - hu).max() >= MIN_CHANGE_HU else None


def to_batch(hus: Sequence[np.ndarray], bodies: Sequence[np.ndarray], scaler: IntensityScaler
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Same-shape HU slices -> (model-range ``(B, 1, H, W)`` float32, body ``(B, 1, H, W)``)."""
    x = np.asarray(scaler.to_model(np.stack(hus).astype(np.float32)), np.float32)
    return torch.from_numpy(x)[:, None], torch.from_numpy(np.stack(bodies))[:, None]


class ArtefactBatches:
    """Balanced training batches: half real slices, half slices with one artefact each.

    Args:
        slices: the training patients' real slices.
        kinds: artefact kinds to produce (the training kinds; held-out kinds stay out).
        scaler: HU -> network range, the translators' map.
        crop: crop size around the body (None: whole slices, which must then share a shape).
        strength: artefact strengths are uniform in ``[low, high]``.
        seed: every draw (slices, crops, kinds, strengths, artefacts) follows from it.
        paired: the real half is the clean version of the artefact half (module docstring);
            otherwise independently drawn slices.
    """

    def __init__(self, slices: SliceSet, kinds: Sequence[str], scaler: IntensityScaler, *,
                 crop: int | None, strength: tuple[float, float], seed: int,
                 paired: bool = False) -> None:
        if not kinds:
            raise ValueError("no artefact kinds to train on")
        self.slices, self.kinds, self.scaler = slices, list(kinds), scaler
        self.crop, self.strength, self.paired = crop, strength, paired
        self.rng = np.random.default_rng(seed)
        self.no_ops = 0  # artefacts that changed nothing and were redrawn

    def _draw(self) -> tuple[np.ndarray, np.ndarray]:
        i = int(self.rng.integers(len(self.slices)))
        return crop_around_body(self.slices.hu[i], self.slices.body[i], self.crop, self.rng)

    def artefact(self, kind: str, tries: int = 20
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(artefact slice of ``kind``, body, the clean slice), redrawing on a no-op."""
        for _ in range(tries):
            hu, body = self._draw()
            out = make_artefact(hu, body, kind, float(self.rng.uniform(*self.strength)),
                                self.rng)
            if out is not None:
                return out, body, hu
            self.no_ops += 1
        raise DataError(f"artefact {kind!r} changed none of {tries} training slices (e.g. no "
                        "small bright structure to erase); hold it out or add data")

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
        """(x ``(B, 1, H, W)``, body ``(B, 1, H, W)``, label ``(B,)``, kind per slice or 'real')."""
        hus, bodies, labels, kinds = [], [], [], []
        artefacts = []
        for _ in range(size - size // 2):
            kind = self.kinds[int(self.rng.integers(len(self.kinds)))]
            artefacts.append((kind, *self.artefact(kind)))
        for j in range(size // 2):
            if self.paired:
                hu, body = artefacts[j][3], artefacts[j][2]
            else:
                hu, body = self._draw()
            hus.append(hu)
            bodies.append(body)
            labels.append(0.0)
            kinds.append("real")
        for kind, hu, body, _ in artefacts:
            hus.append(hu)
            bodies.append(body)
            labels.append(1.0)
            kinds.append(kind)
        x, b = to_batch(hus, bodies, self.scaler)
        return x, b, torch.tensor(labels), kinds


def eval_artefacts(slices: SliceSet, kind: str, strength: float, seed: int
                   ) -> list[np.ndarray | None]:
    """``kind`` at ``strength`` on every whole slice (None where it is a no-op); reproducible."""
    rng = np.random.default_rng([seed, sum(map(ord, kind)), int(round(strength * 1000))])
    return [make_artefact(hu, body, kind, strength, rng)
            for hu, body in zip(slices.hu, slices.body, strict=True)]
