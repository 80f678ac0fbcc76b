"""The Verification service (PS3.4 Annex A): C-ECHO as SCU and SCP."""

from __future__ import annotations

import logging

from dicomwire import uids
from dicomwire.dimse import status
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CEchoRQ, CEchoRSP
from dicomwire.errors import RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested

log = logging.getLogger("dicomwire.services.verification")


async def echo(assoc: Association, *, message_id: int | None = None, timeout: float | None = None) -> int:
    """Send one C-ECHO-RQ and return the status of the response.

    ``timeout`` overrides the association's DIMSE timeout for the response.
    """
    context = assoc.context_for(uids.VERIFICATION)
    if message_id is None:
        message_id = assoc.next_message_id()
    await assoc.send(context.context_id, CEchoRQ(message_id=message_id))
    reply = await assoc.receive(timeout)
    if isinstance(reply, ReleaseRequested):
        raise RemoteProtocolError("peer requested release while a C-ECHO was outstanding")
    response = reply.message
    if not isinstance(response, CEchoRSP) or response.message_id_being_responded_to != message_id:
        raise RemoteProtocolError(f"expected C-ECHO-RSP for message {message_id}, got {response!r}")
    return response.status


async def handle_echo(assoc: Association, received: MessageReceived) -> None:
    """Verification SCP: answer every C-ECHO-RQ with Success."""
    request = received.message
    assert isinstance(request, CEchoRQ)
    log.info("Received Echo Request (MsgID %d)", request.message_id)
    response = CEchoRSP(
        message_id_being_responded_to=request.message_id,
        affected_sop_class_uid=request.affected_sop_class_uid,
        status=status.SUCCESS,
    )
    await assoc.send(received.context_id, response)
    log.info("Sent Echo Response (Success)")
