"""Labels and the one table of HU per tissue and contrast phase.

Values are typical published attenuation values at 120 kVp (means; the phantom adds noise):
unenhanced tissue HU from standard CT references (fat -100, muscle ~50, liver 55-65, spleen
40-50, kidney 30, pancreas 40-50, blood 35-45); enhancement per phase from the contrast
timing literature (Bae KT, "Intravenous contrast medium administration and scan timing at CT",
Radiology 2010;256:32-61): aorta ~250-350 HU in the late arterial / pancreatic phase, ~150-180
portal venous, ~100-120 delayed; renal cortex peaks in the arterial (corticomedullary) phase
(150-200 HU) and the medulla in the nephrographic (venous) phase; the pancreas peaks in the
pancreatic phase (100-130 HU); the liver peaks in the portal venous phase (~100-110 HU);
excreted contrast makes the collecting systems bright in the delayed (excretory) phase.
Calcified plaques are >= 130 HU (Agatston's threshold) and do not enhance.
"""

from __future__ import annotations

PHASES: tuple[str, ...] = ("nc", "arterial", "venous", "delayed")

# name -> id, written to dataset.json as "labels"
LABELS: dict[str, int] = {
    "background": 0,
    "fat": 1,
    "muscle": 2,
    "bone_cortical": 3,
    "bone_cancellous": 4,
    "aorta": 5,
    "iliac": 6,
    "ivc": 7,
    "liver": 8,
    "spleen": 9,
    "kidney_left_cortex": 10,
    "kidney_left_medulla": 11,
    "kidney_right_cortex": 12,
    "kidney_right_medulla": 13,
    "renal_pelvis": 14,
    "pancreas": 15,
    "bowel": 16,
    "bowel_content": 17,
    "bowel_gas": 18,
    "vessel_wall": 19,
    "plaque": 20,
}

#                        nc     arterial venous delayed
HU_TABLE: dict[str, tuple[float, float, float, float]] = {
    "background":           (-1000.0, -1000.0, -1000.0, -1000.0),  # air
    "fat":                  (-100.0, -100.0, -95.0, -95.0),
    "muscle":               (50.0, 58.0, 65.0, 60.0),
    "bone_cortical":        (900.0, 900.0, 900.0, 900.0),
    "bone_cancellous":      (220.0, 225.0, 230.0, 225.0),
    "aorta":                (40.0, 310.0, 165.0, 115.0),  # blood in the lumen
    "iliac":                (40.0, 300.0, 160.0, 112.0),
    "ivc":                  (40.0, 75.0, 155.0, 115.0),  # unopacified in the arterial phase
    "liver":                (60.0, 75.0, 105.0, 85.0),
    "spleen":               (45.0, 120.0, 115.0, 90.0),
    "kidney_left_cortex":   (30.0, 175.0, 160.0, 120.0),
    "kidney_left_medulla":  (30.0, 70.0, 155.0, 130.0),
    "kidney_right_cortex":  (30.0, 175.0, 160.0, 120.0),
    "kidney_right_medulla": (30.0, 70.0, 155.0, 130.0),
    "renal_pelvis":         (10.0, 10.0, 20.0, 600.0),  # excreted contrast when delayed
    "pancreas":             (45.0, 115.0, 95.0, 75.0),
    "bowel":                (40.0, 90.0, 100.0, 80.0),  # enhancing wall
    "bowel_content":        (15.0, 15.0, 15.0, 15.0),  # fluid
    "bowel_gas":            (-900.0, -900.0, -900.0, -900.0),
    "vessel_wall":          (40.0, 60.0, 60.0, 55.0),
    "plaque":               (0.0, 0.0, 0.0, 0.0),  # per plaque (130-1000+ HU), every phase
}

# Ranges a measured median must fall in (label, phase) -> (low, high); used by the tests and
# the docs. Wider than the table to allow for partial volume at organ borders.
VESSEL_LABELS: tuple[str, ...] = ("aorta", "iliac")


def hu(label: str, phase: str) -> float:
    """Mean HU of ``label`` in ``phase``."""
    return HU_TABLE[label][PHASES.index(phase)]


def lookup_table(phase: str) -> list[float]:
    """HU indexed by label id, for rendering a label map in ``phase``."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; phantom phases are {PHASES}")
    table = [0.0] * (max(LABELS.values()) + 1)
    for name, idx in LABELS.items():
        table[idx] = hu(name, phase)
    return table
