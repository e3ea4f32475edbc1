from __future__ import annotations

import pytest

from ctbridge.data.phase_evidence import CONTRAST, Evidence
from ctbridge.errors import ConfigError
from ctbridge.prepare.decide import decide, parse_domains

NC = frozenset({"nc"})
ART = frozenset({"arterial"})
NONE = frozenset()
FOUR = "nc,arterial,venous,delayed"


def ev(source, phases, detail="", conflict=False):
    return Evidence(source, phases, detail or source, conflict)


def test_agreement_decides_and_says_who_decided():
    d = decide([ev("tags", ART), ev("description", ART), ev("image", CONTRAST)],
               parse_domains(FOUR))
    assert (d.domain, d.decided_by, d.reason) == ("arterial", "tags+description+image", "")


def test_one_source_may_decide_alone_and_silence_is_not_an_opinion():
    d = decide([ev("tags", NONE), ev("description", NONE), ev("image", NC)],
               parse_domains("nc,ce"))
    assert (d.domain, d.decided_by) == ("nc", "image")


def test_disagreement_or_silence_leaves_the_series_unsorted():
    d = decide([ev("description", NC, "nativ"), ev("image", CONTRAST, "enhanced")],
               parse_domains("nc,ce"))
    assert d.domain is None and d.requested and "disagrees" in d.reason
    assert "nativ" in d.reason and "enhanced" in d.reason
    silent = decide([ev("tags", NONE, "no contrast tags"), ev("image", NONE, "no aorta")],
                    parse_domains("nc,ce"))
    assert silent.domain is None and silent.reason.startswith("no evidence")
    assert "no contrast tags" in silent.reason
    conflict = decide([ev("description", NONE, "two phases", conflict=True),
                       ev("image", NC)], parse_domains("nc,ce"))
    assert conflict.domain is None and "contradictory" in conflict.reason


def test_contrast_without_phase_fits_ce_but_not_the_four_phases():
    evidence = [ev("image", CONTRAST)]
    assert decide(evidence, parse_domains("nc,ce")).domain == "ce"
    d = decide(evidence, parse_domains(FOUR))
    assert d.domain is None and d.requested and "arterial/venous/delayed" in d.reason


def test_a_phase_not_asked_for_is_skipped_not_unsorted():
    d = decide([ev("description", frozenset({"venous"}))], parse_domains("nc,arterial"))
    assert d.domain is None and not d.requested and "not among" in d.reason


@pytest.mark.parametrize("text", ["nc", "nc,nc", "nc,portal", "ce,arterial", ""])
def test_bad_domains_are_refused(text):
    with pytest.raises(ConfigError, match="--domains"):
        parse_domains(text)
