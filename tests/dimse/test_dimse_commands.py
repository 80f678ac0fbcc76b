"""Command set encoding and decoding (PS3.7 6.3.1, Annex E)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomwire.dimse.commands import (
    COMMAND_ELEMENTS,
    DATASET_ABSENT,
    DATASET_PRESENT,
    ELEMENT_BY_NAME,
    ELEMENT_BY_TAG,
    VR,
    CommandField,
    Priority,
    decode_command,
    encode_command,
)
from dicomwire.errors import LocalProtocolError, RemoteProtocolError

# C-ECHO-RQ, Message ID 7, computed by hand from PS3.7 Table 9.3-12 and 6.3.1:
# Implicit VR Little Endian, each element = group (2) element (2) length (4) value.
GOLDEN_ECHO_RQ = bytes.fromhex(
    # (0000,0000) CommandGroupLength UL, length 4, value 56 = 0x38:
    #   26 (0002: 8 + 18) + 10 (0100) + 10 (0110) + 10 (0800)
    "0000 0000"
    "04000000"
    "38000000"
    # (0000,0002) AffectedSOPClassUID UI, length 18: "1.2.840.10008.1.1" (17) + NUL pad
    "0000 0200"
    "12000000"
    "312e322e3834302e31303030382e312e31"
    "00"
    # (0000,0100) CommandField US, length 2, 0x0030 (C-ECHO-RQ)
    "0000 0001"
    "02000000"
    "3000"
    # (0000,0110) MessageID US, length 2, 7
    "0000 1001"
    "02000000"
    "0700"
    # (0000,0800) CommandDataSetType US, length 2, 0x0101 (no data set)
    "0000 0008"
    "02000000"
    "0101"
)


def test_golden_echo_rq() -> None:
    encoded = encode_command({0x0002: "1.2.840.10008.1.1", 0x0100: 0x0030, 0x0110: 7, 0x0800: 0x0101})
    assert encoded == GOLDEN_ECHO_RQ
    # (DCMTK echoscu 3.6.7 sends exactly these bytes for message ID 1.)


def test_golden_echo_rq_decodes() -> None:
    assert decode_command(GOLDEN_ECHO_RQ) == {
        0x0000: 56,
        0x0002: "1.2.840.10008.1.1",
        0x0100: 0x0030,
        0x0110: 7,
        0x0800: 0x0101,
    }


def test_enums() -> None:
    assert int(CommandField.C_STORE_RQ) == 0x0001 and int(CommandField.C_CANCEL_RQ) == 0x0FFF
    assert CommandField.C_FIND_RSP.is_response and not CommandField.C_MOVE_RQ.is_response
    assert CommandField.C_ECHO_RSP.label == "C-ECHO-RSP"
    assert (Priority.MEDIUM, Priority.HIGH, Priority.LOW) == (0, 1, 2)
    assert (DATASET_PRESENT, DATASET_ABSENT) == (0x0001, 0x0101)


def test_table_is_sorted_and_consistent() -> None:
    tags = [e.tag for e in COMMAND_ELEMENTS]
    assert tags == sorted(tags) and len(set(tags)) == len(tags)
    assert ELEMENT_BY_TAG[0x0900].keyword == "Status"
    assert ELEMENT_BY_NAME["move_destination"].vr is VR.AE
    for e in COMMAND_ELEMENTS:
        assert (e.max_length > 0) == (e.vr in (VR.UI, VR.AE, VR.LO))


def test_order_and_group_length_computed() -> None:
    encoded = encode_command({0x0900: 0, 0x0100: 0x8030, 0x0000: 9999, 0x0120: 1})
    tags = []
    offset = 0
    while offset < len(encoded):
        _, tag, length = struct.unpack_from("<HHI", encoded, offset)
        tags.append(tag)
        offset += 8 + length
    assert tags == [0x0000, 0x0100, 0x0120, 0x0900]
    assert decode_command(encoded)[0x0000] == len(encoded) - 12


@pytest.mark.parametrize(
    ("tag", "value", "raw"),
    [
        (0x0002, "1.2.3", b"1.2.3\0"),  # UI: NUL padding
        (0x0002, "1.23", b"1.23"),
        (0x0600, "DEST", b"DEST"),
        (0x0600, "ABC", b"ABC "),  # AE: space padding
        (0x0902, "bad", b"bad "),  # LO: space padding
        (0x0901, (0x00100010,), b"\x10\x00\x10\x00"),
        (0x0901, 0x7FE00010, b"\xe0\x7f\x10\x00"),
        (0x0901, (0x00100010, 0x00200020), b"\x10\x00\x10\x00\x20\x00\x20\x00"),
    ],
)
def test_value_encoding(tag: int, value: object, raw: bytes) -> None:
    encoded = encode_command({tag: value})  # type: ignore[dict-item]
    assert encoded[12:] == struct.pack("<HHI", 0, tag, len(raw)) + raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"1.2.3\0", "1.2.3"),
        (b"1.2.3 ", "1.2.3"),  # tolerated space padding
        (b"1.2.34", "1.2.34"),
    ],
)
def test_uid_stripping(raw: bytes, expected: str) -> None:
    data = struct.pack("<HHI", 0, 0x1000, len(raw)) + raw
    assert decode_command(data) == {0x1000: expected}


def test_ae_and_lo_stripping() -> None:
    data = struct.pack("<HHI", 0, 0x0600, 6) + b" DEST "
    data += struct.pack("<HHI", 0, 0x0902, 4) + b"\xe9t\xe9 "
    assert decode_command(data) == {0x0600: "DEST", 0x0902: "été"}


def test_at_decoding() -> None:
    data = struct.pack("<HHI", 0, 0x0901, 8) + struct.pack("<4H", 0x0010, 0x0010, 0x7FE0, 0x0010)
    assert decode_command(data) == {0x0901: (0x00100010, 0x7FE00010)}


def test_unknown_group_0000_element_is_kept_raw() -> None:
    data = struct.pack("<HHI", 0, 0x4000, 4) + b"abcd"  # retired, unknown to us
    assert decode_command(data) == {0x4000: b"abcd"}


def test_empty_numeric_value_is_absent() -> None:
    data = struct.pack("<HHI", 0, 0x0903, 0) + struct.pack("<HHI", 0, 0x0902, 0)
    assert decode_command(data) == {0x0902: ""}


def test_decode_accepts_memoryview_and_bytearray() -> None:
    assert decode_command(memoryview(GOLDEN_ECHO_RQ)) == decode_command(GOLDEN_ECHO_RQ)
    assert decode_command(bytearray(GOLDEN_ECHO_RQ)) == decode_command(GOLDEN_ECHO_RQ)


# -- malformed input ------------------------------------------------------------------
def test_decode_keeps_non_ascii_uid_bytes_like_dcmtk() -> None:
    # DCMTK tolerates them; the storage SCP sanitises the file name.
    assert decode_command(struct.pack("<HHI", 0, 0x0002, 2) + b"\xff1")[0x0002] == "\xff1"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (GOLDEN_ECHO_RQ[:-1], "claims 2 bytes, only 1"),
        (GOLDEN_ECHO_RQ[:-12], "claims"),
        (GOLDEN_ECHO_RQ + b"\x00\x00\x00", "inside an element header"),
        (struct.pack("<HHI", 0, 0x0002, 0xFFFFFFFF), "claims 4294967295 bytes"),
        (struct.pack("<HHI", 8, 0x0016, 0), r"\(0008,0016\) outside group 0000"),
        (struct.pack("<HHI", 0, 0x0110, 4) + b"\1\0\0\0", "MessageID .* length 4"),
        (struct.pack("<HHI", 0, 0x0000, 2) + b"\1\0", "CommandGroupLength .* length 2"),
        (struct.pack("<HHI", 0, 0x0901, 2) + b"\1\0", "not a multiple of 4"),
        (struct.pack("<HHI", 0, 0x0600, 2) + b"\xff1", "not ASCII"),
        (GOLDEN_ECHO_RQ + GOLDEN_ECHO_RQ[12:38], "appears twice"),
    ],
)
def test_decode_rejects(data: bytes, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        decode_command(data)


@pytest.mark.parametrize(
    ("elements", "match"),
    [
        ({0x0110: 70000}, "out of range"),
        ({0x0110: -1}, "out of range"),
        ({0x0110: "1"}, "must be an int"),
        ({0x0002: 5}, "must be a str"),
        ({0x0002: "1." * 40}, "longer than 64"),
        ({0x0600: "A" * 17}, "longer than 16"),
        ({0x0600: "Ä"}, "not ascii"),
        ({0x0902: "\u20ac"}, "not latin-1"),
        ({0x0901: (1 << 32,)}, "out of range"),
        ({0x0901: ("x",)}, "tuple of tags"),
        ({0x5555: 1}, "not a known command element"),
        ({0x00080016: "1.2"}, "not in the command group"),
    ],
)
def test_encode_rejects(elements: dict[int, object], match: str) -> None:
    with pytest.raises(LocalProtocolError, match=match):
        encode_command(elements)  # type: ignore[arg-type]


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_decode_random_bytes_only_raises_remote_error(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_command(data)


_element = st.tuples(
    st.sampled_from([*ELEMENT_BY_TAG, 0x4000, 0x5010]) | st.integers(0, 0xFFFF),
    st.binary(max_size=24),
    st.integers(0, 3),  # how to lie about the length: 0 = honest
)


@settings(max_examples=500)
@given(st.lists(_element, max_size=12), st.integers(0, 1))
def test_decode_structured_garbage(elements: list[tuple[int, bytes, int]], group: int) -> None:
    """Well-formed headers with arbitrary values go deeper than random bytes."""
    data = b""
    for i, (tag, value, lie) in enumerate(elements):
        length = (len(value), len(value) + 1, 0xFFFFFFFF, len(value) // 2)[lie]
        data += struct.pack("<HHI", group if i == 0 else 0, tag, length) + value
    with contextlib.suppress(RemoteProtocolError):
        decode_command(data)
