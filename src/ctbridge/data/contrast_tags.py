"""Phase from the Contrast/Bolus module: agent and route, and the delay after the bolus.

The delay is AcquisitionTime (else ContentTime, else SeriesTime) minus ContrastBolusStartTime.
Windows follow the usual abdominal protocols (Bae, Radiology 2010;256:32-61): arterial up to
45 s after injection, portal venous 55-120 s, delayed (equilibrium, excretory) from 150 s; a
delay between the windows says "contrast" without saying which phase. An empty tag is "not
recorded" (DICOM type 2), never "no contrast"; an agent of "NONE" (or German "kein") is.

Example:
    >>> ev = tag_evidence(agent="Iomeprol 400", route="IV", start="101500", acquired="101535")
    >>> sorted(ev.phases), ev.detail.split(", ")[1]
    (['arterial'], 'acquired 35 s after the bolus start -> arterial')
"""

from __future__ import annotations

from ctbridge.data.phase_evidence import CONTRAST, Evidence, phase_words

NO_AGENT = {"none", "no", "nein", "kein", "keine", "keins", "ohne", "n/a", "na", "-", "0"}
ARTERIAL_MAX_S = 45.0
VENOUS_S = (55.0, 120.0)
DELAYED_MIN_S = 150.0
BEFORE_BOLUS_S = -5.0  # acquired this long before the injection: a non-contrast scan
DAY_S = 86400.0


def dicom_seconds(value: str) -> float | None:
    """DICOM TM (``HHMMSS.FFFFFF``, ``HHMM``, ``HH:MM:SS``) -> seconds after midnight."""
    text = value.strip().replace(":", "")
    if not text:
        return None
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return None
    hh, mm, ss = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    if hh > 23 or mm > 59 or ss > 60:
        return None
    return hh * 3600 + mm * 60 + ss + (float(f"0.{fraction}") if fraction else 0.0)


def phase_of_delay(delay_s: float) -> frozenset[str]:
    if delay_s <= ARTERIAL_MAX_S:
        return frozenset({"arterial"})
    if VENOUS_S[0] <= delay_s <= VENOUS_S[1]:
        return frozenset({"venous"})
    if delay_s >= DELAYED_MIN_S:
        return frozenset({"delayed"})
    return CONTRAST


def tag_evidence(*, agent: str, route: str = "", start: str = "", acquired: str = ""
                 ) -> Evidence:
    """Evidence from ContrastBolusAgent/Route and the bolus start vs acquisition time."""
    agent, route = agent.strip(), route.strip()
    if agent.lower() in NO_AGENT:
        return Evidence("tags", frozenset({"nc"}), f"ContrastBolusAgent {agent!r} -> nc")
    if not agent and not route:
        return Evidence("tags", frozenset(), "no contrast tags")
    said = f"ContrastBolusAgent {agent!r}" if agent else f"ContrastBolusRoute {route!r}"
    t0, t1 = dicom_seconds(start), dicom_seconds(acquired)
    if t0 is None or t1 is None:
        return Evidence("tags", CONTRAST, f"{said}, no bolus timing -> {phase_words(CONTRAST)}")
    delay = t1 - t0
    if delay < -DAY_S / 2:  # the scan crossed midnight after the injection
        delay += DAY_S
    if delay < BEFORE_BOLUS_S:
        return Evidence("tags", frozenset({"nc"}),
                        f"{said}, acquired {-delay:.0f} s before the bolus start -> nc")
    phases = phase_of_delay(delay)
    return Evidence("tags", phases,
                    f"{said}, acquired {delay:.0f} s after the bolus start -> "
                    f"{phase_words(phases)}")
