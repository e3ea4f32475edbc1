"""The translator targets: each limit, each direction, and the table."""

from __future__ import annotations

import math

from ctbridge.evaluation.targets import TargetLimits, check_targets, targets_table


def _agg(mae=15.0, lumen=-30.0, fat=5.0, texture=1.2, peak=0.2, false=1.0, calcified=0.95):
    m = lambda v: {"mean": v, "std": 0.0, "n": 2}  # noqa: E731
    return {"image": {"body": {"mae_hu": m(mae)}},
            "tissue": {"lumen": {"shift_hu": m(lumen)}, "fat": {"shift_hu": m(fat)},
                       "texture": {"ratio": m(texture)}},
            "plaques": {"peak_rel_error_median": m(peak), "false_calcifications_pred": m(false),
                        "calcified_pred": m(calcified)}}


IDENTITY = _agg(mae=20.0)


def test_a_good_translation_meets_every_target_in_both_directions():
    to_ce = check_targets(_agg(), IDENTITY, target_domain="ce")
    to_nc = check_targets(_agg(lumen=20.0), IDENTITY, target_domain="nc")
    assert [r.passed for r in to_ce] == [True] * 6
    assert [r.passed for r in to_nc] == [True] * 7  # + plaques >= 130 HU
    assert to_ce[0].value == 0.75  # 15 / 20


def test_each_limit_fails_on_its_own():
    cases = {"body MAE / no translation": dict(mae=18.0),  # 0.9 > 0.85
             "|lumen shift| (HU)": dict(lumen=-61.0),
             "|fat shift| (HU)": dict(fat=-16.0),
             "liver std / truth": dict(texture=1.7),
             "plaque peak rel. error": dict(peak=0.31),
             "false calc. per scan": dict(false=2.5)}
    for name, kw in cases.items():
        rows = check_targets(_agg(**kw), IDENTITY, target_domain="ce")
        assert [r.name for r in rows if not r.passed] == [name], name


def test_non_contrast_direction_is_stricter_on_the_lumen_and_checks_calcium():
    rows = {r.name: r for r in check_targets(_agg(lumen=30.0, calcified=0.85), IDENTITY,
                                             target_domain="nc")}
    assert not rows["|lumen shift| (HU)"].passed  # 30 > 25 HU
    assert rows["|lumen shift| (HU)"].limit == 25.0
    assert not rows["plaques >= 130 HU"].passed  # 0.85 < 0.9
    assert check_targets(_agg(lumen=30.0), IDENTITY, target_domain="ce")[1].passed  # 30 <= 60


def test_missing_metrics_fail_and_limits_can_change():
    rows = check_targets({}, IDENTITY, target_domain="ce")
    assert all(math.isnan(r.value) and not r.passed for r in rows)
    loose = check_targets(_agg(mae=19.0), IDENTITY, target_domain="ce",
                          limits=TargetLimits(mae_ratio=1.0))
    assert loose[0].passed


def test_table_has_a_row_per_translation_and_counts_met_targets():
    lines = targets_table({"A nc→ce": check_targets(_agg(), IDENTITY, target_domain="ce"),
                           "A ce→nc": check_targets(_agg(lumen=40.0), IDENTITY,
                                                    target_domain="nc")})
    assert lines[0].startswith("| translation | body MAE / no translation (<= 0.85)")
    assert "plaques >= 130 HU (>= 0.9)" in lines[0]
    assert lines[2].endswith("| 6/6 |") and "0.75 ✓" in lines[2]
    assert lines[3].endswith("| 6/7 |") and "40.00 ✗" in lines[3]
