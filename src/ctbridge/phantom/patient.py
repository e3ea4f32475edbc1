"""A random patient: body habitus, organ sizes and positions, vessel course, plaques.

Everything is in mm in the axial plane, x towards the patient's left and y towards posterior
(DICOM LPS, so the image shows the patient as a radiologist expects: anterior up, patient's
right on the image's left). Levels ``t`` run from 0 (top of the covered range: liver dome /
spleen) to 1 (bottom: common iliac arteries). All randomness comes from one
``numpy.random.Generator``, so a seed is a patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Ellipse:
    """An axial ellipse: centre (x, y) mm, semi-axes (a along x, b along y) mm, angle rad."""

    x: float
    y: float
    a: float
    b: float
    angle: float = 0.0


@dataclass(frozen=True)
class Plaque:
    """A calcified plaque on the wall of the aorta or an iliac artery."""

    vessel: str  # "aorta", "iliac_left", "iliac_right"
    t: float  # body level
    angle: float  # position around the vessel, rad (0 = patient's left, pi/2 = posterior)
    offset: float  # centre's distance outside the lumen edge, mm (negative: protrudes inward)
    diameter: float  # in-plane size, mm
    length: float  # extent along z, mm
    peak_hu: float  # HU of calcium before partial volume


@dataclass(frozen=True)
class Patient:
    """The parameters of one phantom patient (see :func:`random_patient`)."""

    seed: int
    body_a: float
    body_b: float
    fat: float  # subcutaneous fat thickness, mm
    wall: float  # abdominal wall muscle thickness, mm
    spine_y: float
    vertebra_r: float
    aorta_x: float
    aorta_r: float
    bifurcation_t: float
    iliac_spread: float  # lateral distance of each iliac from the bifurcation at t = 1, mm
    ivc_x: float
    liver_scale: float
    liver_end_t: float
    spleen_scale: float
    kidney_top_t: float
    kidney_len_t: float
    kidney_scale: float
    pancreas_t: float
    pancreas_r: float
    bowel: tuple[Ellipse, ...]
    bowel_gas: tuple[bool, ...]
    lobulation: tuple[float, ...]  # liver outline harmonics
    plaques: tuple[Plaque, ...] = field(default=())

    # ---------------------------------------------------------------- vessel course
    def aorta_centre(self, t: float) -> tuple[float, float]:
        """Lumen centre of the aorta at level ``t`` (it drifts anteriorly and to the midline)."""
        y = self.spine_y - self.vertebra_r - self.aorta_r - 4 + 6 * t
        return self.aorta_x * (1 - 0.4 * t), y

    def aorta_radius(self, t: float) -> float:
        return self.aorta_r * (1 - 0.15 * t)  # tapers towards the bifurcation

    def iliac_centres(self, t: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """(left, right) common iliac lumen centres below the bifurcation."""
        x0, y0 = self.aorta_centre(self.bifurcation_t)
        s = (t - self.bifurcation_t) / max(1 - self.bifurcation_t, 1e-6)
        dx = self.iliac_spread * s
        dy = 12.0 * s  # they run posterolaterally
        return (x0 + dx, y0 + dy), (x0 - dx, y0 + dy)

    def iliac_radius(self, t: float) -> float:
        return 0.62 * self.aorta_radius(self.bifurcation_t)

    def vessel_at(self, vessel: str, t: float) -> tuple[float, float, float]:
        """(x, y, lumen radius) of ``vessel`` at level ``t``."""
        if vessel == "aorta":
            return (*self.aorta_centre(t), self.aorta_radius(t))
        left, right = self.iliac_centres(t)
        x, y = left if vessel == "iliac_left" else right
        return x, y, self.iliac_radius(t)


def _plaques(rng: np.random.Generator, p: dict, n: int) -> tuple[Plaque, ...]:
    out = []
    for _ in range(n):
        if rng.random() < 0.55:
            vessel, t = "aorta", rng.uniform(0.1, p["bifurcation_t"] - 0.02)
        else:
            vessel = "iliac_left" if rng.random() < 0.5 else "iliac_right"
            t = rng.uniform(p["bifurcation_t"] + 0.04, 0.98)
        diameter = float(rng.uniform(0.5, 3.0))
        # posterior and lateral walls are typical; some plaques protrude into the lumen
        angle = float(rng.normal(np.pi / 2, 0.9))
        offset = float(rng.uniform(-0.45, 0.35) * diameter)
        peak = float(np.clip(130 + rng.gamma(2.0, 200.0), 160, 1600))
        out.append(Plaque(vessel, float(t), angle, offset, diameter,
                          float(diameter * rng.uniform(1.0, 2.5)), peak))
    return tuple(out)


def random_patient(seed: int, plaques_max: int = 20) -> Patient:
    """Draw a patient from ``seed``: sizes, positions and plaque burden all vary."""
    rng = np.random.default_rng(seed)
    body_a = float(rng.uniform(140, 172))
    body_b = float(rng.uniform(105, 135))
    vertebra_r = float(rng.uniform(17, 21))
    spine_y = float(body_b - rng.uniform(45, 58) - vertebra_r)
    p = dict(
        seed=seed, body_a=body_a, body_b=body_b, fat=float(rng.uniform(8, 30)),
        wall=float(rng.uniform(7, 11)), spine_y=spine_y, vertebra_r=vertebra_r,
        aorta_x=float(rng.uniform(8, 18)), aorta_r=float(rng.uniform(9.5, 12.5)),
        bifurcation_t=float(rng.uniform(0.66, 0.78)), iliac_spread=float(rng.uniform(30, 45)),
        ivc_x=float(-rng.uniform(20, 28)), liver_scale=float(rng.uniform(0.85, 1.1)),
        liver_end_t=float(rng.uniform(0.4, 0.55)), spleen_scale=float(rng.uniform(0.8, 1.2)),
        kidney_top_t=float(rng.uniform(0.12, 0.22)), kidney_len_t=float(rng.uniform(0.32, 0.42)),
        kidney_scale=float(rng.uniform(0.9, 1.1)), pancreas_t=float(rng.uniform(0.2, 0.3)),
        pancreas_r=float(rng.uniform(9, 13)),
        lobulation=tuple(float(v) for v in rng.uniform(-0.06, 0.06, 4)),
    )
    n_bowel = int(rng.integers(8, 14))
    bowel = []
    for _ in range(n_bowel):
        bowel.append(Ellipse(float(rng.uniform(-0.55, 0.6) * body_a),
                             float(rng.uniform(-0.75, 0.1) * body_b),
                             float(rng.uniform(10, 22)), float(rng.uniform(8, 16)),
                             float(rng.uniform(0, np.pi))))
    p["bowel"] = tuple(bowel)
    p["bowel_gas"] = tuple(bool(rng.random() < 0.45) for _ in range(n_bowel))
    n_plaques = int(rng.integers(0, plaques_max + 1)) if plaques_max > 0 else 0
    p["plaques"] = _plaques(rng, p, n_plaques)
    return Patient(**p)
