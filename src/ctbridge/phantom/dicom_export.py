"""The phantom as a hospital DICOM export: the test data of `ctbridge prepare`.

A real export is not ``DATA/nc/`` and ``DATA/ce/``: it is one study per patient holding every
phase as its own series, named in the scanner's language, with contrast tags filled in on some
sites and not on others, beside localizers, dose reports, reformats, incomplete transfers and
files exported twice, in folders and file names that say nothing::

    OUT/DICOM/PA000/ST000/SE003/IM000017      (no suffix)
    OUT/README.TXT, OUT/DICOM/PA001/IM_BROKEN  (not DICOM; a truncated file)
    OUT/truth.json                             what each series is and what prepare must do

``truth.json`` holds, per SeriesInstanceUID, the patient, the true phase (or what the junk is)
and ``expect``: the phase ``prepare`` must sort it into, or ``"skip:<words of the reason>"``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from ctbridge.errors import DataError
from ctbridge.io import Scan
from ctbridge.io.atomic import atomic_path
from ctbridge.io.dicom import write_dicom_series
from ctbridge.io.progress import progress_bar
from ctbridge.phantom.dataset import patient_seed
from ctbridge.phantom.generate import check_phases, generate_patient

DESCRIPTIONS = {
    "en": {"nc": "ABD/PELVIS W/O CONTRAST 3.0 B30f", "arterial": "ARTERIAL PHASE 3.0 B30f",
           "venous": "PORTAL VENOUS 3.0 B30f", "delayed": "DELAYED 5 MIN 3.0 B30f"},
    "de": {"nc": "Abdomen nativ 3.0 B30f", "arterial": "Abdomen arteriell 3.0 B30f",
           "venous": "Abdomen portalvenös 3.0 B30f", "delayed": "Abdomen Spätphase 3.0 B30f"},
}
PROTOCOLS = {"en": "ABD PARTIAL FOV MULTIPHASE", "de": "Abdomen Mehrphasen"}
DELAY_S = {"arterial": 35, "venous": 70, "delayed": 300}  # after the bolus start
BOLUS_AFTER_S = 240  # the injection starts this long after the non-contrast scan
DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"  # X-Ray Radiation Dose SR Storage
STUDY_DATE = "20260105"


def _clock(seconds: float) -> str:
    seconds = int(seconds) % 86400
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"


class _Export:
    """Writes one export; keeps the truth of every series it writes."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.truth: dict[str, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self._file_counter = 0

    def folder(self, patient: int, series_number: int) -> Path:
        return self.out / "DICOM" / f"PA{patient:03d}" / "ST000" / f"SE{series_number:03d}"

    def _rename(self, folder: Path) -> list[Path]:
        """Give the writer's ``slice_0000.dcm`` files names that say nothing."""
        renamed = []
        for f in sorted(folder.iterdir()):
            self._file_counter += 1
            target = folder / f"IM{self._file_counter:06d}"
            f.rename(target)
            renamed.append(target)
        return renamed

    def series(self, scan: Scan, patient: int, number: int, *, study: dict[str, str],
               description: str, attributes: dict[str, Any], what: str, expect: str,
               drop: Sequence[int] = ()) -> list[Path]:
        folder = self.folder(patient, number)
        write_dicom_series(scan, folder, study_instance_uid=study["StudyInstanceUID"],
                           frame_of_reference_uid=study["FrameOfReferenceUID"],
                           series_description=description, series_number=number,
                           attributes={**attributes, "StudyDescription": study["desc"],
                                       "SeriesDescription": description})  # "" stays empty
        for k in drop:
            (folder / f"slice_{k:04d}.dcm").unlink()
        files = self._rename(folder)
        uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
        self.truth[uid] = {"patient": study["PatientID"], "series_number": number,
                           "what": what, "expect": expect}
        return files

    def dose_report(self, patient: int, study: dict[str, str]) -> None:
        """A dose report: a structured report, no pixels (as scanners export it)."""
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = DOSE_SR
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = DOSE_SR, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.SeriesNumber = "SR", 999
        ds.PatientID, ds.PatientName = study["PatientID"], study["PatientName"]
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study["StudyInstanceUID"], generate_uid()
        ds.SeriesDescription = "Dose Report"
        ds.ContentDate, ds.ContentTime = STUDY_DATE, "120000"
        path = self.folder(patient, 999) / "IM000001"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        self.truth[str(ds.SeriesInstanceUID)] = {
            "patient": study["PatientID"], "series_number": 999, "what": "dose report",
            "expect": "skip:not an image"}


def _retype(files: Sequence[Path], **changes: Any) -> None:
    """Change attributes of written files (an MR or an SC series made from a CT writer)."""
    for f in files:
        ds = pydicom.dcmread(f)
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        if "SOPClassUID" in changes:
            ds.file_meta.MediaStorageSOPClassUID = changes["SOPClassUID"]
        ds.save_as(f, enforce_file_format=True)


def write_dicom_study_export(out: str | Path, *, patients: int = 6, size: int = 192,
                             slices: int = 24, slice_mm: float = 3.0,
                             phases: Sequence[str] = ("nc", "arterial", "venous", "delayed"),
                             seed: int = 0, noise_hu: float = 15.0, plaques_max: int = 10,
                             describe: bool = True, contrast_tags: bool = True,
                             junk: bool = True, progress: bool = True) -> Path:
    """Write ``patients`` phantom patients as a DICOM export into ``out`` (see module doc).

    Patient ``i`` is the same anatomy as patient ``i`` of ``ctbridge phantom`` with the same
    seed. Even patients are described in English, odd ones in German; the contrast tags
    (agent, route, bolus start time) are on two patients in three. ``describe=False`` and
    ``contrast_tags=False`` leave only the pixels to tell the phases apart.

    Raises:
        ValueError: unknown phases.
        DataError: ``out`` is not empty.
    """
    out = Path(out)
    phases = check_phases(phases)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: not empty; choose a new folder for the export")
    export = _Export(out)
    for i in progress_bar(range(patients), desc="dicom export", unit="patient", enabled=progress):
        pt = generate_patient(patient_seed(seed, i), size=size, slices=slices, slice_mm=slice_mm,
                              phases=phases, noise_hu=noise_hu, plaques_max=plaques_max)
        language = "en" if i % 2 == 0 else "de"
        tagged = contrast_tags and i % 3 != 2
        start = 8 * 3600 + i * 1800  # the first scan of patient i
        study = {"PatientID": f"CTB{1000 + i}", "PatientName": f"PHANTOM^{i:03d}",
                 "StudyInstanceUID": generate_uid(), "FrameOfReferenceUID": generate_uid(),
                 "desc": "CT Abdomen" if language == "en" else "CT Abdomen/Becken"}
        common = {"PatientID": study["PatientID"], "PatientName": study["PatientName"],
                  "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"], "StudyDate": STUDY_DATE,
                  "StudyTime": _clock(start), "Manufacturer": "ctbridge phantom"}
        if describe:
            common["ProtocolName"] = PROTOCOLS[language]
        bolus = start + BOLUS_AFTER_S
        written: dict[str, list[Path]] = {}
        for number, phase in enumerate(phases, start=2):
            acquired = start if phase == "nc" else bolus + DELAY_S[phase]
            attrs = {**common, "AcquisitionTime": _clock(acquired),
                     "ContentTime": _clock(acquired), "SeriesTime": _clock(acquired)}
            if tagged and phase != "nc":
                attrs.update(ContrastBolusAgent="Iomeprol 400", ContrastBolusRoute="IV",
                             ContrastBolusStartTime=_clock(bolus))
            description = DESCRIPTIONS[language][phase] if describe else ""
            written[phase] = export.series(
                pt.scan(phase), i, number, study=study, description=description,
                attributes=attrs, what=phase, expect=phase)
        if junk:
            _junk(export, pt.scan(phases[0]), i, study, common, phases, written)
    if junk:
        (out / "README.TXT").write_text("Exported by the ctbridge phantom. Not a DICOM file.\n")
        broken = out / "DICOM" / "PA000" / "IM_BROKEN"
        broken.write_bytes(next(iter(export.folder(0, 2).iterdir())).read_bytes()[:400])
        export.files = {"README.TXT": "not a DICOM file",
                        "DICOM/PA000/IM_BROKEN": "no SeriesInstanceUID"}
    export.files["truth.json"] = "not a DICOM file"
    with atomic_path(out / "truth.json") as tmp:
        tmp.write_text(json.dumps({"series": export.truth, "files": export.files}, indent=1))
    return out


def _junk(export: _Export, scan: Scan, i: int, study: dict[str, str], common: dict[str, Any],
          phases: Sequence[str], written: dict[str, list[Path]]) -> None:
    """What else a study holds: a localizer and a dose report always, then by patient: an
    incomplete transfer, duplicated files, a coronal reformat, an MR, a bolus-tracking series."""
    z, ny, nx = scan.shape
    coronal = scan.array[:, ny // 2, :][::-1][None]  # (1, z, x): top row is the head end
    sx, _, sz = scan.spacing
    top = np.asarray(scan.origin) + np.array([0.0, ny / 2 * scan.spacing[1], (z - 1) * sz])
    cor_dir = np.column_stack([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    scout = Scan(coronal, spacing=(sx, sz, 1.0), origin=tuple(top), direction=cor_dir)
    export.series(scout, i, 1, study=study, description="Topogram 0.6 T20f",
                  attributes={**common, "ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]},
                  what="localizer", expect="skip:localizer")
    export.dose_report(i, study)
    last = phases[-1]
    if i % 3 == 0:  # a transfer that lost a slice
        export.series(scan.with_array(scan.array), i, 20, study=study,
                      description=DESCRIPTIONS["en"][phases[0]] if i % 2 == 0 else "",
                      attributes=common, what=f"{phases[0]} with a missing slice",
                      expect="skip:missing slice", drop=(z // 2,))
    if i % 3 == 1:  # the last phase's first files exported a second time, elsewhere
        copies = export.out / "DICOM" / f"PA{i:03d}" / "COPY"
        copies.mkdir(parents=True)
        for f in written[last][:3]:
            shutil.copyfile(f, copies / f"{f.name}_1")
        mr = Scan(scan.array[:4], spacing=scan.spacing, origin=scan.origin)
        files = export.series(mr, i, 30, study=study,
                              description="T2 HASTE tra", attributes=common, what="MR",
                              expect="skip:modality MR")
        _retype(files, Modality="MR", SOPClassUID=MRImageStorage)
    if i % 3 == 2:
        reformat = Scan(scan.array[:, ny // 3: 2 * ny // 3: 2].transpose(1, 0, 2)[:, ::-1],
                        spacing=(sx, sz, 2 * scan.spacing[1]), origin=tuple(top),
                        direction=cor_dir)
        export.series(reformat, i, 40, study=study, description="COR 3.0 MPR",
                      attributes=common, what="coronal reformat", expect="skip:not axial")
        tracking = np.repeat(scan.array[z // 2: z // 2 + 1], 8, axis=0)
        monitor = Scan(tracking, spacing=scan.spacing, origin=scan.origin)
        export.series(monitor, i, 50, study=study, description="Bolus tracking",
                      attributes=common, what="bolus tracking", expect="skip:too few slices")
