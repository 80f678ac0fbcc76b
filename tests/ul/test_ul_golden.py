"""Golden bytes for every PDU and every item, derived by hand from PS3.8 9.3
and PS3.7 Annex D.3.3, then decoded back (round trip).

Conventions in the literals: ``h("...")`` is hex (spaces are cosmetic), UIDs
and other text fields are written as ASCII bytes.  Lengths were counted by
hand; the comment beside each gives the sum.
"""

from __future__ import annotations

import pytest

from dicomwire.ul.items import (
    PresentationContextAC,
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    iter_items,
)
from dicomwire.ul.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    decode_pdu,
    encode_pdu,
)
from dicomwire.ul.pdv import PDV

h = bytes.fromhex

APP_CONTEXT = b"1.2.840.10008.3.1.1.1"  # 21 = 0x15
VERIFICATION = b"1.2.840.10008.1.1"  # 17 = 0x11
IMPLICIT_LE = b"1.2.840.10008.1.2"  # 17 = 0x11
EXPLICIT_LE = b"1.2.840.10008.1.2.1"  # 19 = 0x13
CT = b"1.2.840.10008.5.1.4.1.1.2"  # 25 = 0x19
ENHANCED_CT = b"1.2.840.10008.5.1.4.1.1.2.1"  # 27 = 0x1B
STORAGE_SERVICE = b"1.2.840.10008.4.2"  # 17 = 0x11

# -- items (PS3.8 9.3.2.1-9.3.3.3, PS3.7 D.3.3) ---------------------------------------

APP_CONTEXT_ITEM = (
    h("10")  # item type: application context
    + h("00")  # reserved
    + h("0015")  # item length 21
    + APP_CONTEXT
)

PC1_RQ_ITEM = (
    h("20 00")  # presentation context (RQ), reserved
    + h("002E")  # item length: 4 + 21 + 21 = 46
    + h("01")  # presentation context ID 1
    + h("00 00 00")  # reserved x3
    + h("30 00 0011")  # abstract syntax sub-item, length 17
    + VERIFICATION
    + h("40 00 0011")  # transfer syntax sub-item, length 17
    + IMPLICIT_LE
)

PC3_RQ_ITEM = (
    h("20 00")  # presentation context (RQ)
    + h("004D")  # 4 + (4 + 25) + (4 + 19) + (4 + 17) = 77
    + h("03 00 00 00")  # ID 3, reserved
    + h("30 00 0019")  # abstract syntax, 25
    + CT
    + h("40 00 0013")  # transfer syntax, 19 (first choice)
    + EXPLICIT_LE
    + h("40 00 0011")  # transfer syntax, 17
    + IMPLICIT_LE
)

MAX_LENGTH_ITEM = h("51 00 0004") + h("00004000")  # maximum length received 16384
IMPLEMENTATION_UID_ITEM = h("52 00 0007") + b"1.2.3.4"
ASYNC_OPS_ITEM = (
    h("53 00 0004")
    + h("0005")  # maximum number of operations invoked
    + h("0003")  # maximum number of operations performed
)
ROLE_ITEM = (
    h("54 00 001D")  # role selection, length 2 + 25 + 1 + 1 = 29
    + h("0019")  # UID length 25
    + CT
    + h("00")  # SCU role: not proposed
    + h("01")  # SCP role: proposed
)
VERSION_ITEM = h("55 00 0003") + b"DW1"
EXT_NEG_ITEM = (
    h("56 00 001E")  # SOP class extended negotiation, length 2 + 25 + 3 = 30
    + h("0019")  # SOP class UID length
    + CT
    + h("02 00 01")  # service-class-application-information (opaque)
)
COMMON_EXT_NEG_ITEM = (
    h("57 00 004D")  # common extended negotiation (sub-item version 0), 29 + 19 + 2 + 27 = 77
    + h("001B")  # SOP class UID length 27
    + ENHANCED_CT
    + h("0011")  # service class UID length 17
    + STORAGE_SERVICE
    + h("001B")  # related general SOP class identification length: 2 + 25 = 27
    + h("0019")  # related general SOP class UID length 25
    + CT
)
USER_IDENTITY_TYPE2_ITEM = (
    h("58 00 0011")  # user identity (RQ), length 1 + 1 + 2 + 5 + 2 + 6 = 17
    + h("02")  # type 2: username and passcode
    + h("01")  # positive response requested
    + h("0005")  # primary field length
    + b"alice"
    + h("0006")  # secondary field length
    + b"secret"
)
USER_IDENTITY_TYPE1_ITEM = (
    h("58 00 000B")  # user identity (RQ), length 1 + 1 + 2 + 5 + 2 = 11
    + h("01")  # type 1: username
    + h("00")  # no response requested
    + h("0005")
    + b"alice"
    + h("0000")  # secondary field length 0
)
USER_INFO_RQ_ITEM = (
    h("50 00 00CB")  # user information, 8 + 11 + 8 + 33 + 7 + 34 + 81 + 21 = 203
    + MAX_LENGTH_ITEM
    + IMPLEMENTATION_UID_ITEM
    + ASYNC_OPS_ITEM
    + ROLE_ITEM
    + VERSION_ITEM
    + EXT_NEG_ITEM
    + COMMON_EXT_NEG_ITEM
    + USER_IDENTITY_TYPE2_ITEM
)

PC1_AC_ITEM = (
    h("21 00 0019")  # presentation context (AC), length 4 + 21 = 25
    + h("01")  # ID 1
    + h("00")  # reserved
    + h("00")  # result: acceptance
    + h("00")  # reserved
    + h("40 00 0011")
    + IMPLICIT_LE
)
PC3_AC_ITEM = (
    h("21 00 0008")  # presentation context (AC), length 4 + 4 = 8
    + h("03 00")  # ID 3, reserved
    + h("04")  # result: transfer syntaxes not supported (provider rejection)
    + h("00")
    + h("40 00 0000")  # transfer syntax sub-item, empty: not significant on rejection
)
USER_IDENTITY_AC_ITEM = (
    h("59 00 000A")  # user identity (AC), length 2 + 8 = 10
    + h("0008")  # server response length
    + b"ok-token"
)
USER_INFO_AC_ITEM = (
    h("50 00 0049")  # 8 + 11 + 33 + 7 + 14 = 73
    + h("51 00 0004 00008000")  # maximum length 32768
    + h("52 00 0007")
    + b"1.2.3.5"
    + ROLE_ITEM  # the acceptor agrees to the SCP role
    + h("55 00 0003")
    + b"DW2"
    + USER_IDENTITY_AC_ITEM
)

CALLED = b"ANY-SCP" + b" " * 9  # 16 bytes, space padded
CALLING = b"ECHOSCU" + b" " * 9

# -- PDUs (PS3.8 9.3.2-9.3.8) ------------------------------------------------------------

ASSOCIATE_RQ = (
    h("01")  # PDU type A-ASSOCIATE-RQ
    + h("00")  # reserved
    + h("000001AF")  # PDU length: 68 + 25 + 50 + 81 + 207 = 431
    + h("0001")  # protocol version: bit 0
    + h("0000")  # reserved
    + CALLED
    + CALLING
    + bytes(32)  # reserved
    + APP_CONTEXT_ITEM
    + PC1_RQ_ITEM
    + PC3_RQ_ITEM
    + USER_INFO_RQ_ITEM
)

ASSOCIATE_AC = (
    h("02 00")  # A-ASSOCIATE-AC, reserved
    + h("000000D3")  # 68 + 25 + 29 + 12 + 77 = 211
    + h("0001 0000")  # protocol version, reserved
    + CALLED  # reserved fields sent with the RQ's values
    + CALLING
    + bytes(32)
    + APP_CONTEXT_ITEM
    + PC1_AC_ITEM
    + PC3_AC_ITEM
    + USER_INFO_AC_ITEM
)

ASSOCIATE_RJ = (
    h("03 00")  # A-ASSOCIATE-RJ, reserved
    + h("00000004")  # fixed length
    + h("00")  # reserved
    + h("01")  # result: rejected-permanent
    + h("01")  # source: DICOM UL service-user
    + h("07")  # reason: called-AE-title-not-recognized
)

P_DATA_TF = (
    h("04 00")  # P-DATA-TF, reserved
    + h("00000022")  # 10 + 8 + 9 + 7 = 34
    + h("00000006")  # PDV item length: 1 + 1 + 4
    + h("01")  # presentation context ID
    + h("03")  # message control header: command, last fragment
    + h("01020304")
    + h("00000004")  # 1 + 1 + 2
    + h("01")
    + h("00")  # data set, not last
    + h("AABB")
    + h("00000005")  # 1 + 1 + 3
    + h("03")
    + h("02")  # data set, last
    + h("CCDDEE")
    + h("00000003")  # 1 + 1 + 1
    + h("05")
    + h("01")  # command, not last
    + h("FF")
)

RELEASE_RQ = h("05 00 00000004 00000000")
RELEASE_RP = h("06 00 00000004 00000000")
ABORT_USER = h("07 00 00000004 00 00 00 00")  # reserved x2, source 0 (user), reason 0
ABORT_PROVIDER = h("07 00 00000004 00 00 02 06")  # source 2 (provider), invalid-PDU-parameter value


def full_user_information_rq() -> UserInformation:
    return UserInformation(
        max_length=16384,
        implementation_class_uid="1.2.3.4",
        implementation_version_name="DW1",
        async_ops_window=(5, 3),
        role_selections=(RoleSelection(CT.decode(), scu_role=False, scp_role=True),),
        extended_negotiation=(SOPClassExtendedNegotiation(CT.decode(), b"\x02\x00\x01"),),
        common_extended_negotiation=(
            SOPClassCommonExtendedNegotiation(ENHANCED_CT.decode(), STORAGE_SERVICE.decode(), (CT.decode(),)),
        ),
        user_identity_rq=UserIdentityRQ(2, b"alice", b"secret", positive_response_requested=True),
    )


def associate_rq() -> AAssociateRQ:
    return AAssociateRQ(
        called_ae="ANY-SCP",
        calling_ae="ECHOSCU",
        user_information=full_user_information_rq(),
        presentation_contexts=(
            PresentationContextRQ(1, VERIFICATION.decode(), (IMPLICIT_LE.decode(),)),
            PresentationContextRQ(3, CT.decode(), (EXPLICIT_LE.decode(), IMPLICIT_LE.decode())),
        ),
    )


def associate_ac() -> AAssociateAC:
    return AAssociateAC(
        called_ae="ANY-SCP",
        calling_ae="ECHOSCU",
        user_information=UserInformation(
            max_length=32768,
            implementation_class_uid="1.2.3.5",
            implementation_version_name="DW2",
            role_selections=(RoleSelection(CT.decode(), scu_role=False, scp_role=True),),
            user_identity_ac=UserIdentityAC(b"ok-token"),
        ),
        presentation_contexts=(
            PresentationContextAC(1, 0, IMPLICIT_LE.decode()),
            PresentationContextAC(3, 4),
        ),
    )


P_DATA_PDVS = (
    PDV(1, is_command=True, is_last=True, data=h("01020304")),
    PDV(1, is_command=False, is_last=False, data=h("AABB")),
    PDV(3, is_command=False, is_last=True, data=h("CCDDEE")),
    PDV(5, is_command=True, is_last=False, data=h("FF")),
)

PDU_CASES = [
    pytest.param(associate_rq(), ASSOCIATE_RQ, id="A-ASSOCIATE-RQ"),
    pytest.param(associate_ac(), ASSOCIATE_AC, id="A-ASSOCIATE-AC"),
    pytest.param(AAssociateRJ(result=1, source=1, reason=7), ASSOCIATE_RJ, id="A-ASSOCIATE-RJ"),
    pytest.param(PDataTF(P_DATA_PDVS), P_DATA_TF, id="P-DATA-TF"),
    pytest.param(AReleaseRQ(), RELEASE_RQ, id="A-RELEASE-RQ"),
    pytest.param(AReleaseRP(), RELEASE_RP, id="A-RELEASE-RP"),
    pytest.param(AAbort(source=0, reason=0), ABORT_USER, id="A-ABORT-user"),
    pytest.param(AAbort(source=2, reason=6), ABORT_PROVIDER, id="A-ABORT-provider"),
]


@pytest.mark.parametrize(("pdu", "expected"), PDU_CASES)
def test_pdu_encodes_to_golden_bytes(pdu: object, expected: bytes) -> None:
    assert encode_pdu(pdu) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("pdu", "expected"), PDU_CASES)
def test_golden_bytes_decode_to_the_pdu(pdu: object, expected: bytes) -> None:
    # The PDU length field counts exactly the bytes after the 6-byte header.
    assert int.from_bytes(expected[2:6], "big") == len(expected) - 6
    assert decode_pdu(expected[0], expected[6:]) == pdu


def test_pdv_fields_decoded_from_golden_p_data() -> None:
    decoded = decode_pdu(0x04, P_DATA_TF[6:])
    assert isinstance(decoded, PDataTF)
    assert [(p.context_id, p.is_command, p.is_last, bytes(p.data)) for p in decoded.pdvs] == [
        (1, True, True, h("01020304")),
        (1, False, False, h("AABB")),
        (3, False, True, h("CCDDEE")),
        (5, True, False, h("FF")),
    ]
    assert [p.control_header for p in decoded.pdvs] == [3, 0, 2, 1]


ITEM_CASES = [
    pytest.param(
        PresentationContextRQ(1, VERIFICATION.decode(), (IMPLICIT_LE.decode(),)), PC1_RQ_ITEM, id="pc-rq-1"
    ),
    pytest.param(
        PresentationContextRQ(3, CT.decode(), (EXPLICIT_LE.decode(), IMPLICIT_LE.decode())),
        PC3_RQ_ITEM,
        id="pc-rq-2-syntaxes",
    ),
    pytest.param(PresentationContextAC(1, 0, IMPLICIT_LE.decode()), PC1_AC_ITEM, id="pc-ac-accepted"),
    pytest.param(PresentationContextAC(3, 4), PC3_AC_ITEM, id="pc-ac-rejected"),
    pytest.param(RoleSelection(CT.decode(), False, True), ROLE_ITEM, id="role-selection"),
    pytest.param(SOPClassExtendedNegotiation(CT.decode(), b"\x02\x00\x01"), EXT_NEG_ITEM, id="ext-neg"),
    pytest.param(
        SOPClassCommonExtendedNegotiation(ENHANCED_CT.decode(), STORAGE_SERVICE.decode(), (CT.decode(),)),
        COMMON_EXT_NEG_ITEM,
        id="common-ext-neg",
    ),
    pytest.param(UserIdentityRQ(1, b"alice"), USER_IDENTITY_TYPE1_ITEM, id="user-identity-type1"),
    pytest.param(
        UserIdentityRQ(2, b"alice", b"secret", positive_response_requested=True),
        USER_IDENTITY_TYPE2_ITEM,
        id="user-identity-type2",
    ),
    pytest.param(UserIdentityAC(b"ok-token"), USER_IDENTITY_AC_ITEM, id="user-identity-ac"),
    pytest.param(full_user_information_rq(), USER_INFO_RQ_ITEM, id="user-information-rq"),
    pytest.param(associate_ac().user_information, USER_INFO_AC_ITEM, id="user-information-ac"),
]


@pytest.mark.parametrize(("value", "expected"), ITEM_CASES)
def test_item_encodes_to_golden_bytes(value: object, expected: bytes) -> None:
    assert value.encode() == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "expected"), ITEM_CASES)
def test_golden_item_decodes_back(value: object, expected: bytes) -> None:
    [(item_type, body)] = list(iter_items(expected, "test"))
    assert item_type == expected[0]
    assert int.from_bytes(expected[2:4], "big") == len(body) == len(expected) - 4
    assert type(value).decode(body) == value  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(UserInformation(max_length=16384), MAX_LENGTH_ITEM, id="max"),
        pytest.param(
            UserInformation(max_length=None, implementation_class_uid="1.2.3.4"),
            IMPLEMENTATION_UID_ITEM,
            id="implementation-uid",
        ),
        pytest.param(UserInformation(max_length=None, async_ops_window=(5, 3)), ASYNC_OPS_ITEM, id="async"),
        pytest.param(
            UserInformation(max_length=None, implementation_version_name="DW1"), VERSION_ITEM, id="version"
        ),
    ],
)
def test_simple_user_information_sub_items(value: UserInformation, expected: bytes) -> None:
    body = h("50 00") + len(expected).to_bytes(2, "big") + expected
    assert value.encode() == body
    assert UserInformation.decode(memoryview(body)[4:]) == value


def test_max_length_zero_means_unlimited_and_is_encoded() -> None:
    info = UserInformation(max_length=0)
    assert info.encode() == h("50 00 0008 51 00 0004 00000000")
    assert UserInformation.decode(memoryview(info.encode())[4:]).max_length == 0


def test_unknown_user_information_sub_items_survive_a_round_trip() -> None:
    body = MAX_LENGTH_ITEM + h("7F 00 0003 010203")
    decoded = UserInformation.decode(memoryview(body))
    assert decoded.unknown_items == ((0x7F, h("010203")),)
    assert decoded.encode() == h("50 00 000F") + body


def test_reserved_fields_are_not_tested_on_receipt() -> None:
    """PS3.8 9.3: reserved fields are sent as 00H "but not tested to this value when received"."""
    rq = bytearray(ASSOCIATE_RQ)
    rq[1] = 0xFF  # PDU header reserved byte
    rq[8:10] = b"\xff\xff"  # reserved after protocol version
    rq[42:74] = b"\xee" * 32  # 32 reserved bytes
    rq[74 + 1] = 0xFF  # application context item reserved byte
    pc1 = 74 + len(APP_CONTEXT_ITEM)
    rq[pc1 + 5 : pc1 + 8] = b"\xff\xff\xff"  # presentation context reserved bytes
    assert decode_pdu(rq[0], bytes(rq[6:])) == associate_rq()

    assert decode_pdu(3, h("FF 01 01 07")) == AAssociateRJ(1, 1, 7)
    assert decode_pdu(5, h("FFFFFFFF")) == AReleaseRQ()
    assert decode_pdu(6, h("FFFFFFFF")) == AReleaseRP()
    assert decode_pdu(7, h("FF FF 02 01")) == AAbort(2, 1)
    ac = bytearray(PC1_AC_ITEM)
    ac[5] = ac[7] = 0xFF  # the two reserved bytes around the result
    decoded = PresentationContextAC.decode(memoryview(ac)[4:])
    assert decoded == PresentationContextAC(1, 0, IMPLICIT_LE.decode())


def test_ae_titles_padding_is_not_significant() -> None:
    rq = bytearray(ASSOCIATE_RQ)
    rq[10:26] = b"  ANY-SCP       "  # leading spaces are not significant either
    rq[26:42] = b"ECHOSCU\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    decoded = decode_pdu(1, bytes(rq[6:]))
    assert isinstance(decoded, AAssociateRQ)
    assert (decoded.called_ae, decoded.calling_ae) == ("ANY-SCP", "ECHOSCU")


def test_unrecognized_items_are_skipped() -> None:
    """PS3.8 9.3.1: items of unrecognized types shall be ignored and skipped."""
    extra = h("7E 00 0002 ABCD")
    body = bytearray(ASSOCIATE_RQ[6:74]) + APP_CONTEXT_ITEM + extra + PC1_RQ_ITEM + PC3_RQ_ITEM
    body += USER_INFO_RQ_ITEM
    assert decode_pdu(1, bytes(body)) == associate_rq()
    pc = h("20 00 0032 01 000000") + h("30 00 0011") + VERIFICATION + extra + h("40 00 0011") + IMPLICIT_LE
    assert PresentationContextRQ.decode(memoryview(pc)[4:]) == PresentationContextRQ(
        1, VERIFICATION.decode(), (IMPLICIT_LE.decode(),)
    )


def test_encoding_refuses_values_the_format_cannot_hold() -> None:
    with pytest.raises(ValueError):
        AAssociateRQ(called_ae="A" * 17, calling_ae="B").encode()
    with pytest.raises(ValueError):
        AAssociateRQ(called_ae="Ä", calling_ae="B").encode()
    with pytest.raises(ValueError):
        PresentationContextRQ(1, "1." * 33, ("1.2",)).encode()  # 66 characters
    with pytest.raises(ValueError):
        UserInformation(implementation_version_name="X" * 17).encode()
    with pytest.raises(ValueError):
        UserIdentityRQ(4, b"x" * 70000).encode()  # longer than a 16-bit item length
