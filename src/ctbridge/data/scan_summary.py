"""What a scan looks like, in a few numbers that a model's training range can be checked against.

A translator trained on abdominal CTs of 3-mm slices does not know what to do with a head, a
5-mm scan or a cropped field of view, and says nothing: the output looks like a CT. So the
trainer summarises every training volume (:func:`summarise`: voxel spacing, body area per
slice, HU quantiles inside the body, the body part when the header names it), keeps the range
over the training set with the checkpoint (:func:`training_range`, in ``stats.json``), and
translation compares each scan with it (:func:`outside`). A scan is *far outside* when

* a voxel spacing (in-plane, or between slices) is outside ``[min / 1.5, max * 1.5]`` of the
  training scans' (``SPACING_FACTOR``);
* the body's median area per slice is outside ``[min / 2, max * 2]`` of the training scans'
  (``AREA_FACTOR``; a head is about a third of an abdomen's area);
* the median HU inside the body is outside the source domain's training range of per-scan
  medians widened by ``HU_MARGIN_HU`` = 50 HU either way (a scan that is not in HU, or has
  much more fat, bone or contrast than the training scans);
* the header's BodyPartExamined names a region (head/neck, chest, abdomen/pelvis, limbs) that
  no training scan with a known region had.

Example:
    >>> import numpy as np
    >>> hu = np.full((4, 40, 40), -1000.0, np.float32); hu[:, 5:35, 5:35] = 40.0
    >>> s = summarise(hu, (2.0, 2.0, 3.0), hu > -500)
    >>> s["body_area_cm2"], s["body_hu"]["p50"]
    (36.0, 40.0)
    >>> ref = training_range({"nc": [s]})
    >>> outside(s, ref, "nc")
    []
    >>> outside({**s, "spacing_mm": [2.0, 2.0, 5.0]}, ref, "nc")
    ['slice spacing 5 mm (training 3 mm; checked 2 to 4.5 mm)']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

SPACING_FACTOR = 1.5
AREA_FACTOR = 2.0
HU_MARGIN_HU = 50.0
QUANTILES = (5, 25, 50, 75, 95)
SAMPLE_STEP = (2, 4, 4)  # every 2nd slice, every 4th row and column: a cheap HU sample
REGIONS: dict[str, tuple[str, ...]] = {  # coarse regions of DICOM BodyPartExamined values
    "head/neck": ("HEAD", "BRAIN", "SKULL", "HEADNECK", "NECK", "FACE", "SINUS", "IAC", "EAR",
                  "ORBIT", "JAW", "TMJ", "CSPINE"),
    "chest": ("CHEST", "THORAX", "LUNG", "HEART", "TSPINE", "BREAST", "RIB", "CLAVICLE"),
    "abdomen/pelvis": ("ABDOMEN", "ABDOMENPELVIS", "CHESTABDOMEN", "CHESTABDPELVIS", "PELVIS",
                       "LIVER", "PANCREAS", "KIDNEY", "SPLEEN", "AORTA", "ABDOMENAORTA",
                       "LSPINE", "BLADDER", "PROSTATE", "COLON", "STOMACH", "GALLBLADDER"),
    "limbs": ("ARM", "LEG", "KNEE", "HAND", "FOOT", "ANKLE", "ELBOW", "WRIST", "HIP", "SHOULDER",
              "EXTREMITY", "FEMUR", "HUMERUS", "TIBIA"),
}


def region_of(body_part: str) -> str:
    """The coarse region of a BodyPartExamined value ("" when unknown or not listed)."""
    key = "".join(c for c in body_part.upper() if c.isalnum())
    for region, parts in REGIONS.items():
        if key in parts:
            return region
    return ""


def summarise(hu: np.ndarray, spacing: Sequence[float], body: np.ndarray,
              body_part: str = "") -> dict[str, Any]:
    """The numbers of one ``(z, y, x)`` HU volume with its body mask (JSON-ready).

    Args:
        hu: HU volume.
        spacing: ``(x, y, z)`` voxel size in mm.
        body: the body mask (:func:`ctbridge.data.body_mask.body_mask`).
        body_part: the DICOM BodyPartExamined value, when the scan came with one.

    Returns:
        ``spacing_mm`` [x, y, z], ``body_area_cm2`` (median over the slices holding body),
        ``body_hu`` (quantiles ``p5`` ... ``p95`` inside the body, from a 1-in-32 sample of the
        voxels; empty without body), ``region`` (:func:`region_of`, "" when unknown).
    """
    areas = body.sum(axis=(1, 2))
    areas = areas[areas > 0] * float(spacing[0]) * float(spacing[1]) / 100.0
    dz, dy, dx = SAMPLE_STEP
    sample = hu[::dz, ::dy, ::dx][body[::dz, ::dy, ::dx]]
    if sample.size == 0:  # a thin body: every voxel
        sample = hu[body]
    quantiles = ({f"p{q}": round(float(v), 1) for q, v in
                  zip(QUANTILES, np.percentile(sample, QUANTILES), strict=True)}
                 if sample.size else {})
    return {"spacing_mm": [round(float(s), 6) for s in spacing],
            "body_area_cm2": round(float(np.median(areas)), 1) if areas.size else 0.0,
            "body_hu": quantiles, "region": region_of(body_part)}


def _span(values: Iterable[float]) -> dict[str, float]:
    values = list(values)
    return {"min": min(values), "max": max(values)}


def training_range(summaries: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """The range of the training scans: domain -> their :func:`summarise` dicts, aggregated.

    Spacing, body area and regions are pooled over every domain (the anatomy and the scanner
    do not depend on the phase); the body's median HU is kept per domain (contrast raises it).
    """
    every = [s for scans in summaries.values() for s in scans]
    if not every:
        raise ValueError("no training scans to summarise")
    spacing = np.array([s["spacing_mm"] for s in every], float)
    inplane = np.minimum(spacing[:, 0], spacing[:, 1]), np.maximum(spacing[:, 0], spacing[:, 1])
    return {
        "scans": len(every),
        "inplane_spacing_mm": {"min": float(inplane[0].min()), "max": float(inplane[1].max())},
        "slice_spacing_mm": _span(float(v) for v in spacing[:, 2]),
        "body_area_cm2": _span(s["body_area_cm2"] for s in every if s["body_area_cm2"] > 0),
        "body_hu_p50": {d: _span(s["body_hu"]["p50"] for s in scans if s["body_hu"])
                        for d, scans in summaries.items()
                        if any(s["body_hu"] for s in scans)},
        "regions": sorted({s["region"] for s in every if s["region"]}),
        "rules": {"spacing_factor": SPACING_FACTOR, "area_factor": AREA_FACTOR,
                  "hu_margin_hu": HU_MARGIN_HU},
    }


def _mm(value: float) -> str:
    return f"{value:.3g}"


def _range_text(span: Mapping[str, float], fmt: Any = _mm) -> str:
    lo, hi = fmt(span["min"]), fmt(span["max"])
    return lo if lo == hi else f"{lo} to {hi}"


def outside(summary: Mapping[str, Any], reference: Mapping[str, Any], domain: str) -> list[str]:
    """What of ``summary`` (one scan, :func:`summarise`) is far outside ``reference``
    (:func:`training_range`) for a scan of ``domain``: one phrase per measure, naming the value,
    the training range and the limits checked (empty: nothing is)."""
    found = []
    sx, sy, sz = (float(v) for v in summary["spacing_mm"])
    checks = [("in-plane spacing", min(sx, sy), max(sx, sy), "inplane_spacing_mm"),
              ("slice spacing", sz, sz, "slice_spacing_mm")]
    for what, low_value, high_value, key in checks:
        span = reference.get(key)
        if not span:
            continue
        lo, hi = span["min"] / SPACING_FACTOR, span["max"] * SPACING_FACTOR
        value = low_value if low_value < lo else high_value
        if value < lo or value > hi:
            found.append(f"{what} {_mm(value)} mm (training {_range_text(span)} mm; checked "
                         f"{_mm(lo)} to {_mm(hi)} mm)")
    span = reference.get("body_area_cm2")
    area = float(summary["body_area_cm2"])
    if span and area > 0:
        lo, hi = span["min"] / AREA_FACTOR, span["max"] * AREA_FACTOR
        if not lo <= area <= hi:
            found.append(f"body area {area:.0f} cm2 per slice (training "
                         f"{_range_text(span, lambda v: f'{v:.0f}')} cm2; checked "
                         f"{lo:.0f} to {hi:.0f} cm2)")
    span = reference.get("body_hu_p50", {}).get(domain)
    if span and summary["body_hu"]:
        median = float(summary["body_hu"]["p50"])
        lo, hi = span["min"] - HU_MARGIN_HU, span["max"] + HU_MARGIN_HU
        if not lo <= median <= hi:
            found.append(f"median HU in the body {median:.0f} (training {domain!r} scans "
                         f"{_range_text(span, lambda v: f'{v:.0f}')} HU; checked "
                         f"{lo:.0f} to {hi:.0f} HU; is it a {domain} scan in HU?)")
    regions = reference.get("regions") or []
    if summary.get("region") and regions and summary["region"] not in regions:
        found.append(f"body part {summary['region']} (training: {', '.join(regions)})")
    return found
