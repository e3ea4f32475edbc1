"""Label ids and the one table of HU per tissue and contrast phase, with sources.

Each row gives, per phase, the range of mean attenuation (HU, 120 kVp) that published series
report for that tissue. A patient's tissue value is drawn once inside the middle of its range
(one draw per tissue shared by every phase, so a tissue whose range does not change never
changes between phases) and the tests check that measured medians land inside the range.

Sources (values are typical means; the papers give the orders of magnitude and timing):
    [1] Standard unenhanced attenuation values of radiology textbooks: air -1000, fat -120..-80,
        muscle 40-60, unclotted blood 35-50, CSF 0-15, bile / water-like fluid 0-20.
    [2] Bae KT. "Intravenous contrast medium administration and scan timing at CT:
        considerations and approaches." Radiology 2010;256:32-61 (aorta 250-350 HU in the late
        arterial / pancreatic phase, ~150-180 HU portal venous; liver peak ~100-110 HU at 60-70 s;
        spleen and bowel wall enhance early; infrarenal IVC unopacified in the arterial phase).
    [3] Yuh BI, Cohan RH. "Different phases of renal enhancement: role in detecting and
        characterizing renal masses during helical CT." AJR 1999;173:747-755 (corticomedullary
        phase: cortex 150-200 HU, medulla much lower; nephrographic phase: both ~150-170;
        excretory phase: opacified collecting systems, several hundred HU).
    [4] Lu DS, et al. "Two-phase helical CT for pancreatic tumors: pancreatic versus hepatic
        phase enhancement of tumor, pancreas, and vascular structures." Radiology
        1996;199:697-701 (pancreas ~40-50 HU unenhanced, 100-130 HU pancreatic phase, lower in
        the hepatic phase).
    [5] Pickhardt PJ, et al. "Opportunistic screening for osteoporosis using abdominal CT scans
        obtained for other indications." Ann Intern Med 2013;158:588-595 (lumbar trabecular
        bone ~150-250 HU in adults); the cortical shell reads ~700-1200 HU at 3 mm slices.
    [6] Agatston AS, et al. JACC 1990;15:827-832: calcium is >= 130 HU (plaques: plaques.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PHASES: tuple[str, ...] = ("nc", "arterial", "venous", "delayed")

Range = tuple[float, float]


@dataclass(frozen=True)
class Tissue:
    """Published HU range of one tissue per phase: (low, high) for nc, arterial, venous, delayed."""

    nc: Range
    arterial: Range
    venous: Range
    delayed: Range

    def range(self, phase: str) -> Range:
        return getattr(self, phase)


def _same(low: float, high: float) -> Tissue:
    """A tissue that does not enhance: one range in every phase."""
    return Tissue((low, high), (low, high), (low, high), (low, high))


# name -> (id, HU ranges). Ids are written to dataset.json as "labels" (name -> id).
# Plain anatomical words; kidneys are split into cortex and medulla because they enhance at
# different times (corticomedullary phase), the collecting system is "renal_pelvis".
#                                     nc            arterial      venous        delayed
TISSUES: dict[str, Tissue] = {
    "background":           _same(-1010, -990),                                    # air [1]
    "fat":                  _same(-110, -90),                                      # [1]
    "muscle":               Tissue((45, 55), (50, 65), (55, 70), (55, 65)),        # [1]
    "bone_cortical":        _same(800, 1000),                                      # [5]
    "bone_cancellous":      _same(170, 230),                                       # [5]
    "spinal_canal":         _same(15, 30),                          # CSF and cord [1]
    "disc":                 _same(70, 100),                         # intervertebral disc [1]
    "aorta":                Tissue((35, 50), (250, 350), (150, 180), (100, 130)),  # [2]
    "iliac":                Tissue((35, 50), (240, 340), (145, 175), (100, 130)),  # [2]
    "ivc":                  Tissue((35, 50), (70, 100), (140, 170), (100, 130)),   # [2]
    "vessel_wall":          Tissue((35, 50), (55, 70), (60, 75), (55, 70)),        # [1]
    "liver":                Tissue((55, 65), (70, 85), (100, 115), (80, 95)),      # [2]
    "spleen":               Tissue((40, 50), (110, 130), (110, 125), (85, 100)),   # [2]
    "kidney_left_cortex":   Tissue((28, 38), (150, 200), (150, 170), (110, 130)),  # [3]
    "kidney_left_medulla":  Tissue((28, 38), (65, 90), (145, 170), (120, 145)),    # [3]
    "kidney_right_cortex":  Tissue((28, 38), (150, 200), (150, 170), (110, 130)),  # [3]
    "kidney_right_medulla": Tissue((28, 38), (65, 90), (145, 170), (120, 145)),    # [3]
    "renal_pelvis":         Tissue((0, 15), (0, 15), (10, 30), (500, 900)),        # urine [3]
    "pancreas":             Tissue((40, 50), (100, 130), (85, 105), (70, 85)),     # [4]
    "gallbladder":          _same(0, 15),                                          # bile [1]
    "bowel":                Tissue((35, 45), (80, 100), (90, 110), (70, 90)),      # wall [2]
    "bowel_content":        _same(10, 25),                          # water-like fluid [1]
    "bowel_gas":            _same(-950, -900),                      # partial volume of gas [1]
    "plaque":               _same(130, 1500),         # per plaque, identical in every phase [6]
}

LABELS: dict[str, int] = {name: i for i, name in enumerate(TISSUES)}
VESSEL_LUMENS: tuple[str, ...] = ("aorta", "iliac")


def hu_range(label: str, phase: str) -> Range:
    """Published (low, high) mean HU of ``label`` in ``phase``."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; phantom phases are {PHASES}")
    return TISSUES[label].range(phase)


# the table as plain numbers, for dataset.json and the docs: name -> phase -> (low, high)
HU_TABLE: dict[str, dict[str, Range]] = {
    name: {ph: t.range(ph) for ph in PHASES} for name, t in TISSUES.items()}


def lookup_tables(phases: tuple[str, ...], rng: np.random.Generator, spread: float = 0.6
                  ) -> dict[str, np.ndarray]:
    """HU indexed by label id, per phase, for one patient.

    Each tissue gets one position ``u`` inside the middle ``spread`` of its ranges, shared by
    every phase: patients differ (bolus timing, body composition) while a tissue whose range is
    the same in every phase renders identically in every phase.
    """
    u = 0.5 + spread * (rng.random(len(TISSUES)) - 0.5)
    tables = {}
    for ph in phases:
        lows, highs = np.array([hu_range(name, ph) for name in TISSUES]).T
        tables[ph] = (lows + u * (highs - lows)).astype(np.float32)
    return tables
