"""Synthetic scans of a cohort made by a trained translator, cached on disk.

Translators are trained elsewhere (``ctbridge train``); here they only translate. Each
translation is written once to ``CACHE/<translator>/<source>2<target>/patient_XXX.nii.gz`` next
to a ``source.json`` that records which checkpoint, data set and mode made it, so a second run
(or the other folds, or the other experiment) reuses the files, and a retrained translator or a
regenerated phantom invalidates them instead of being silently mixed with old ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ctbridge.errors import CheckpointError
from ctbridge.evaluation.experiments.cohort import Cohort
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan, write_scan
from ctbridge.models import checkpoint as ckpt

SOURCE_FILE = "source.json"


def translator_fingerprint(translator: Translator | str | Path) -> dict[str, Any]:
    """What identifies a translator: its checkpoint file (path, size, mtime), or its name."""
    if isinstance(translator, Translator):
        return {"in_memory": translator.name}
    folder = ckpt.resolve_checkpoint(translator).resolve()
    stat = (folder / ckpt.MODEL_FILE).stat()
    return {"checkpoint": str(folder), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def load_translator(translator: Translator | str | Path, device: str | torch.device
                    ) -> Translator:
    """A ready :class:`Translator` (loaded from a run folder when given a path)."""
    if isinstance(translator, Translator):
        return translator
    return Translator.from_checkpoint(translator, device=device)


def translate_cohort(translator: Translator | str | Path, name: str, cohort: Cohort,
                     patients: Sequence[str], *, source: str, target: str, cache_dir: Path,
                     mode: str = "full", device: str | torch.device = "cpu",
                     progress: bool = True) -> dict[str, Path]:
    """Translate ``patients``' ``source`` scans to ``target``; reuse cached files.

    Args:
        translator: a run folder (loaded only if something is missing) or a Translator.
        name: row name (``gmm_unit``), the cache sub-folder.
        source, target: domains (``nc``, ``ce``) of the translator.
        cache_dir: root of the cache.

    Returns:
        patient file name -> path of its synthetic ``target`` scan.

    Raises:
        CheckpointError: the translator lacks one of the domains.
    """
    folder = Path(cache_dir) / name / f"{source}2{target}"
    stamp = {"translator": translator_fingerprint(translator), "data": cohort.fingerprint(),
             "source_phase": cohort.phase_of[source], "mode": mode}
    record = folder / SOURCE_FILE
    if record.is_file() and json.loads(record.read_text()) != stamp:
        for old in folder.glob("*.nii.gz"):  # made by another checkpoint or data set
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(stamp, indent=1))
    paths = {p: folder / p for p in patients}
    missing = [p for p in patients if not paths[p].is_file()]
    if missing:
        model = load_translator(translator, device)
        if source not in model.domains or target not in model.domains:
            raise CheckpointError(f"translator {name!r} has domains {model.domains}; the "
                                  f"experiment needs {source!r} and {target!r}")
        for patient in tqdm(missing, desc=f"{name} {source}->{target}", disable=not progress,
                            leave=False, unit="scan"):
            scan = read_scan(cohort.scan_path(source, patient))
            result = model.translate_scan(scan, target, source=source,
                                          mode=mode)  # type: ignore[arg-type]
            write_scan(result.scan, paths[patient])
    return paths
