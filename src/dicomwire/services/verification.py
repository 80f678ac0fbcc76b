"""The Verification service (PS3.4 Annex A): C-ECHO as SCU and SCP."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dicomwire import uids
from dicomwire.dimse import status as st
from dicomwire.dimse.messages import CEchoRQ, CEchoRSP
from dicomwire.errors import RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested

# An SCU's echo needs none of the server side: the handler types load with the server.
if TYPE_CHECKING:
    from dicomwire.dimse.fragments import MessageReceived
    from dicomwire.net.server import Handler
    from dicomwire.services.handlers import EchoHandler

__all__ = ["echo", "echo_handler", "handle_echo"]

log = logging.getLogger("dicomwire.services.verification")


async def echo(
    assoc: Association, *, message_id: int | None = None, timeout: float | None = None
) -> CEchoRSP:
    """Send one C-ECHO-RQ and return the response (``.status`` 0 is Success).

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
    return response


def echo_handler(handler: EchoHandler) -> Handler:
    """The server's message handler around an :class:`EchoHandler`."""
    from dicomwire.services.info import association_info

    async def handle(assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CEchoRQ)
        info = association_info(assoc, received.context_id, request.message_id)
        try:
            code = await handler.echo(info)
        except Exception:
            log.exception("the echo handler failed")
            code = st.PROCESSING_FAILURE
        response = CEchoRSP(
            message_id_being_responded_to=request.message_id,
            affected_sop_class_uid=request.affected_sop_class_uid,
            status=code,
        )
        await assoc.send(received.context_id, response)

    return handle


async def handle_echo(assoc: Association, received: MessageReceived) -> None:
    """The raw message handler answering every C-ECHO-RQ with Success (what
    ``echo_handler(AcceptEcho())`` does)."""
    request = received.message
    assert isinstance(request, CEchoRQ)
    response = CEchoRSP(
        message_id_being_responded_to=request.message_id,
        affected_sop_class_uid=request.affected_sop_class_uid,
        status=st.SUCCESS,
    )
    await assoc.send(received.context_id, response)
