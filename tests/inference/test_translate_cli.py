"""`ctbridge translate` end to end with a (tiny, briefly trained) real checkpoint."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest

from ctbridge.cli import main
from ctbridge.io import read_scan, write_scan
from tests.conftest import dciodvfy, make_scan, rotation


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tr")
    for domain, offset in (("nc", 0.0), ("ce", 250.0)):
        scan = make_scan(shape=(3, 32, 32))
        scan.array[scan.array > -500] += offset
        write_scan(scan, root / "data" / domain / "p0.nii.gz")
    args = ["train", "--config", "configs/gmm_unit.yaml", "--data", str(root / "data"),
            "--out", str(root / "run"), "--set", "model.width=0.125", "--set",
            "model.n_components=3", "--set", "optim.steps=2", "--set", "data.batch_size=2",
            "--set", "tensorboard=false", "--set", "model.d_layers=2", "--set",
            "data.patch_size=16"]
    assert main(args) == 0
    return root / "run"


def _no_partial(folder):
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("mode", ["window", "full"])
def test_nifti_in_nifti_out_same_geometry(tmp_path, run_dir, mode):
    scan = make_scan(shape=(3, 40, 36), direction=rotation("y", 12.0), spacing=(0.7, 0.75, 2.0))
    src = write_scan(scan, tmp_path / "in.nii.gz")
    out = tmp_path / "out.nii.gz"
    assert main(["translate", "-i", str(src), "-o", str(out), "--model", str(run_dir), "--to", "ce",
                 "--mode", mode]) == 0
    a, b = nib.load(str(src)), nib.load(str(out))
    np.testing.assert_array_equal(a.affine, b.affine)
    assert b.shape == a.shape
    back = read_scan(out)
    air = scan.array < -900
    np.testing.assert_array_equal(back.array[air], scan.array[air])


def test_bounds_are_on_by_default_and_can_be_switched_off(tmp_path, run_dir):
    scan = make_scan(shape=(3, 32, 32))
    scan.array[:, 12:20, 8:24] = -100.0  # fat, copied when bounded
    src = write_scan(scan, tmp_path / "in.nii.gz")
    out = {}
    for flag in ("--bounds", "--no-bounds"):
        out[flag] = tmp_path / f"out{flag}.nii.gz"
        assert main(["translate", "-i", str(src), "-o", str(out[flag]), "--model", str(run_dir),
                     "--to", "ce", flag]) == 0
    bounded, free = read_scan(out["--bounds"]).array, read_scan(out["--no-bounds"]).array
    body = scan.array > -900
    assert np.all(bounded[body] >= scan.array[body])  # contrast only adds
    fat = scan.array == -100.0
    np.testing.assert_array_equal(bounded[fat], scan.array[fat])
    assert not np.array_equal(free[body], bounded[body])
    assert main(["translate", "-i", str(src), "-o", str(tmp_path / "d.nii.gz"), "--model",
                 str(run_dir), "--to", "ce"]) == 0  # the default is bounded
    np.testing.assert_array_equal(read_scan(tmp_path / "d.nii.gz").array, bounded)


def test_smoothing_is_on_by_default_into_contrast_and_can_be_switched_off(tmp_path, run_dir):
    src = write_scan(make_scan(shape=(3, 32, 32)), tmp_path / "in.nii.gz")
    out = {}
    for to in ("ce", "nc"):
        for flag in ("--smooth", "--no-smooth"):
            out[to, flag] = tmp_path / f"{to}{flag}.nii.gz"
            assert main(["translate", "-i", str(src), "-o", str(out[to, flag]), "--model",
                         str(run_dir), "--to", to, "--from", "nc" if to == "ce" else "ce",
                         flag]) == 0
    smooth, raw = (read_scan(out["ce", f]).array for f in ("--smooth", "--no-smooth"))
    scan = read_scan(src).array
    assert not np.array_equal(smooth, raw)
    assert np.all(smooth >= scan) and np.all(raw >= scan)  # still within the bounds
    np.testing.assert_array_equal(read_scan(out["nc", "--smooth"]).array,
                                  read_scan(out["nc", "--no-smooth"]).array)  # into NC: none


def test_dicom_in_dicom_out_same_geometry_new_series(tmp_path, run_dir):
    scan = make_scan(shape=(3, 32, 32), direction=rotation("x", 9.0))
    src = write_scan(scan, tmp_path / "series", study_instance_uid="1.2.3")
    out = tmp_path / "series_ce"
    assert main(["translate", "-i", str(src), "-o", str(out), "--model", str(run_dir), "--to", "ce",
                 "--mode", "full", "--samples", "2"]) == 0
    a, b = read_scan(src), read_scan(out)
    np.testing.assert_allclose(b.affine_lps, a.affine_lps, atol=1e-4)
    assert b.metadata["series_instance_uid"] != a.metadata["series_instance_uid"]
    assert b.metadata["study_instance_uid"] == "1.2.3"
    assert "nc->ce" in b.metadata["series_description"]
    assert read_scan(tmp_path / "series_ce_std").shape == a.shape


def test_translated_dicom_is_valid_and_cites_each_source_slice(tmp_path, run_dir):
    src = write_scan(make_scan(shape=(3, 32, 32)), tmp_path / "series", study_instance_uid="1.2.3")
    out = tmp_path / "series_ce"
    assert main(["translate", "-i", str(src), "-o", str(out), "--model", str(run_dir), "--to",
                 "ce"]) == 0
    by_position = {}
    for path in sorted(src.iterdir()):
        ds = pydicom.dcmread(path)
        by_position[tuple(round(float(v), 3) for v in ds.ImagePositionPatient)] = ds
    for path in sorted(out.iterdir()):
        errors, _ = dciodvfy(path)
        assert errors == [], (path.name, errors)
        ds = pydicom.dcmread(path)
        source = by_position[tuple(round(float(v), 3) for v in ds.ImagePositionPatient)]
        (ref,) = ds.SourceImageSequence
        assert ref.ReferencedSOPInstanceUID == source.SOPInstanceUID  # the slice it came from
        assert "nc->ce" in ds.DerivationDescription and run_dir.name in ds.DerivationDescription
        assert "physical bounds, enhancement smoothed" in ds.DerivationDescription  # default


def test_folder_of_scans(tmp_path, run_dir):
    for i in range(2):
        write_scan(make_scan(shape=(2, 32, 32), seed=i), tmp_path / "in" / f"s{i}.nii.gz")
    assert main(["translate", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model",
                 str(run_dir), "--to", "nc", "--mode", "full"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s0.nii.gz", "s1.nii.gz"]


def test_wrong_target_domain(tmp_path, run_dir, capsys):
    src = write_scan(make_scan(), tmp_path / "in.nii.gz")
    assert main(["translate", "-i", str(src), "-o", str(tmp_path / "o.nii.gz"), "--model",
                 str(run_dir),
                 "--to", "venous"]) == 2
    assert "trained on domains ['nc', 'ce']; it cannot translate to 'venous'" in \
        capsys.readouterr().err
    assert not (tmp_path / "o.nii.gz").exists() and _no_partial(tmp_path)


def test_corrupt_checkpoint(tmp_path, run_dir, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir / "checkpoints" / "latest", bad)
    (bad / "model.safetensors").write_bytes(b"\x00" * 100)
    src = write_scan(make_scan(), tmp_path / "in.nii.gz")
    assert main(["translate", "-i", str(src), "-o", str(tmp_path / "o.nii.gz"), "--model", str(bad),
                 "--to", "ce"]) == 2
    err = capsys.readouterr().err
    assert "model.safetensors: corrupt or not a safetensors file" in err
    assert not (tmp_path / "o.nii.gz").exists()


def test_2d_image_refused(tmp_path, run_dir, capsys):
    src = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((30, 30), np.float32), np.eye(4)), str(src))
    assert main(["translate", "-i", str(src), "-o", str(tmp_path / "o.nii.gz"), "--model",
                 str(run_dir),
                 "--to", "ce"]) == 2
    assert "expected a 3D volume, got 2D" in capsys.readouterr().err


def _translate(src, out, run_dir, *extra) -> int:
    return main(["translate", "-i", str(src), "-o", str(out), "--model", str(run_dir),
                 "--to", "nc", "--mode", "full", *extra])


def test_folder_parts_share_the_scans_and_go_on_past_a_bad_one(tmp_path, run_dir, capsys):
    names = [f"s{i}.nii.gz" for i in range(5)]
    for i, name in enumerate(names):
        write_scan(make_scan(shape=(2, 32, 32), seed=i), tmp_path / "in" / name)
    (tmp_path / "in" / "s3.nii.gz").write_bytes(b"\x1f\x8b not a nifti")  # in part 1 of 2
    out = tmp_path / "out"
    assert _translate(tmp_path / "in", out, run_dir, "--num-parts", "2", "--part-id", "0") == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["s0.nii.gz", "s2.nii.gz", "s4.nii.gz"]
    assert err.splitlines()[-1] == "part 0 of 2: translated 3, failed 0"
    # the other part: s1 written, s3 reported in one line, a summary, exit code 100 + 1
    assert _translate(tmp_path / "in", out, run_dir, "--num-parts", "2", "--part-id", "1") == 101
    lines = capsys.readouterr().err.splitlines()
    failed = [line for line in lines if line.startswith("failed: s3.nii.gz: ")]
    assert len(failed) == 1 and "not a readable NIfTI file" in failed[0]
    assert lines[-1] == "part 1 of 2: translated 1, failed 1 (s3.nii.gz)"
    assert sorted(p.name for p in out.iterdir()) == sorted(set(names) - {"s3.nii.gz"})
    assert _no_partial(out)
    # the whole folder in one run: the same outputs, the same failure
    assert _translate(tmp_path / "in", tmp_path / "all", run_dir) == 101
    assert capsys.readouterr().err.splitlines()[-1] == "translated 4, failed 1 (s3.nii.gz)"
    for name in set(names) - {"s3.nii.gz"}:
        np.testing.assert_array_equal(read_scan(out / name).array,
                                      read_scan(tmp_path / "all" / name).array)


@pytest.mark.parametrize("extra, says", [
    (["--num-parts", "2", "--part-id", "2"], "--part-id must be in 0..1 for --num-parts 2"),
    (["--num-parts", "2"], "--num-parts splits a folder of scans"),
])
def test_bad_parts_are_one_line(tmp_path, run_dir, capsys, extra, says):
    src = write_scan(make_scan(shape=(2, 32, 32)), tmp_path / "in.nii.gz")
    assert _translate(src, tmp_path / "o.nii.gz", run_dir, *extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "o.nii.gz").exists()


def test_samples_say_where_the_std_map_goes(tmp_path, run_dir, capsys):
    assert main(["translate", "--help"]) == 0
    assert "<output>_std.nii.gz" in " ".join(capsys.readouterr().out.split()).replace("│ ", "")
    src = write_scan(make_scan(shape=(2, 32, 32)), tmp_path / "in.nii.gz")
    assert _translate(src, tmp_path / "o.nii.gz", run_dir, "--samples", "2") == 0
    std = tmp_path / "o_std.nii.gz"
    assert std.is_file()
    assert f"wrote {tmp_path / 'o.nii.gz'} and its uncertainty map {std}\n" in \
        capsys.readouterr().err
