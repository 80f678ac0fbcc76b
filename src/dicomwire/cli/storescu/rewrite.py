"""storescu options that change the data set before it is sent.

``+II`` (and ``+IR n``, ``+IS n``, ``+IP n``) invent new identifying
information for every instance sent, the way DCMTK's storescu numbers them:
a new SOP Instance UID and image number for every instance, a new series
after n images, a new study after n series, a new patient after n studies,
logged at verbose level as::

    Inventing Identifying Information (pa0, st0, se0, im1):
      PatientName=...

``-up`` removes the blanks that pad UIDs, ``-u`` writes the post-1993 VRs
(UN, UT, ...) as OB.  A rewritten instance goes to a temporary file that the
storage library streams like any other.
"""

from __future__ import annotations

import logging
import os
import struct
import time
import warnings
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydicom loads only when a file is really rewritten: tool start-up stays fast
    from pydicom.dataset import Dataset

from dicomwire._records import record
from dicomwire.errors import DatasetCodecError
from dicomwire.services.dataset_head import encoding_of
from dicomwire.services.normal_form import write_normal_form
from dicomwire.services.storage import StoreSource

# Names and IDs as DCMTK invents them (scripts look for them).
PATIENT_NAME_PREFIX = "OFFIS^TEST_PN_"
PATIENT_ID_PREFIX = "PID_"
STUDY_ID_PREFIX = "SID_"
ACCESSION_NUMBER_PREFIX = "ACC_"
_NEW_VRS = frozenset({"UN", "UT", "UC", "UR", "OD", "OF", "OL", "OV", "SV", "UV"})


@record(frozen=True)
class InventCounts:
    """``+IR`` images per series, ``+IS`` series per study, ``+IP`` studies per patient."""

    series: int = 100
    study: int = 50
    patient: int = 25


@record
class Identity:
    patient_name: str
    patient_id: str
    study_instance_uid: str
    study_id: str
    accession_number: str
    series_instance_uid: str
    series_number: str
    sop_instance_uid: str
    image_number: str


@record
class Inventor:
    """Hands out invented identities in DCMTK's order (see the module docstring)."""

    counts: InventCounts = field(default_factory=InventCounts)
    clock: Callable[[], float] = time.time
    new_uid: Callable[[], str] = lambda: _new_uid()
    patient: int = 0
    study: int = 0
    series: int = 0
    image: int = 0
    _current: dict[str, str] = field(default_factory=dict)

    def _stamp(self, counter: int) -> str:
        return f"{int(self.clock())}{counter}"

    def _new_series(self) -> None:
        self._current["series_uid"] = self.new_uid()
        self._current["series_number"] = str(self.series)

    def _new_study(self) -> None:
        self._current["study_uid"] = self.new_uid()
        self._current["study_id"] = STUDY_ID_PREFIX + self._stamp(self.study)
        self._current["accession"] = ACCESSION_NUMBER_PREFIX + self._stamp(self.study)

    def _new_patient(self) -> None:
        self._current["patient_id"] = PATIENT_ID_PREFIX + self._stamp(self.patient)
        self._current["patient_name"] = PATIENT_NAME_PREFIX + self._stamp(self.patient)

    def next(self) -> Identity:
        if not self._current:
            self._new_series()
            self._new_study()
            self._new_patient()
        if self.image >= self.counts.series:
            self.image = 0
            self.series += 1
            self._new_series()
        if self.series >= self.counts.study:
            self.series = 0
            self.study += 1
            self._new_study()
        if self.study >= self.counts.patient:
            self.study = 0
            self.patient += 1
            self._new_patient()
        current = self._current
        identity = Identity(
            patient_name=current["patient_name"],
            patient_id=current["patient_id"],
            study_instance_uid=current["study_uid"],
            study_id=current["study_id"],
            accession_number=current["accession"],
            series_instance_uid=current["series_uid"],
            series_number=current["series_number"],
            sop_instance_uid=self.new_uid(),
            image_number=str(self.image),
        )
        self.image += 1
        return identity

    def log_lines(self, identity: Identity) -> list[str]:
        return [
            f"Inventing Identifying Information (pa{self.patient}, st{self.study}, "
            f"se{self.series}, im{self.image - 1}):",
            f"  PatientName={identity.patient_name}",
            f"  PatientID={identity.patient_id}",
            f"  StudyInstanceUID={identity.study_instance_uid}",
            f"  StudyID={identity.study_id}",
            f"  SeriesInstanceUID={identity.series_instance_uid}",
            f"  SeriesNumber={identity.series_number}",
            f"  SOPInstanceUID={identity.sop_instance_uid}",
            f"  ImageNumber={identity.image_number}",
        ]


def _new_uid() -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(prefix=None))


def apply_identity(ds: Dataset, identity: Identity) -> None:
    ds.PatientName = identity.patient_name
    ds.PatientID = identity.patient_id
    ds.StudyInstanceUID = identity.study_instance_uid
    ds.StudyID = identity.study_id
    ds.SeriesInstanceUID = identity.series_instance_uid
    ds.SeriesNumber = identity.series_number
    ds.SOPInstanceUID = identity.sop_instance_uid
    ds.InstanceNumber = identity.image_number
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = identity.sop_instance_uid


def strip_uid_padding(ds: Dataset) -> None:
    """Remove blanks around UID values, in the data set and its sequences."""

    def fix(dataset: Dataset, elem: object) -> None:
        if getattr(elem, "VR", None) != "UI":
            return
        value = elem.value  # type: ignore[attr-defined]
        if isinstance(value, str):
            elem.value = value.strip(" \0")  # type: ignore[attr-defined]
        elif value is not None and not isinstance(value, bytes):
            elem.value = [str(v).strip(" \0") for v in value]  # type: ignore[attr-defined]

    ds.walk(fix)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        meta.walk(fix)


def disable_new_vrs(ds: Dataset) -> None:
    """Write UN, UT and the other post-1993 VRs as OB (DCMTK's ``-u``)."""

    def fix(dataset: Dataset, elem: object) -> None:
        vr = getattr(elem, "VR", None)
        if vr not in _NEW_VRS:
            return
        value = elem.value  # type: ignore[attr-defined]
        if isinstance(value, str):  # text pads with a space, kept in the OB value (as DCMTK)
            raw = value.encode("latin-1", errors="replace")
            pad = b" "
        elif isinstance(value, bytes):
            raw, pad = value, b"\0"
        else:
            return  # SV/UV numbers: left as they are
        if len(raw) % 2:
            raw += pad
        elem.VR = "OB"  # type: ignore[attr-defined]
        elem.value = raw  # type: ignore[attr-defined]

    ds.walk(fix)


@record(frozen=True)
class Rewrite:
    """What to change: an invented identity, UID padding, new VRs."""

    identity: Identity | None = None
    fix_uid_padding: bool = False
    old_vrs_only: bool = False

    @property
    def needed(self) -> bool:
        return self.identity is not None or self.fix_uid_padding or self.old_vrs_only


def rewrite_to_temp(path: str, transfer_syntax: str, rewrite: Rewrite) -> str:
    """Read ``path``, change it, write it to a temporary file; returns its name.

    Raises DatasetCodecError when the file cannot be read or written.
    """
    with warnings.catch_warnings():  # pydicom's complaints are not the tool's output
        warnings.simplefilter("ignore")
        return _rewrite(path, transfer_syntax, rewrite)


def _rewrite(path: str, transfer_syntax: str, rewrite: Rewrite) -> str:
    try:
        from pydicom import dcmread

        ds = dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many kinds
        raise DatasetCodecError(f"cannot read {path}: {exc}") from exc
    if rewrite.identity is not None:
        apply_identity(ds, rewrite.identity)
    if rewrite.fix_uid_padding:
        strip_uid_padding(ds)
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import UID

    syntax = UID(transfer_syntax)
    if rewrite.old_vrs_only and not syntax.is_implicit_VR:
        disable_new_vrs(ds)
    meta = getattr(ds, "file_meta", None) or FileMetaDataset()
    meta.TransferSyntaxUID = syntax
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta = meta
    handle, name = _mkstemp()
    os.close(handle)
    try:
        ds.save_as(name, enforce_file_format=True)
    except Exception as exc:
        os.unlink(name)
        raise DatasetCodecError(f"cannot write the changed data set of {path}: {exc}") from exc
    return name


_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _mkstemp(prefix: str = "storescu-", suffix: str = ".dcm") -> tuple[int, str]:
    """``tempfile.mkstemp(prefix=..., suffix=...)`` without the module, whose imports (shutil,
    random) cost a one-file storescu 3 ms: a new file, mode 0600, in the first of TMPDIR, TEMP,
    TMP, /tmp, /var/tmp, /usr/tmp and the current directory that takes one."""
    candidates = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    directories = [d for d in candidates if d] + ["/tmp", "/var/tmp", "/usr/tmp", os.getcwd()]
    for directory in directories:
        for _ in range(100):
            path = os.path.abspath(os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}"))
            try:
                return os.open(path, _TEMP_FLAGS, 0o600), path
            except FileExistsError:
                continue
            except OSError:
                break  # not a directory we may write in: the next one
    raise FileNotFoundError("no usable temporary directory")


def needs_normal_form(source: StoreSource) -> bool:
    """Whether DCMTK would send this data set differently from the file's bytes."""
    layout = source.layout
    return layout.undefined_lengths or layout.trailing_padding or bool(source.spaced_uids)


def normal_form_to_temp(source: StoreSource) -> str:
    """The file rewritten as DCMTK sends it (:mod:`normal_form`), in a temporary file."""
    handle, name = _mkstemp()
    try:
        with open(handle, "wb") as out, open(source.path, "rb") as fp:
            size = source.dataset_offset + source.dataset_length
            write_normal_form(fp, out, source.dataset_offset, size, encoding_of(source.transfer_syntax))
    except (OSError, DatasetCodecError, struct.error) as exc:
        os.unlink(name)
        raise DatasetCodecError(f"cannot rewrite {source.path}: {exc}") from exc
    return name


def log_identity(log: logging.Logger, inventor: Inventor, identity: Identity) -> None:
    for line in inventor.log_lines(identity):
        log.info("%s", line)
