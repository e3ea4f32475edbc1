"""Phases and the evidence about a scan's phase that one source (tags, words, pixels) gives.

The sources, one module each in this package: :mod:`ctbridge.data.contrast_tags` (the DICOM
Contrast/Bolus module), :mod:`ctbridge.data.phase_keywords` (SeriesDescription, ProtocolName)
and :mod:`ctbridge.data.aorta_contrast` (the pixels). ``ctbridge prepare`` combines them to sort
a DICOM export (:mod:`ctbridge.prepare.decide`); ``ctbridge translate`` and ``synthesize`` use
them to check a scan's phase before translating it (:mod:`ctbridge.inference.phase_guard`).
"""

from __future__ import annotations

from dataclasses import dataclass

PHASES: tuple[str, ...] = ("nc", "arterial", "venous", "delayed")
CONTRAST: frozenset[str] = frozenset({"arterial", "venous", "delayed"})
ANY_PHASE: frozenset[str] = frozenset(PHASES)
# a domain name given to --domains -> the phases it holds
DOMAIN_PHASES: dict[str, frozenset[str]] = {
    "nc": frozenset({"nc"}), "ce": CONTRAST,
    "arterial": frozenset({"arterial"}), "venous": frozenset({"venous"}),
    "delayed": frozenset({"delayed"}),
}


@dataclass(frozen=True)
class Evidence:
    """What one source says: the phases it allows (empty: no opinion) and why.

    ``conflict`` is set when the source contradicts itself (a description naming two phases):
    such a series is never sorted automatically.
    """

    source: str  # "tags" | "description" | "image"
    phases: frozenset[str]
    detail: str
    conflict: bool = False

    @property
    def has_opinion(self) -> bool:
        return bool(self.phases) and not self.conflict

    def __str__(self) -> str:
        return f"{self.source}: {self.detail}"


def phase_words(phases: frozenset[str]) -> str:
    """``{"arterial", "venous", "delayed"}`` -> ``"contrast (arterial/venous/delayed)"``."""
    names = "/".join(p for p in PHASES if p in phases)
    return f"contrast ({names})" if phases == CONTRAST else names
