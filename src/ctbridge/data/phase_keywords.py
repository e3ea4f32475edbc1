"""Phase from the words a technologist typed: SeriesDescription, else ProtocolName.

Keywords in English and German (the two languages of the scanners we have seen exports from),
matched case-insensitively at word boundaries, so that "ART" in "PARTIAL" or "venous" in
"intravenous" do not count. ProtocolName often names the whole examination ("Leber 3-phasig"),
so it is only consulted when the description says nothing.

Example:
    >>> description_evidence("Abdomen portalvenös 3.0 B30f", "").phases == {"venous"}
    True
    >>> description_evidence("ABD PARTIAL FOV", "").has_opinion
    False
"""

from __future__ import annotations

import re

from ctbridge.data.phase_evidence import ANY_PHASE, CONTRAST, Evidence, phase_words

_NC = frozenset({"nc"})
# (pattern, phases it allows); the non-contrast words are matched first and removed, so that
# "non-contrast" or "ohne Kontrastmittel" do not also count as "contrast"
NON_CONTRAST = [
    r"non[\s_-]?contrast", r"non[\s_-]?enhanced", r"un[\s_-]?enhanced", r"without\s+contrast",
    r"w/?o\s+(?:iv\s+)?contrast", r"pre[\s_-]?contrast", r"plain", r"nativ\w*", r"nect", r"nc",
    r"ohne\s+(?:km|kontrast\w*)", r"leer\w*",
]
PHASE_WORDS: list[tuple[str, frozenset[str]]] = [
    (r"(?:early|late|sp(?:ä|ae)t)[\s_-]?arteri\w*", frozenset({"arterial"})),
    (r"arteri\w*", frozenset({"arterial"})), (r"art", frozenset({"arterial"})),
    (r"cta", frozenset({"arterial"})), (r"angio\w*", frozenset({"arterial"})),
    (r"pancreatic\s+phase", frozenset({"arterial"})),
    (r"(?:portal[\s_-]?)?ven(?:ous|ös\w*|oes\w*|ose)", frozenset({"venous"})),
    (r"portal\w*", frozenset({"venous"})), (r"pvp?", frozenset({"venous"})),
    (r"delay\w*", frozenset({"delayed"})), (r"late", frozenset({"delayed"})),
    (r"sp(?:ä|ae)t\w*", frozenset({"delayed"})), (r"equilibrium", frozenset({"delayed"})),
    (r"excretory", frozenset({"delayed"})), (r"urogra\w*", frozenset({"delayed"})),
    (r"ausscheidung\w*", frozenset({"delayed"})),
    (r"contrast", CONTRAST), (r"kontrast\w*", CONTRAST), (r"km", CONTRAST),
    (r"enhanced", CONTRAST), (r"cect", CONTRAST), (r"i\.?v\.?", CONTRAST),
]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![^\W_]){pattern}(?![^\W_])", re.IGNORECASE)


_NC_RE = [_compile(p) for p in NON_CONTRAST]
_PHASE_RE = [(_compile(p), phases) for p, phases in PHASE_WORDS]


def _matches(text: str) -> list[tuple[str, frozenset[str]]]:
    """(word found, phases it allows) for every keyword in ``text``."""
    found: list[tuple[str, frozenset[str]]] = []
    for regex in _NC_RE:
        for m in regex.finditer(text):
            found.append((m.group(0), _NC))
        text = regex.sub(" ", text)
    for regex, phases in _PHASE_RE:
        for m in regex.finditer(text):
            found.append((m.group(0), phases))
        text = regex.sub(" ", text)
    return found


def text_evidence(text: str, tag: str) -> Evidence:
    """What ``text`` (the value of DICOM attribute ``tag``) says about the phase."""
    found = _matches(text)
    if not found:
        return Evidence("description", frozenset(), f"no phase word in {tag} {text!r}")
    allowed = ANY_PHASE
    for _, phases in found:
        allowed = allowed & phases
    words = ", ".join(f"{word!r}" for word, _ in found)
    if not allowed:
        return Evidence("description", frozenset(), f"{tag} {text!r} names several phases "
                        f"({words})", conflict=True)
    return Evidence("description", allowed,
                    f"{tag} {text!r}: {words} -> {phase_words(allowed)}")


def description_evidence(series_description: str, protocol_name: str) -> Evidence:
    """Evidence from SeriesDescription, falling back on ProtocolName when it says nothing."""
    first = text_evidence(series_description, "SeriesDescription")
    if first.phases or first.conflict or not protocol_name:
        return first
    second = text_evidence(protocol_name, "ProtocolName")
    if second.has_opinion:
        return second
    return Evidence("description", frozenset(),
                    f"no phase word in SeriesDescription {series_description!r} or a single "
                    f"one in ProtocolName {protocol_name!r}")
