"""Before translating: is the scan in the source domain, and not already in the target?

A translator asked to add contrast to a scan that already has it (or to take it from one that
has none) returns a plausible-looking image that is wrong: a doubled enhancement, a washed-out
aorta. So every scan's phase is checked first with the evidence ``ctbridge prepare`` sorts by
(:mod:`ctbridge.data.phase_evidence`):

* the pixels: an aorta-sized round blob in front of the vertebral body, 90-600 HU enhanced,
  15-75 HU unenhanced blood (:mod:`ctbridge.data.aorta_contrast`);
* for DICOM input, the contrast tags (ContrastBolusAgent/Route, bolus start against acquisition
  time; :mod:`ctbridge.data.contrast_tags`) and the words of SeriesDescription, else
  ProtocolName (:mod:`ctbridge.data.phase_keywords`). A series ctbridge derived itself
  (description ``ctbridge <model> nc->ce``) names the translation, not a phase: its words are
  not read.

Two rules of the guard's own make a refusal by the image rarer than ``prepare``'s vote (which
is unchanged): in the arterial phase the veins beside the aorta are still unenhanced, so a
majority of blood-like blobs says "non-contrast" only when no slice found an enhanced one; and
pixels coarser than ``MAX_PIXEL_MM`` (3 mm: the aorta a few pixels across) are not judged.
Measured on phantom patients (32 per size, nc and arterial, 12 slices): ``prepare``'s vote
alone called 2, 4, 1, 0, 1 and 2 of 32 arterial scans unenhanced at 3.0, 2.8, 2.5, 2.0, 1.9
and 1.4-mm pixels (and no non-contrast scan enhanced); with the two rules none of 256 scans
at 1.4-2.8 mm (12 or 24 slices) was judged wrongly, 18 abstained.

A domain is non-contrast when it is the model's non-contrast domain (the one its physical
bounds use, ``model.keep_calcium_from``: ``nc``), contrast otherwise. A source with an opinion
that excludes the source domain's kind blocks the translation, named in the message; a source
without an opinion (no aorta found, no tags, no phase word: a single slice, a head scan) never
blocks. ``--force`` translates anyway.

Example:
    >>> import numpy as np
    >>> from ctbridge.io import Scan
    >>> air = Scan(np.full((4, 32, 32), -1000.0, np.float32))
    >>> check_phase(air, source="nc", target="ce", non_contrast="nc").ok  # abstains
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from ctbridge.data.aorta_contrast import slice_findings, vote
from ctbridge.data.contrast_tags import tag_evidence
from ctbridge.data.phase_evidence import CONTRAST, Evidence
from ctbridge.data.phase_keywords import description_evidence
from ctbridge.errors import PhaseError
from ctbridge.io import Scan

NON_CONTRAST: frozenset[str] = frozenset({"nc"})
MAX_PIXEL_MM = 3.0  # coarser pixels: the image is not judged (module docstring)
DERIVED_PREFIX = "ctbridge "  # the series description of a translation ctbridge wrote
FORCE_HINT = "--force translates anyway"


def domain_kind(domain: str, non_contrast: str | None) -> frozenset[str]:
    """The phases a domain holds, as far as a phase check can tell: the model's non-contrast
    domain holds ``{"nc"}``, every other domain the contrast phases."""
    return NON_CONTRAST if domain == non_contrast else CONTRAST


def scan_evidence(scan: Scan) -> list[Evidence]:
    """What the scan says about its phase: DICOM tags and description (DICOM input only: a
    NIfTI description is free text that no scanner wrote), then the pixels."""
    meta = scan.metadata
    evidence = []
    if meta.get("format") == "dicom":
        acquired = (meta.get("acquisition_time") or meta.get("content_time")
                    or meta.get("series_time") or "")
        evidence.append(tag_evidence(
            agent=str(meta.get("contrast_agent", "")), route=str(meta.get("contrast_route", "")),
            start=str(meta.get("contrast_start_time", "")), acquired=str(acquired)))
        description = str(meta.get("series_description", ""))
        if not description.startswith(DERIVED_PREFIX):
            evidence.append(description_evidence(description,
                                                 str(meta.get("protocol_name", ""))))
    evidence.append(image_opinion(scan))
    return evidence


def image_opinion(scan: Scan) -> Evidence:
    """The aorta's evidence as the guard reads it (module docstring: ``prepare``'s vote, not
    judged at coarse pixels, and "unenhanced" only when no slice found an enhanced aorta)."""
    pixel = max(float(scan.spacing[0]), float(scan.spacing[1]))
    if pixel > MAX_PIXEL_MM:
        return Evidence("image", frozenset(), f"not judged: {pixel:.1f}-mm pixels (the aorta "
                        f"check needs {MAX_PIXEL_MM:g} mm or finer)")
    findings = slice_findings(scan)
    evidence = vote(findings)
    enhanced = sum(f.kind == "enhanced" for f in findings)
    if evidence.phases == NON_CONTRAST and enhanced:
        return Evidence("image", frozenset(), f"{evidence.detail}, but enhanced in {enhanced}: "
                        f"not judged (arterial-phase veins are unenhanced)")
    return evidence


@dataclass(frozen=True)
class PhaseCheck:
    """The evidence about one scan and the part of it that contradicts the source domain.

    Attributes:
        source, target: the translation's domains.
        expected: the phases the source domain holds (:func:`domain_kind`).
        into: the phases the target domain holds.
        evidence: every source's evidence, with or without an opinion.
        against: the evidence whose opinion excludes ``expected`` (empty: the scan may be
            translated).
    """

    source: str
    target: str
    expected: frozenset[str]
    into: frozenset[str]
    evidence: tuple[Evidence, ...]
    against: tuple[Evidence, ...]

    @property
    def ok(self) -> bool:
        return not self.against

    @property
    def verdict(self) -> str:
        """What the contradicting evidence says the scan is, in words."""
        if self.expected == NON_CONTRAST:
            return "already contrast-enhanced"
        return "already non-contrast" if self.into == NON_CONTRAST else "not contrast-enhanced"

    def reason(self) -> str:
        """One line: the evidence named and what it means ("" when the check passed)."""
        if self.ok:
            return ""
        named = "; ".join(str(e) for e in self.against)
        return (f"{named}: {self.verdict}, not a {self.source!r} scan to translate to "
                f"{self.target!r}")


def check_phase(scan: Scan, *, source: str, target: str, non_contrast: str | None
                ) -> PhaseCheck:
    """Check ``scan`` against the source domain of a ``source -> target`` translation.

    Args:
        scan: the scan to translate (HU).
        source, target: the model's domains.
        non_contrast: the model's non-contrast domain (None: every domain is a contrast one).
    """
    expected = domain_kind(source, non_contrast)
    evidence = tuple(scan_evidence(scan))
    against = tuple(e for e in evidence if e.has_opinion and not e.phases & expected)
    return PhaseCheck(source, target, expected, domain_kind(target, non_contrast), evidence,
                      against)


def require_phase(scan: Scan, *, source: str, target: str, non_contrast: str | None,
                  name: str = "") -> PhaseCheck:
    """:func:`check_phase`, raising :class:`PhaseError` (naming the evidence) when it fails."""
    check = check_phase(scan, source=source, target=target, non_contrast=non_contrast)
    if not check.ok:
        where = name or str(scan.metadata.get("source", "input"))
        raise PhaseError(f"{where}: {check.reason()} ({FORCE_HINT})")
    return check
