"""The organ label map of one axial slice of an :class:`Anatomy` at body level ``t``.

Structures are painted from the outside in: body layers, muscles, solid organs (only into
visceral fat, so they nestle against each other), bowel into what fat is left, bones, and the
vessels last (they run through everything but bone). Plaques are not drawn here: they are
smaller than a voxel and are integrated in 3D by :mod:`ctbridge.phantom.plaques`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctbridge.phantom.anatomy import Anatomy, profile
from ctbridge.phantom.hu_table import LABELS as L
from ctbridge.phantom.shapes import Blob, Canvas

FAT = (L["fat"],)
SOFT = (L["fat"], L["muscle"])
BOWEL_PARTS = (L["bowel"], L["bowel_content"], L["bowel_gas"])
BONE = (L["bone_cortical"], L["bone_cancellous"], L["disc"], L["spinal_canal"])
NOT_BONE = tuple(v for v in range(len(L)) if v not in BONE)


@dataclass(frozen=True)
class Level:
    """Per-slice geometry shared by the painters."""

    t: float
    body: Blob
    cavity: Blob  # inside the abdominal wall muscles
    a: float  # cavity half width
    b: float  # cavity anterior half depth
    b_post: float  # cavity posterior half depth
    vert_y: float
    canal_y: float


def _level(p: Anatomy, t: float) -> Level:
    a, ant, post = p.body(t)
    body = Blob(0.0, 0.0, a, a, ant, post, power=2.25)
    w = p.wall
    cavity = body.shrunk(p.fat + w, p.fat + w, 1.2 * p.fat + w, 0.8 * p.fat + w)
    return Level(t, body, cavity, cavity.a_pos, cavity.b_neg, cavity.b_pos, p.vertebra_y(t),
                 p.canal_y(t))


def _body(c: Canvas, p: Anatomy, lv: Level) -> None:
    """Skin-to-cavity layers: subcutaneous fat, abdominal wall muscles, visceral fat."""
    c.blob(lv.body, L["fat"])
    w = p.fat
    c.blob(lv.body.shrunk(w, w, 1.2 * w, 0.8 * w), L["muscle"])
    c.blob(lv.cavity, L["fat"])
    # linea alba: the rectus muscles part in the midline
    c.where(-3.0, 3.0, -lv.body.b_neg, -lv.b, L["fat"], on=(L["muscle"],))


def _muscles(c: Canvas, p: Anatomy, lv: Level) -> None:
    """Paraspinal muscles behind the spine and the psoas, which grows towards the pelvis."""
    for side in (-1, 1):
        c.blob(Blob.ellipse(side * 24.0, lv.canal_y + 16, 21, 19), L["muscle"], on=SOFT)
        g = min(max((lv.t - 0.3) / 0.55, 0.0), 1.0)
        if g > 0:
            c.blob(Blob.ellipse(side * (p.vert_a + 5 + 10 * g), lv.vert_y + 3,
                                5 + 12 * g, 7 + 10 * g), L["muscle"], on=FAT)


def _liver(c: Canvas, p: Anatomy, lv: Level) -> None:
    s = profile(lv.t, -p.liver_end_t, p.liver_end_t) * p.liver_scale
    if s > 0.05:  # right lobe: most of the right upper quadrant
        c.blob(Blob(-0.45 * lv.a, 0.1 * lv.b, 0.55 * lv.a * s, 0.4 * lv.a * s,
                    0.85 * lv.b * s, 0.85 * lv.b * s, angle=0.15, bulge=p.liver_bulge),
               L["liver"], on=FAT)
    s_left = profile(lv.t, -0.3, 0.28) * p.liver_scale
    if s_left > 0.05:  # left lobe: anterior, across the midline
        c.blob(Blob(0.0, -0.5 * lv.b, 0.5 * lv.a * s_left, 0.32 * lv.a * s_left,
                    0.32 * lv.b * s_left, 0.28 * lv.b * s_left, angle=-0.2), L["liver"], on=FAT)
    s_gb = profile(lv.t, 0.2, 0.42)
    if p.gallbladder and s_gb > 0.1:
        c.blob(Blob.ellipse(-0.3 * lv.a, -0.4 * lv.b, 15 * s_gb, 11 * s_gb, 0.5),
               L["gallbladder"], on=(L["liver"], L["fat"]))


def _spleen(c: Canvas, p: Anatomy, lv: Level) -> None:
    s = profile(lv.t, -0.12, p.spleen_end_t) * p.spleen_scale
    if s > 0.05:  # a crescent along the posterolateral wall; the hilum faces medially
        x, y = 0.62 * lv.a, 0.5 * lv.b_post
        c.blob(Blob.ellipse(x, y, 20 * s, 48 * s, 0.8), L["spleen"], on=FAT)
        c.blob(Blob.ellipse(x - 14 * s, y - 12 * s, 10 * s, 28 * s, 0.8), L["fat"],
               on=(L["spleen"],))


def _stomach(c: Canvas, p: Anatomy, lv: Level) -> None:
    s = profile(lv.t, -0.15, 0.3) * p.stomach_scale
    if s > 0.1:
        x, y = 0.28 * lv.a, -0.3 * lv.b
        _hollow(c, Blob.ellipse(x, y, 42 * s, 30 * s, 0.35), gas=0.4)


def _kidneys(c: Canvas, p: Anatomy, lv: Level) -> None:
    """Cortex, medullary pyramids, sinus fat and pelvis at the hilum, then the ureter."""
    for side, top, name in ((1, p.kidney_top_t[0], "left"), (-1, p.kidney_top_t[1], "right")):
        cortex, medulla = L[f"kidney_{name}_cortex"], L[f"kidney_{name}_medulla"]
        end = top + p.kidney_len_t
        s = profile(lv.t, top, end) * p.kidney_scale
        kx, ky = side * (p.vert_a + 45), lv.vert_y + 16
        angle = side * 0.5  # the hilum faces anteromedially
        if s > 0.15:
            a, b = 21 * s, 30 * s
            c.blob(Blob.ellipse(kx, ky, a, b, angle), cortex, on=FAT)

            def at(u: float, v: float, kx=kx, ky=ky, angle=angle) -> tuple[float, float]:
                """Kidney frame (u across, v along the kidney) -> mm."""
                ca, sa = np.cos(angle), np.sin(angle)
                return kx + u * ca - v * sa, ky + u * sa + v * ca

            lateral = side  # +u points away from the hilum on both sides
            for u, v in ((0.35, 0.5), (0.35, -0.5), (0.55, 0.0), (-0.05, 0.62), (-0.05, -0.62)):
                c.blob(Blob.ellipse(*at(lateral * u * a, v * b), 0.24 * a, 0.2 * b, angle),
                       medulla, on=(cortex,))
            if s > 0.55:
                c.blob(Blob.ellipse(*at(-lateral * 0.45 * a, 0.0), 0.5 * a, 0.45 * b, angle),
                       L["fat"], on=(cortex, medulla))
                c.blob(Blob.ellipse(*at(-lateral * 0.75 * a, 0.0), 0.4 * a, 0.22 * b, angle),
                       L["renal_pelvis"], on=(L["fat"], cortex, medulla))
        mid = top + 0.5 * p.kidney_len_t
        if lv.t > mid + 0.03:  # the ureter runs down along the front of the psoas
            u = min((lv.t - mid) / (1 - mid), 1.0)
            x = kx + (side * (p.vert_a + 12) - kx) * u**0.7
            c.blob(Blob.ellipse(x, lv.vert_y - 4 * u, 2.5, 2.5), L["renal_pelvis"], on=FAT)


def _pancreas(c: Canvas, p: Anatomy, lv: Level) -> None:
    """An oblique tube: the head (right, lowest) through the body to the tail at the spleen."""
    u = np.linspace(0, 1, 13)
    ax, ay = p.aorta_centre(p.pancreas_t)
    head = np.array([p.ivc_x + 6, ay - 26])
    neck = np.array([ax - 8, ay - 34])
    tail = np.array([0.5 * lv.a, 0.25 * lv.b])
    weights = np.stack([(1 - u) ** 2, 2 * u * (1 - u), u**2], axis=1)  # quadratic Bezier
    path = weights @ np.stack([head, neck, tail])
    levels = p.pancreas_t + 0.07 - 0.14 * u  # the tail lies higher than the head
    half_height = 0.07 + 0.04 * (1 - u)  # the head is the tallest part
    rel = (lv.t - levels) / half_height
    thickness = (13 - 4 * u) * p.pancreas_scale
    radii = thickness * np.sqrt(np.clip(1 - rel**2, 0, None))
    c.tube(path, radii, L["pancreas"], on=FAT)


def _hollow(c: Canvas, outer: Blob, gas: float) -> None:
    """Bowel with a 2.5 mm wall, fluid inside and a gas cap anteriorly (air-fluid level)."""
    c.blob(outer, L["bowel"], on=FAT)
    inner = outer.shrunk(2.5, 2.5, 2.5, 2.5)
    c.blob(inner, L["bowel_content"], on=(L["bowel"],))
    if gas > 0:
        top = outer.y - max(inner.b_neg, inner.a_neg)
        c.where(outer.x - outer.reach, outer.x + outer.reach, top - 1,
                top + 2 * gas * max(inner.b_neg, inner.a_neg), L["bowel_gas"],
                on=(L["bowel_content"],))


def _bowel(c: Canvas, p: Anatomy, lv: Level) -> None:
    for loop in p.bowel:
        s = profile(lv.t, loop.t0, loop.t1)
        if s < 0.25:
            continue
        amp, freq, phase = loop.drift
        x = loop.x + amp * np.sin(2 * np.pi * freq * lv.t + phase)
        y = loop.y + 0.6 * amp * np.cos(2 * np.pi * freq * lv.t + 1.3 * phase)
        r = loop.radius * np.sqrt(s)
        _hollow(c, Blob.ellipse(x, y, r * 1.15, r * 0.9, phase), loop.gas)


def _bones(c: Canvas, p: Anatomy, lv: Level) -> None:
    """Vertebra (body or disc, arch, spinous and transverse processes), ribs, iliac wings."""
    body = Blob(0.0, lv.vert_y, p.vert_a, p.vert_a, p.vert_b, p.vert_b, power=2.3)
    if p.is_disc(lv.t):
        c.blob(body, L["disc"])
    else:
        _bone(c, body)
    arch = Blob.ellipse(0.0, lv.canal_y, p.canal_r + 5, p.canal_r + 3.5)
    _bone(c, arch)
    _bone(c, Blob.ellipse(0.0, lv.canal_y + p.canal_r + 16, 3.5, 14))  # spinous process
    if not p.is_disc(lv.t) and not p.is_disc(lv.t + 0.03):
        for side in (-1, 1):  # transverse processes
            _bone(c, Blob.ellipse(side * (p.canal_r + 14), lv.canal_y - 3, 11, 3.5, side * 0.15))
    c.blob(Blob.ellipse(0.0, lv.canal_y, p.canal_r, p.canal_r * 0.8), L["spinal_canal"])
    ring = lv.body.shrunk(p.fat + p.wall / 2, p.fat + p.wall / 2,
                          1.2 * p.fat + p.wall / 2, 0.8 * p.fat + p.wall / 2)
    for i, deg in enumerate((-50, -20, 10, 40, 65, 85)):  # ribs in the wall, fewer lower down
        if lv.t < p.rib_end_t - 0.04 * i * (1 if deg < 0 else 0.5):
            for side in (-1, 1):
                th = np.deg2rad(deg)
                x = side * ring.a_pos * np.cos(th)
                y = (ring.b_pos if th > 0 else ring.b_neg) * np.sin(th)
                _bone(c, Blob.ellipse(x, y, 4.5, 7, side * (np.pi / 2 - th)))
    g = min(max((lv.t - p.ilium_t) / (1 - p.ilium_t), 0.0), 1.0)
    if g > 0:  # iliac wings, flaring laterally from behind
        for side in (-1, 1):
            x0, y0 = side * (p.vert_a + 22), lv.canal_y + 6  # at the sacroiliac joint
            reach = 30 + 45 * g
            _bone(c, Blob.along(x0, y0, x0 + side * reach * 0.8, y0 - reach * 0.6, 6 + 5 * g))


def _bone(c: Canvas, b: Blob, shell: float = 1.6) -> None:
    """A bone: cortical shell around a cancellous core."""
    c.blob(b, L["bone_cortical"])
    c.blob(b.shrunk(shell, shell, shell, shell), L["bone_cancellous"])


def _vessels(c: Canvas, p: Anatomy, lv: Level) -> None:
    """IVC (or the common iliac veins), then aorta or common iliac arteries with their walls."""
    t = lv.t
    ay = p.aorta_centre(min(t, p.bifurcation_t))[1]
    venous_y = ay + 1
    if t < p.ivc_confluence_t():
        ivc = Blob.ellipse(p.ivc_x, venous_y, p.ivc_r * 1.15, p.ivc_r * 0.75, 0.2)
        c.blob(ivc, L["ivc"], on=NOT_BONE)
    else:  # the common iliac veins, posteromedial to the arteries
        for (x, y), side in zip(p.iliac_centres(t), (1, -1), strict=True):
            c.blob(Blob.ellipse(x - side * 4, y + 8, 6.5, 5.5), L["ivc"], on=NOT_BONE)
    wall = 1.5
    lumens = [("aorta", "aorta")] if t <= p.bifurcation_t else [
        ("iliac", "iliac_left"), ("iliac", "iliac_right")]
    for _, vessel in lumens:
        x, y, r = p.vessel_at(vessel, t)
        c.blob(Blob.ellipse(x, y, r + wall, r + wall), L["vessel_wall"], on=NOT_BONE)
    for label, vessel in lumens:
        x, y, r = p.vessel_at(vessel, t)
        c.blob(Blob.ellipse(x, y, r, r), L[label], on=NOT_BONE)


PAINTERS = (_body, _muscles, _kidneys, _liver, _spleen, _stomach, _pancreas, _bowel, _bones,
            _vessels)


def draw_slice(p: Anatomy, t: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Label ids (uint8, (rows, cols)) of the axial slice at level ``t`` on the mm grid."""
    canvas = Canvas(xs, ys)
    lv = _level(p, t)
    for paint in PAINTERS:
        paint(canvas, p, lv)
    return canvas.labels
