"""`ctbridge translate` over one scan or a folder of scans, with progress and a summary."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ctbridge.data.sources import list_scans
from ctbridge.device import resolve_device
from ctbridge.errors import CTBridgeError, InvalidScanError
from ctbridge.inference.translator import Mode, Translator
from ctbridge.io import is_nifti, read_scan, write_scan


def std_path(output: Path) -> Path:
    """Where the uncertainty map of ``output`` goes: ``x.nii.gz`` -> ``x_std.nii.gz``."""
    if is_nifti(output):
        stem = output.name[: -len(".nii.gz")] if output.name.endswith(".nii.gz") else output.stem
        suffix = ".nii.gz" if output.name.endswith(".nii.gz") else ".nii"
        return output.with_name(f"{stem}_std{suffix}")
    return output.with_name(f"{output.name}_std")


def _is_single_scan(path: Path) -> bool:
    """A NIfTI file, a DICOM file, or a folder that directly holds DICOM files (a series)."""
    if path.is_file():
        return True
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    return bool(files) and not any(is_nifti(p) for p in files)


def _postprocess_note(translator: Translator, kwargs: dict[str, object]) -> str:
    """What inference did after the network, for the DICOM DerivationDescription."""
    source = translator.resolve_source(str(kwargs["target"]), kwargs.get("source"))  # type: ignore[arg-type]
    bounds, smoothing = translator.postprocessing(source, bounded=bool(kwargs.get("bounded", True)),
                                                  smooth=bool(kwargs.get("smooth", True)))
    if bounds is None:
        return ""
    return ", physical bounds" + (", enhancement smoothed" if smoothing else "")


def translate_one(translator: Translator, src: Path, dst: Path, **kwargs: object) -> list[str]:
    scan = read_scan(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = translator.translate_scan(scan, **kwargs)  # type: ignore[arg-type]
    dicom = {} if is_nifti(dst) else {
        "study_instance_uid": scan.metadata.get("study_instance_uid"),
        "frame_of_reference_uid": scan.metadata.get("frame_of_reference_uid"),
        "derivation": f"{result.scan.metadata['series_description']}: ctbridge translation "
                      f"(model {translator.name}, checkpoint {translator.checkpoint}"
                      f"{_postprocess_note(translator, kwargs)}) of "
                      f"{src.name}"}
    write_scan(result.scan, dst, **dicom)
    if result.std is not None:
        write_scan(result.std, std_path(dst), **dicom)
    return list(result.warnings)


def translate_paths(input: Path, output: Path, *, model: Path, target: str,
                    source: str | None = None, mode: Mode = "full", overlap: float = 0.5,
                    batch: int = 16, samples: int = 0, device: str = "cpu",
                    bounded: bool = True, smooth: bool = True) -> list[Path]:
    """Translate ``input`` (scan or folder of scans) into ``output`` (scan or folder);
    ``bounded``: within the physical bounds of :mod:`ctbridge.inference.bounds`; ``smooth``:
    with them, the change into contrast smoothed (:mod:`ctbridge.inference.enhancement`)."""
    console = Console(stderr=True)
    if not input.exists():
        raise InvalidScanError(f"{input}: no such file or folder")
    translator = Translator.from_checkpoint(model, device=resolve_device(device))
    translator.resolve_source(target, source)  # fail before any work on a wrong domain
    kwargs = dict(target=target, source=source, mode=mode, overlap=overlap, batch=batch,
                  samples=samples, progress=True, bounded=bounded, smooth=smooth)
    if _is_single_scan(input):
        for note in translate_one(translator, input, output, **kwargs):
            console.print(f"[yellow]warning:[/] {note}")
        console.print(f"wrote {output}")
        return [output]
    scans = list_scans(input)
    if not scans:
        raise InvalidScanError(f"{input}: no NIfTI files or DICOM series to translate")
    output.mkdir(parents=True, exist_ok=True)
    table = Table("scan", "seconds", "status", title=f"{len(scans)} scans -> {target} ({mode})")
    written = []
    for i, src in enumerate(scans, 1):
        dst = output / src.name
        console.print(f"[{i}/{len(scans)}] {src.name}")
        t0 = time.perf_counter()
        try:
            notes = translate_one(translator, src, dst, **kwargs)
            status = "ok" + (f" ({len(notes)} warning)" if notes else "")
            for note in notes:
                console.print(f"[yellow]warning:[/] {note}")
            written.append(dst)
        except CTBridgeError as exc:
            status = f"failed: {exc}"
        table.add_row(src.name, f"{time.perf_counter() - t0:.1f}", status)
    console.print(table)
    if len(written) < len(scans):
        raise InvalidScanError(f"{input}: {len(scans) - len(written)} of {len(scans)} scans failed"
                               " (see the table above)")
    return written
