"""Combine the evidence about a series' phase into one decision, or say why there is none.

Each source allows a set of phases (the description "arteriell" allows {arterial}; an enhanced
aorta allows {arterial, venous, delayed}); the phase is what every source with an opinion
allows. Agreement decides; a source contradicting another, or no source at all, leaves the
series unsorted with the evidence written out. A single source may decide alone: that is
recorded in ``decided_by`` so a person can filter on it.

Example:
    >>> from ctbridge.data.phase_evidence import CONTRAST, Evidence
    >>> domains = parse_domains("nc,ce")
    >>> d = decide([Evidence("description", frozenset({"arterial"}), "'arteriell'"),
    ...             Evidence("image", CONTRAST, "enhanced aorta")], domains)
    >>> d.domain, d.decided_by
    ('ce', 'description+image')
    >>> decide([Evidence("description", frozenset({"nc"}), "'nativ'"),
    ...         Evidence("image", CONTRAST, "enhanced aorta")], domains).reason
    "evidence disagrees: description: 'nativ'; image: enhanced aorta"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ctbridge.data.phase_evidence import ANY_PHASE, DOMAIN_PHASES, PHASES, Evidence, phase_words
from ctbridge.errors import ConfigError


@dataclass(frozen=True)
class Decision:
    """``domain`` when sorted; else ``reason`` says why not. ``requested`` is False for a phase
    recognised but not asked for (venous with ``--domains nc,arterial``): skipped, not unsorted."""

    domain: str | None
    phases: frozenset[str]
    decided_by: str
    reason: str = ""
    requested: bool = True


def parse_domains(text: str) -> dict[str, frozenset[str]]:
    """``"nc,ce"`` -> domain -> phases; domains must be known names holding disjoint phases."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in DOMAIN_PHASES]
    if unknown or len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"--domains {text!r}: give two or more distinct names from "
                          f"{', '.join(DOMAIN_PHASES)} (ce = any contrast phase)")
    domains = {n: DOMAIN_PHASES[n] for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if domains[a] & domains[b]:
                raise ConfigError(f"--domains {text!r}: {a} and {b} overlap ({a} holds "
                                  f"{phase_words(domains[a])}); use ce or the phases, not both")
    return domains


def decide(evidence: Sequence[Evidence], domains: Mapping[str, frozenset[str]]) -> Decision:
    """The domain all evidence agrees on, or an unsorted decision with the reason."""
    conflicts = [e for e in evidence if e.conflict]
    if conflicts:
        return Decision(None, frozenset(), "", f"contradictory {conflicts[0]}")
    opinions = [e for e in evidence if e.has_opinion]
    if not opinions:
        return Decision(None, frozenset(), "", "no evidence of the phase: "
                        + "; ".join(str(e) for e in evidence))
    phases = ANY_PHASE
    for e in opinions:
        phases = phases & e.phases
    if not phases:
        return Decision(None, phases, "", "evidence disagrees: "
                        + "; ".join(str(e) for e in opinions))
    by = "+".join(e.source for e in opinions)
    matching = [d for d, held in domains.items() if phases <= held]
    if len(matching) == 1:
        return Decision(matching[0], phases, by)
    if not any(phases & held for held in domains.values()):
        return Decision(None, phases, by, f"{phase_words(phases)}: not among the requested "
                        f"domains {','.join(domains)}", requested=False)
    which = "/".join(p for p in PHASES if p in phases)
    return Decision(None, phases, by, f"phase not known precisely enough for "
                    f"{','.join(domains)}: could be {which} ("
                    + "; ".join(str(e) for e in opinions) + ")")
