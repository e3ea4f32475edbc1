from __future__ import annotations

import pytest

from ctbridge.data.phase_evidence import CONTRAST
from ctbridge.data.phase_keywords import description_evidence

NC, ART, VEN, DEL = {"nc"}, {"arterial"}, {"venous"}, {"delayed"}


@pytest.mark.parametrize("text, phases", [
    # English
    ("ABD/PELVIS W/O CONTRAST 3.0 B30f", NC), ("Non-contrast", NC), ("NONCONTRAST ABD", NC),
    ("unenhanced", NC), ("CT ABD NC", NC), ("PRE-CONTRAST", NC), ("Plain 5mm", NC),
    ("ARTERIAL PHASE 3.0", ART), ("late arterial", ART), ("CTA Abdomen", ART),
    ("ART 1.0 I26f", ART), ("PORTAL VENOUS 3.0", VEN), ("C+ PV 70s", VEN),
    ("DELAYED 5 MIN", DEL), ("Equilibrium", DEL), ("excretory phase", DEL), ("late phase", DEL),
    ("with intravenous contrast", CONTRAST), ("CECT abdomen", CONTRAST),
    # German
    ("Abdomen nativ 3.0 B30f", NC), ("Nativphase", NC), ("ohne KM", NC),
    ("ohne Kontrastmittel", NC), ("Abdomen arteriell 3.0", ART), ("Spät-arteriell", ART),
    ("Abdomen portalvenös 3.0", VEN), ("venöse Phase", VEN), ("portalvenoes", VEN),
    ("Abdomen Spätphase 3.0", DEL), ("Spaetphase", DEL), ("Ausscheidungsphase", DEL),
    ("Abdomen KM venös", VEN), ("mit KM", CONTRAST),
])
def test_descriptions_in_english_and_german(text, phases):
    ev = description_evidence(text, "")
    assert ev.phases == phases, ev.detail
    assert ev.has_opinion and ev.source == "description"


@pytest.mark.parametrize("text", [
    "ABD PARTIAL FOV",  # ART inside PARTIAL
    "Thorax 1.0 Br40", "Topogram 0.6 T20f", "ARTEFACT-FREE",  # no phase word
    "Startpunkt",  # "art" inside a word
    "", "Patient Protocol",
])
def test_words_count_only_at_word_boundaries(text):
    ev = description_evidence(text, "")
    assert not ev.phases and not ev.conflict, ev.detail


def test_a_description_naming_two_phases_is_a_conflict():
    ev = description_evidence("Leber nativ + arteriell", "")
    assert ev.conflict and not ev.has_opinion
    assert "nativ" in ev.detail and "arteriell" in ev.detail


def test_protocol_name_is_used_only_when_the_description_says_nothing():
    assert description_evidence("Abdomen 3.0 B30f", "Abdomen arteriell").phases == ART
    assert description_evidence("Abdomen nativ", "Abdomen arteriell").phases == NC
    # a protocol naming the whole multiphase examination decides nothing
    ev = description_evidence("Abdomen 3.0 B30f", "Leber nativ arteriell venös")
    assert not ev.has_opinion and not ev.conflict
