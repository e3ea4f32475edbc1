"""A random patient from a seed: habitus, organ sizes and positions, vessel course, plaques.

Axial coordinates are mm, ``x`` towards the patient's left and ``y`` towards posterior (DICOM
LPS, so images show anterior up and the patient's right on the left, as radiologists read
them); ``(0, 0)`` is the centre of the body outline. Levels ``t`` are a normalised body height:
0 is the top of the covered range (liver dome, spleen, lower ribs) and 1 the bottom (common
iliac arteries below the aortic bifurcation); the scan's ``slices * slice_mm`` is spread over
it. Every size that varies along ``t`` varies smoothly, so neighbouring slices look alike.

All randomness comes from one ``numpy.random.Generator`` made from the seed: a seed is a patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VESSELS: tuple[str, ...] = ("aorta", "iliac_left", "iliac_right")


@dataclass(frozen=True)
class Plaque:
    """A calcified plaque on the wall of the aorta or a common iliac artery (sizes in mm)."""

    vessel: str  # one of VESSELS
    t: float  # body level of its centre
    angle: float  # position around the vessel, rad (0 = patient's left, pi/2 = posterior)
    offset: float  # centre's distance outside the lumen edge (negative: bulges into the lumen)
    diameter: float  # in-plane size
    length: float  # extent along z
    calcium_hu: float  # HU of the calcium itself, before partial volume


@dataclass(frozen=True)
class BowelLoop:
    """A segment of bowel crossing the axial plane between levels ``t0`` and ``t1``."""

    x: float
    y: float
    radius: float
    t0: float
    t1: float
    drift: tuple[float, float, float]  # (amplitude mm, frequency per unit t, phase) of meander
    gas: float  # fraction of the lumen's height filled with gas (anterior: the patient is supine)


@dataclass(frozen=True)
class Anatomy:
    """The parameters of one phantom patient (see :func:`random_anatomy`); lengths in mm."""

    seed: int
    # habitus: body outline and its layers
    body_a: float  # half width
    body_ant: float  # anterior half depth
    body_post: float  # posterior half depth
    fat: float  # subcutaneous fat, mm
    wall: float  # abdominal wall muscles, mm
    # spine
    vert_a: float  # vertebral body half width
    vert_b: float  # vertebral body half depth
    canal_r: float
    lordosis: float  # anterior shift of the lower lumbar spine, mm
    disc_phase: float  # where the intervertebral discs fall along t
    # vessels
    aorta_x: float
    aorta_r: float
    tortuosity: tuple[float, float]  # amplitude (mm), phase of a gentle lateral wiggle
    bifurcation_t: float
    iliac_spread: float  # lateral distance of each common iliac from the midline at t = 1
    ivc_x: float
    ivc_r: float
    # organs (scales are relative to an average adult)
    liver_scale: float
    liver_end_t: float
    liver_bulge: tuple[tuple[int, float, float], ...]
    spleen_scale: float
    spleen_end_t: float
    kidney_top_t: tuple[float, float]  # (left, right): the right kidney sits lower
    kidney_len_t: float
    kidney_scale: float
    pancreas_t: float  # level of the pancreatic body; the tail is higher, the head lower
    pancreas_scale: float
    stomach_scale: float
    gallbladder: bool
    rib_end_t: float
    ilium_t: float  # level where the iliac wings appear
    bowel: tuple[BowelLoop, ...]
    plaques: tuple[Plaque, ...]

    # ---------------------------------------------------------------- body and spine
    def body(self, t: float) -> tuple[float, float, float]:
        """(half width, anterior half depth, posterior half depth) of the outline at ``t``."""
        hips = 0.06 * _smoothstep((t - 0.7) / 0.3)  # the pelvis widens the outline
        return (self.body_a * (1 + hips), self.body_ant * (1 - 0.04 * t),
                self.body_post * (1 - 0.03 * t))

    def canal_y(self, t: float) -> float:
        """Centre of the spinal canal; lordosis brings the lower lumbar spine forward."""
        _, _, post = self.body(t)
        return post - self.fat * 0.8 - 36.0 - self.lordosis * np.sin(0.85 * np.pi * t)

    def vertebra_y(self, t: float) -> float:
        """Centre of the vertebral body, just anterior to the canal."""
        return self.canal_y(t) - self.canal_r - 2.5 - self.vert_b

    def is_disc(self, t: float) -> bool:
        """True at an intervertebral disc (about 6.5 vertebrae over the covered range)."""
        period = 1 / 6.5
        return ((t - self.disc_phase) / period) % 1.0 < 0.2

    # ---------------------------------------------------------------- vessels
    def aorta_radius(self, t: float) -> float:
        """Lumen radius; the aorta tapers towards the bifurcation."""
        return self.aorta_r * (1 - 0.18 * min(t, self.bifurcation_t) / self.bifurcation_t)

    def aorta_centre(self, t: float) -> tuple[float, float]:
        """Lumen centre: left anterolateral to the vertebral body, drifting to the midline."""
        amp, phase = self.tortuosity
        x = self.aorta_x * (1 - 0.5 * t) + amp * np.sin(2 * np.pi * 1.2 * t + phase)
        y = self.vertebra_y(t) - self.vert_b - self.aorta_radius(t) - 2.5
        return float(x), float(y)

    def iliac_radius(self) -> float:
        return 0.6 * self.aorta_radius(self.bifurcation_t)

    def iliac_centres(self, t: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """(left, right) common iliac lumen centres below the bifurcation."""
        x0, y0 = self.aorta_centre(self.bifurcation_t)
        s = max(t - self.bifurcation_t, 0.0) / (1 - self.bifurcation_t)
        left = x0 + (self.iliac_spread - x0) * s**0.8
        right = x0 + (-self.iliac_spread - x0) * s**0.8
        y = y0 + 10.0 * s  # they run posterolaterally towards the pelvic inlet
        return (float(left), y), (float(right), y)

    def vessel_at(self, vessel: str, t: float) -> tuple[float, float, float]:
        """(x, y, lumen radius) of ``vessel`` at level ``t``."""
        if vessel == "aorta":
            return (*self.aorta_centre(t), self.aorta_radius(t))
        left, right = self.iliac_centres(t)
        return (*(left if vessel == "iliac_left" else right), self.iliac_radius())

    def ivc_confluence_t(self) -> float:
        """The common iliac veins join a little below the aortic bifurcation."""
        return min(self.bifurcation_t + 0.05, 0.97)


def _smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def profile(t: float, start: float, end: float) -> float:
    """Size of an organ along z: 0 outside (start, end), a smooth dome (1 at the middle) inside."""
    if t <= start or t >= end:
        return 0.0
    u = (t - start) / (end - start)
    return float(np.sqrt(1 - (2 * u - 1) ** 2))


def _plaques(rng: np.random.Generator, bifurcation_t: float, n: int) -> tuple[Plaque, ...]:
    """``n`` plaques, more in the infrarenal aorta and iliacs, mostly on the posterior wall."""
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            vessel, t = "aorta", float(rng.uniform(0.25, bifurcation_t - 0.01))
        else:
            vessel = str(rng.choice(["iliac_left", "iliac_right"]))
            t = float(rng.uniform(bifurcation_t + 0.03, 0.99))
        diameter = float(rng.uniform(0.5, 3.0))
        out.append(Plaque(
            vessel=vessel, t=t,
            angle=float(rng.normal(np.pi / 2, 0.9)),  # posterior and lateral walls are typical
            offset=float(rng.uniform(-0.45, 0.35) * diameter),  # some bulge into the lumen
            diameter=diameter, length=float(diameter * rng.uniform(1.0, 2.5)),
            calcium_hu=float(np.clip(130 + rng.gamma(2.0, 200.0), 200, 1600)),
        ))
    return tuple(out)


def _bowel(rng: np.random.Generator, cavity_a: float, cavity_b: float) -> tuple[BowelLoop, ...]:
    """Colon (ascending, descending, transverse) and meandering small-bowel loops."""
    loops = [
        BowelLoop(-0.72 * cavity_a, -0.05 * cavity_b, float(rng.uniform(17, 24)), 0.38, 1.2,
                  (4.0, 1.0, float(rng.uniform(0, 6))), float(rng.uniform(0.3, 0.7))),
        BowelLoop(0.76 * cavity_a, 0.1 * cavity_b, float(rng.uniform(12, 16)), 0.22, 1.2,
                  (3.0, 1.0, float(rng.uniform(0, 6))), float(rng.uniform(0.2, 0.6))),
    ]
    transverse_t = float(rng.uniform(0.35, 0.45))
    for x in np.linspace(-0.5, 0.5, 5) * cavity_a:  # transverse colon: a chain across the front
        loops.append(BowelLoop(float(x), -0.68 * cavity_b + abs(x) * 0.15,
                               float(rng.uniform(13, 18)),
                               transverse_t - 0.07, transverse_t + 0.07,
                               (3.0, 2.0, float(rng.uniform(0, 6))), float(rng.uniform(0.3, 0.8))))
    for _ in range(int(rng.integers(22, 32))):  # small bowel, central and lower abdomen
        t0 = float(rng.uniform(0.25, 0.8))
        loops.append(BowelLoop(
            float(rng.uniform(-0.5, 0.55) * cavity_a), float(rng.uniform(-0.75, 0.1) * cavity_b),
            float(rng.uniform(10, 16)), t0, t0 + float(rng.uniform(0.2, 0.45)),
            (float(rng.uniform(5, 15)), float(rng.uniform(1, 4)), float(rng.uniform(0, 6))),
            float(rng.uniform(0.2, 0.5)) if rng.random() < 0.35 else 0.0))
    return tuple(loops)


def random_anatomy(seed: int, plaques_max: int = 20) -> Anatomy:
    """Draw patient ``seed``: habitus, organ sizes and positions, vessel course, plaques."""
    rng = np.random.default_rng(seed)
    habitus = float(rng.uniform(0, 1))  # 0 slim .. 1 obese: width and fat go together
    body_a = 135 + 32 * habitus + float(rng.uniform(-5, 5))
    body_ant = 100 + 25 * habitus + float(rng.uniform(-6, 6))
    body_post = 88 + 12 * habitus + float(rng.uniform(-4, 4))
    fat = 7 + 28 * habitus + float(rng.uniform(-3, 3))
    wall = float(rng.uniform(8, 13))
    bifurcation_t = float(rng.uniform(0.72, 0.84))
    kidney_top = float(rng.uniform(0.1, 0.2))
    cavity_a = body_a - fat - wall
    cavity_b = body_ant - fat - wall
    n_plaques = int(rng.integers(0, plaques_max + 1)) if plaques_max > 0 else 0
    return Anatomy(
        seed=seed, body_a=body_a, body_ant=body_ant, body_post=body_post, fat=fat, wall=wall,
        vert_a=float(rng.uniform(20, 25)), vert_b=float(rng.uniform(15, 18)),
        canal_r=float(rng.uniform(8, 10)), lordosis=float(rng.uniform(4, 14)),
        disc_phase=float(rng.uniform(0, 1 / 6.5)),
        aorta_x=float(rng.uniform(8, 18)), aorta_r=float(rng.uniform(9.5, 13)),
        tortuosity=(float(rng.uniform(0, 5)), float(rng.uniform(0, 2 * np.pi))),
        bifurcation_t=bifurcation_t, iliac_spread=float(rng.uniform(26, 38)),
        ivc_x=float(-rng.uniform(20, 28)), ivc_r=float(rng.uniform(9, 12)),
        liver_scale=float(rng.uniform(0.88, 1.08)), liver_end_t=float(rng.uniform(0.45, 0.6)),
        liver_bulge=tuple((k, float(rng.uniform(-0.05, 0.05)), float(rng.uniform(0, 6)))
                          for k in (2, 3, 5)),
        spleen_scale=float(rng.uniform(0.8, 1.2)), spleen_end_t=float(rng.uniform(0.3, 0.4)),
        kidney_top_t=(kidney_top, kidney_top + float(rng.uniform(0.03, 0.08))),
        kidney_len_t=float(rng.uniform(0.36, 0.44)), kidney_scale=float(rng.uniform(0.9, 1.1)),
        pancreas_t=float(rng.uniform(0.26, 0.32)), pancreas_scale=float(rng.uniform(0.85, 1.15)),
        stomach_scale=float(rng.uniform(0.8, 1.2)), gallbladder=bool(rng.random() < 0.85),
        rib_end_t=float(rng.uniform(0.25, 0.38)), ilium_t=float(rng.uniform(0.84, 0.92)),
        bowel=_bowel(rng, cavity_a, cavity_b),
        plaques=_plaques(rng, bifurcation_t, n_plaques),
    )
