from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ctbridge.prepare.index import FileHeader
from ctbridge.prepare.series import check_series, group_series, skip_reason

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def header(k: int, *, series: str = "1.2.3", z: float | None = None, **changes) -> FileHeader:
    h = FileHeader(
        path=Path(f"/x/{series}/IM{k:04d}"), patient_id="P1", study_uid="1.2", series_uid=series,
        sop_uid=f"{series}.{k}", sop_class="1.2.840.10008.5.1.4.1.1.2", modality="CT",
        image_type=("ORIGINAL", "PRIMARY", "AXIAL"), series_number=3,
        series_description="Abdomen nativ", protocol_name="", study_description="",
        rows=64, columns=64, frames=1, position=(0.0, 0.0, 3.0 * k if z is None else z),
        orientation=AXIAL, contrast_agent="", contrast_route="", contrast_start_time="",
        acquisition_time="", series_time="", content_time="")
    return replace(h, **changes)


def reason(headers, min_slices=20):
    [series] = check_series(group_series(headers), min_slices)
    return series.skip_reason


def test_a_clean_axial_stack_is_kept_whatever_the_file_order():
    files = [header(k) for k in (5, 2, 0, 1, 4, 3)]
    assert reason(files, min_slices=6) == ""


@pytest.mark.parametrize("change, words", [
    (dict(rows=None), "not an image"),
    (dict(modality="MR"), "modality MR, not CT"),
    (dict(image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")), "localizer"),
    (dict(sop_class="1.2.840.10008.5.1.4.1.1.7"), "secondary capture"),
    (dict(frames=30), "multi-frame"),
    (dict(position=None), "no ImagePositionPatient"),
    (dict(orientation=(1.0, 0.0, 0.0, 0.0, 0.0, -1.0)), "not axial (coronal reformat)"),
    (dict(orientation=(0.0, 1.0, 0.0, 0.0, 0.0, -1.0)), "not axial (sagittal reformat)"),
])
def test_what_cannot_be_a_training_scan_is_named(change, words):
    files = [header(k, **change) for k in range(24)]
    assert words in reason(files)


def test_mixed_sizes_few_slices_gaps_and_duplicate_positions():
    files = [header(k) for k in range(24)]
    files[5] = replace(files[5], rows=32)
    assert reason(files) == "mixed matrix sizes in one series"
    assert reason([header(k) for k in range(8)]) == "too few slices (8 < 20)"
    gap = [header(k) for k in range(25) if k != 11]
    assert reason(gap) == "missing slice(s) (after slice 11 of 24)"
    twice = [header(k, z=3.0 * (k % 12)) for k in range(24)]
    assert reason(twice).startswith("duplicate slice positions")


def test_a_tilted_gantry_is_still_axial():
    tilt = (1.0, 0.0, 0.0, 0.0, 0.94, -0.342)  # 20 degrees
    files = [header(k, orientation=tilt, z=0.0, position=(0.0, 1.02 * k, 2.8 * k))
             for k in range(24)]
    assert reason(files) == ""


def test_files_exported_twice_are_counted_once():
    files = [header(k) for k in range(24)]
    copies = [replace(files[k], path=Path(f"/copy/IM{k}")) for k in (0, 1, 2)]
    [series] = check_series(group_series(files + copies))
    assert series.kept and len(series.files) == 24 and series.duplicates == 3
    assert series.notes == ["3 duplicate file(s) ignored"]


def test_series_are_grouped_by_uid_and_ordered():
    files = [header(k, series="9.9", series_number=7) for k in range(3)]
    files += [header(k, series="1.1", series_number=2) for k in range(3)]
    groups = group_series(files)
    assert [(g.uid, len(g.files)) for g in groups] == [("1.1", 3), ("9.9", 3)]
    assert skip_reason(groups[0], min_slices=3) == ""
