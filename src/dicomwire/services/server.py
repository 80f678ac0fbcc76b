"""The public ``Server``: handler objects registered once, one per service.

::

    server = Server(AcceptorSettings(ae_title="STORE", supported=...), store=StorageSCP("in"))
    await server.start("127.0.0.1", 11112)

Each handler is a :mod:`~dicomwire.services.handlers` protocol; the server adapts it
to the DIMSE messages of its service (responses, statuses, C-CANCEL, streaming
sinks, C-MOVE and C-GET sub-operations: ``retrieve`` says how the C-MOVE associations
to destinations are made).  A C-GET needs storage contexts on which the requestor
takes the SCP role: accept them with ``AcceptorSettings.roles``.  Echo answers Success
unless told otherwise; a service without a handler is answered 0x0211 (Unrecognized
Operation).  ``handlers`` still takes raw
message handlers (``{CEchoRQ: coroutine}``) for what the protocols do not cover.
"""

from __future__ import annotations

import logging
import ssl as _ssl
from collections.abc import Mapping

from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import DatasetSink, MessageReceived
from dicomwire.dimse.messages import (
    CCancelRQ,
    CEchoRQ,
    CFindRQ,
    CGetRQ,
    CMoveRQ,
    CStoreRQ,
    CStoreRSP,
    Message,
)
from dicomwire.net.association import Association, MessageObserver, SinkFactory
from dicomwire.net.server import AssociationEvents, Handler
from dicomwire.net.server import Server as _BaseServer
from dicomwire.net.tls import TLSSettings
from dicomwire.services.handlers import (
    AcceptEcho,
    EchoHandler,
    FindHandler,
    GetHandler,
    MoveHandler,
    ReceivedInstance,
    StoreHandler,
    StreamingStoreHandler,
)
from dicomwire.services.info import association_info
from dicomwire.services.query import ignore_cancel, make_find_handler
from dicomwire.services.retrieve_scp import SubAssociationSettings, make_get_handler, make_move_handler
from dicomwire.services.verification import echo_handler

__all__ = ["Server", "store_handler"]

log = logging.getLogger("dicomwire.server")


def store_handler(handler: StoreHandler) -> Handler:
    """The server's message handler around a :class:`StoreHandler`."""

    async def handle_store(assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CStoreRQ)
        info = association_info(assoc, received.context_id, request.message_id, request.priority)
        instance = ReceivedInstance(request, info.transfer_syntax, received.dataset, received.sink)
        try:
            code = await handler.store(instance, info)
        except Exception:
            log.exception("the store handler failed")
            code = st.CANNOT_UNDERSTAND
        response = CStoreRSP(
            message_id_being_responded_to=request.message_id,
            affected_sop_class_uid=request.affected_sop_class_uid,
            affected_sop_instance_uid=request.affected_sop_instance_uid,
            status=code,
        )
        await assoc.send(received.context_id, response)

    return handle_store


def _sink_factory(handler: StreamingStoreHandler, assoc: Association) -> SinkFactory:
    def factory(context_id: int, message: Message) -> DatasetSink | None:
        if not isinstance(message, CStoreRQ):
            return None
        return handler.open_sink(message, association_info(assoc, context_id, message.message_id))

    return factory


class Server(_BaseServer):
    """An association acceptor serving the handlers it is given (see the module)."""

    def __init__(
        self,
        settings: AcceptorSettings | None = None,
        handlers: Mapping[type[Message], Handler] | None = None,
        *,
        echo: EchoHandler | None = AcceptEcho(),  # noqa: B008 - stateless, shared on purpose
        store: StoreHandler | None = None,
        find: FindHandler | None = None,
        move: MoveHandler | None = None,
        get: GetHandler | None = None,
        retrieve: SubAssociationSettings | None = None,
        tls: TLSSettings | _ssl.SSLContext | None = None,
        observer: MessageObserver | None = None,
        events: AssociationEvents | None = None,
    ) -> None:
        table: dict[type[Message], Handler] = {}
        if echo is not None:
            table[CEchoRQ] = echo_handler(echo)
        if store is not None:
            table[CStoreRQ] = store_handler(store)
        if find is not None:
            table[CFindRQ] = make_find_handler(find)
        if move is not None:
            table[CMoveRQ] = make_move_handler(move, retrieve)
        if get is not None:
            level = retrieve.compression_level if retrieve is not None else 6
            table[CGetRQ] = make_get_handler(get, compression_level=level)
        if find is not None or move is not None or get is not None:
            table[CCancelRQ] = ignore_cancel
        table.update(handlers or {})
        streaming = store if isinstance(store, StreamingStoreHandler) else None
        super().__init__(
            settings if settings is not None else AcceptorSettings(),
            table,
            tls=tls,
            sink_factory=(lambda assoc: _sink_factory(streaming, assoc)) if streaming is not None else None,
            observer=observer,
            events=events,
        )
