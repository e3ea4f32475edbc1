"""Contrast from the pixels: is the aorta in front of the spine enhanced?

The aorta is the most reliable contrast marker of an abdominal CT: a round lumen of 15-35 mm
just anterior (and usually left) of the vertebral body. Unenhanced blood reads 30-60 HU; in any
contrast phase the lumen is brighter than unenhanced blood can be (arterial 250-350 HU, portal
venous 150-180, delayed 100-130; Bae, Radiology 2010). Per analysed slice: find the vertebral
body (the bone component nearest the body's midline in its posterior half), then the largest
compact blob in front of it that is either enhanced (100-600 HU) or blood-like (15-75 HU). The
series' vote is the majority of slices that found one; it says contrast or non-contrast, never
which contrast phase (that is the tags' and the description's job).

Used by ``ctbridge prepare`` (sorting) and by the phase check before a translation
(:mod:`ctbridge.inference.phase_guard`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ctbridge.data.phase_evidence import CONTRAST, Evidence
from ctbridge.io import Scan

ENHANCED_HU = (90.0, 600.0)
BLOOD_HU = (15.0, 75.0)
AORTA_AREA_MM2 = (150.0, 1200.0)  # lumen diameter ~14-39 mm
BONE_HU = 300.0
SEARCH_MM = (45.0, 40.0)  # in front of the vertebral body (depth), either side of its centre
GAP_MM = 1.0  # the search starts this far in front of the vertebral body
CANCELLOUS_HU = 150.0
MIN_FILL = 0.6  # blob area / bounding box area (a disc: 0.785; a crescent or a strip: less)
BONE_MARGIN_MM = 3.0  # partial volume around the vertebral body's cortex
OPENING_MM = 3.0
MAJORITY = 0.6
MIN_SLICES_FOUND = 3


@dataclass(frozen=True)
class SliceFinding:
    kind: str  # "enhanced" | "blood" | "" (nothing aorta-like found)
    hu: float = float("nan")


def _largest(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, labels, range(1, n + 1))
    return labels == (int(np.argmax(sizes)) + 1)


def _disc(radius_mm: float, px: tuple[float, float]) -> np.ndarray:
    """A disc structuring element of ``radius_mm`` on a grid of spacing ``px`` (dy, dx)."""
    ry, rx = max(1, round(radius_mm / px[0])), max(1, round(radius_mm / px[1]))
    y, x = np.ogrid[-ry: ry + 1, -rx: rx + 1]
    return (y / ry) ** 2 + (x / rx) ** 2 <= 1.0


def _vertebra(hu: np.ndarray, body: np.ndarray, px: tuple[float, float]) -> np.ndarray | None:
    """The vertebral body (filled bone component nearest the midline, posterior half)."""
    ys, xs = np.nonzero(body)
    if ys.size == 0:
        return None
    cx, y_mid = xs.mean(), (ys.min() + ys.max()) / 2
    width = xs.max() - xs.min() + 1
    bone = ndimage.binary_fill_holes(hu > BONE_HU)
    labels, n = ndimage.label(bone)
    best, best_score = None, np.inf
    min_px = 200.0 / (px[0] * px[1])  # a vertebral body is several cm^2
    for i, sl in enumerate(ndimage.find_objects(labels), 1):
        comp = labels[sl] == i
        if comp.sum() < min_px:
            continue
        cy_i, cx_i = ndimage.center_of_mass(comp)
        cy_i += sl[0].start
        cx_i += sl[1].start
        if cy_i < y_mid or abs(cx_i - cx) > 0.2 * width:
            continue
        score = abs(cx_i - cx)
        if score < best_score:
            best, best_score = labels == i, score
    return best


def _blob(mask: np.ndarray, hu: np.ndarray, area_px: tuple[float, float],
          anchor: tuple[float, float]) -> float | None:
    """Median HU of the compact blob of ``mask`` within the area range nearest ``anchor`` (the
    front of the vertebral body: the aorta lies on it, the pancreas and bowel further away)."""
    labels, _ = ndimage.label(mask)
    best, best_distance = None, np.inf
    for i, sl in enumerate(ndimage.find_objects(labels), 1):
        comp = labels[sl] == i
        size = int(comp.sum())
        if not area_px[0] <= size <= area_px[1] or size / comp.size < MIN_FILL:
            continue
        cy, cx = ndimage.center_of_mass(comp)
        distance = np.hypot(cy + sl[0].start - anchor[0], cx + sl[1].start - anchor[1])
        if distance < best_distance:
            best, best_distance = (sl, comp), distance
    if best is None:
        return None
    sl, comp = best
    core = ndimage.binary_erosion(comp) if comp.sum() > 30 else comp
    return float(np.median(hu[sl][core if core.any() else comp]))


def _whole_vertebra(seed: np.ndarray, smooth: np.ndarray, px: tuple[float, float]
                    ) -> np.ndarray:
    """The seed grown over the cancellous bone around it: at coarse pixels the cortex of the
    vertebral body blurs below the bone threshold and only the posterior arch is found."""
    cancellous = ndimage.binary_opening(smooth >= CANCELLOUS_HU, _disc(OPENING_MM, px)) | seed
    labels, _ = ndimage.label(cancellous)
    touching = np.unique(labels[seed])
    return ndimage.binary_fill_holes(np.isin(labels, touching[touching > 0]) | seed)


def slice_finding(hu: np.ndarray, px: tuple[float, float]) -> SliceFinding:
    """Look for the aorta in one axial slice (rows run anterior -> posterior, ``px`` (dy, dx))."""
    body = ndimage.binary_fill_holes(_largest(hu > -300))
    seed = _vertebra(hu, body, px)
    if seed is None:
        return SliceFinding("")
    smooth = ndimage.gaussian_filter(hu, sigma=1.0 / min(px))  # ~1 mm: noise, not anatomy
    vertebra = _whole_vertebra(seed, smooth, px)
    ys, xs = np.nonzero(vertebra)
    front, cx = ys.min(), int(xs.mean())
    depth, gap, half = (round(SEARCH_MM[0] / px[0]), round(GAP_MM / px[0]),
                        round(SEARCH_MM[1] / px[1]))
    region = np.zeros_like(body)
    region[max(front - depth, 0): max(front - gap, 0), max(cx - half, 0): cx + half + 1] = True
    region &= body & ~ndimage.binary_dilation(vertebra, _disc(BONE_MARGIN_MM, px))
    area_px = (AORTA_AREA_MM2[0] / (px[0] * px[1]), AORTA_AREA_MM2[1] / (px[0] * px[1]))
    opening = _disc(OPENING_MM, px)  # cuts the aorta from a touching IVC, crus or bowel
    for kind, (lo, hi) in (("enhanced", ENHANCED_HU), ("blood", BLOOD_HU)):
        mask = ndimage.binary_opening(region & (smooth >= lo) & (smooth <= hi), opening)
        value = _blob(mask, hu, area_px, (front, cx))
        if value is not None:
            return SliceFinding(kind, value)
    return SliceFinding("")


def slice_findings(scan: Scan, max_slices: int = 12) -> list[SliceFinding]:
    """What :func:`slice_finding` sees in up to ``max_slices`` slices of the middle 60%."""
    volume = np.asarray(scan.array, dtype=np.float32)
    if scan.direction[1, 1] < 0:  # rows run posterior -> anterior: flip to the usual view
        volume = volume[:, ::-1]
    n = volume.shape[0]
    picks = np.unique(np.linspace(0.2 * n, 0.8 * (n - 1), min(max_slices, n)).astype(int))
    px = (float(scan.spacing[1]), float(scan.spacing[0]))
    return [slice_finding(volume[k], px) for k in picks]


def vote(findings: list[SliceFinding]) -> Evidence:
    """The series' evidence from its slices' findings: the majority kind of the slices that
    found an aorta-like blob, when at least ``MIN_SLICES_FOUND`` did."""
    found = [f for f in findings if f.kind]
    if len(found) < MIN_SLICES_FOUND:
        return Evidence("image", frozenset(), f"no aorta found in front of the spine "
                        f"({len(found)} of {len(findings)} slices)")
    for kind, phases, words in (("enhanced", CONTRAST, "enhanced"),
                                ("blood", frozenset({"nc"}), "unenhanced")):
        hits = [f.hu for f in found if f.kind == kind]
        if len(hits) >= MAJORITY * len(found):
            return Evidence("image", phases, f"{words} aorta, median {np.median(hits):.0f} HU in "
                            f"{len(hits)} of {len(findings)} slices")
    return Evidence("image", frozenset(), f"aorta unclear: enhanced in "
                    f"{sum(f.kind == 'enhanced' for f in found)}, blood-like in "
                    f"{sum(f.kind == 'blood' for f in found)} of {len(findings)} slices")


def image_evidence(scan: Scan, max_slices: int = 12) -> Evidence:
    """Contrast or not, from the aorta in up to ``max_slices`` slices of the middle 60%."""
    return vote(slice_findings(scan, max_slices))
