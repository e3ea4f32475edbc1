"""Labelled phantom data sets and checkpoints for the formats, datasets and inference tests
(the fixtures are registered in tests/conftest.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from ctbridge.formats import nnunet
from ctbridge.models import ModelConfig, build_model
from ctbridge.models.checkpoint import CONFIG_FILE, MODEL_FILE, save_tensors
from ctbridge.phantom.nnunet_export import write_phantom_nnunet

PATIENTS = 5  # nnU-Net's 5 folds need 5 source cases
PHANTOM = dict(patients=PATIENTS, size=48, slices=6, phases=("nc", "arterial"), seed=1,
               plaques_max=4, progress=False)


def write_checkpoint(folder: Path, seed: int = 0, domains: tuple[str, ...] = ("nc", "ce")
                     ) -> Path:
    """An untrained CycleGAN (width 1/8) saved as a checkpoint folder: model + config."""
    torch.manual_seed(seed)
    config = ModelConfig(kind="cyclegan", width=0.125, domains=list(domains))
    model = build_model(config)
    folder.mkdir(parents=True, exist_ok=True)
    save_tensors(model.state_dict(), folder / MODEL_FILE)
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(
        {"model": config.model_dump(mode="json"), "data": {"patch_size": None}}))
    return folder


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "run")


@pytest.fixture(scope="session")
def phantom_roots(tmp_path_factory) -> dict[str, Path]:
    """phase -> nnU-Net data set of the tiny phantom (read-only: tests copy before changing)."""
    return write_phantom_nnunet(tmp_path_factory.mktemp("phantom"), **PHANTOM)


@pytest.fixture(scope="session")
def nc_dataset(phantom_roots) -> Path:
    return phantom_roots["nc"]


def copy_dataset(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def write_datalist(nnunet_root: Path, dst: Path, *, test_cases: int = 1,
                   folds: dict[str, int] | None = None) -> Path:
    """The cases of an nnU-Net data set as a Decathlon datalist (the MSD's layout and names:
    ``imagesTr/<case>.nii.gz``, ``labels`` id -> name, ``test`` as plain paths); the last
    ``test_cases`` cases go to ``test`` without labels."""
    meta = json.loads((nnunet_root / "dataset.json").read_text())
    cases = sorted(p.name[: -len("_0000.nii.gz")] for p in (nnunet_root / "imagesTr").iterdir())
    training, test = [], []
    for i, case in enumerate(cases):
        image = dst / "imagesTr" / f"{case}.nii.gz"
        if i >= len(cases) - test_cases:
            image = dst / "imagesTs" / f"{case}.nii.gz"
            image.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nnunet_root / "imagesTr" / nnunet.image_name(case), image)
            test.append(f"./imagesTs/{case}.nii.gz")
            continue
        label = dst / "labelsTr" / f"{case}.nii.gz"
        for folder in (image.parent, label.parent):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nnunet_root / "imagesTr" / nnunet.image_name(case), image)
        shutil.copy2(nnunet_root / "labelsTr" / nnunet.label_name(case), label)
        item = {"image": f"./imagesTr/{case}.nii.gz", "label": f"./labelsTr/{case}.nii.gz"}
        if folds is not None:
            item["fold"] = folds[case]
        training.append(item)
    datalist = {"name": "phantom", "description": "tiny phantom", "tensorImageSize": "3D",
                "modality": {"0": "CT"},
                "labels": {str(i): name for name, i in meta["labels"].items()},
                "numTraining": len(training), "numTest": len(test), "training": training,
                "test": test}
    (dst / "dataset.json").write_text(json.dumps(datalist, indent=1))
    return dst


def source_of(case: str) -> str:
    """``patient_000_synce`` -> ``patient_000`` (the naming rule, restated for the tests)."""
    return case.split("_syn")[0]
