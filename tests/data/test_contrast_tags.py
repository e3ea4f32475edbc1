from __future__ import annotations

import pytest

from ctbridge.data.contrast_tags import dicom_seconds, tag_evidence
from ctbridge.data.phase_evidence import CONTRAST


@pytest.mark.parametrize("value, seconds", [
    ("101535", 36935.0), ("101535.25", 36935.25), ("1015", 36900.0), ("10", 36000.0),
    ("10:15:35", 36935.0), ("", None), ("25", None), ("1a1500", None), ("123", None),
])
def test_dicom_time_parsing(value, seconds):
    assert dicom_seconds(value) == seconds


@pytest.mark.parametrize("delay, phases", [
    (20, {"arterial"}), (45, {"arterial"}), (50, CONTRAST), (70, {"venous"}),
    (120, {"venous"}), (135, CONTRAST), (300, {"delayed"}), (900, {"delayed"}),
])
def test_delay_after_the_bolus_gives_the_phase(delay, phases):
    start = 10 * 3600
    acquired = start + delay
    clock = f"{acquired // 3600:02d}{acquired // 60 % 60:02d}{acquired % 60:02d}"
    ev = tag_evidence(agent="Iomeprol 400", route="IV", start="100000", acquired=clock)
    assert ev.phases == phases, ev.detail
    assert f"{delay} s after" in ev.detail


def test_midnight_crossing_and_scans_before_the_bolus():
    assert tag_evidence(agent="Visipaque", start="235950", acquired="000025").phases == \
        {"arterial"}
    ev = tag_evidence(agent="Visipaque", start="101000", acquired="100500")
    assert ev.phases == {"nc"} and "before the bolus" in ev.detail


def test_agent_none_empty_and_missing_timing():
    assert tag_evidence(agent="NONE").phases == {"nc"}
    assert tag_evidence(agent="kein").phases == {"nc"}
    empty = tag_evidence(agent="", route="")
    assert not empty.phases and empty.detail == "no contrast tags"  # empty = unknown, not nc
    assert tag_evidence(agent="", route="IV").phases == CONTRAST
    assert tag_evidence(agent="Ultravist", start="", acquired="101010").phases == CONTRAST
