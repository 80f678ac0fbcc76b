"""DCMTK dcmrecv's file names and subdirectories (``+fd +fu +fsu +fst -fe +ssd``).

Observed from DCMTK 3.6.7 dcmrecv (the reference), for the same input:

* ``+fd`` (default): ``<prefix>.<SOP Instance UID of the C-STORE-RQ>``; an
  existing file is overwritten after the warning
  ``file already exists, overwriting: <path>``.
* ``+fu``: ``<prefix>.X.<new UID>``; ``+fsu``: ``<prefix>_<16 hex digits>``;
  ``+fst``: ``<YYYYMMDDhhmmss>.<microseconds>.<prefix>`` (local time).
* ``-fe EXT`` appends EXT to every name.
* ``+ssd``: ``data/<YYYY>/<MM>/<DD>/`` from the first value of Series Date
  (0008,0021) when it is ``YYYYMMDD`` or ``YYYY.MM.DD`` (trailing blanks
  ignored) with month 1-12 and day 1-31 (no calendar check: ``20210230`` is
  fine); otherwise ``undef/<YYYYMMDD>/`` with today's date.
* The prefix is DCMTK's modality abbreviation of the command's SOP class
  (``UNKNOWN`` for a class it does not know).
* Characters of the UID other than ASCII letters, digits and ``- . : @`` and
  space become ``_``, one per byte: ``../../x`` is stored as ``SC..._.._x``
  inside the output directory.

Unlike DCMTK, the unique schemes never replace an existing file (the name is
drawn again), and ``+fst`` draws again instead of overwriting too.
"""

from __future__ import annotations

import enum
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from dicomwire import uids
from dicomwire.services.storage_names import InstanceInfo, safe_uid_for_filename

__all__ = ["DcmtkNaming", "FileNaming", "series_date_subdirectory"]

_DATE_PLAIN: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_DOTTED: Final = re.compile(r"([0-9]{4})\.([0-9]{2})\.([0-9]{2})")


class FileNaming(enum.StrEnum):
    """dcmrecv's file name schemes (``+fd +fu +fsu +fst``)."""

    DEFAULT = "default"
    UNIQUE = "unique"
    SHORT_UNIQUE = "short-unique"
    SYSTEM_TIME = "system-time"


def series_date_subdirectory(series_date: str | None, today: datetime) -> str:
    """``data/YYYY/MM/DD`` for a valid Series Date, else ``undef/YYYYMMDD`` (today)."""
    if series_date is not None:
        first = series_date.split("\\", 1)[0].rstrip(" \0")
        match = _DATE_PLAIN.fullmatch(first) or _DATE_DOTTED.fullmatch(first)
        if match is not None:
            year, month, day = match.groups()
            if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
                return f"data/{year}/{month}/{day}"
    return f"undef/{today:%Y%m%d}"


def _default(prefix: str, info: InstanceInfo, now: datetime) -> str:
    return f"{prefix}.{safe_uid_for_filename(info.sop_instance_uid)}"


def _unique(prefix: str, info: InstanceInfo, now: datetime) -> str:
    return f"{prefix}.X.2.25.{uuid.uuid4().int}"


def _short_unique(prefix: str, info: InstanceInfo, now: datetime) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _system_time(prefix: str, info: InstanceInfo, now: datetime) -> str:
    return f"{now:%Y%m%d%H%M%S}.{now:%f}.{prefix}"


_SCHEMES: Final[dict[FileNaming, Callable[[str, InstanceInfo, datetime], str]]] = {
    FileNaming.DEFAULT: _default,
    FileNaming.UNIQUE: _unique,
    FileNaming.SHORT_UNIQUE: _short_unique,
    FileNaming.SYSTEM_TIME: _system_time,
}


@dataclass(frozen=True, slots=True)
class DcmtkNaming:
    """DCMTK dcmrecv's naming: ``scheme`` (+fd/+fu/+fsu/+fst), ``extension``
    (-fe) and ``series_date_subdir`` (+ssd)."""

    scheme: FileNaming = FileNaming.DEFAULT
    extension: str = ""
    series_date_subdir: bool = False
    clock: Callable[[], datetime] = field(default=datetime.now, compare=False, repr=False)

    @property
    def overwrite(self) -> bool:
        return self.scheme is FileNaming.DEFAULT

    @property
    def needs_series_date(self) -> bool:
        return self.series_date_subdir

    def __call__(self, info: InstanceInfo) -> str:
        now = self.clock()
        prefix = uids.dcmtk_modality_prefix(info.sop_class_uid)
        name = _SCHEMES[self.scheme](prefix, info, now) + self.extension
        if not self.series_date_subdir:
            return name
        return f"{series_date_subdirectory(info.series_date, now)}/{name}"
