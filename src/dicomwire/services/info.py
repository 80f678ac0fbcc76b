"""What a handler is told about a request: built from the association."""

from __future__ import annotations

from dicomwire import uids
from dicomwire.dimse.commands import Priority
from dicomwire.net.association import Association
from dicomwire.services.handlers import AssociationInfo

__all__ = ["association_info"]


def association_info(
    assoc: Association, context_id: int, message_id: int, priority: Priority = Priority.MEDIUM
) -> AssociationInfo:
    """The :class:`AssociationInfo` of a request on ``assoc``."""
    request = assoc.request
    context = assoc.contexts.get(context_id)
    return AssociationInfo(
        calling_ae=request.calling_ae if request is not None else "",
        called_ae=request.called_ae if request is not None else "",
        peer_address=assoc.peer_address,
        peer_hostname=assoc.peer_hostname,
        context_id=context_id,
        transfer_syntax=context.transfer_syntax if context is not None else uids.IMPLICIT_VR_LITTLE_ENDIAN,
        message_id=message_id,
        priority=priority,
    )
