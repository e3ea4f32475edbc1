"""manifest.csv round trip and refusal of foreign files."""

from __future__ import annotations

import pytest

from ctbridge.datasets.manifest import ManifestRow, read_manifest, write_manifest
from ctbridge.errors import DataError


def _row(case, decision="written", qc=None):
    return ManifestRow(case=case, source=case.split("_syn")[0], source_file=f"/d/{case}.nii.gz",
                       model="/runs/gmm", model_sha256="ab" * 8, direction="nc->ce",
                       mode="full", seconds=1.25, qc_rejected=qc, decision=decision,
                       reason="QC rejects 40%, with, commas" if qc else "", key="f" * 64,
                       date="2026-01-02T03:04:05+00:00")


def test_round_trip_sorted_by_case(tmp_path):
    rows = [_row("b_synce", "rejected", 0.4), _row("a_synce")]
    path = write_manifest(tmp_path / "manifest.csv", rows)
    back = read_manifest(path)
    assert list(back) == ["a_synce", "b_synce"]
    assert back["b_synce"] == rows[0] and back["a_synce"] == rows[1]
    assert path.read_text().splitlines()[0].startswith("case,source,source_file,model")
    assert read_manifest(tmp_path / "none.csv") == {}


def test_a_foreign_csv_is_refused(tmp_path):
    path = tmp_path / "manifest.csv"
    path.write_text("case,score\na,1\n")
    with pytest.raises(DataError, match="not a ctbridge manifest"):
        read_manifest(path)


def test_a_manifest_from_before_the_out_of_distribution_column_is_read(tmp_path):
    """Outputs made before the column existed resume: their rows read it as empty."""
    row = _row("a_synce")
    row.out_of_distribution = "slice spacing 5 mm (training 3 mm; checked 2 to 4.5 mm)"
    path = write_manifest(tmp_path / "manifest.csv", [row])
    header, line = path.read_text().splitlines()
    assert header.endswith(",date,out_of_distribution")
    old = tmp_path / "old.csv"  # the same row without the last column
    old.write_text(header.rsplit(",", 1)[0] + "\n" + line.rsplit(",", 1)[0] + "\n")
    (back,) = read_manifest(old).values()
    assert back.out_of_distribution == "" and back.key == row.key and back.date == row.date
    assert read_manifest(path)["a_synce"] == row
