"""The seedable multi-phase abdominal CT phantom: the embedded default data with ground truth.

Every phase of a patient exists, with identical anatomy, labels and plaques, so translations
can be scored against the true other phase.
"""

from __future__ import annotations

from ctbridge.phantom.cohort import patient_seed, write_phantom_dataset
from ctbridge.phantom.generate import PhantomPatient, generate_patient
from ctbridge.phantom.tissues import HU_TABLE, LABELS, PHASES

__all__ = ["generate_patient", "write_phantom_dataset", "patient_seed", "PhantomPatient",
           "LABELS", "PHASES", "HU_TABLE"]
