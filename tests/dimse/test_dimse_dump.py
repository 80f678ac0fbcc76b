"""DCMTK's DIMSE message dump, one table for every message."""

from __future__ import annotations

from dicomwire import uids
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dimse.messages import CFindRQ, CFindRSP, CMoveRQ, CMoveRSP, CStoreRQ, CStoreRSP


def test_incoming_store_request_with_context_and_move_originator() -> None:
    request = CStoreRQ(
        message_id=7,
        affected_sop_class_uid=uids.CT_IMAGE_STORAGE,
        affected_sop_instance_uid="1.2.3",
        move_originator_application_entity_title="MOVESCU",
        move_originator_message_id=3,
    )
    assert dump_message(request, "INCOMING", 5).splitlines() == [
        "===================== INCOMING DIMSE MESSAGE ====================",
        "Message Type                  : C-STORE RQ",
        "Presentation Context ID       : 5",
        "Message ID                    : 7",
        "Affected SOP Class UID        : CTImageStorage",
        "Affected SOP Instance UID     : 1.2.3",
        "Move Originator AE Title      : MOVESCU",
        "Move Originator ID            : 3",
        "Data Set                      : present",
        "Priority                      : medium",
        "======================= END DIMSE MESSAGE =======================",
    ]


def test_outgoing_store_response_with_status_text() -> None:
    response = CStoreRSP(
        message_id_being_responded_to=7,
        affected_sop_class_uid=uids.CT_IMAGE_STORAGE,
        affected_sop_instance_uid="1.2.3",
        status=0xA700,
        error_comment="disk full",
    )
    lines = dump_message(response, "OUTGOING", 5).splitlines()
    assert lines[1:4] == [
        "Message Type                  : C-STORE RSP",
        "Presentation Context ID       : 5",
        "Message ID Being Responded To : 7",
    ]
    assert "Data Set                      : none" in lines
    assert lines[-3].startswith("DIMSE Status                  : 0xa700: ")
    assert lines[-2] == "Error Comment                 : disk full"


def test_find_messages_without_context_id_and_unknown_uid() -> None:
    request = CFindRQ(message_id=1, affected_sop_class_uid=uids.STUDY_ROOT_FIND)
    assert "Presentation Context ID" not in dump_message(request, "OUTGOING")
    response = CFindRSP(
        message_id_being_responded_to=1, affected_sop_class_uid="1.2.999", status=0xFF00, has_dataset=True
    )
    lines = dump_message(response, "INCOMING").splitlines()
    assert "Affected SOP Class UID        : 1.2.999" in lines  # not a name DCMTK knows
    assert "Data Set                      : present" in lines


def test_final_move_response_shows_all_four_counts_as_dcmtk() -> None:
    # observed from DCMTK 3.6.7 movescu -d against dcmqrscp
    response = CMoveRSP(
        message_id_being_responded_to=1,
        affected_sop_class_uid=uids.STUDY_ROOT_MOVE,
        number_of_completed_suboperations=3,
        number_of_failed_suboperations=0,
        number_of_warning_suboperations=0,
    )
    assert dump_message(response, "INCOMING").split("\n")[1:-1] == [
        "Message Type                  : C-MOVE RSP",
        "Message ID Being Responded To : 1",
        "Affected SOP Class UID        : MOVEStudyRootQueryRetrieveInformationModel",
        "Remaining Suboperations       : none",
        "Completed Suboperations       : 3",
        "Failed Suboperations          : 0",
        "Warning Suboperations         : 0",
        "Data Set                      : none",
        "DIMSE Status                  : 0x0000: Success: Sub-operations complete - No failures or warnings",
    ]


def test_move_request_shows_its_destination_after_the_priority() -> None:
    request = CMoveRQ(message_id=1, affected_sop_class_uid=uids.STUDY_ROOT_MOVE, move_destination="DEST")
    assert dump_message(request, "INCOMING").split("\n")[-3:-1] == [
        "Priority                      : medium",
        "Move Destination              : DEST",
    ]
