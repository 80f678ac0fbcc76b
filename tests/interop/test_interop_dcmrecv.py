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

from dcmtk_help import interface
from dicomwire.cli.dcmrecv import build_parser
from dicomwire.services.storage import inspect_file

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(DCMTK_DCMRECV is None or DCMTK_STORESCU is None, reason="DCMTK is not installed"),
]

DATA = Path(pydicom.data.__file__).parent
STORESCP_CFG = Path("/etc/dcmtk/storescp.cfg")
ACCEPT_ALL = Path(__file__).resolve().parents[2] / "src" / "dicomwire" / "data" / "accept-all.cfg"
SC = "1.2.840.10008.5.1.4.1.1.7"
DEFLATED = "1.2.840.10008.1.2.1.99"

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


def _assert_same_files(
    theirs: Path, ours: Path, *, bytewise: bool = False, bit_preserving: bool = False
) -> None:
    names = tree(theirs)
    assert names == tree(ours)
    assert names
    for name in names:
        a, b = pydicom.dcmread(theirs / name), pydicom.dcmread(ours / name)
        assert a == b, name
        for keyword in ("TransferSyntaxUID", "MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"):
            assert a.file_meta.get(keyword) == b.file_meta.get(keyword), (name, keyword)
        # DCMTK re-deflates a deflated data set (with its own zlib settings); ours is kept as sent
        deflated = a.file_meta.TransferSyntaxUID == DEFLATED
        if bytewise and not (deflated and not bit_preserving):
            assert _dataset_bytes(theirs / name) == _dataset_bytes(ours / name), name


def test_default_names_and_data_sets(both: object) -> None:
    theirs, ours = both()  # type: ignore[operator]
    _assert_same_files(theirs, ours, bytewise=True)  # DCMTK's normal form, byte for byte
    assert "SC..._.._.._.._tmp_x" in tree(ours)
    for name in tree(ours):  # no (0002,0016) in normal mode
        assert "SourceApplicationEntityTitle" not in pydicom.dcmread(theirs / name).file_meta
        assert "SourceApplicationEntityTitle" not in pydicom.dcmread(ours / name).file_meta


def test_bit_preserving_is_byte_for_byte(both: object) -> None:
    theirs, ours = both("+B", "-fe", ".dcm")  # type: ignore[operator]
    _assert_same_files(theirs, ours, bytewise=True, bit_preserving=True)


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
    # DCMTK's E: and F: lines, or its usage error (its last line), are ours too: our detail
    # follows as a second F: line
    lines = ours.stderr.splitlines()
    dcmtk = [line for line in theirs.stderr.splitlines() if line[:2] in ("E:", "F:")]
    assert [line for line in lines if line in dcmtk] == dcmtk
    if not dcmtk:
        assert lines[-1] == theirs.stderr.splitlines()[-1]


def _without_extension(text: str) -> list[str]:
    """Our help minus its one addition (+xa), which DCMTK does not have."""
    return [line for line in text.splitlines() if "--accept-all" not in line]


def _without_description(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("dcmrecv: ")]


def test_port_parameter_and_help_match() -> None:
    for args in (["0"], ["70000"]):
        theirs, ours = _tool([str(DCMTK_DCMRECV)], args), _tool(OURS, args)
        assert ours.returncode == theirs.returncode
        assert _without_extension(ours.stdout)[1:] == theirs.stdout.splitlines()[1:]
        # the header's description line ("dcmrecv: ...") is prose, in our own words
        assert _without_description(ours.stderr)[1:] == _without_description(theirs.stderr)[1:]
    # the help (also printed without arguments): DCMTK's interface, our own descriptions
    for args in ([], ["--help"]):
        theirs, ours = _tool([str(DCMTK_DCMRECV)], args), _tool(OURS, args)
        assert ours.returncode == theirs.returncode
        parser = build_parser()
        extension = ("--accept-all", "--users", "--users-optional")
        assert interface(ours.stdout, parser, extensions=extension) == interface(theirs.stdout, parser)


def test_dcmtk_reads_our_accept_all_profile(tmp_path: Path, groups: dict[str, list[Path]]) -> None:
    out = tmp_path / "dcmtk"
    _receive(["-xf", str(ACCEPT_ALL), "Default"], out, {"-x=": groups["-x="][:3]}, dcmtk=True)
    assert len(tree(out)) == 3


# -- data sets DCMTK's storescu would not send as they are: our raw sender to both ------------
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from raw_elements import Encoder  # noqa: E402
from raw_elements import uid as raw_uid  # noqa: E402


def _raw_cases() -> dict[str, tuple[str, bytes]]:
    e, i = Encoder(), Encoder(explicit=False)
    ref = e.element(0x00081150, b"UI", raw_uid("1.2.840.10008.3.1.2.3.1"))
    nested = e.element(0x00080000, b"UL", e.ul(7)) + ref  # a wrong group length, nested
    group8 = e.element(0x00080016, b"UI", raw_uid(SC)) + e.element(0x00080018, b"UI", raw_uid("1.2.3.200.1"))
    group8 += e.sequence(0x00081110, e.item(nested), e.item(b""))
    grouped = e.element(0x00080000, b"UL", e.ul(len(group8))) + group8
    # odd lengths (two: DCMTK refuses a data set fragment of odd length)
    grouped += e.element(0x00100010, b"PN", b"Odd") + e.element(0x00100020, b"LO", b"X")
    item = i.item(i.element(0x00081150, b"", raw_uid("1.2.3.4")))
    implicit = i.element(0x00080016, b"", raw_uid(SC)) + i.element(0x00080018, b"", raw_uid("1.2.3.200.2"))
    implicit += i.sequence(0x00081110, item) + i.element(0x00090010, b"", b"ACME")
    implicit += i.element(0x00091001, b"", item)  # private, explicit length: a value to DCMTK
    implicit += i.element(0x00091002, b"", item + i._tag(0xFFFEE0DD, 0), 0xFFFFFFFF)  # a sequence
    implicit += i.element(0x00100010, b"", b"Odd") + i.element(0x00100020, b"", b"X")
    return {
        "1.2.3.200.1": ("1.2.840.10008.1.2.1", grouped),
        "1.2.3.200.2": ("1.2.840.10008.1.2", implicit),
    }


async def _send_raw(port: int, instance: str, syntax: str, data: bytes) -> object:
    from dicomwire.config import RequestorSettings, Timeouts
    from dicomwire.dimse.messages import CStoreRQ
    from dicomwire.errors import AssociationAborted
    from dicomwire.net.client import associate

    settings = RequestorSettings(called_ae="DCMRECV", contexts=[(SC, [syntax])], timeouts=Timeouts(dimse=10))
    async with associate("127.0.0.1", port, settings) as assoc:
        request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid=instance)
        await assoc.send(assoc.context_for(SC).context_id, request, data)
        try:
            return (await assoc.receive()).message.status  # type: ignore[union-attr]
        except AssociationAborted:
            return "aborted"


def _raw_receive(
    tmp_path: Path, cases: dict[str, tuple[str, bytes]], *, dcmtk: bool
) -> tuple[Path, str, list[object]]:
    import asyncio

    out = tmp_path / ("dcmtk" if dcmtk else "ours")
    out.mkdir()
    with dcmrecv(["-xf", str(ACCEPT_ALL), "Default", "-od", str(out)], dcmtk=dcmtk) as server:
        outcomes = [asyncio.run(_send_raw(server.port, instance, *case)) for instance, case in cases.items()]
        server.stop()
    return out, server.log, outcomes


def test_normal_form_of_group_lengths_odd_lengths_and_implicit_sequences(tmp_path: Path) -> None:
    cases = _raw_cases()
    theirs, _, their_outcomes = _raw_receive(tmp_path, cases, dcmtk=True)
    ours, _, our_outcomes = _raw_receive(tmp_path, cases, dcmtk=False)
    assert their_outcomes == our_outcomes == [0, 0]
    assert tree(theirs) == tree(ours) == [f"SC.{instance}" for instance in cases]
    for name in tree(ours):
        assert _dataset_bytes(theirs / name) == _dataset_bytes(ours / name), name


def test_cut_data_set_is_stored_by_neither(tmp_path: Path) -> None:
    e = Encoder()
    whole = e.element(0x00080016, b"UI", raw_uid(SC)) + e.element(0x00080018, b"UI", raw_uid("1.2.3.201"))
    whole += e.element(0x00280100, b"US", b"\x08\x00") + e.element(0x7FE00010, b"OB", b"\x01" * 1000)
    cases = {"1.2.3.201": ("1.2.840.10008.1.2.1", whole[:-400])}
    theirs, their_log, their_outcomes = _raw_receive(tmp_path, cases, dcmtk=True)
    ours, our_log, our_outcomes = _raw_receive(tmp_path, cases, dcmtk=False)
    assert their_outcomes == our_outcomes == ["aborted"]
    assert tree(theirs) == tree(ours) == []
    line = (
        "E: DcmElement: PixelData (7fe0,0010) larger (1000) than remaining bytes (600) in file,"
        " premature end of stream"
    )
    assert line in their_log.splitlines()
    assert line in our_log.splitlines()


def _silent_connection(port: int) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert sock.recv(100) == b""  # closed by the server


@pytest.mark.parametrize("dcmtk", [True, False], ids=["dcmtk", "ours"])
def test_acse_timeout_and_peer_abort_lines(dcmtk: bool) -> None:
    import asyncio

    from dicomwire.config import RequestorSettings
    from dicomwire.net.client import associate

    async def abort(port: int) -> None:
        settings = RequestorSettings(
            called_ae="DCMRECV", contexts=[("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])]
        )
        async with associate("127.0.0.1", port, settings) as assoc:
            assoc.abort()
            await assoc.wait_closed(5)

    verbose = ["-v"] if dcmtk else []  # ours runs with -d
    with dcmrecv([*verbose, "-ta", "1"], dcmtk=dcmtk) as server:
        _silent_connection(server.port)
        asyncio.run(abort(server.port))
        server.stop()
    lines = server.log.splitlines()
    assert "E: Could not receive association request: DUL network read timeout" in lines
    assert "I: Received Association Abort Request" in lines
