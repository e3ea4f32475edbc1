"""The seedable multi-phase abdominal CT phantom: the embedded default data with ground truth.

Every phase of a patient exists, with identical anatomy, labels and plaques, so translations
can be scored against the true other phase.

Example:
    >>> from ctbridge.phantom import generate_patient
    >>> pt = generate_patient(seed=3, size=96, slices=8, phases=("nc", "arterial"))
    >>> pt.volumes["arterial"].shape, pt.spacing[0]
    ((8, 96, 96), 3.75)

Modules: ``hu_table`` (labels and HU per tissue and phase, with sources), ``anatomy`` (a random
patient from a seed), ``shapes`` and ``draw`` (the label map of one slice), ``render`` (partial
volume and noise), ``plaques`` (sub-voxel calcium), ``generate`` (one patient), ``dataset``
(a cohort on disk) and ``contact_sheet`` (PNG).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names resolve on first use (PEP 562), so `from ctbridge.phantom.hu_table import PHASES` (the
# CLI's help text) does not pay for scipy and torch: `ctbridge --help` stays fast.
_SOURCE = {
    "Anatomy": "anatomy", "Plaque": "anatomy", "random_anatomy": "anatomy",
    "contact_sheet": "contact_sheet",
    "patient_name": "dataset", "patient_seed": "dataset", "write_phantom_dataset": "dataset",
    "FOV_MM": "generate", "GENERATOR_VERSION": "generate", "Patient": "generate",
    "generate_patient": "generate",
    "HU_TABLE": "hu_table", "LABELS": "hu_table", "PHASES": "hu_table", "hu_range": "hu_table",
}

if TYPE_CHECKING:
    from ctbridge.phantom.anatomy import Anatomy, Plaque, random_anatomy
    from ctbridge.phantom.contact_sheet import contact_sheet
    from ctbridge.phantom.dataset import patient_name, patient_seed, write_phantom_dataset
    from ctbridge.phantom.generate import FOV_MM, GENERATOR_VERSION, Patient, generate_patient
    from ctbridge.phantom.hu_table import HU_TABLE, LABELS, PHASES, hu_range

__all__ = ["generate_patient", "write_phantom_dataset", "patient_seed", "patient_name",
           "contact_sheet", "random_anatomy", "Patient", "Anatomy", "Plaque", "LABELS", "PHASES",
           "HU_TABLE", "hu_range", "FOV_MM", "GENERATOR_VERSION"]


def __getattr__(name: str) -> Any:
    if name not in _SOURCE:
        raise AttributeError(f"module 'ctbridge.phantom' has no attribute {name!r}")
    return getattr(importlib.import_module(f"ctbridge.phantom.{_SOURCE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
