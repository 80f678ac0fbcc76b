"""Requesting associations: ``async with associate(host, port, ...) as assoc``."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl as _ssl
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dicomwire import uids
from dicomwire.config import ContextSpec, RequestorSettings, Timeouts
from dicomwire.errors import (
    AssociationAborted,
    AssociationRejected,
    ConnectError,
    NetworkTimeout,
    TLSHandshakeError,
)
from dicomwire.net.association import Association, SinkFactory
from dicomwire.ul.items import (
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityRQ,
)
from dicomwire.ul.negotiation import accepted_contexts
from dicomwire.ul.pdu import AAssociateRJ, AbortSource

if TYPE_CHECKING:  # dicomwire.net.tls loads only for TLS
    from dicomwire.net.tls import TLSSettings

__all__ = ["ContextSpec", "RequestorSettings", "associate", "open_association"]


async def open_association(
    host: str,
    port: int,
    settings: RequestorSettings,
    *,
    tls: TLSSettings | _ssl.SSLContext | None = None,
    sink_factory: SinkFactory | None = None,
) -> Association:
    """Connect, negotiate and return an established association.

    Raises ConnectError / NetworkTimeout when the peer cannot be reached
    (TLSHandshakeError when the TLS handshake fails), AssociationRejected when
    it says no, AcseTimeout when it says nothing; TLSSetupError when ``tls``
    cannot be made into an SSL context.
    """
    request = settings.build_request()
    loop = asyncio.get_running_loop()
    timeouts = settings.timeouts
    if tls is None or isinstance(tls, _ssl.SSLContext):
        context = tls
    else:
        from dicomwire.net.tls import as_context

        context = as_context(tls, server_side=False)

    def factory() -> Association:
        return Association(
            requestor=True,
            max_pdu_length=settings.max_pdu_length,
            timeouts=timeouts,
            sink_factory=sink_factory,
        )

    try:
        assoc = await asyncio.wait_for(
            _connect(loop, host, port, factory, context, timeouts), timeouts.connect
        )
    except TimeoutError:
        raise NetworkTimeout(f"no connection to {host}:{port} within {timeouts.connect:g} s") from None
    try:
        answer = await assoc.request_association(request)
        if isinstance(answer, AAssociateRJ):
            raise AssociationRejected(answer.result, answer.source, answer.reason)
        if not assoc.established:
            # Accepted, then aborted (or garbage) in the same chunk of bytes as the A-ASSOCIATE-AC.
            raise assoc.error or AssociationAborted(AbortSource.SERVICE_PROVIDER, 0, "connection closed")
        # An answer for a context we never proposed, or with a transfer syntax we did not
        # propose, is a RemoteProtocolError: the association is aborted, not left open.
        assoc.contexts = accepted_contexts(
            request.presentation_contexts,
            answer.presentation_contexts,
            request.user_information.role_selections,
            answer.user_information.role_selections,
        )
    except BaseException:
        assoc.abort()
        raise
    return assoc


def _numeric_address(host: str, port: int) -> list[tuple[Any, ...]] | None:
    """``host`` as an IP address, which needs no resolver (asyncio's own loop would start a
    thread for ``getaddrinfo``: 1 to 3 ms of a plain echo); None for a host name.  An address
    is ASCII: given as bytes, it spares the IDNA codec's import (1 ms) too."""
    if not host.isascii():
        return None
    try:
        return socket.getaddrinfo(host.encode(), port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except OSError:
        return None


async def _connect(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    factory: Callable[[], Association],
    ssl: _ssl.SSLContext | None,
    timeouts: Timeouts,
) -> Association:
    """Try each address of ``host`` in turn; errors carry the OS's words.

    The TLS handshake is bounded (``Timeouts.handshake``) even without a connect
    timeout: a peer that never answers it must not hang the requestor.
    """
    try:
        addresses = _numeric_address(host, port)
        if addresses is None:
            addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectError(f"Attempt to connect to unknown host: {host}", unknown_host=True) from exc
    last: OSError | None = None
    for family, _, proto, _, address in addresses:
        try:
            if ssl is not None:
                return await _connect_tls(
                    loop, host, (str(address[0]), int(address[1])), family, factory, ssl, timeouts
                )
            _, assoc = await loop.create_connection(
                factory, str(address[0]), int(address[1]), family=family, proto=proto
            )
            return assoc
        except OSError as exc:
            last = exc
    reason = os.strerror(last.errno) if last is not None and last.errno else str(last)
    raise ConnectError(reason)


async def _connect_tls(
    loop: asyncio.AbstractEventLoop,
    host: str,
    address: tuple[str, int],
    family: int,
    factory: Callable[[], Association],
    context: _ssl.SSLContext,
    timeouts: Timeouts,
) -> Association:
    """A TCP connection, then the TLS handshake (bounded by ``timeouts.handshake``), then the
    association on it; TLSHandshakeError names what went wrong."""
    from dicomwire.net.tlsconn import TLSConnection

    ready: asyncio.Future[Association] = loop.create_future()

    def opened() -> Association:
        assoc = factory()
        if not ready.done():
            ready.set_result(assoc)
        return assoc

    def failed(_address: str, error: TLSHandshakeError) -> None:
        if not ready.done():
            ready.set_exception(error)

    def connection() -> TLSConnection:
        return TLSConnection(
            context, opened, failed, timeouts.handshake, server_side=False, server_hostname=host
        )

    await loop.create_connection(connection, address[0], address[1], family=family)
    return await ready


class associate:
    """``await associate(...)`` or ``async with associate(...) as assoc``.

    Pass a :class:`~dicomwire.config.RequestorSettings`, or its fields as keyword
    arguments (``calling_ae=``, ``called_ae=``, ``contexts=``, ...), not both.
    The context manager releases the association on a normal exit and aborts it
    when the block raises.  ``tls``: a :class:`~dicomwire.net.tls.TLSSettings` or
    an :class:`ssl.SSLContext` for a TLS connection (PS3.15 Annex B).
    """

    def __init__(
        self,
        host: str,
        port: int,
        settings: RequestorSettings | None = None,
        *,
        calling_ae: str = "DICOMWIRE",
        called_ae: str = "ANY-SCP",
        contexts: Sequence[ContextSpec] | Sequence[PresentationContextRQ] = (),
        max_pdu_length: int = 16384,
        roles: Sequence[RoleSelection] = (),
        extended_negotiation: Sequence[SOPClassExtendedNegotiation] = (),
        common_extended_negotiation: Sequence[SOPClassCommonExtendedNegotiation] = (),
        user_identity: UserIdentityRQ | None = None,
        async_ops_window: tuple[int, int] | None = None,
        implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
        implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION,
        timeouts: Timeouts | None = None,
        tls: TLSSettings | _ssl.SSLContext | None = None,
        sink_factory: SinkFactory | None = None,
    ) -> None:
        if settings is None:
            settings = RequestorSettings(
                calling_ae=calling_ae,
                called_ae=called_ae,
                contexts=contexts,
                max_pdu_length=max_pdu_length,
                roles=roles,
                extended_negotiation=extended_negotiation,
                common_extended_negotiation=common_extended_negotiation,
                user_identity=user_identity,
                async_ops_window=async_ops_window,
                implementation_class_uid=implementation_class_uid,
                implementation_version_name=implementation_version_name,
                timeouts=timeouts if timeouts is not None else Timeouts(),
            )
        self.settings = settings
        self._call = (host, port, tls, sink_factory)
        self._assoc: Association | None = None

    def __await__(self) -> Generator[Any, None, Association]:
        host, port, tls, sink_factory = self._call
        return open_association(host, port, self.settings, tls=tls, sink_factory=sink_factory).__await__()

    async def __aenter__(self) -> Association:
        self._assoc = await self
        return self._assoc

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assoc = self._assoc
        if assoc is None:
            return
        if exc is None and assoc.established:
            await assoc.release()
        else:
            assoc.abort()
