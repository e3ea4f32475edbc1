"""`ctbridge translate` over one scan or a folder of scans, with progress and a summary."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ctbridge.data.sources import list_scans
from ctbridge.device import resolve_device
from ctbridge.errors import ConfigError, CTBridgeError, InvalidScanError, PhaseError, one_line
from ctbridge.inference.parts import check_part, select_part
from ctbridge.inference.phase_guard import FORCE_HINT
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


def translate_one(translator: Translator, src: Path, dst: Path, *, force: bool = False,
                  **kwargs: object) -> list[str]:
    """Translate the scan ``src`` into ``dst``; returns the translator's warnings.

    Unless ``force``, the scan's phase is checked first (:mod:`ctbridge.inference.phase_guard`):
    PhaseError when its own evidence says it is not in the source domain.
    """
    scan = read_scan(src)
    if not force:
        check = translator.check_phase(scan, str(kwargs["target"]),
                                       kwargs.get("source"))  # type: ignore[arg-type]
        if not check.ok:
            raise PhaseError(f"{src}: {check.reason()} ({FORCE_HINT})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the scan is read for this translation only: its array becomes the output's
        result = translator.translate_scan(scan, in_place=True, **kwargs)  # type: ignore[arg-type]
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


@dataclass
class Translated:
    """What :func:`translate_paths` did: the outputs written and the scans that failed.

    Attributes:
        written: the translated scans (their ``_std`` maps besides, with ``samples``).
        failed: source name -> why it failed (one line), in folder order.
    """

    written: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def translate_paths(input: Path, output: Path, *, model: Path, target: str,
                    source: str | None = None, mode: Mode = "full", overlap: float = 0.5,
                    batch: int = 16, samples: int = 0, device: str = "cpu",
                    bounded: bool = True, smooth: bool = True, num_parts: int = 1,
                    part_id: int = 0, force: bool = False) -> Translated:
    """Translate ``input`` (scan or folder of scans) into ``output`` (scan or folder);
    ``bounded``: within the physical bounds of :mod:`ctbridge.inference.bounds`; ``smooth``:
    with them, the change into contrast smoothed (:mod:`ctbridge.inference.enhancement`).
    Each scan's phase is checked first (:mod:`ctbridge.inference.phase_guard`; a scan whose
    evidence says it is not in the source domain fails) unless ``force``.

    A folder goes on past a scan that fails (one line each, then a summary line
    ``translated N, failed M (names)``); ``num_parts``/``part_id`` translate only that part
    of it (:mod:`ctbridge.inference.parts`). A single scan that fails raises.
    """
    console = Console(stderr=True)
    check_part(num_parts, part_id)
    if not input.exists():
        raise InvalidScanError(f"{input}: no such file or folder")
    single = _is_single_scan(input)
    if single and num_parts > 1:
        raise ConfigError(f"--num-parts splits a folder of scans; {input} is one scan")
    translator = Translator.from_checkpoint(model, device=resolve_device(device))
    translator.resolve_source(target, source)  # fail before any work on a wrong domain
    if translator.unchecked_note:  # once per run
        console.print(f"note: {translator.unchecked_note}", markup=False, highlight=False,
                      soft_wrap=True)
    kwargs = dict(target=target, source=source, mode=mode, overlap=overlap, batch=batch,
                  samples=samples, progress=True, bounded=bounded, smooth=smooth)
    if single:
        for note in translate_one(translator, input, output, force=force, **kwargs):
            console.print(f"[yellow]warning:[/] {escape(note)}")
        std = f" and its uncertainty map {std_path(output)}" if samples else ""
        console.print(f"wrote {output}{std}", markup=False, highlight=False, soft_wrap=True)
        return Translated([output])
    every = list_scans(input)
    if not every:
        raise InvalidScanError(f"{input}: no NIfTI files or DICOM series to translate")
    scans = select_part(every, num_parts, part_id, name=lambda p: p.name)
    part = f"part {part_id} of {num_parts}: " if num_parts > 1 else ""
    output.mkdir(parents=True, exist_ok=True)
    title = f"{part}{len(scans)} scans -> {target} ({mode})"
    if num_parts > 1:
        title += f", of {len(every)} in {input}"
    table = Table("scan", "seconds", "status", title=title)
    result = Translated()
    for i, src in enumerate(scans, 1):
        dst = output / src.name
        console.print(f"[{i}/{len(scans)}] {escape(src.name)}", markup=False)
        t0 = time.perf_counter()
        try:
            notes = translate_one(translator, src, dst, force=force, **kwargs)
            status = "ok" + (f" ({len(notes)} warning)" if notes else "")
            if samples:
                status += f", + {std_path(dst).name}"
            for note in notes:
                console.print(f"[yellow]warning:[/] {escape(note)}")
            result.written.append(dst)
        except (CTBridgeError, OSError, ValueError, RuntimeError, MemoryError) as exc:
            # one bad scan (unreadable, too small, out of memory) never stops the folder
            result.failed[src.name] = one_line(exc)
            status = f"failed: {one_line(exc)}"
            console.print(f"failed: {src.name}: {one_line(exc)}", markup=False, soft_wrap=True)
        table.add_row(escape(src.name), f"{time.perf_counter() - t0:.1f}", escape(status))
    console.print(table)
    names = f" ({', '.join(result.failed)})" if result.failed else ""
    console.print(f"{part}translated {len(result.written)}, failed {len(result.failed)}{names}",
                  markup=False, highlight=False, soft_wrap=True)
    return result
