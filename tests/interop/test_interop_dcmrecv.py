"""Our dcmrecv against DCMTK 3.6.7's dcmrecv, fed by DCMTK's storescu.

The same files go to both receivers with the same options: the output trees
must be identical (file names and subdirectories), every file must hold the
same data set (element by element, and byte for byte in bit-preserving mode),
and the command-line failures must give the same exit codes.

Corpus: pydicom's bundled files in many transfer syntaxes (explicit/implicit
VR little endian, big endian, deflated, RLE, JPEG baseline/extended/lossless,
JPEG-LS, JPEG 2000) and character sets (Latin-1, UTF-8, GB18030, Arabic,
Japanese and Korean ISO 2022), each sent in its own transfer syntax, plus
generated files: hostile SOP Instance UIDs, Series Dates valid and invalid,
and bare data sets without meta header.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))  # the shared process helpers
from dcmrecv_process import (
    DCMTK_DCMRECV,
    DCMTK_STORESCU,
    OURS,
    dcmrecv,
    dcmtk_env,
    free_port,
    run_storescu,
    tree,
)

from dicomwire.services.storage import inspect_file

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(DCMTK_DCMRECV is None or DCMTK_STORESCU is None, reason="DCMTK is not installed"),
]

DATA = Path(pydicom.data.__file__).parent
STORESCP_CFG = Path("/etc/dcmtk/storescp.cfg")
ACCEPT_ALL = Path(__file__).resolve().parents[2] / "src" / "dicomwire" / "data" / "accept-all.cfg"
SC = "1.2.840.10008.5.1.4.1.1.7"

# storescu option that makes it propose each file's own transfer syntax -> files
PYDICOM_GROUPS: dict[str, list[str]] = {
    "-x=": [
        "test_files/CT_small.dcm",
        "test_files/SC_rgb_small_odd_big_endian.dcm",
        "test_files/rtdose.dcm",
        "test_files/SC_rgb_jpeg_dcmd.dcm",
        "test_files/test-SR.dcm",
        "test_files/reportsi.dcm",
        "test_files/waveform_ecg.dcm",
        "test_files/liver_1frame.dcm",
        "charset_files/chrH32.dcm",
        "charset_files/chrX2.dcm",
        "charset_files/chrArab.dcm",
        "charset_files/chrKoreanMulti.dcm",
    ],
    "-xd": ["test_files/image_dfl.dcm"],
    "-xr": ["test_files/MR_small_RLE.dcm"],
    "-xv": ["test_files/examples_jpeg2k.dcm"],
    "-xw": ["test_files/JPEG2000.dcm"],
    "-xy": ["test_files/SC_rgb_jpeg_dcmtk.dcm", "test_files/examples_ybr_color.dcm"],
    "-xx": ["test_files/JPEG-lossy.dcm"],
    "-xs": ["test_files/SC_rgb_jpeg_gdcm.dcm"],
    "-xu": ["test_files/JPEGLSNearLossless_08.dcm"],
}
HOSTILE_UIDS = ["../../../../tmp/x", 'a/b:c*d?e"f<g>h|i~k%l', "..", ".", "1.2.3.4.8 "]
SERIES_DATES = ["20210304", "2021.03.04", "20210230", "2021x304", "", "20211301", None]


def _generated(directory: Path) -> list[Path]:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    files = []
    cases: list[tuple[str, str | None]] = [(uid, "20200101") for uid in HOSTILE_UIDS]
    cases += [(f"1.2.3.4.{n}", date) for n, date in enumerate(SERIES_DATES)]
    for n, (uid, date) in enumerate(cases):
        ds = Dataset()
        ds.SOPClassUID = SC
        ds.SOPInstanceUID = uid
        ds.PatientName = "Interop^Recv"
        if date is not None:
            ds.SeriesDate = date
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID(SC)
        ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(uid)
        path = directory / f"gen{n}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    for n, (implicit, little) in enumerate([(True, True), (False, True), (False, False)]):
        ds = Dataset()
        ds.SOPClassUID = SC
        ds.SOPInstanceUID = f"1.2.3.9.{n}"
        ds.SeriesDate = "19991231"
        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = implicit, little
        write_dataset(fp, ds)
        path = directory / f"bare{n}.dcm"
        path.write_bytes(fp.getvalue())
        files.append(path)
    return files


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    generated = _generated(tmp_path_factory.mktemp("generated"))
    result = {option: [DATA / name for name in names] for option, names in PYDICOM_GROUPS.items()}
    result["-x="] = [*result["-x="], *generated]
    instances = [inspect_file(p).sop_instance_uid for files in result.values() for p in files]
    assert len(set(instances)) == len(instances), "the corpus must not repeat an instance"
    return result


def _receive(args: list[str], out: Path, groups: dict[str, list[Path]], *, dcmtk: bool) -> None:
    out.mkdir()
    with dcmrecv([*args, "-od", str(out)], dcmtk=dcmtk) as server:
        for option, files in groups.items():
            result = run_storescu(server.port, files, "-R", option)
            assert result.returncode == 0, result.stdout + result.stderr
        code = server.stop()
    if not dcmtk:
        assert code == 0, server.log
    assert not any(name.startswith(".dicomwire-") for name in tree(out))


@pytest.fixture(scope="module")
def profile() -> list[str]:
    return ["-xf", str(ACCEPT_ALL), "Default"]


@pytest.fixture
def both(tmp_path: Path, groups: dict[str, list[Path]], profile: list[str]) -> Iterator[object]:
    def receive(*options: str) -> tuple[Path, Path]:
        theirs, ours = tmp_path / "dcmtk", tmp_path / "ours"
        _receive([*profile, *options], theirs, groups, dcmtk=True)
        _receive([*profile, *options], ours, groups, dcmtk=False)
        return theirs, ours

    yield receive


def _dataset_bytes(path: Path) -> bytes:
    source = inspect_file(path)
    with open(path, "rb") as fp:
        fp.seek(source.dataset_offset)
        return fp.read()


def _assert_same_files(theirs: Path, ours: Path, *, bytewise: bool = False) -> None:
    names = tree(theirs)
    assert names == tree(ours)
    assert names
    for name in names:
        a, b = pydicom.dcmread(theirs / name), pydicom.dcmread(ours / name)
        assert a == b, name
        for keyword in ("TransferSyntaxUID", "MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"):
            assert a.file_meta.get(keyword) == b.file_meta.get(keyword), (name, keyword)
        if bytewise:
            assert _dataset_bytes(theirs / name) == _dataset_bytes(ours / name), name


def test_default_names_and_data_sets(both: object) -> None:
    theirs, ours = both()  # type: ignore[operator]
    _assert_same_files(theirs, ours)
    assert "SC..._.._.._.._tmp_x" in tree(ours)


def test_bit_preserving_is_byte_for_byte(both: object) -> None:
    theirs, ours = both("+B", "-fe", ".dcm")  # type: ignore[operator]
    _assert_same_files(theirs, ours, bytewise=True)


def test_series_date_subdirectories(both: object) -> None:
    theirs, ours = both("+ssd", "-fe", ".dcm")  # type: ignore[operator]
    _assert_same_files(theirs, ours)
    names = tree(ours)
    assert "data/2021/02/30/SC.1.2.3.4.2.dcm" in names
    assert any(re.fullmatch(r"undef/\d{8}/SC\.1\.2\.3\.4\.3\.dcm", name) for name in names)


@pytest.mark.parametrize(
    ("option", "pattern"),
    [
        ("+fu", r"(data/\d{4}/\d\d/\d\d|undef/\d{8})/[A-Za-z]+\.X\.[0-9.]+\.dcm"),
        ("+fsu", r"(data/\d{4}/\d\d/\d\d|undef/\d{8})/[A-Za-z]+_[0-9a-f]{16}\.dcm"),
        ("+fst", r"(data/\d{4}/\d\d/\d\d|undef/\d{8})/\d{14}\.\d{6}\.[A-Za-z]+\.dcm"),
    ],
)
def test_generated_names_have_the_same_shape(both: object, option: str, pattern: str) -> None:
    theirs, ours = both(option, "+ssd", "-fe", ".dcm")  # type: ignore[operator]
    for directory in (theirs, ours):
        names = tree(directory)
        assert names
        assert [name for name in names if not re.fullmatch(pattern, name)] == []
    shape = [re.sub(r"/[^/]*$", "", name) for name in tree(theirs)]
    assert sorted(shape) == sorted(re.sub(r"/[^/]*$", "", name) for name in tree(ours))
    prefixes = sorted(
        re.sub(r"[._][^/]*$|\d{14}\.\d{6}\.", "", name.rsplit("/", 1)[1]) for name in tree(theirs)
    )
    assert prefixes == sorted(
        re.sub(r"[._][^/]*$|\d{14}\.\d{6}\.", "", name.rsplit("/", 1)[1]) for name in tree(ours)
    )


def test_ignore_stores_nothing(both: object) -> None:
    theirs, ours = both("--ignore")  # type: ignore[operator]
    assert tree(theirs) == tree(ours) == []


def _tool(command: list[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=dcmtk_env(),
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["-xf", str(STORESCP_CFG), "Nope"],
        ["-xf", "/nonexistent/storescp.cfg", "Default"],
        ["-xf", str(ACCEPT_ALL), "Nope"],
        ["-od", "/nonexistent/directory"],
        ["+ssd", "+B"],
        ["-pdu", "100"],
        ["--no-such-option"],
    ],
)
def test_exit_codes_match(args: list[str]) -> None:
    port = str(free_port())
    theirs = _tool([str(DCMTK_DCMRECV)], [*args, port])
    ours = _tool(OURS, [*args, port])
    assert ours.returncode == theirs.returncode, (theirs.stderr, ours.stderr)
    assert ours.returncode in (1, 45, 66)
    # the last line (the fatal message or the usage error) is the same
    assert ours.stderr.splitlines()[-1] == theirs.stderr.splitlines()[-1]


def _without_extension(text: str) -> list[str]:
    """Our help minus its one addition (+xa), which DCMTK does not have."""
    return [line for line in text.splitlines() if "--accept-all" not in line]


def test_port_parameter_and_help_match() -> None:
    for args in (["0"], ["70000"], []):
        theirs, ours = _tool([str(DCMTK_DCMRECV)], args), _tool(OURS, args)
        assert ours.returncode == theirs.returncode
        assert _without_extension(ours.stdout)[1:] == theirs.stdout.splitlines()[1:]
        assert ours.stderr.splitlines()[1:] == theirs.stderr.splitlines()[1:]
    theirs, ours = _tool([str(DCMTK_DCMRECV)], ["--help"]), _tool(OURS, ["--help"])
    assert len(ours.stdout.splitlines()) == len(_without_extension(ours.stdout)) + 1
    assert _without_extension(ours.stdout)[1:] == theirs.stdout.splitlines()[1:]


def test_dcmtk_reads_our_accept_all_profile(tmp_path: Path, groups: dict[str, list[Path]]) -> None:
    out = tmp_path / "dcmtk"
    _receive(["-xf", str(ACCEPT_ALL), "Default"], out, {"-x=": groups["-x="][:3]}, dcmtk=True)
    assert len(tree(out)) == 3
