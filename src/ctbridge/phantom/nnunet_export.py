"""Write a phantom cohort as nnU-Net v2 raw data sets, one per phase.

    OUT/Dataset901_CTBridgePhantomNC/          dataset.json, imagesTr/, labelsTr/, plaquesTr/
    OUT/Dataset902_CTBridgePhantomArterial/
    OUT/Dataset903_CTBridgePhantomVenous/
    OUT/Dataset904_CTBridgePhantomDelayed/

The id is 900 + the phase's place in ``PHASES`` (fixed, whichever phases are asked for), so a
data set's name says its phase. Cases are ``patient_XXX`` (``imagesTr/patient_000_0000.nii.gz``,
int16 HU; ``labelsTr/patient_000.nii.gz``); every phase holds the same patients with the same
label maps.

Labels are the phantom's tissue labels (``ctbridge.phantom.LABELS``: background 0 to plaque 23,
consecutive, as nnU-Net requires), plaques included as the label ``plaque``: one label map
serves both downstream tasks, plaques (trained on the NC data set) and pancreas (trained on a
contrast phase). ``plaquesTr/`` holds the plaque instance ids (1..n) that per-plaque detection
scores need; nnU-Net ignores the folder.

:func:`write_phantom_decathlon` writes the same cohort as Medical Segmentation Decathlon /
MONAI datalists instead (``OUT/Task901_CTBridgePhantomNC/``: ``dataset.json`` with a
``training`` list that :func:`monai.data.load_decathlon_datalist` reads, ``imagesTr/
patient_000.nii.gz``, ``labelsTr/``, ``plaquesTr/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctbridge.formats import nnunet
from ctbridge.io import write_labelmap, write_scan
from ctbridge.io.progress import progress_bar
from ctbridge.phantom.dataset import patient_name, patient_seed
from ctbridge.phantom.generate import FOV_MM, GENERATOR_VERSION, check_phases, generate_patient
from ctbridge.phantom.hu_table import LABELS, PHASES

BASE_ID = 900
PHASE_TITLES = {"nc": "NC", "arterial": "Arterial", "venous": "Venous", "delayed": "Delayed"}


def dataset_name(phase: str) -> str:
    """``Dataset901_CTBridgePhantomNC`` for ``nc``: the folder of ``phase``'s data set.

    Example:
        >>> dataset_name("arterial")
        'Dataset902_CTBridgePhantomArterial'
    """
    return f"Dataset{BASE_ID + PHASES.index(phase) + 1:03d}_CTBridgePhantom{PHASE_TITLES[phase]}"


def datalist_name(phase: str) -> str:
    """``Task901_CTBridgePhantomNC`` for ``nc``: the folder of ``phase``'s datalist (MSD style).

    Example:
        >>> datalist_name("venous")
        'Task903_CTBridgePhantomVenous'
    """
    return dataset_name(phase).replace("Dataset", "Task", 1)


def write_phantom_nnunet(out: str | Path, *, patients: int = 4, size: int = 512,
                         slices: int = 64, slice_mm: float = 3.0,
                         phases: Sequence[str] = PHASES, seed: int = 0, noise_hu: float = 15.0,
                         plaques_max: int = 20, progress: bool = True) -> dict[str, Path]:
    """Generate ``patients`` patients and write one nnU-Net data set per phase under ``out``.

    The patients are those of :func:`~ctbridge.phantom.dataset.write_phantom_dataset` with the
    same arguments (same seeds), so both layouts hold the same cohort.

    Returns:
        phase -> its data set folder.
    """
    return _write(out, "nnunet", patients=patients, size=size, slices=slices,
                  slice_mm=slice_mm, phases=phases, seed=seed, noise_hu=noise_hu,
                  plaques_max=plaques_max, progress=progress)


def write_phantom_decathlon(out: str | Path, *, patients: int = 4, size: int = 512,
                            slices: int = 64, slice_mm: float = 3.0,
                            phases: Sequence[str] = PHASES, seed: int = 0,
                            noise_hu: float = 15.0, plaques_max: int = 20,
                            progress: bool = True) -> dict[str, Path]:
    """The cohort of :func:`write_phantom_nnunet` as one Decathlon/MONAI datalist per phase.

    Returns:
        phase -> its folder (``dataset.json`` with ``training`` items ``{"image":
        "./imagesTr/patient_000.nii.gz", "label": "./labelsTr/patient_000.nii.gz"}``).
    """
    return _write(out, "decathlon", patients=patients, size=size, slices=slices,
                  slice_mm=slice_mm, phases=phases, seed=seed, noise_hu=noise_hu,
                  plaques_max=plaques_max, progress=progress)


def _write(out: str | Path, layout: str, *, patients: int, size: int, slices: int,
           slice_mm: float, phases: Sequence[str], seed: int, noise_hu: float,
           plaques_max: int, progress: bool) -> dict[str, Path]:
    out = Path(out)
    phases = check_phases(phases)
    if patients < 1:
        raise ValueError(f"patients must be >= 1, got {patients}")
    decathlon = layout == "decathlon"
    roots = {ph: out / (datalist_name(ph) if decathlon else dataset_name(ph)) for ph in phases}
    entries: list[dict[str, Any]] = []
    for i in progress_bar(range(patients), desc=f"phantom ({layout})", unit="patient",
                          enabled=progress):
        case = patient_name(i)
        image = f"{case}.nii.gz" if decathlon else nnunet.image_name(case)
        pt = generate_patient(patient_seed(seed, i), size=size, slices=slices, slice_mm=slice_mm,
                              phases=phases, noise_hu=noise_hu, plaques_max=plaques_max)
        for phase, root in roots.items():
            scan = pt.scan(phase)
            write_scan(scan, root / "imagesTr" / image, dtype="int16")
            write_labelmap(pt.labels, scan, root / "labelsTr" / nnunet.label_name(case))
            write_labelmap(pt.plaques, scan, root / "plaquesTr" / nnunet.label_name(case))
        entries.append({"case": case, "seed": pt.seed, "n_plaques": len(pt.plaque_info)})
    for phase, root in roots.items():
        meta: dict[str, Any] = {
            "name": f"CTBridgePhantom{PHASE_TITLES[phase]}",
            "description": (f"ctbridge multi-phase abdominal CT phantom, {phase} phase: "
                            f"{patients} patients (seed {seed}); every phase data set of this "
                            "cohort holds the same patients and label maps."),
        }
        if decathlon:
            meta |= {"tensorImageSize": "3D", "modality": {"0": "CT"},
                     "labels": {str(v): k for k, v in LABELS.items()},
                     "numTraining": patients, "numTest": 0,
                     "training": [{"image": f"./imagesTr/{e['case']}.nii.gz",
                                   "label": f"./labelsTr/{e['case']}.nii.gz"} for e in entries],
                     "test": []}
        else:
            meta |= {"channel_names": {"0": "CT"}, "labels": dict(LABELS),
                     "numTraining": patients, "file_ending": ".nii.gz"}
        meta["ctbridge_phantom"] = {
            "phase": phase, "generator_version": GENERATOR_VERSION, "seed": seed,
            "size": size, "slices": slices, "slice_mm": slice_mm, "fov_mm": FOV_MM,
            "noise_hu": noise_hu, "plaques_max": plaques_max, "patients": entries,
            "plaques": "plaquesTr/<case>.nii.gz: plaque instance ids 1..n"}
        nnunet.write_dataset_json(root, meta)
    return roots
