"""DIMSE-C message dataclasses: encode/decode, validation, pynetdicom cross-check."""

from __future__ import annotations

import contextlib
import dataclasses
import struct
from io import BytesIO
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomwire.dimse.commands import CommandField, Priority, decode_command, encode_command
from dicomwire.dimse.messages import (
    VERIFICATION_SOP_CLASS_UID,
    CCancelRQ,
    CEchoRQ,
    CEchoRSP,
    CFindRQ,
    CFindRSP,
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CStoreRQ,
    CStoreRSP,
    Message,
    decode_message,
    encode_message,
    is_request,
    is_response,
)
from dicomwire.errors import LocalProtocolError, RemoteProtocolError

CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
INSTANCE = "1.2.826.0.1.3680043.8.498.12345678901234567890123456789"

EXAMPLES: list[Message] = [
    CEchoRQ(message_id=1),
    CEchoRQ(message_id=65535, affected_sop_class_uid="1.2.3"),
    CEchoRSP(message_id_being_responded_to=1),
    CEchoRSP(message_id_being_responded_to=2, status=0x0110, affected_sop_class_uid=None),
    CStoreRQ(message_id=5, affected_sop_class_uid=CT, affected_sop_instance_uid=INSTANCE),
    CStoreRQ(
        message_id=6,
        affected_sop_class_uid=CT,
        affected_sop_instance_uid=INSTANCE,
        priority=Priority.HIGH,
        move_originator_application_entity_title="MOVESCU",
        move_originator_message_id=3,
    ),
    CStoreRSP(
        message_id_being_responded_to=5,
        affected_sop_class_uid=CT,
        affected_sop_instance_uid=INSTANCE,
    ),
    CStoreRSP(
        message_id_being_responded_to=5,
        status=0xA700,
        offending_element=(0x00100010, 0x00100020),
        error_comment="disk full",
        error_id=42,
    ),
    CFindRQ(message_id=9, affected_sop_class_uid=STUDY_FIND, priority=Priority.LOW),
    CFindRSP(
        message_id_being_responded_to=9,
        status=0xFF00,
        affected_sop_class_uid=STUDY_FIND,
        has_dataset=True,
    ),
    CFindRSP(message_id_being_responded_to=9, affected_sop_class_uid=STUDY_FIND),
    CGetRQ(message_id=10, affected_sop_class_uid=STUDY_GET),
    CGetRSP(
        message_id_being_responded_to=10,
        status=0xFF00,
        number_of_remaining_suboperations=4,
        number_of_completed_suboperations=1,
        number_of_failed_suboperations=0,
        number_of_warning_suboperations=0,
    ),
    CGetRSP(message_id_being_responded_to=10, status=0xB000, has_dataset=True),
    CMoveRQ(message_id=11, affected_sop_class_uid=STUDY_MOVE, move_destination="STORESCP"),
    CMoveRSP(message_id_being_responded_to=11, number_of_completed_suboperations=7),
    CCancelRQ(message_id_being_responded_to=9),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    assert decode_message(encode_message(msg)) == msg


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_command_field_and_data_set_type_on_the_wire(msg: Message) -> None:
    elements = decode_command(encode_message(msg))
    assert elements[0x0100] == msg.command_field
    assert elements[0x0800] == (0x0001 if msg.has_dataset else 0x0101)


def test_defaults() -> None:
    assert CEchoRQ(message_id=1).affected_sop_class_uid == VERIFICATION_SOP_CLASS_UID
    assert CEchoRSP(message_id_being_responded_to=1).status == 0
    store = CStoreRQ(message_id=1, affected_sop_class_uid=CT, affected_sop_instance_uid="1")
    assert store.priority is Priority.MEDIUM and store.has_dataset
    assert not CStoreRSP(message_id_being_responded_to=1).has_dataset
    assert CFindRQ(message_id=1, affected_sop_class_uid=STUDY_FIND).has_dataset


def test_frozen_and_slotted() -> None:
    msg = CEchoRQ(message_id=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.message_id = 2  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")


def test_request_response() -> None:
    assert is_request(CEchoRQ(message_id=1)) and not is_response(CEchoRQ(message_id=1))
    assert is_request(CCancelRQ(message_id_being_responded_to=1))
    assert is_response(CMoveRSP(message_id_being_responded_to=1))


def test_optional_elements_are_omitted() -> None:
    elements = decode_command(encode_message(CStoreRSP(message_id_being_responded_to=1)))
    assert sorted(elements) == [0x0000, 0x0100, 0x0120, 0x0800, 0x0900]


def test_decoded_priority_is_the_enum() -> None:
    msg = decode_message(encode_message(CFindRQ(message_id=1, affected_sop_class_uid="1")))
    assert isinstance(msg, CFindRQ) and msg.priority is Priority.MEDIUM


def test_any_data_set_type_other_than_0101_means_present() -> None:
    command = encode_command({0x0002: "1.2", 0x0100: 0x8020, 0x0120: 1, 0x0800: 0xFEFE, 0x0900: 0xFF00})
    assert decode_message(command).has_dataset


# -- errors -------------------------------------------------------------------------
def _without(msg: Message, tag: int) -> bytes:
    elements = decode_command(encode_message(msg))
    del elements[tag]
    return encode_command(elements)


@pytest.mark.parametrize(
    ("msg", "tag", "match"),
    [
        (EXAMPLES[4], 0x1000, "C-STORE-RQ lacks AffectedSOPInstanceUID"),
        (EXAMPLES[4], 0x0110, "C-STORE-RQ lacks MessageID"),
        (EXAMPLES[4], 0x0700, "C-STORE-RQ lacks Priority"),
        (EXAMPLES[0], 0x0002, "C-ECHO-RQ lacks AffectedSOPClassUID"),
        (EXAMPLES[2], 0x0900, "C-ECHO-RSP lacks Status"),
        (EXAMPLES[14], 0x0600, "C-MOVE-RQ lacks MoveDestination"),
        (EXAMPLES[16], 0x0120, "C-CANCEL-RQ lacks MessageIDBeingRespondedTo"),
        (EXAMPLES[0], 0x0800, "no CommandDataSetType"),
        (EXAMPLES[0], 0x0100, "no CommandField"),
    ],
)
def test_decode_missing_required(msg: Message, tag: int, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        decode_message(_without(msg, tag))


@pytest.mark.parametrize(
    ("field", "match"),
    [(0x1234, "0x1234$"), (0x0110, r"0x0110 \(N-GET-RQ\)")],
)
def test_decode_unsupported_command_field(field: int, match: str) -> None:
    command = encode_command({0x0100: field, 0x0110: 1, 0x0800: 0x0101})
    with pytest.raises(RemoteProtocolError, match=f"unsupported command field {match}"):
        decode_message(command)


def test_decode_invalid_priority() -> None:
    command = encode_command({0x0002: "1.2", 0x0100: 0x0020, 0x0110: 1, 0x0700: 3, 0x0800: 0x0001})
    with pytest.raises(RemoteProtocolError, match="invalid Priority"):
        decode_message(command)


def test_encode_missing_required_is_local_error() -> None:
    bad = CMoveRQ(message_id=1, affected_sop_class_uid="1", move_destination=None)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="C-MOVE-RQ needs MoveDestination"):
        encode_message(bad)


def test_encode_out_of_range_is_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="MessageID out of range"):
        encode_message(CEchoRQ(message_id=65536))


def test_encode_non_message() -> None:
    with pytest.raises(LocalProtocolError, match="not a DIMSE message"):
        encode_message(object())  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.binary(max_size=160))
def test_decode_message_random_bytes(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_message(data)


_values = st.one_of(st.integers(0, 0xFFFF), st.text(alphabet="0123456789.", max_size=20), st.none())


@settings(max_examples=300)
@given(
    st.sampled_from([int(f) for f in CommandField] + [0x7777]),
    st.dictionaries(
        st.sampled_from([0x0002, 0x0110, 0x0120, 0x0600, 0x0700, 0x0800, 0x0900, 0x1000, 0x1020]), _values
    ),
)
def test_decode_message_structured_garbage(field: int, extra: dict[int, Any]) -> None:
    """Plausible command sets with the wrong types or values in them."""
    elements = {0x0100: field, **{t: v for t, v in extra.items() if v is not None}}
    try:
        command = encode_command(elements)
    except LocalProtocolError:
        return  # e.g. text in a US element: not encodable, nothing to decode
    with contextlib.suppress(RemoteProtocolError):
        decode_message(command)


# -- cross-check against pynetdicom's independent encoder ----------------------------
pn_prim = pytest.importorskip("pynetdicom.dimse_primitives")
pn_msgs = pytest.importorskip("pynetdicom.dimse_messages")
pn_utils = pytest.importorskip("pynetdicom.dsutils")


def _pynetdicom_encode(message_cls: str, primitive: Any) -> bytes:
    msg = getattr(pn_msgs, message_cls)()
    msg.primitive_to_message(primitive)
    encoded: bytes = pn_utils.encode(msg.command_set, True, True)
    return encoded


def _primitive(kind: str, **attrs: Any) -> Any:
    primitive = getattr(pn_prim, kind)()
    for name, value in attrs.items():
        setattr(primitive, name, value)
    return primitive


def test_cross_check_echo_rq() -> None:
    theirs = _pynetdicom_encode(
        "C_ECHO_RQ", _primitive("C_ECHO", MessageID=7, AffectedSOPClassUID="1.2.840.10008.1.1")
    )
    assert encode_message(CEchoRQ(message_id=7)) == theirs


def test_cross_check_store_rq() -> None:
    primitive = _primitive(
        "C_STORE",
        MessageID=12,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID=INSTANCE,
        Priority=1,
        MoveOriginatorApplicationEntityTitle="MOVER",
        MoveOriginatorMessageID=4,
        DataSet=BytesIO(b"\0\0"),
    )
    ours = CStoreRQ(
        message_id=12,
        affected_sop_class_uid=CT,
        affected_sop_instance_uid=INSTANCE,
        priority=Priority.HIGH,
        move_originator_application_entity_title="MOVER",
        move_originator_message_id=4,
    )
    theirs = _pynetdicom_encode("C_STORE_RQ", primitive)
    assert encode_message(ours) == theirs
    assert decode_message(theirs) == ours


def test_cross_check_move_rq() -> None:
    primitive = _primitive(
        "C_MOVE",
        MessageID=3,
        AffectedSOPClassUID=STUDY_MOVE,
        MoveDestination="DEST",
        Priority=2,
        Identifier=BytesIO(b"\0\0"),
    )
    ours = CMoveRQ(
        message_id=3,
        affected_sop_class_uid=STUDY_MOVE,
        move_destination="DEST",
        priority=Priority.LOW,
    )
    assert encode_message(ours) == _pynetdicom_encode("C_MOVE_RQ", primitive)


def test_cross_check_store_rsp_with_status_detail() -> None:
    primitive = _primitive(
        "C_STORE",
        MessageIDBeingRespondedTo=3,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3",
        Status=0xA700,
        ErrorComment="oops",
        OffendingElement=[0x00100010, 0x00100020],
    )
    ours = CStoreRSP(
        message_id_being_responded_to=3,
        affected_sop_class_uid=CT,
        affected_sop_instance_uid="1.2.3",
        status=0xA700,
        error_comment="oops",
        offending_element=(0x00100010, 0x00100020),
    )
    assert encode_message(ours) == _pynetdicom_encode("C_STORE_RSP", primitive)


def test_cross_check_get_rsp_pending() -> None:
    primitive = _primitive(
        "C_GET",
        MessageIDBeingRespondedTo=8,
        AffectedSOPClassUID=STUDY_GET,
        Status=0xFF00,
        NumberOfRemainingSuboperations=5,
        NumberOfCompletedSuboperations=1,
        NumberOfFailedSuboperations=0,
        NumberOfWarningSuboperations=2,
    )
    ours = CGetRSP(
        message_id_being_responded_to=8,
        affected_sop_class_uid=STUDY_GET,
        status=0xFF00,
        number_of_remaining_suboperations=5,
        number_of_completed_suboperations=1,
        number_of_failed_suboperations=0,
        number_of_warning_suboperations=2,
    )
    assert encode_message(ours) == _pynetdicom_encode("C_GET_RSP", primitive)


def test_cross_check_pynetdicom_decodes_ours() -> None:
    ours = encode_message(
        CFindRSP(
            message_id_being_responded_to=4,
            affected_sop_class_uid=STUDY_FIND,
            status=0xFF00,
            has_dataset=True,
        )
    )
    ds = pn_utils.decode(BytesIO(ours), True, True)
    assert ds.CommandField == 0x8020
    assert ds.MessageIDBeingRespondedTo == 4
    assert ds.Status == 0xFF00
    assert ds.CommandDataSetType == 0x0001
    assert ds.AffectedSOPClassUID == STUDY_FIND
    assert ds.CommandGroupLength == len(ours) - 12
    assert struct.unpack_from("<I", ours, 8)[0] == len(ours) - 12


def test_cached_encoding_matches_the_uncached_one() -> None:
    from dicomwire.dimse import messages

    samples: list[messages.Message] = [
        CEchoRQ(message_id=1),
        CEchoRQ(message_id=65535),
        CStoreRQ(
            message_id=3,
            affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
            affected_sop_instance_uid="1.2.3",
            priority=Priority.HIGH,
        ),
        CStoreRQ(
            message_id=4,
            affected_sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
            affected_sop_instance_uid="1.2.3.45",
            priority=Priority.HIGH,
        ),
        CStoreRSP(message_id_being_responded_to=4, status=0xB000, error_comment="odd"),
    ]
    for message in samples * 2:  # the second round hits the cache
        assert encode_message(message) == messages._encode_uncached(message)
        assert type(decode_message(encode_message(message))) is type(message)
    unhashable = CStoreRSP(message_id_being_responded_to=5, status=0, offending_element=[0x10])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        encode_message(unhashable)
