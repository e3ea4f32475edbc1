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

from ctbridge.phantom.anatomy import Anatomy, Plaque, random_anatomy
from ctbridge.phantom.contact_sheet import contact_sheet
from ctbridge.phantom.dataset import patient_name, patient_seed, write_phantom_dataset
from ctbridge.phantom.generate import FOV_MM, GENERATOR_VERSION, Patient, generate_patient
from ctbridge.phantom.hu_table import HU_TABLE, LABELS, PHASES, hu_range

__all__ = ["generate_patient", "write_phantom_dataset", "patient_seed", "patient_name",
           "contact_sheet", "random_anatomy", "Patient", "Anatomy", "Plaque", "LABELS", "PHASES",
           "HU_TABLE", "hu_range", "FOV_MM", "GENERATOR_VERSION"]
