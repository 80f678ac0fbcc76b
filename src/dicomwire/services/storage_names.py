"""Where a received instance is stored: the naming protocol, and a safe default.

A :class:`Naming` maps an instance to a path relative to the output directory;
:func:`is_safe_relative_path` is checked on every name (nothing leaves the
directory).  :class:`UidNaming`, the library's default, names a file
``<modality>.<SOP Instance UID>`` with unsafe characters replaced by ``_``, one per
byte (``../../x`` becomes ``SC..._.._x``), replacing an existing file of that name.
DCMTK dcmrecv's other schemes are :mod:`dicomwire.dcmtk.naming`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Final, Protocol

from dicomwire import uids
from dicomwire._records import record

__all__ = ["InstanceInfo", "Naming", "UidNaming", "is_safe_relative_path", "safe_uid_for_filename"]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9.:@ -]")


@record(frozen=True, slots=True)
class InstanceInfo:
    """What a naming function may use.  The UIDs are the C-STORE-RQ's;
    ``series_date`` is the raw Series Date of the data set (None: unknown)."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str = uids.IMPLICIT_VR_LITTLE_ENDIAN
    calling_ae_title: str = ""
    series_date: str | None = None


class Naming(Protocol):
    """Maps an instance to a relative path (``/``-separated) below the output
    directory.  ``overwrite``: an existing file of that name is replaced
    (False: the function is called again for another name).
    ``needs_series_date``: the function uses ``info.series_date``."""

    @property
    def overwrite(self) -> bool: ...

    @property
    def needs_series_date(self) -> bool: ...

    def __call__(self, info: InstanceInfo) -> str: ...


def safe_uid_for_filename(uid: str) -> str:
    """A UID as DCMTK dcmrecv puts it in a file name (each unsafe byte -> ``_``).

    UIDs from the wire are decoded as Latin-1 (one character per byte), so
    encoding back to Latin-1 gives one ``_`` per received byte, as DCMTK.
    """
    return _UNSAFE.sub("_", uid.encode("latin-1", errors="replace").decode("latin-1"))


@record(frozen=True, slots=True)
class UidNaming:
    """``<modality>.<SOP Instance UID><extension>``; an existing file is replaced."""

    extension: str = ""

    @property
    def overwrite(self) -> bool:
        return True

    @property
    def needs_series_date(self) -> bool:
        return False

    def __call__(self, info: InstanceInfo) -> str:
        prefix = uids.dcmtk_modality_prefix(info.sop_class_uid)
        return f"{prefix}.{safe_uid_for_filename(info.sop_instance_uid)}{self.extension}"


def is_safe_relative_path(relative: str) -> bool:
    """True for a non-empty relative path without ``.``/``..`` parts or NULs."""
    if not relative or "\0" in relative or "\\" in relative:
        return False
    path = PurePosixPath(relative)
    if path.is_absolute():
        return False
    return all(part not in ("", ".", "..") for part in relative.split("/"))
