"""storescu's input files: finding them (``+sd +r +sp``), checking them, reading them.

As DCMTK 3.6.7's storescu does it:

* Determining: a parameter that is a directory is scanned with ``+sd``
  (recursively with ``+r``, file names matched against ``+sp``), ignored with a
  warning without it; anything else is taken as a file name.  Directory
  entries come in the order the file system lists them (``readdir``), each
  subdirectory's files where the subdirectory appears.  Nothing left: "no input
  files to be sent".
* Checking: a file that cannot be read is fatal ("cannot access file: X"), or
  ignored with a warning with ``-nh``.  With ``-R`` each file is read now for
  its SOP class, which must be a storage SOP class.
* Reading (``+f`` file or data set, ``+fo`` file only, ``-f`` data set only).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase

from dicomwire import uids
from dicomwire._records import record
from dicomwire.errors import DatasetCodecError
from dicomwire.services.file_meta import read_file_meta
from dicomwire.services.storage import StoreSource, TruncatedDataset, inspect_file

READ_AUTO = "auto"  # +f
READ_FILE_ONLY = "file"  # +fo
READ_DATASET = "dataset"  # -f

# What DCMTK says when it cannot parse a file.
PREMATURE_END = "I/O suspension or premature end of stream"
NO_META = "File meta information header missing"
END_OF_STREAM = "End of stream"


_CONDITION_CODES = {
    "No such file or directory": "0001:0012",
    PREMATURE_END: "0001:000a",
    NO_META: "0001:001c",
    END_OF_STREAM: "0001:0005",
}


class BadFile(Exception):
    """A file that cannot be sent; ``str()`` is the reason DCMTK would print,
    ``detail`` what exactly was wrong (when we know more than DCMTK says)."""

    detail: str = ""
    element_line: str = ""  # DCMTK's "DcmElement: ... larger (n) than remaining bytes" line

    @property
    def condition(self) -> str:
        """The reason with DCMTK's condition code, where we know it."""
        reason = str(self)
        code = _CONDITION_CODES.get(reason)
        return f"{code} {reason}" if code else reason


class MissingUids(BadFile):
    """A readable data set without SOP Class or SOP Instance UID."""


_UID_TAGS = ("(0008,0016)", "(0008,0018)")


def _without_name(reason: str, path: str) -> str:
    """The library's message without the file name DCMTK prints anyway."""
    for prefix in (f"{path}: ", f"cannot read {path}: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


class InputsFailed(Exception):
    """Checking the inputs failed fatally (the message was logged)."""


@record
class InputFile:
    """One file to send; ``source`` is known early with ``-R``."""

    path: str
    source: StoreSource | None = None


def scan_directory(directory: str, *, recurse: bool, pattern: str | None) -> Iterator[str]:
    """The files of a directory in file-system order, subdirectories inline."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        path = os.path.join(directory, entry.name)
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if recurse:
                yield from scan_directory(path, recurse=recurse, pattern=pattern)
        elif pattern is None or fnmatchcase(entry.name, pattern):
            yield path


def determine_inputs(
    params: Sequence[str],
    *,
    scan: bool,
    recurse: bool,
    pattern: str | None,
    log: logging.Logger,
) -> list[str]:
    """The file names to send, in order (may be empty)."""
    found: list[str] = []
    for param in params:
        if os.path.isdir(param):
            if scan:
                found.extend(scan_directory(param, recurse=recurse, pattern=pattern))
            else:
                log.warning("ignoring directory because option --scan-directories is not set: %s", param)
        else:
            found.append(param)
    return found


def read_source(path: str, mode: str = READ_AUTO) -> StoreSource:
    """What the storage library needs to send ``path``; raises BadFile."""
    if not os.path.exists(path):
        raise BadFile("No such file or directory")
    if os.path.getsize(path) == 0:
        raise BadFile(END_OF_STREAM)
    try:
        source = inspect_file(path)
    except TruncatedDataset as exc:
        raise _truncated(path, exc, mode) from None
    except DatasetCodecError as exc:
        raise _bad_file(_without_name(str(exc), path), mode) from None
    except OSError as exc:
        raise BadFile(exc.strerror or str(exc)) from None
    if mode == READ_FILE_ONLY and not source.has_meta:
        raise BadFile(NO_META)
    if mode == READ_DATASET and source.has_meta:
        # DCMTK reads the preamble and meta header as data set elements and fails.
        raise BadFile(PREMATURE_END)
    return source


def _truncated(path: str, exc: TruncatedDataset, mode: str) -> BadFile:
    """DCMTK's words for a file cut short: the element that does not fit, premature end."""
    if mode == READ_FILE_ONLY and not _has_meta(path):
        return BadFile(NO_META)
    error = BadFile(PREMATURE_END)
    error.detail = str(exc)
    if exc.tag is not None:
        error.element_line = (
            f"DcmElement: {element_name(exc.tag)} ({exc.tag >> 16:04x},{exc.tag & 0xFFFF:04x}) "
            f"larger ({exc.claimed}) than remaining bytes in file"
        )
    return error


def _has_meta(path: str) -> bool:
    try:
        with open(path, "rb") as fp:
            return read_file_meta(fp).present
    except (OSError, DatasetCodecError):
        return False


def element_name(tag: int) -> str:
    """The name DCMTK's dictionary gives a tag (its names are the standard's keywords)."""
    group, element = tag >> 16, tag & 0xFFFF
    if group % 2:  # a private tag is known to DCMTK only as a creator
        return "PrivateCreator" if 0x10 <= element <= 0xFF else "Unknown Tag & Data"
    if element == 0:
        return "GenericGroupLength"
    from pydicom.datadict import keyword_for_tag  # only for this error message

    return keyword_for_tag(tag) or "Unknown Tag & Data"


def _bad_file(reason: str, mode: str) -> BadFile:
    """DCMTK's reason for a file the library could not read; ours is kept as ``detail``."""
    if any(tag in reason for tag in _UID_TAGS):
        return MissingUids(reason)
    if mode == READ_FILE_ONLY and "no meta header" in reason:
        error = BadFile(NO_META)
    elif not reason or reason.startswith("not a DICOM file"):
        error = BadFile(PREMATURE_END)  # what DCMTK says when a parse runs off the end
    else:
        error = BadFile(reason)
    error.detail = reason
    return error


def is_known_storage_class(sop_class: str) -> bool:
    """One of DCMTK 3.6.7's storage SOP classes (newer ones are "unknown" to it, as to ``-R``)."""
    return sop_class in _DCMTK_STORAGE


_DCMTK_STORAGE = frozenset(uids.DCMTK_ALL_STORAGE)


def _accessible(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def check_inputs(
    paths: Sequence[str],
    *,
    required_only: bool,
    halt: bool,
    mode: str,
    log: logging.Logger,
) -> list[InputFile]:
    """The files that will be sent; raises InputsFailed after logging a fatal error."""
    checked: list[InputFile] = []
    for path in paths:
        problem: str | None = None
        source: StoreSource | None = None
        if not _accessible(path):
            problem = f"cannot access file: {path}"
        elif required_only:
            source, problem = _sop_class_problem(path, mode, log)
        if problem is None:
            checked.append(InputFile(path, source))
        elif halt:
            log.fatal("%s", problem)
            raise InputsFailed(problem)
        else:
            log.warning("%s, ignoring file", problem)
    return checked


def _sop_class_problem(path: str, mode: str, log: logging.Logger) -> tuple[StoreSource | None, str | None]:
    try:
        source = read_source(path, mode)
    except BadFile as exc:
        if exc.element_line:
            log.error("%s", exc.element_line)
        return None, f"missing SOP class (or instance) in file: {path}"
    warn_spaced_uids(source, log)
    if not source.sop_class_uid or not source.sop_instance_uid:
        return None, f"missing SOP class (or instance) in file: {path}"
    if not is_known_storage_class(source.sop_class_uid):
        return None, f"unknown storage SOP class in file: {path}: {source.sop_class_uid}"
    return source, None


_UID_NAMES = {0x00080016: "SOPClassUID (0008,0016)", 0x00080018: "SOPInstanceUID (0008,0018)"}


def warn_spaced_uids(source: StoreSource, log: logging.Logger) -> None:
    """DCMTK's warning when it reads a UID with spaces in it (it removes them)."""
    for tag in source.spaced_uids:
        log.warning(
            "DcmUniqueIdentifier: Element %s contains one or more space characters, which were removed",
            _UID_NAMES[tag],
        )
