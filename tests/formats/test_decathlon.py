"""A Decathlon/MONAI datalist -> `ctbridge synthesize` -> a datalist MONAI loads back, with
the source's labels and leak-free fold keys."""

from __future__ import annotations

import json

import pytest
from monai.data import load_decathlon_datalist

from ctbridge.cli import main
from ctbridge.errors import DataError
from ctbridge.formats.decathlon import read_decathlon
from tests.labelled_data import source_of, write_datalist

FOLDS = {"patient_000": 0, "patient_001": 1, "patient_002": 0, "patient_003": 1}


@pytest.fixture(scope="module")
def datalist(nc_dataset, tmp_path_factory):
    return write_datalist(nc_dataset, tmp_path_factory.mktemp("msd") / "Task01_Phantom")


def test_read_decathlon_resolves_paths_like_monai(datalist):
    data = read_decathlon(datalist)
    assert data.format == "decathlon"
    assert data.case_ids == ["patient_000", "patient_001", "patient_002", "patient_003"]
    assert all(c.image.is_absolute() and c.image.is_file() and c.label.is_file()
               for c in data.cases)
    assert [t["image"].name for t in data.others["test"]] == ["patient_004.nii.gz"]
    assert read_decathlon(datalist / "dataset.json").case_ids == data.case_ids


@pytest.mark.parametrize("mode, per_case", [("add", 2), ("replace", 1)])
def test_synthesized_datalist_loads_in_monai(datalist, checkpoint, tmp_path, mode, per_case):
    out = tmp_path / "out"
    assert main(["synthesize", "-i", str(datalist), "-o", str(out), "--model", str(checkpoint),
                 "--to", "ce",
                 "--mode", mode, "--folds", "2"]) == 0
    items = load_decathlon_datalist(out / "dataset.json", True, "training")
    assert len(items) == 4 * per_case
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["numTraining"] == len(items) and meta["modality"] == {"0": "CT"}
    assert meta["labels"] == json.loads((datalist / "dataset.json").read_text())["labels"]
    assert "nc->ce" in meta["description"]
    for item in items:
        case = item["image"].rsplit("/", 1)[1][: -len(".nii.gz")]
        source = source_of(case)
        assert case == source or case == f"{source}_synce"
        assert (mode == "add") or case.endswith("_synce")
        with open(item["label"], "rb") as f:
            assert f.read() == (datalist / "labelsTr" / f"{source}.nii.gz").read_bytes()
    # fold keys: every case of a source in one fold; two folds, both used
    fold_of: dict[str, set[int]] = {}
    for item in items:
        case = item["image"].rsplit("/", 1)[1][: -len(".nii.gz")]
        fold_of.setdefault(source_of(case), set()).add(item["fold"])
    assert all(len(f) == 1 for f in fold_of.values())
    assert set().union(*fold_of.values()) == {0, 1}
    # the unlabelled test image is copied, its path rewritten, the list kept as plain paths
    assert meta["test"] == ["./imagesTs/patient_004.nii.gz"]
    assert (out / "imagesTs" / "patient_004.nii.gz").read_bytes() == (
        datalist / "imagesTs" / "patient_004.nii.gz").read_bytes()


def test_the_datalist_fold_keys_are_kept(nc_dataset, checkpoint, tmp_path):
    data = write_datalist(nc_dataset, tmp_path / "msd", folds=FOLDS)
    out = tmp_path / "out"
    assert main(["synthesize", "-i", str(data / "dataset.json"), "-o", str(out), "--model",
                 str(checkpoint),
                 "--to", "ce"]) == 0  # 4 cases: no 5 folds needed, the datalist has its own
    for item in load_decathlon_datalist(out / "dataset.json", True, "training"):
        case = item["image"].rsplit("/", 1)[1][: -len(".nii.gz")]
        assert item["fold"] == FOLDS[source_of(case)]


def test_not_a_datalist_is_a_data_error(tmp_path):
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [{"label": "x.nii.gz"}]}))
    with pytest.raises(DataError, match="must be an object with an \"image\""):
        read_decathlon(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps(
        {"training": [{"image": ["a.nii.gz", "b.nii.gz"], "label": "l.nii.gz"}]}))
    with pytest.raises(DataError, match="single-channel"):
        read_decathlon(tmp_path)


def test_the_usage_docs_monai_recipe_runs(checkpoint, tmp_path, monkeypatch):
    """docs/usage.md: `phantom --format decathlon`, `synthesize` on it, then the page's own
    Python snippet with MONAI's load_decathlon_datalist (data_list_key "training"), run as
    written in a folder where `out/` is the synthesize output."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "usage.md").read_text()
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", page, re.S)
                  if "load_decathlon_datalist" in block]
    assert '"training"' in snippet
    monkeypatch.chdir(tmp_path)
    assert main(["phantom", "-o", "data/msd", "--format", "decathlon", "--patients", "5",
                 "--size", "32", "--slices", "2", "--phases", "nc,arterial",
                 "--plaques-max", "2"]) == 0
    phantom = Path("data/msd/Task901_CTBridgePhantomNC")
    assert len(load_decathlon_datalist(phantom / "dataset.json", True, "training")) == 5
    assert main(["synthesize", "-i", str(phantom), "-o", "out", "--model", str(checkpoint),
                 "--to", "ce"]) == 0
    names: dict = {}
    exec(snippet, names)  # the documented code, unchanged
    items, train, val = names["items"], names["train"], names["val"]
    assert len(items) == 10 and len(train) == 8 and len(val) == 2
    assert all(Path(i["image"]).is_file() and Path(i["label"]).is_file() for i in items)
    # fold 0 validates one source case and its synthetic twin, and nothing of them trains
    case = {source_of(Path(i["image"]).name[: -len(".nii.gz")]) for i in val}
    assert len(case) == 1
    assert not case & {source_of(Path(i["image"]).name[: -len(".nii.gz")]) for i in train}
