"""Cross-check of our encodings against pynetdicom, an independent implementation:
ours -> bytes -> pynetdicom decode, and pynetdicom encode -> bytes -> ours."""

from __future__ import annotations

from typing import Any, cast

import pytest

pynetdicom = pytest.importorskip("pynetdicom")

from pynetdicom import pdu as pn_pdu  # noqa: E402
from pynetdicom import pdu_primitives as prim  # noqa: E402
from pynetdicom.presentation import PresentationContext  # noqa: E402
from test_ul_golden import associate_ac, associate_rq  # noqa: E402

from dicomwire.ul.items import (  # noqa: E402
    PresentationContextAC,
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    iter_items,
)
from dicomwire.ul.pdu import (  # noqa: E402
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    decode_pdu,
)
from dicomwire.ul.pdv import PDV  # noqa: E402

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def theirs(cls: type, data: bytes) -> Any:
    pdu = cls()
    pdu.decode(data)
    return pdu


def ours(data: bytes) -> Any:
    return decode_pdu(data[0], data[6:])


def sub_items(user_information: Any, name: str) -> list[Any]:
    return [i for i in user_information.user_data if type(i).__name__ == name]


# -- ours -> pynetdicom ----------------------------------------------------------------------


def test_our_associate_rq_decoded_by_pynetdicom() -> None:
    rq = associate_rq()
    data = rq.encode()
    pn = theirs(pn_pdu.A_ASSOCIATE_RQ, data)
    assert pn.protocol_version == 1
    assert (pn.called_ae_title, pn.calling_ae_title) == ("ANY-SCP", "ECHOSCU")
    assert pn.application_context_name == "1.2.840.10008.3.1.1.1"
    assert [(c.context_id, c.abstract_syntax, list(c.transfer_syntax)) for c in pn.presentation_context] == [
        (c.context_id, c.abstract_syntax, list(c.transfer_syntaxes)) for c in rq.presentation_contexts
    ]
    info = pn.user_information
    assert info.maximum_length == 16384
    assert info.implementation_class_uid == "1.2.3.4"
    assert info.implementation_version_name == "DW1"
    [window] = sub_items(info, "AsynchronousOperationsWindowSubItem")
    assert (window.maximum_number_operations_invoked, window.maximum_number_operations_performed) == (5, 3)
    [role] = sub_items(info, "SCP_SCU_RoleSelectionSubItem")
    assert (role.sop_class_uid, role.scu_role, role.scp_role) == (CT, False, True)
    [ext] = sub_items(info, "SOPClassExtendedNegotiationSubItem")
    assert (ext.sop_class_uid, ext.service_class_application_information) == (CT, b"\x02\x00\x01")
    [common] = sub_items(info, "SOPClassCommonExtendedNegotiationSubItem")
    assert common.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2.1"
    assert common.service_class_uid == "1.2.840.10008.4.2"
    assert common.related_general_sop_class_identification == [CT]
    [identity] = sub_items(info, "UserIdentitySubItemRQ")
    assert identity.user_identity_type == 2
    assert identity.positive_response_requested == 1
    assert (identity.primary_field, identity.secondary_field) == (b"alice", b"secret")
    # pynetdicom re-encodes what it decoded into exactly our bytes.
    assert pn.encode() == data


def test_our_associate_ac_decoded_by_pynetdicom() -> None:
    data = associate_ac().encode()
    pn = theirs(pn_pdu.A_ASSOCIATE_AC, data)
    assert [(c.context_id, c.result) for c in pn.presentation_context] == [(1, 0), (3, 4)]
    assert pn.presentation_context[0].transfer_syntax == IMPLICIT_LE
    info = pn.user_information
    assert info.maximum_length == 32768
    assert info.implementation_class_uid == "1.2.3.5"
    assert info.implementation_version_name == "DW2"
    [identity] = sub_items(info, "UserIdentitySubItemAC")
    assert identity.server_response == b"ok-token"
    [role] = sub_items(info, "SCP_SCU_RoleSelectionSubItem")
    assert (role.sop_class_uid, role.scu_role, role.scp_role) == (CT, False, True)


@pytest.mark.parametrize(("result", "source", "reason"), [(1, 1, 1), (2, 2, 2), (1, 3, 1), (1, 1, 7)])
def test_our_associate_rj_decoded_by_pynetdicom(result: int, source: int, reason: int) -> None:
    pn = theirs(pn_pdu.A_ASSOCIATE_RJ, AAssociateRJ(result, source, reason).encode())
    assert (pn.result, pn.source, pn.reason_diagnostic) == (result, source, reason)


def test_our_p_data_decoded_by_pynetdicom() -> None:
    pdvs = (PDV(1, True, True, b"\x08\x00"), PDV(3, False, False, b"x" * 1000), PDV(5, False, True, b""))
    pn = theirs(pn_pdu.P_DATA_TF, PDataTF(pdvs).encode())
    items = pn.presentation_data_value_items
    assert [(v.presentation_context_id, v.presentation_data_value) for v in items] == [
        (1, b"\x03\x08\x00"),  # pynetdicom keeps the control header as the value's first byte
        (3, b"\x00" + b"x" * 1000),
        (5, b"\x02"),
    ]


def test_our_release_and_abort_decoded_by_pynetdicom() -> None:
    assert theirs(pn_pdu.A_RELEASE_RQ, AReleaseRQ().encode()).pdu_type == 0x05
    assert theirs(pn_pdu.A_RELEASE_RP, AReleaseRP().encode()).pdu_type == 0x06
    pn = theirs(pn_pdu.A_ABORT_RQ, AAbort(2, 6).encode())
    assert (pn.source, pn.reason_diagnostic) == (2, 6)


# -- pynetdicom -> ours ---------------------------------------------------------------------


def pynetdicom_associate(*, with_identity_ac: bool = False) -> Any:
    primitive = prim.A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = "STORESCU"
    primitive.called_ae_title = "ARCHIVE"
    contexts = []
    for context_id, abstract, syntaxes in [(1, CT, [EXPLICIT_LE, IMPLICIT_LE]), (3, MR, [IMPLICIT_LE])]:
        context = PresentationContext()
        context.context_id = context_id
        context.abstract_syntax = abstract
        context.transfer_syntax = list(syntaxes)  # pynetdicom wants list[str | bytes | UID]
        contexts.append(context)
    primitive.presentation_context_definition_list = contexts
    maximum = prim.MaximumLengthNotification()
    maximum.maximum_length_received = 28672
    implementation = prim.ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.826.0.1.3680043.9.3811.3.0.4"
    version = prim.ImplementationVersionNameNotification()
    version.implementation_version_name = "PYNETDICOM_304"
    window = prim.AsynchronousOperationsWindowNegotiation()
    window.maximum_number_operations_invoked = 10
    window.maximum_number_operations_performed = 0
    role = prim.SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = MR
    role.scu_role = True
    role.scp_role = True
    ext = prim.SOPClassExtendedNegotiation()
    ext.sop_class_uid = CT
    ext.service_class_application_information = b"\x01\x00\x01\x00\x01\x00"
    common = prim.SOPClassCommonExtendedNegotiation()
    common.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2.1"
    common.service_class_uid = "1.2.840.10008.4.2"
    common.related_general_sop_class_identification = [CT, MR]
    identity = prim.UserIdentityNegotiation()
    if with_identity_ac:
        identity.server_response = b"welcome"
    else:
        identity.user_identity_type = 2
        identity.positive_response_requested = True
        identity.primary_field = b"bob"
        identity.secondary_field = b"hunter2"
    primitive.user_information = [maximum, implementation, version, window, role, ext, common, identity]
    return primitive


def test_pynetdicom_associate_rq_decoded_by_us() -> None:
    pn = pn_pdu.A_ASSOCIATE_RQ()
    pn.from_primitive(pynetdicom_associate())
    rq = ours(pn.encode())
    assert isinstance(rq, AAssociateRQ)
    assert (rq.called_ae, rq.calling_ae, rq.protocol_version) == ("ARCHIVE", "STORESCU", 1)
    assert rq.application_context == "1.2.840.10008.3.1.1.1"
    assert rq.presentation_contexts == (
        PresentationContextRQ(1, CT, (EXPLICIT_LE, IMPLICIT_LE)),
        PresentationContextRQ(3, MR, (IMPLICIT_LE,)),
    )
    info = rq.user_information
    assert info.max_length == 28672
    assert info.implementation_class_uid == "1.2.826.0.1.3680043.9.3811.3.0.4"
    assert info.implementation_version_name == "PYNETDICOM_304"
    assert info.async_ops_window == (10, 0)
    assert info.role_selections == (RoleSelection(MR, True, True),)
    assert info.extended_negotiation == (SOPClassExtendedNegotiation(CT, b"\x01\x00\x01\x00\x01\x00"),)
    assert info.common_extended_negotiation == (
        SOPClassCommonExtendedNegotiation("1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.4.2", (CT, MR)),
    )
    assert info.user_identity_rq == UserIdentityRQ(2, b"bob", b"hunter2", True)
    assert info.user_identity_ac is None
    assert info.unknown_items == ()
    # Our encoding of what we decoded is the bytes pynetdicom sent, except
    # that we send the user-information sub-items in increasing type order
    # (pynetdicom sends 0x55 right after 0x52).
    mine, sent = rq.encode(), pn.encode()
    assert len(mine) == len(sent)
    user_info_at = sent.index(b"\x50\x00")
    assert mine[:user_info_at] == sent[:user_info_at]
    [(_, my_info)] = list(iter_items(mine[user_info_at:], "ours"))
    [(_, their_info)] = list(iter_items(sent[user_info_at:], "theirs"))
    my_subitems = [(t, bytes(b)) for t, b in iter_items(my_info, "ours")]
    their_subitems = [(t, bytes(b)) for t, b in iter_items(their_info, "theirs")]
    assert [t for t, _ in my_subitems] == sorted(t for t, _ in my_subitems)
    assert sorted(my_subitems) == sorted(their_subitems)


def test_pynetdicom_associate_ac_decoded_by_us() -> None:
    primitive = pynetdicom_associate(with_identity_ac=True)
    primitive.user_information = [
        i for i in primitive.user_information if not isinstance(i, prim.SOPClassCommonExtendedNegotiation)
    ]
    primitive.result = 0
    accepted = PresentationContext()
    accepted.context_id = 1
    accepted.transfer_syntax = [EXPLICIT_LE]
    accepted.result = 0
    rejected = PresentationContext()
    rejected.context_id = 3
    rejected.transfer_syntax = [IMPLICIT_LE]
    rejected.result = 3
    primitive.presentation_context_definition_results_list = [accepted, rejected]
    pn = pn_pdu.A_ASSOCIATE_AC()
    pn.from_primitive(primitive)
    ac = ours(pn.encode())
    assert isinstance(ac, AAssociateAC)
    assert ac.presentation_contexts == (
        PresentationContextAC(1, 0, EXPLICIT_LE),
        PresentationContextAC(3, 3, IMPLICIT_LE),
    )
    assert [c.accepted for c in ac.presentation_contexts] == [True, False]
    assert ac.user_information.max_length == 28672
    assert ac.user_information.user_identity_ac == UserIdentityAC(b"welcome")


def test_pynetdicom_associate_rj_decoded_by_us() -> None:
    primitive = prim.A_ASSOCIATE()
    primitive.result = 2
    primitive.result_source = 3
    primitive.diagnostic = 2
    pn = pn_pdu.A_ASSOCIATE_RJ()
    pn.from_primitive(primitive)
    assert ours(pn.encode()) == AAssociateRJ(2, 3, 2)


def test_pynetdicom_p_data_decoded_by_us() -> None:
    primitive = prim.P_DATA()
    # pynetdicom annotates a list of (ID, PDV) tuples, but its setter only accepts [ID, PDV] lists
    pdvs = [[1, b"\x03command"], [1, b"\x00part1"], [7, b"\x02part2"]]
    primitive.presentation_data_value_list = cast("list[tuple[int, bytes]]", pdvs)
    pn = pn_pdu.P_DATA_TF()
    pn.from_primitive(primitive)
    data = pn.encode()
    assert ours(data) == PDataTF(
        (PDV(1, True, True, b"command"), PDV(1, False, False, b"part1"), PDV(7, False, True, b"part2"))
    )
    assert PDataTF(ours(data).pdvs).encode() == data


def test_pynetdicom_release_and_abort_decoded_by_us() -> None:
    assert ours(pn_pdu.A_RELEASE_RQ().encode()) == AReleaseRQ()
    assert ours(pn_pdu.A_RELEASE_RP().encode()) == AReleaseRP()
    primitive = prim.A_P_ABORT()
    primitive.provider_reason = 0x02
    pn = pn_pdu.A_ABORT_RQ()
    pn.from_primitive(primitive)
    assert ours(pn.encode()) == AAbort(2, 2)
    user = prim.A_ABORT()
    user.abort_source = 0
    pn = pn_pdu.A_ABORT_RQ()
    pn.from_primitive(user)
    assert ours(pn.encode()) == AAbort(0, 0)
