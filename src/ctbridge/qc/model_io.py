"""A QC folder on disk: ``model.safetensors`` + ``qc.json``, never pickle.

Layout of ``QC_DIR``::

    qc.json              network hyper-parameters, intensity scaling, threshold, artefact kinds
                         seen / held out, the training config and its metrics (AUCs)
    model.safetensors    QCNet weights
    roc.png, artefacts.png, train.log   written by `ctbridge qc train` (not needed to load)

``qc.json`` is written last, so a folder that has it is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ctbridge
from ctbridge.errors import CheckpointError
from ctbridge.io.atomic import atomic_path
from ctbridge.models.checkpoint import load_tensors, refuse_pickle, save_tensors
from ctbridge.qc.network import QCNet

QC_MODEL = "model.safetensors"
QC_JSON = "qc.json"
QC_FORMAT = "ctbridge-qc"
QC_FORMAT_VERSION = 1
REQUIRED = ("format", "version", "model", "intensity", "threshold")


def save_qc(folder: str | Path, net: QCNet, info: Mapping[str, Any]) -> Path:
    """Write ``net``'s weights and ``info`` (threshold, intensity, kinds, metrics) into a folder.

    ``info`` must hold ``threshold`` and ``intensity`` (``IntensityScaler.to_dict()``); the
    network hyper-parameters and the format tag are added here.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tree = {"format": QC_FORMAT, "version": QC_FORMAT_VERSION,
            "ctbridge_version": ctbridge.__version__, "model": dict(net.hparams), **info}
    save_tensors(net.state_dict(), folder / QC_MODEL)
    with atomic_path(folder / QC_JSON) as tmp:
        tmp.write_text(json.dumps(tree, indent=1, allow_nan=True))
    return folder


def read_qc_json(folder: Path) -> dict[str, Any]:
    """The parsed ``qc.json`` of ``folder``, checked for the fields loading needs."""
    path = folder / QC_JSON
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (not a QC folder written by `ctbridge qc "
                              "train`)")
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt, not JSON ({exc})") from None
    if not isinstance(tree, dict) or tree.get("format") != QC_FORMAT:
        raise CheckpointError(f"{path}: not a ctbridge QC description (format != {QC_FORMAT})")
    missing = [k for k in REQUIRED if k not in tree]
    if missing:
        raise CheckpointError(f"{path}: missing fields {missing}")
    if tree["version"] > QC_FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {tree['version']} is newer than this "
                              f"ctbridge reads ({QC_FORMAT_VERSION}); upgrade ctbridge")
    return tree


def load_qc(folder: str | Path) -> tuple[QCNet, dict[str, Any]]:
    """(network in eval mode on the CPU, ``qc.json`` tree) of a QC folder.

    Raises:
        CheckpointError: a missing folder or file, corrupt JSON or weights, a pickle file,
            or weights that do not fit the network described in ``qc.json``.
    """
    folder = Path(folder)
    if folder.is_file():
        refuse_pickle(folder)
        raise CheckpointError(f"{folder}: pass the QC folder (holding {QC_JSON} and {QC_MODEL})")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such QC folder")
    tree = read_qc_json(folder)
    try:
        net = QCNet(**tree["model"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / QC_JSON}: bad \"model\" fields ({exc})") from None
    state = load_tensors(folder / QC_MODEL)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).strip().splitlines()[:2])[:300]
        raise CheckpointError(f"{folder / QC_MODEL}: weights do not fit the network in "
                              f"{QC_JSON} ({first})") from None
    net.eval()
    return net, tree


def save_calibration(folder: str | Path, threshold: float, record: Mapping[str, Any]) -> Path:
    """Replace the threshold in ``folder``'s ``qc.json`` (atomically), keeping the training
    threshold and recording where the new one comes from under ``calibration``."""
    folder = Path(folder)
    tree = read_qc_json(folder)
    tree.setdefault("threshold_at_training", tree["threshold"])
    tree["threshold"] = float(threshold)
    tree["calibration"] = dict(record)
    with atomic_path(folder / QC_JSON) as tmp:
        tmp.write_text(json.dumps(tree, indent=1, allow_nan=True))
    return folder / QC_JSON
