"""StreamWalker: element boundaries of a data set fed fragment by fragment, and
DCMTK's normal form (the bytes DCMTK's dcmrecv writes; the interop test compares
them with DCMTK's own files)."""

from __future__ import annotations

import zlib

import pytest
from raw_elements import UNDEFINED, Encoder, uid

from dicomwire import uids
from dicomwire.services.dataset_head import encoding_of
from dicomwire.services.stream_walk import IncompleteDataset, StreamWalker

SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
EXPLICIT = Encoder()
BIG = Encoder(little=False)
IMPLICIT = Encoder(explicit=False)
SYNTAX = {
    id(EXPLICIT): uids.EXPLICIT_VR_LITTLE_ENDIAN,
    id(BIG): uids.EXPLICIT_VR_BIG_ENDIAN,
    id(IMPLICIT): uids.IMPLICIT_VR_LITTLE_ENDIAN,
}


def sample(e: Encoder, *, undefined: bool = False) -> list[bytes]:
    """The top-level elements of a data set with nested sequences, explicit- or undefined-length."""
    code = e.item(e.element(0x00080100, b"SH", b"121071"), undefined=undefined)
    inner = e.sequence(0x0040A043, code, undefined=undefined)
    items = [e.item(inner + e.element(0x0040A010, b"CS", b"CONTAINS"), undefined=undefined)]
    items.append(e.item(b"", undefined=undefined))
    return [
        e.element(0x00080016, b"UI", uid(SC)),
        e.element(0x00080018, b"UI", uid("1.2.3.4")),
        e.sequence(0x0040A730, *items, undefined=undefined),
        e.sequence(0x00081110, undefined=undefined),  # empty
        e.element(0x00100010, b"PN", b"Walk^Test "),
        e.element(0x7FE00010, b"OW", bytes(range(256)) * 8),
    ]


def encapsulated(e: Encoder) -> list[bytes]:
    fragments = e.item(b"") + e.item(b"\xff\xd8" * 50) + e._tag(0xFFFEE0DD, 0)
    return [e.element(0x00080016, b"UI", uid(SC)), e.element(0x7FE00010, b"OB", fragments, UNDEFINED)]


def un_sequence(e: Encoder) -> list[bytes]:
    # UN of undefined length: its content is implicit VR little endian (PS3.5 6.2.2)
    content = IMPLICIT.item(IMPLICIT.element(0x00081150, b"", uid("1.2.3")), undefined=True)
    return [
        e.element(0x00090010, b"LO", b"ACME"),
        e.element(0x00091001, b"UN", content + IMPLICIT._tag(0xFFFEE0DD, 0), UNDEFINED),
    ]


CASES = {
    "explicit": (EXPLICIT, sample(EXPLICIT)),
    "explicit-undefined": (EXPLICIT, sample(EXPLICIT, undefined=True)),
    "big-endian": (BIG, sample(BIG)),
    "implicit": (IMPLICIT, sample(IMPLICIT)),
    "implicit-undefined": (IMPLICIT, sample(IMPLICIT, undefined=True)),
    "encapsulated": (EXPLICIT, encapsulated(EXPLICIT)),
    "un-sequence": (EXPLICIT, un_sequence(EXPLICIT)),
}


def walk(syntax: str, data: bytes, chunk: int, *, normalize: bool = False) -> tuple[bytes, StreamWalker]:
    walker = StreamWalker(encoding_of(syntax), normalize=normalize)
    out = bytearray()
    for start in range(0, len(data), chunk):
        for piece in walker.feed(data[start : start + chunk]):
            out += piece
    for piece in walker.finish():
        out += piece
    for offset, value in walker.patches:
        out[offset : offset + 4] = value
    return bytes(out), walker


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunk", [1, 5, 13, 1 << 20])
def test_a_whole_data_set_passes_in_any_chunking(case: str, chunk: int) -> None:
    encoder, elements = CASES[case]
    data = b"".join(elements)
    out, walker = walk(SYNTAX[id(encoder)], data, chunk)
    assert out == data  # checking only: the fragments pass as they are
    assert not walker.stopped


@pytest.mark.parametrize("case", CASES)
def test_every_cut_but_at_a_top_level_boundary_is_incomplete(case: str) -> None:
    encoder, elements = CASES[case]
    data = b"".join(elements)
    boundaries = {sum(map(len, elements[:n])) for n in range(1, len(elements))}
    for cut in range(1, len(data)):
        for normalize in (False, True):
            if cut in boundaries:
                walk(SYNTAX[id(encoder)], data[:cut], 7, normalize=normalize)
            else:
                with pytest.raises(IncompleteDataset):
                    walk(SYNTAX[id(encoder)], data[:cut], 7, normalize=normalize)


def test_a_cut_pixel_data_says_what_dcmtk_says() -> None:
    data = b"".join(sample(EXPLICIT))
    with pytest.raises(IncompleteDataset) as caught:
        walk(uids.EXPLICIT_VR_LITTLE_ENDIAN, data[:-600], 1000)
    error = caught.value
    assert (error.tag, error.claimed, error.remaining) == (0x7FE00010, 2048, 1448)


def test_a_deflated_data_set_is_inflated_to_be_checked() -> None:
    data = b"".join(sample(EXPLICIT))
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = packer.compress(data) + packer.flush()
    out, _ = walk(uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, deflated, 100, normalize=True)
    assert out == deflated  # never re-encoded
    cut = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    with pytest.raises(IncompleteDataset):
        walk(uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, cut.compress(data[:-10]) + cut.flush(), 100)


# -- DCMTK's normal form ----------------------------------------------------------------------
@pytest.mark.parametrize("encoder", [EXPLICIT, BIG, IMPLICIT], ids=["explicit", "big-endian", "implicit"])
@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_sequences_and_items_get_undefined_lengths(encoder: Encoder, chunk: int) -> None:
    syntax = SYNTAX[id(encoder)]
    out, _ = walk(syntax, b"".join(sample(encoder)), chunk, normalize=True)
    assert out == b"".join(sample(encoder, undefined=True))
    already, _ = walk(syntax, out, chunk, normalize=True)
    assert already == out


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_group_lengths_are_recomputed_at_every_depth(chunk: int) -> None:
    e = EXPLICIT
    nested = e.element(0x00080000, b"UL", e.ul(99)) + e.element(
        0x00081150, b"UI", uid("1.2.840.10008.3.1.2.3.1")
    )
    body = e.element(0x00080016, b"UI", uid(SC)) + e.sequence(0x00081110, e.item(nested))
    tail = e.element(0x00200000, b"UL", e.ul(0)) + e.element(0x0020000D, b"UI", uid("1.2.3.7"))
    data = e.element(0x00080000, b"UL", e.ul(len(body))) + body + tail
    out, walker = walk(uids.EXPLICIT_VR_LITTLE_ENDIAN, data, chunk, normalize=True)
    fixed_nested = e.element(0x00080000, b"UL", e.ul(32)) + nested[12:]
    fixed_body = body[:34] + e.sequence(0x00081110, e.item(fixed_nested, undefined=True), undefined=True)
    expected = (
        e.element(0x00080000, b"UL", e.ul(len(fixed_body)))
        + fixed_body
        + e.element(0x00200000, b"UL", e.ul(16))
        + tail[12:]
    )
    assert out == expected
    assert len(walker.patches) == 3


@pytest.mark.parametrize("encoder", [EXPLICIT, IMPLICIT], ids=["explicit", "implicit"])
def test_odd_lengths_are_padded(encoder: Encoder) -> None:
    data = encoder.element(0x00100010, b"PN", b"Odd") + encoder.element(0x00100020, b"LO", b"X")
    data += encoder.element(0x00091001, b"OB", b"\x01")  # a private tag: UN in implicit VR
    out, _ = walk(SYNTAX[id(encoder)], data, 2, normalize=True)
    expected = (
        encoder.element(0x00100010, b"PN", b"Odd ")
        + encoder.element(0x00100020, b"LO", b"X ")
        + encoder.element(0x00091001, b"OB", b"\x01\x00")
    )
    assert out == expected


def test_kept_as_received_where_dcmtk_needs_a_dictionary() -> None:
    """An UN sequence of undefined length and encapsulated pixel data pass unchanged."""
    for elements in (un_sequence(EXPLICIT), encapsulated(EXPLICIT)):
        data = b"".join(elements)
        assert walk(uids.EXPLICIT_VR_LITTLE_ENDIAN, data, 3, normalize=True)[0] == data


def test_what_cannot_be_followed_at_the_top_level_passes_unchecked() -> None:
    data = EXPLICIT.element(0x00080016, b"UI", uid(SC)) + b"\x10\x00\x10\x00\x01\x02\x04\x00abcd"
    out, walker = walk(uids.EXPLICIT_VR_LITTLE_ENDIAN, data, 4, normalize=True)
    assert out == data
    assert walker.stopped and walker.error is None


def test_what_cannot_be_followed_inside_a_re_encoded_sequence_is_an_error() -> None:
    e = EXPLICIT
    broken = e.sequence(0x00081110, e.item(b"\x10\x00\x10\x00\x01\x02\x04\x00abcd"))
    walker = StreamWalker(encoding_of(uids.EXPLICIT_VR_LITTLE_ENDIAN), normalize=True)
    walker.feed(broken)
    assert walker.error is not None and "invalid VR" in walker.error
