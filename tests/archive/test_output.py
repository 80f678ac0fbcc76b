"""archive.output: a received data set written as dcmqrscp's output options ask.

The interop tests give dcmconv (whose output options are dcmqrscp's, same code)
and :func:`rewrite` the same file and compare what ``dcmdump`` shows, and the
bytes; one stores into a real dcmqrscp (normal, -u, +B).  The others check the rules with
data sets built byte by byte.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as PydicomSequence
from pydicom.tag import Tag
from pydicom.uid import UID

from dicomwire import uids
from dicomwire.archive.options import StoredFormat
from dicomwire.archive.output import MetaFields, needs_rewrite, output_syntax, render, rewrite
from dicomwire.errors import DatasetCodecError
from dicomwire.services.codec import deflate
from dicomwire.services.file_meta import encode_file_meta, read_file_meta
from ports import free_port

IMPLICIT = uids.IMPLICIT_VR_LITTLE_ENDIAN
EXPLICIT = uids.EXPLICIT_VR_LITTLE_ENDIAN
BIG = uids.EXPLICIT_VR_BIG_ENDIAN
DEFLATED = uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
RLE = uids.RLE_LOSSLESS
SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
INSTANCE = "1.2.3.4.56"
# dcmconv's meta header, so that ours has the same length (and +p the same padding)
DCMTK_META = {
    "implementation_class_uid": "1.2.276.0.7230010.3.0.3.6.7",
    "implementation_version_name": "OFFIS_DCMTK_367",
}
DCMCONV = shutil.which("dcmconv")
DCMDUMP = shutil.which("dcmdump")
DCMQRSCP = shutil.which("dcmqrscp")
TIMEOUT = 30
needs_dcmtk = pytest.mark.skipif(DCMCONV is None or DCMDUMP is None, reason="needs dcmconv and dcmdump")


# -- data sets byte by byte ---------------------------------------------------------------------------

_LONG = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])


@dataclass
class El:
    tag: int
    vr: str
    value: bytes


@dataclass
class Item:
    elements: list[El | Seq]
    undefined: bool = False


@dataclass
class Seq:
    tag: int
    items: list[Item] = field(default_factory=list)
    undefined: bool = False
    vr: str = "SQ"


def encode(elements: Sequence[El | Seq], *, implicit: bool = False, little: bool = True) -> bytes:
    """A data set exactly as described: lengths, group lengths and padding as given."""
    order = "<" if little else ">"
    out = b""
    for element in elements:
        value, length = _value(element, implicit, little)
        group, number = element.tag >> 16, element.tag & 0xFFFF
        if implicit:
            out += struct.pack(order + "HHI", group, number, length)
        elif element.vr in _LONG:
            out += struct.pack(order + "HH2s2xI", group, number, element.vr.encode(), length)
        else:
            out += struct.pack(order + "HH2sH", group, number, element.vr.encode(), length)
        out += value
    return out


def _value(element: El | Seq, implicit: bool, little: bool) -> tuple[bytes, int]:
    if isinstance(element, El):
        return element.value, len(element.value)
    order = "<" if little else ">"
    body = b""
    for item in element.items:
        content = encode(item.elements, implicit=implicit, little=little)
        if item.undefined:
            body += struct.pack(order + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + content
            body += struct.pack(order + "HHI", 0xFFFE, 0xE00D, 0)
        else:
            body += struct.pack(order + "HHI", 0xFFFE, 0xE000, len(content)) + content
    if element.undefined:
        return body + struct.pack(order + "HHI", 0xFFFE, 0xE0DD, 0), 0xFFFFFFFF
    return body, len(body)


def ul(tag: int, value: int, little: bool = True) -> El:
    return El(tag, "UL", struct.pack("<I" if little else ">I", value))


def us(tag: int, value: int, little: bool = True) -> El:
    return El(tag, "US", struct.pack("<H" if little else ">H", value))


def header_elements() -> list[El | Seq]:
    return [El(0x00080016, "UI", SC.encode() + b"\0"), El(0x00080018, "UI", INSTANCE.encode())]


def structure(*, little: bool = True, undefined: bool = True, group_lengths: bool = True) -> list[El | Seq]:
    """Sequences of both lengths (nested, empty), group lengths with wrong values, odd
    values of several VRs, a UT with trailing spaces, padding in the data set and an item."""
    first = Item([El(0x00080100, "SH", b"123"), El(0x00080102, "SH", b"DCM ")], undefined=undefined)
    nested = Seq(0x00400441, [Item([El(0x0040A160, "UT", b"hello")])], undefined=undefined)
    second = Item([nested, El(0xFFFCFFFC, "OB", bytes(6))])
    if group_lengths:
        first.elements.insert(0, ul(0x00080000, 99, little))
    elements: list[El | Seq] = [
        *header_elements(),
        El(0x00080020, "DA", b"20240101"),
        El(0x00081030, "LO", b"abc"),
        Seq(0x00081032, [first, second], undefined=undefined),
        Seq(0x00081110, [], undefined=undefined),
        Seq(0x00081115, [Item([])], undefined=undefined),
        El(0x00100010, "PN", b"Doe^John"),
        El(0x00100020, "LO", b"P1  "),
        El(0x00189459, "FL", b"\x01\x02\x03\x04\x05"),  # odd: padded, then swapped word by word
        El(0x0020000D, "UI", b"1.2.3"),
        El(0x00290010, "LO", b"ACME"),
        El(0x00291010, "UN", b"\x01\x02\x03"),
        El(0x0040A160, "UT", b"text with spaces  "),
        El(0x00291011, "OB", b"\x04\x05\x06"),
        El(0x60003000, "OW", b"\x01\x02\x03"),  # odd, and an OW keeps it; six: an even data set, as +B needs
        El(0x7FE00010, "OW", b"\x01\x02\x03\x04\x05\x06"),
        El(0xFFFCFFFC, "OB", bytes(10)),
    ]
    if group_lengths:
        elements += [ul(0x00080000, 1234, little), ul(0x00100000, 0, little)]
    return sorted(elements, key=lambda element: element.tag)


def un_sequence() -> bytes:
    """An explicit VR data set with a UN element of undefined length holding implicit items."""
    inner = encode([El(0x00080100, "SH", b"123 ")], implicit=True)
    items = struct.pack("<HHI", 0xFFFE, 0xE000, len(inner)) + inner + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    head = struct.pack("<HH2s2xI", 0x0029, 0x1020, b"UN", 0xFFFFFFFF)
    return encode([*header_elements(), El(0x00290010, "LO", b"ACME")]) + head + items


# -- data sets with pydicom ---------------------------------------------------------------------------


def image() -> Dataset:
    """A small CT image with binary values of most VRs and the ambiguous ones."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = uids.CT_IMAGE_STORAGE
    ds.SOPInstanceUID = "1.2.3.4.5.7"
    ds.PatientName = "Müller^Hans"
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.FrameIncrementPointer = Tag(0x00181063)
    ds.add_new(0x00186020, "SL", -7)
    ds.add_new(0x00189306, "FD", [1.5, 2.5])
    ds.add_new(0x00189459, "FL", 0.5)
    ds.add_new(0x00189810, "US", 7)  # US or SS, before Pixel Representation: US
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 2, 3
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 1
    ds.add_new(0x00280106, "SS", -5)  # US or SS, after Pixel Representation 1: SS
    ds.add_new(0x00280107, "SS", 300)
    ds.add_new(0x00290010, "LO", "ACME")
    ds.add_new(0x00291010, "OB", b"\x00\x01\x02")
    ds.add_new(0x00291011, "UN", b"\x05\x06")
    mapping = Dataset()
    mapping.add_new(0x00409211, "US", 4095)
    mapping.add_new(0x00409216, "US", 1)
    mapping.add_new(0x00409225, "FD", 1.0)
    ds.add_new(0x00409096, "SQ", PydicomSequence([mapping]))
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "113691", "DCM"
    ds.ProcedureCodeSequence = PydicomSequence([code, Dataset()])
    ds.add_new(0x0040A160, "UT", "text ")
    ds.add_new(0x60000010, "US", 2)
    ds.add_new(0x60000011, "US", 3)
    ds.add_new(0x60003000, "OW", b"\x01\x02\x03\x04")
    ds.PixelData = struct.pack("<6h", 1, -2, 3, 300, -5, 6)
    return ds


def save(ds: Dataset, path: Path, syntax: str, *, undefined: bool = True) -> Path:
    for element in ds.iterall():
        if element.VR == "SQ":
            element.is_undefined_length = undefined
            for item in element.value:
                item.is_undefined_length_sequence_item = undefined
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.save_as(path, enforce_file_format=True)
    return path


def compressed_image() -> Dataset:
    ds = image()
    ds.PixelData = encapsulate([b"\x01\x02\x03\x04\x05\x06", b"\x07\x08"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def write_file(path: Path, dataset: bytes, syntax: str, sop_class: str = SC) -> Path:
    path.write_bytes(encode_file_meta(sop_class, INSTANCE, syntax, **DCMTK_META) + dataset)
    return path


def dataset_of(path: Path) -> bytes:
    with open(path, "rb") as fp:
        meta = read_file_meta(fp)
        fp.seek(meta.dataset_offset)
        return fp.read()


# -- inputs and the option combinations compared with dcmconv -----------------------------------------

INPUTS: dict[str, tuple[str, str]] = {
    # name: (how it is made, transfer syntax)
    "structure, explicit little": ("structure-el", EXPLICIT),
    "structure, defined lengths, no group lengths": ("structure-el-defined", EXPLICIT),
    "structure, implicit": ("structure-il", IMPLICIT),
    "structure, big endian": ("structure-eb", BIG),
    "UN of undefined length": ("un-sequence", EXPLICIT),
    "image, explicit little": ("image-el", EXPLICIT),
    "image, implicit": ("image-il", IMPLICIT),
    "image, big endian": ("image-eb", BIG),
    "image, deflated": ("image-df", DEFLATED),
    "image, RLE (encapsulated)": ("image-rle", RLE),
}


def make_input(kind: str, directory: Path) -> Path:
    path = directory / f"{kind}.dcm"
    makers = {
        "structure-el": lambda: write_file(path, encode(structure()), EXPLICIT),
        "structure-el-defined": lambda: write_file(
            path, encode(structure(undefined=False, group_lengths=False)), EXPLICIT
        ),
        "structure-il": lambda: write_file(path, encode(structure(), implicit=True), IMPLICIT),
        "structure-eb": lambda: write_file(path, encode(structure(little=False), little=False), BIG),
        "un-sequence": lambda: write_file(path, un_sequence(), EXPLICIT),
        "image-el": lambda: save(image(), path, EXPLICIT),
        "image-il": lambda: save(image(), path, IMPLICIT),
        "image-eb": lambda: save(image(), path, BIG, undefined=False),
        "image-df": lambda: save(image(), path, DEFLATED),
        "image-rle": lambda: save(compressed_image(), path, RLE),
    }
    return makers[kind]()


OPTIONS: dict[str, tuple[list[str], StoredFormat]] = {
    "defaults": (["-p"], StoredFormat()),
    "+te": (["-p", "+te"], StoredFormat(transfer_syntax=EXPLICIT)),
    "+tb": (["-p", "+tb"], StoredFormat(transfer_syntax=BIG)),
    "+ti": (["-p", "+ti"], StoredFormat(transfer_syntax=IMPLICIT)),
    "+td": (["-p", "+td"], StoredFormat(transfer_syntax=DEFLATED)),
    "+td +cl 9": (["-p", "+td", "+cl", "9"], StoredFormat(transfer_syntax=DEFLATED, compression_level=9)),
    "-e +g": (["-p", "-e", "+g"], StoredFormat(explicit_lengths=False, group_length="create")),
    "-g -u": (["-p", "-g", "-u"], StoredFormat(group_length="remove", new_vrs=False)),
    "+tb -u -e": (
        ["-p", "+tb", "-u", "-e"],
        StoredFormat(transfer_syntax=BIG, new_vrs=False, explicit_lengths=False),
    ),
    "+p 64 16": (["+p", "64", "16"], StoredFormat(padding=(64, 16))),
    "+p 32 8 +g +ti -e": (
        ["+p", "32", "8", "+g", "+ti", "-e"],
        StoredFormat(
            padding=(32, 8), group_length="create", transfer_syntax=IMPLICIT, explicit_lengths=False
        ),
    ),
    "-F": (["-F", "-p"], StoredFormat(write_file=False)),
    "-F +tb": (["-F", "-p", "+tb"], StoredFormat(write_file=False, transfer_syntax=BIG)),
}
_CONVERTING = {"+te", "+tb", "+ti", "+td", "+td +cl 9", "+tb -u -e", "+p 32 8 +g +ti -e", "-F +tb"}
_IGNORED_META = ("(0002,0012)", "(0002,0013)", "(0002,0016)")


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, errors="replace", timeout=TIMEOUT
    )


def dump(path: Path) -> list[str]:
    shown = run(DCMDUMP or "dcmdump", "+L", path)
    assert shown.returncode == 0, shown.stderr
    return [line for line in shown.stdout.splitlines() if not line.startswith(_IGNORED_META)]


def inflated(data: bytes) -> bytes:
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("inputs")
    return {name: make_input(kind, directory) for name, (kind, _) in INPUTS.items()}


@pytest.mark.interop
@needs_dcmtk
@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("name", list(INPUTS))
def test_like_dcmconv(name: str, option: str, inputs: dict[str, Path], tmp_path: Path) -> None:
    source, syntax = inputs[name], INPUTS[name][1]
    arguments, fmt = OPTIONS[option]
    if syntax == RLE and option in _CONVERTING:
        pytest.skip("dcmconv cannot convert compressed data sets (tested without it below)")
    theirs, ours = tmp_path / "dcmconv.dcm", tmp_path / "ours.dcm"
    converted = run(DCMCONV or "dcmconv", *arguments, source, theirs)
    assert converted.returncode == 0, converted.stderr
    with open(source, "rb") as fp:
        meta = dataclasses.replace(MetaFields.of(read_file_meta(fp)), **DCMTK_META)
    written = rewrite(source, ours, fmt, received_syntax=syntax, meta=meta)

    assert written == output_syntax(fmt, syntax)
    if written == DEFLATED:  # the same deflate stream; ours is padded to even length (PS3.5 A.5)
        assert inflated(dataset_of(ours)) == inflated(dataset_of(theirs))
    else:
        assert ours.read_bytes() == theirs.read_bytes()
    if fmt.write_file or written != DEFLATED:  # dcmdump cannot read a bare deflated data set
        assert dump(ours) == dump(theirs)


# -- a real dcmqrscp ----------------------------------------------------------------------------------


Storer = Callable[[Path, list[str]], Path]


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "dcmqrscp exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("dcmqrscp did not start listening")


@pytest.fixture
def stored_by_dcmqrscp(tmp_path: Path) -> Iterator[Storer]:
    """Store a file (sent unchanged by dicomwire's storescu) into dcmqrscp run with options."""
    started: list[subprocess.Popen[bytes]] = []

    def store(source: Path, options: list[str]) -> Path:
        area = tmp_path / f"area{len(started)}"
        area.mkdir()
        port = free_port()
        config = tmp_path / f"dcmqrscp{len(started)}.cfg"
        config.write_text(
            f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 4\n"
            "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
            f"AETable BEGIN\nARCHIVE {area} RW (10, 10mb) ANY\nAETable END\n"
        )
        proc = subprocess.Popen(
            [DCMQRSCP or "dcmqrscp", *options, "-c", str(config), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        _wait_for(port, proc)
        # the library's store() sends the file's bytes unchanged (storescu sends DCMTK's form)
        sent = run(sys.executable, "-c", _SEND_AS_IS, str(port), source)
        assert sent.returncode == 0, sent.stderr
        (stored,) = area.glob("*.dcm")
        return stored

    yield store
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_SEND_AS_IS = """
import asyncio, sys
import dicomwire
from dicomwire import uids

async def main(port, path):
    source = dicomwire.inspect_file(path)
    contexts = [(source.sop_class_uid, [source.transfer_syntax])]
    async with dicomwire.associate("127.0.0.1", port, called_ae="ARCHIVE", contexts=contexts) as assoc:
        sys.exit(0 if (await dicomwire.store(assoc, source)).status == 0 else 1)

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


@pytest.mark.interop
@pytest.mark.skipif(DCMQRSCP is None, reason="needs dcmqrscp")
@pytest.mark.parametrize(
    ("options", "fmt"),
    [
        ([], StoredFormat()),
        (["-u"], StoredFormat(new_vrs=False)),
        (["+B"], StoredFormat(bit_preserving=True)),
    ],
    ids=["normal mode", "normal mode -u", "bit-preserving"],
)
def test_like_dcmqrscp(
    options: list[str],
    fmt: StoredFormat,
    stored_by_dcmqrscp: Storer,
    tmp_path: Path,
) -> None:
    """Undefined lengths, wrong group lengths, padding and odd values, through a real dcmqrscp."""
    source = write_file(tmp_path / "in.dcm", encode(structure()), EXPLICIT)
    stored = stored_by_dcmqrscp(source, options)
    ours = tmp_path / "ours.dcm"
    rewrite(source, ours, fmt, received_syntax=EXPLICIT)
    assert needs_rewrite(fmt, EXPLICIT) is not fmt.bit_preserving
    assert dataset_of(ours) == dataset_of(stored)
    if fmt.bit_preserving:
        assert dataset_of(stored) == dataset_of(source)
    else:
        assert dataset_of(stored) != dataset_of(source)  # dcmqrscp rewrote it


# -- the decisions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("syntax", [IMPLICIT, EXPLICIT, BIG, DEFLATED, RLE, uids.JPEG_BASELINE])
def test_only_bit_preserving_mode_keeps_the_bytes(syntax: str) -> None:
    assert needs_rewrite(StoredFormat(bit_preserving=True), syntax) is False
    assert needs_rewrite(StoredFormat(), syntax) is True
    assert needs_rewrite(StoredFormat(transfer_syntax=syntax), syntax) is True


@pytest.mark.parametrize(
    ("fmt", "received", "written"),
    [
        (StoredFormat(), BIG, BIG),
        (StoredFormat(transfer_syntax=IMPLICIT), BIG, IMPLICIT),
        (StoredFormat(transfer_syntax=DEFLATED), EXPLICIT, DEFLATED),
        (StoredFormat(transfer_syntax=EXPLICIT), DEFLATED, EXPLICIT),
        (StoredFormat(transfer_syntax=EXPLICIT), RLE, RLE),  # compressed: kept
        (StoredFormat(transfer_syntax=EXPLICIT), "1.2.3.4.5", "1.2.3.4.5"),  # unknown: kept
        (StoredFormat(transfer_syntax=IMPLICIT, bit_preserving=True), EXPLICIT, EXPLICIT),
    ],
)
def test_output_syntax(fmt: StoredFormat, received: str, written: str) -> None:
    assert output_syntax(fmt, received) == written


def test_a_compressed_target_is_refused() -> None:
    with pytest.raises(DatasetCodecError, match="only an uncompressed"):
        output_syntax(StoredFormat(transfer_syntax=RLE), EXPLICIT)


# -- values -------------------------------------------------------------------------------------------


DEFAULTS = StoredFormat()


def rendered(elements: Sequence[El | Seq], fmt: StoredFormat = DEFAULTS) -> bytes:
    return render(encode(elements), EXPLICIT, fmt)


def test_odd_values_get_a_nul_and_strings_lose_trailing_padding() -> None:
    given = [
        El(0x00081030, "LO", b"abc"),
        El(0x00100020, "LO", b"P1    "),
        El(0x0020000D, "UI", b"1.2.3\0\0\0"),
        El(0x00291010, "UN", b"\x01\x02\x03"),
        El(0x0040A160, "UT", b"text  "),
        El(0x7FE00010, "OW", b"\x01\x02\x03"),
    ]
    expected = [
        El(0x00081030, "LO", b"abc\0"),
        El(0x00100020, "LO", b"P1"),
        El(0x0020000D, "UI", b"1.2.3\0"),
        El(0x00291010, "UN", b"\x01\x02\x03\0"),
        El(0x0040A160, "UT", b"text"),
        El(0x7FE00010, "OW", b"\x01\x02\x03"),  # an OW keeps its odd length
    ]
    assert rendered(given) == encode(expected)


def test_without_new_vrs_they_become_ob_with_the_same_bytes() -> None:
    given = [El(0x00291010, "UN", b"\x01"), El(0x0040A160, "UT", b"hello"), El(0x00660016, "OF", bytes(4))]
    expected = [  # an odd UT gets a NUL, not a space (dcmconv -u and dcmqrscp -u alike)
        El(0x00291010, "OB", b"\x01\0"),
        El(0x0040A160, "OB", b"hello\0"),
        El(0x00660016, "OB", bytes(4)),
    ]
    assert rendered(given, StoredFormat(new_vrs=False)) == encode(expected)


def test_a_long_short_vr_value_becomes_un() -> None:
    value = b"x" * 0x10002
    data = encode([El(0x00204000, "LT", value)], implicit=True)
    expected = [El(0x00204000, "UN", value)]
    assert render(data, IMPLICIT, StoredFormat(transfer_syntax=EXPLICIT)) == encode(expected)
    expected = [El(0x00204000, "OB", value)]
    assert render(data, IMPLICIT, StoredFormat(transfer_syntax=EXPLICIT, new_vrs=False)) == encode(expected)


def test_binary_values_are_swapped_by_the_width_of_their_vr() -> None:
    values = [
        (0x00186020, "SL", ">i", "<i", (-7,)),
        (0x00189306, "FD", ">2d", "<2d", (1.5, 2.5)),
        (0x00189459, "FL", ">f", "<f", (0.5,)),
        (0x00280009, "AT", ">HH", "<HH", (0x0018, 0x1063)),
        (0x00280010, "US", ">H", "<H", (2,)),
        (0x7FE00010, "OW", ">3H", "<3H", (1, 2, 3)),
    ]
    big = [El(tag, vr, struct.pack(packed, *v)) for tag, vr, packed, _, v in values]
    little = [El(tag, vr, struct.pack(packed, *v)) for tag, vr, _, packed, v in values]
    big_data = encode(big, little=False)
    assert render(big_data, BIG, StoredFormat(transfer_syntax=EXPLICIT)) == encode(little)
    assert render(encode(little), EXPLICIT, StoredFormat(transfer_syntax=BIG)) == big_data
    odd = [El(0x00189459, "FL", b"\x01\x02\x03\x04\x05"), El(0x7FE00010, "OW", b"\x01\x02\x03")]
    swapped = [El(0x00189459, "FL", b"\x04\x03\x02\x01\x05\0"), El(0x7FE00010, "OW", b"\x02\x01\x03")]
    assert render(encode(odd), EXPLICIT, StoredFormat(transfer_syntax=BIG)) == encode(swapped, little=False)
    unknown = [El(0x00291010, "UN", b"\x01\x02")]  # UN is never swapped
    assert render(encode(unknown), EXPLICIT, StoredFormat(transfer_syntax=BIG)) == encode(
        unknown, little=False
    )


def test_implicit_vrs_are_settled_as_dcmtk_does() -> None:
    given = [
        El(0x00189810, "", b"\x07\x00"),  # US or SS before Pixel Representation: US
        El(0x00280103, "", b"\x01\x00"),
        El(0x00280106, "", b"\xfb\xff"),  # after Pixel Representation 1: SS
        El(0x00290010, "", b"ACME"),  # private creator: LO
        El(0x00291010, "", b"\x01\x02"),  # unknown private: UN
        El(0x60003000, "", b"\x01\x02"),  # overlay data: OW
        El(0x7FE00010, "", b"\x01\x02"),  # pixel data: OW
    ]
    vrs = ["US", "US", "SS", "LO", "UN", "OW", "OW"]
    expected = [El(element.tag, vr, element.value) for element, vr in zip(given, vrs, strict=True)]
    data = encode(given, implicit=True)
    assert render(data, IMPLICIT, StoredFormat(transfer_syntax=EXPLICIT)) == encode(expected)


# -- lengths, group lengths, padding ------------------------------------------------------------------


def nested(undefined: bool) -> list[El | Seq]:
    inner = Seq(0x00400441, [Item([El(0x00080100, "SH", b"12")], undefined=undefined)], undefined=undefined)
    return [
        Seq(
            0x00081032,
            [Item([inner], undefined=undefined), Item([], undefined=undefined)],
            undefined=undefined,
        ),
        Seq(0x00081110, [], undefined=undefined),
    ]


def test_lengths_explicit_by_default_undefined_with_minus_e() -> None:
    assert rendered(nested(undefined=True)) == encode(nested(undefined=False))
    assert rendered(nested(undefined=False), StoredFormat(explicit_lengths=False)) == encode(
        nested(undefined=True)
    )


def test_group_lengths_recalculated_created_and_removed() -> None:
    given = [ul(0x00080000, 1), El(0x00080020, "DA", b"20240101"), El(0x00100020, "LO", b"P1")]
    assert rendered(given) == encode([ul(0x00080000, 16), *given[1:]])
    assert rendered(given, StoredFormat(group_length="remove")) == encode(given[1:])
    created = [ul(0x00080000, 16), given[1], ul(0x00100000, 10), given[2]]
    assert rendered(given, StoredFormat(group_length="create")) == encode(created)


def test_group_lengths_are_created_in_items_too() -> None:
    given = [Seq(0x00081032, [Item([El(0x00080100, "SH", b"12")])])]
    item = Item([ul(0x00080000, 10), El(0x00080100, "SH", b"12")])
    expected: list[El | Seq] = [ul(0x00080000, 12 + 8 + 22), Seq(0x00081032, [item])]
    assert rendered(given, StoredFormat(group_length="create")) == encode(expected)


def test_padding_is_removed_by_default() -> None:
    given: list[El | Seq] = [Seq(0x00081032, [Item([El(0xFFFCFFFC, "OB", bytes(4))])])]
    given.append(El(0xFFFCFFFC, "OB", bytes(8)))
    assert rendered(given) == encode([Seq(0x00081032, [Item([])])])


@pytest.mark.parametrize("prefix", [0, 132, 202])
@pytest.mark.parametrize("syntax", [EXPLICIT, IMPLICIT])
def test_padding_aligns_the_file_and_the_items(prefix: int, syntax: str) -> None:
    given: list[El | Seq] = [Seq(0x00081032, [Item([El(0x00080100, "SH", b"1234")])])]
    given.append(El(0x00100020, "LO", b"P1"))
    data = encode(given, implicit=syntax == IMPLICIT)
    out = render(data, syntax, StoredFormat(padding=(64, 16)), prefix_length=prefix)
    assert (prefix + len(out)) % 64 == 0
    assert out.count(b"\xfc\xff\xfc\xff") == 2
    item_length = struct.unpack_from("<I", out, out.index(b"\xfe\xff\x00\xe0") + 4)[0]
    assert item_length % 16 == 0


@pytest.mark.parametrize("padding", [(63, 16), (64, 15), (-2, 0)])
def test_padding_lengths_must_be_even(padding: tuple[int, int]) -> None:
    with pytest.raises(DatasetCodecError, match="even"):
        rendered([El(0x00100020, "LO", b"P1")], StoredFormat(padding=padding))


def test_an_unknown_group_length_mode_is_refused() -> None:
    with pytest.raises(DatasetCodecError, match="group length mode"):
        rendered([El(0x00100020, "LO", b"P1")], StoredFormat(group_length="sometimes"))


# -- syntaxes ----------------------------------------------------------------------------------------


def test_deflated_in_and_out() -> None:
    plain = encode(nested(undefined=False))
    packed = render(plain, EXPLICIT, StoredFormat(transfer_syntax=DEFLATED, compression_level=9))
    assert inflated(packed) == plain
    assert render(deflate(plain), DEFLATED, StoredFormat(transfer_syntax=EXPLICIT)) == plain


def test_compressed_data_keep_syntax_and_fragments(tmp_path: Path) -> None:
    source = save(compressed_image(), tmp_path / "rle.dcm", RLE)
    ours = tmp_path / "ours.dcm"
    assert rewrite(source, ours, StoredFormat(transfer_syntax=BIG), received_syntax=RLE) == RLE
    fragments = encapsulate([b"\x01\x02\x03\x04\x05\x06", b"\x07\x08"])
    assert fragments in ours.read_bytes()
    with open(ours, "rb") as fp:
        assert read_file_meta(fp).text(0x00020010) == RLE


def test_bit_preserving_returns_the_bytes() -> None:
    data = encode(structure())
    assert render(data, EXPLICIT, StoredFormat(bit_preserving=True, padding=(3, 3))) == data


# -- files --------------------------------------------------------------------------------------------


def test_rewrite_takes_the_meta_fields_of_the_input(tmp_path: Path) -> None:
    source = tmp_path / "in.dcm"
    header = encode_file_meta(SC, INSTANCE, EXPLICIT, source_ae_title="MODALITY")
    source.write_bytes(header + encode(header_elements()))
    out = tmp_path / "out.dcm"
    assert rewrite(source, out, StoredFormat(transfer_syntax=IMPLICIT), received_syntax=EXPLICIT) == IMPLICIT
    with open(out, "rb") as fp:
        meta = read_file_meta(fp)
    assert MetaFields.of(meta) == MetaFields(SC, INSTANCE, "MODALITY")
    assert meta.text(0x00020010) == IMPLICIT
    assert dataset_of(out) == encode(header_elements(), implicit=True)


def test_rewrite_of_a_bare_data_set(tmp_path: Path) -> None:
    source = tmp_path / "in.ds"
    source.write_bytes(encode(header_elements()))
    out = tmp_path / "out.dcm"
    with pytest.raises(DatasetCodecError, match="no meta information"):
        rewrite(source, out, StoredFormat(), received_syntax=EXPLICIT)
    rewrite(source, out, StoredFormat(write_file=False), received_syntax=EXPLICIT, fsync=True)
    assert out.read_bytes() == source.read_bytes()
    meta = MetaFields(SC, INSTANCE, "AE1")
    rewrite(source, out, StoredFormat(), received_syntax=EXPLICIT, meta=meta)
    assert out.read_bytes() == meta.encode(EXPLICIT) + source.read_bytes()


# -- errors -------------------------------------------------------------------------------------------

_BROKEN: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "truncated value": (encode([El(0x00100020, "LO", b"P1")])[:-1], "ends after"),
    "not a data set": (b"garbage!garbage!", "ends after"),
    "sequence longer than its items": (
        struct.pack("<HH2s2xI", 0x0008, 0x1032, b"SQ", 20) + struct.pack("<HHI", 0xFFFE, 0xE000, 0),
        "length says 20",
    ),
    "trailing bytes": (encode([El(0x00100020, "LO", b"P1")]) + b"\x10\x00", "account for"),
    "missing sequence delimiter": (
        encode([Seq(0x00081032, [Item([])], undefined=True)])[:-8],
        "cannot decode",
    ),
}


@pytest.mark.parametrize("name", list(_BROKEN))
def test_unparsable_data_sets_raise(name: str) -> None:
    data, message = _BROKEN[name]
    with pytest.raises(DatasetCodecError, match=message):
        render(data, EXPLICIT, StoredFormat())


def test_a_corrupt_deflate_stream_raises() -> None:
    with pytest.raises(DatasetCodecError, match="inflate"):
        render(b"\xff\xff\xff\xff", DEFLATED, StoredFormat())


def test_a_failed_rewrite_writes_nothing(tmp_path: Path) -> None:
    source = write_file(tmp_path / "in.dcm", b"garbage!garbage!", EXPLICIT)
    out = tmp_path / "out.dcm"
    with pytest.raises(DatasetCodecError, match="cannot decode"):
        rewrite(source, out, StoredFormat(), received_syntax=EXPLICIT)
    assert not out.exists()
