"""storescu's input files: +sd/+r/+sp scanning, checking, -R reading, read modes.

DCMTK 3.6.7 facts: directory entries come in readdir order with each
subdirectory's files where it appears (``+sd +r``); ``+sp`` matches file
names only; a directory without ``+sd``: "W: ignoring directory because option
--scan-directories is not set: DIR"; nothing to send: "F: no input files to
be sent" (exit 1); a missing file: "F: cannot access file: X" (exit 1, before
connecting) or with -nh "W: cannot access file: X, ignoring file"; non-DICOM
files are only noticed with -R ("missing SOP class (or instance) in file: X")
or when sending ("E: Bad DICOM file: X: ...").
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import storescu_helpers
from dicomwire.cli.storescu.inputs import (
    READ_DATASET,
    READ_FILE_ONLY,
    BadFile,
    InputsFailed,
    check_inputs,
    determine_inputs,
    read_source,
    scan_directory,
)

CT = storescu_helpers.TEST_FILES / "CT_small.dcm"


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("test.storescu.inputs")


def _tree(root: Path) -> Path:
    (root / "a_dir" / "deeper").mkdir(parents=True)
    (root / "b_dir").mkdir()
    for name in ("zz.dcm", "aa.dcm", "mm.img", "a_dir/y.dcm", "a_dir/deeper/z.dcm", "b_dir/x.dcm"):
        (root / name).write_bytes(CT.read_bytes())
    return root


def _readdir_walk(directory: str, recurse: bool) -> list[str]:
    out = []
    for entry in os.scandir(directory):
        path = os.path.join(directory, entry.name)
        if entry.is_dir():
            if recurse:
                out += _readdir_walk(path, recurse)
        else:
            out.append(path)
    return out


def test_scan_in_readdir_order_with_subdirectories_inline(tmp_path: Path) -> None:
    root = str(_tree(tmp_path))
    assert list(scan_directory(root, recurse=False, pattern=None)) == _readdir_walk(root, False)
    recursive = list(scan_directory(root, recurse=True, pattern=None))
    assert recursive == _readdir_walk(root, True)
    assert len(recursive) == 6


def test_scan_pattern_matches_file_names_only(tmp_path: Path) -> None:
    root = str(_tree(tmp_path))
    found = list(scan_directory(root, recurse=True, pattern="?.dcm"))
    relative = sorted(os.path.relpath(p, root) for p in found)
    assert relative == ["a_dir/deeper/z.dcm", "a_dir/y.dcm", "b_dir/x.dcm"]
    assert [os.path.basename(p) for p in scan_directory(root, recurse=False, pattern="*.img")] == ["mm.img"]
    assert list(scan_directory(root, recurse=True, pattern="*.DCM")) == []  # case-sensitive, as fnmatch(3)


def test_directory_without_scan_is_ignored_with_a_warning(
    tmp_path: Path, log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    root = _tree(tmp_path)
    with caplog.at_level(logging.WARNING, logger=log.name):
        found = determine_inputs(
            [str(root), "nonexistent.dcm"], scan=False, recurse=False, pattern=None, log=log
        )
    assert found == ["nonexistent.dcm"]  # files are checked later
    assert caplog.messages == [f"ignoring directory because option --scan-directories is not set: {root}"]


def test_named_files_are_not_filtered_by_the_pattern(tmp_path: Path, log: logging.Logger) -> None:
    root = _tree(tmp_path)
    found = determine_inputs([str(root), str(CT)], scan=True, recurse=False, pattern="*.img", log=log)
    assert found == [str(root / "mm.img"), str(CT)]


def test_missing_file_is_fatal_or_ignored(
    tmp_path: Path, log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "nope.dcm")
    with caplog.at_level(logging.WARNING, logger=log.name), pytest.raises(InputsFailed):
        check_inputs([str(CT), missing], required_only=False, halt=True, mode="auto", log=log)
    assert caplog.records[-1].levelno == logging.CRITICAL
    assert caplog.messages[-1] == f"cannot access file: {missing}"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=log.name):
        files = check_inputs([str(CT), missing], required_only=False, halt=False, mode="auto", log=log)
    assert [f.path for f in files] == [str(CT)]
    assert caplog.messages == [f"cannot access file: {missing}, ignoring file"]


def test_non_dicom_file_passes_the_check_unless_required_only(
    tmp_path: Path, log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("hello\n")
    files = check_inputs([str(text)], required_only=False, halt=True, mode="auto", log=log)
    assert [f.path for f in files] == [str(text)] and files[0].source is None
    with caplog.at_level(logging.WARNING, logger=log.name), pytest.raises(InputsFailed):
        check_inputs([str(text)], required_only=True, halt=True, mode="auto", log=log)
    assert caplog.messages[-1] == f"missing SOP class (or instance) in file: {text}"


def test_required_only_reads_the_sop_class(
    tmp_path: Path, log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    import pydicom
    from pydicom.uid import UID

    ds = pydicom.dcmread(CT)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.3.4.5")
    odd = tmp_path / "odd.dcm"
    ds.save_as(odd)
    files = check_inputs([str(CT)], required_only=True, halt=True, mode="auto", log=log)
    assert files[0].source is not None and files[0].source.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    with caplog.at_level(logging.WARNING, logger=log.name):
        files = check_inputs([str(odd), str(CT)], required_only=True, halt=False, mode="auto", log=log)
    assert [f.path for f in files] == [str(CT)]
    assert caplog.messages == [f"unknown storage SOP class in file: {odd}: 1.2.3.4.5, ignoring file"]


def test_read_modes(tmp_path: Path) -> None:
    assert read_source(str(CT)).has_meta
    with pytest.raises(BadFile, match="premature end"):
        read_source(str(CT), READ_DATASET)  # -f: the meta header is not a data set
    import pydicom
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    ds = pydicom.dcmread(CT)
    del ds.file_meta
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(buffer.getvalue())
    assert not read_source(str(bare)).has_meta
    with pytest.raises(BadFile, match="File meta information header missing"):
        read_source(str(bare), READ_FILE_ONLY)
    with pytest.raises(BadFile, match="No such file"):
        read_source(str(tmp_path / "gone.dcm"))
    assert BadFile("No such file or directory").condition == "0001:0012 No such file or directory"
