"""Peers that misbehave on purpose, for comparing our SCUs' reports with DCMTK's.

``rejecting(result, source, reason)`` answers every A-ASSOCIATE-RQ with an
A-ASSOCIATE-RJ carrying those raw codes (valid or not); ``misbehaving(mode)``
accepts every query/retrieve/storage/verification context and then, on the
first request, aborts (``"abort"``) or never answers (``"silent"``).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CEchoRQ, CFindRQ, CFindRSP, CGetRQ, CMoveRQ, CStoreRQ
from dicomwire.net.association import Association
from dicomwire.net.server import Server

_HEADER = struct.Struct(">BxI")
#: (0008,0005) ISO_IR 100, (0008,0052) STUDY, (0010,0010) "Müller^Jérôme" in Latin-1, explicit LE.
LATIN1_IDENTIFIER = (
    b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100"
    b"\x08\x00\x52\x00CS\x06\x00STUDY "
    b"\x10\x00\x10\x00PN\x0e\x00M\xfcller^J\xe9r\xf4me "
)
_SYNTAXES = (uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN)
_QUERY_RETRIEVE = tuple(
    f"1.2.840.10008.5.1.4.1.2.{model}.{service}" for model in (1, 2) for service in (1, 2, 3)
)
_ACCEPTED = (uids.VERIFICATION, *_QUERY_RETRIEVE, "1.2.840.10008.5.1.4.1.1.7")  # + Secondary Capture


@asynccontextmanager
async def rejecting(result: int, source: int, reason: int) -> AsyncIterator[int]:
    """A listening port whose peer sends A-ASSOCIATE-RJ (result, source, reason)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError, asyncio.IncompleteReadError):
            _, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            await reader.readexactly(length)
            writer.write(_HEADER.pack(0x03, 4) + bytes((0, result, source, reason)))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def misbehaving(mode: str, seen: list[Association] | None = None) -> AsyncIterator[int]:
    """A listening port whose SCP aborts (``"abort"``) or stays silent (``"silent"``) on a
    request, or (``"latin1"``) answers a C-FIND with one ISO_IR 100 identifier; the
    associations that sent a request are appended to ``seen``."""
    forever = asyncio.Event()

    async def handle(assoc: Association, received: MessageReceived) -> None:
        if seen is not None:
            seen.append(assoc)
        if mode == "abort":
            assoc.abort()
        elif mode == "latin1":
            await _answer_in_latin1(assoc, received)
        else:
            await forever.wait()

    settings = AcceptorSettings(
        supported={sop: _SYNTAXES for sop in _ACCEPTED}, roles={sop: (True, True) for sop in _ACCEPTED}
    )
    handlers = {message: handle for message in (CEchoRQ, CFindRQ, CMoveRQ, CGetRQ, CStoreRQ)}
    server = Server(settings, handlers)  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server.port
    finally:
        forever.set()
        await server.close()


async def _answer_in_latin1(assoc: Association, received: MessageReceived) -> None:
    request = received.message
    assert isinstance(request, CFindRQ)
    pending = CFindRSP(
        message_id_being_responded_to=request.message_id,
        affected_sop_class_uid=request.affected_sop_class_uid,
        status=0xFF00,
        has_dataset=True,
    )
    await assoc.send(received.context_id, pending, LATIN1_IDENTIFIER)
    final = CFindRSP(
        message_id_being_responded_to=request.message_id,
        affected_sop_class_uid=request.affected_sop_class_uid,
    )
    await assoc.send(received.context_id, final)
