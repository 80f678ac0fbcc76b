"""Requesting associations: ``async with associate(host, port, ...) as assoc``."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl as _ssl
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from dicomwire import uids
from dicomwire.errors import AssociationAborted, AssociationRejected, ConnectError, NetworkTimeout
from dicomwire.net.association import Association, SinkFactory, Timeouts
from dicomwire.ul.items import (
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityRQ,
    UserInformation,
)
from dicomwire.ul.negotiation import accepted_contexts, propose
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ, AbortSource

ContextSpec = tuple[str, Sequence[str]]


@dataclass(frozen=True)
class RequestorSettings:
    """Everything the requestor puts in its A-ASSOCIATE-RQ."""

    calling_ae: str = "DICOMWIRE"
    called_ae: str = "ANY-SCP"
    contexts: Sequence[ContextSpec] | Sequence[PresentationContextRQ] = ()
    max_pdu_length: int = 16384
    roles: Sequence[RoleSelection] = ()
    extended_negotiation: Sequence[SOPClassExtendedNegotiation] = ()
    common_extended_negotiation: Sequence[SOPClassCommonExtendedNegotiation] = ()
    user_identity: UserIdentityRQ | None = None
    async_ops_window: tuple[int, int] | None = None
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION
    timeouts: Timeouts = field(default_factory=Timeouts)

    def build_request(self) -> AAssociateRQ:
        contexts = self.contexts
        if contexts and isinstance(contexts[0], PresentationContextRQ):
            proposal = tuple(c for c in contexts if isinstance(c, PresentationContextRQ))
        else:
            proposal = propose(c for c in contexts if isinstance(c, tuple))
        info = UserInformation(
            max_length=self.max_pdu_length,
            implementation_class_uid=self.implementation_class_uid,
            implementation_version_name=self.implementation_version_name,
            async_ops_window=self.async_ops_window,
            role_selections=tuple(self.roles),
            extended_negotiation=tuple(self.extended_negotiation),
            common_extended_negotiation=tuple(self.common_extended_negotiation),
            user_identity_rq=self.user_identity,
        )
        return AAssociateRQ(
            called_ae=self.called_ae,
            calling_ae=self.calling_ae,
            user_information=info,
            presentation_contexts=proposal,
        )


async def open_association(
    host: str,
    port: int,
    settings: RequestorSettings,
    *,
    ssl: _ssl.SSLContext | None = None,
    sink_factory: SinkFactory | None = None,
) -> Association:
    """Connect, negotiate and return an established association.

    Raises ConnectError / NetworkTimeout when the peer cannot be reached,
    AssociationRejected when it says no, AcseTimeout when it says nothing.
    """
    request = settings.build_request()
    loop = asyncio.get_running_loop()
    timeouts = settings.timeouts

    def factory() -> Association:
        return Association(
            requestor=True,
            max_pdu_length=settings.max_pdu_length,
            timeouts=timeouts,
            sink_factory=sink_factory,
        )

    try:
        assoc = await asyncio.wait_for(_connect(loop, host, port, factory, ssl), timeouts.connect)
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


async def _connect(
    loop: asyncio.AbstractEventLoop,
    host: str,
    port: int,
    factory: Callable[[], Association],
    ssl: _ssl.SSLContext | None,
) -> Association:
    """Try each address of ``host`` in turn; errors carry the OS's words."""
    try:
        addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectError(f"Attempt to connect to unknown host: {host}", unknown_host=True) from exc
    last: OSError | None = None
    for family, _, proto, _, address in addresses:
        try:
            _, assoc = await loop.create_connection(
                factory,
                str(address[0]),
                int(address[1]),
                family=family,
                proto=proto,
                ssl=ssl,
                server_hostname=host if ssl else None,
            )
            return assoc
        except OSError as exc:
            last = exc
    reason = os.strerror(last.errno) if last is not None and last.errno else str(last)
    raise ConnectError(reason)


class associate:
    """``await associate(...)`` or ``async with associate(...) as assoc``.

    The context manager releases the association on a normal exit and aborts
    it when the block raises.
    """

    def __init__(
        self, host: str, port: int, settings: RequestorSettings | None = None, **kwargs: Any
    ) -> None:
        ssl = kwargs.pop("ssl", None)
        sink_factory = kwargs.pop("sink_factory", None)
        self._call = (host, port, settings or RequestorSettings(**kwargs), ssl, sink_factory)
        self._assoc: Association | None = None

    def __await__(self) -> Generator[Any, None, Association]:
        host, port, settings, ssl, sink_factory = self._call
        return open_association(host, port, settings, ssl=ssl, sink_factory=sink_factory).__await__()

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
