"""TLS connections, both sides, on any event loop: TLS run by us over memory BIOs.

``loop.start_tls`` cannot be used by an acceptor on uvloop: the peer's
ClientHello can reach the plain protocol before the TLS layer takes over, and
the handshake then waits forever.  ``create_server(ssl=)`` hides failed
handshakes (nothing is told, nothing is logged).  And uvloop's TLS transport
costs a requestor about 0.2 ms per message (bench/echo), where this costs a
few tens of microseconds.  So :class:`TLSConnection` is the plain protocol of
the connection: it runs the handshake (bounded in time), reports a failure
with OpenSSL's reason, and then hands an :class:`asyncio.Protocol` (the
association) a transport that encrypts what it writes and decrypts what it
receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, cast

from dicomwire.errors import TLSHandshakeError
from dicomwire.net.tls import handshake_error, reason_code

__all__ = ["TLSConnection", "TLSTransport"]

_READ_SIZE = 256 * 1024


class TLSConnection(asyncio.Protocol):
    """One TLS connection: accepted (``server_side``) or requested (``server_hostname``).

    ``open_protocol`` makes the protocol that gets the connection once the
    handshake is done; ``failed(address, error)`` hears of a handshake that
    did not complete within ``timeout`` seconds or that failed.
    """

    def __init__(
        self,
        context: ssl.SSLContext,
        open_protocol: Callable[[], asyncio.Protocol],
        failed: Callable[[str, TLSHandshakeError], None],
        timeout: float,
        *,
        server_side: bool = True,
        server_hostname: str | None = None,
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._server_side = server_side
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._open_protocol = open_protocol
        self._failed = failed
        self._timeout = timeout
        self._raw: asyncio.Transport | None = None
        self._app: asyncio.Protocol | None = None
        self._app_transport: TLSTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._address = "unknown peer"

    # -- the plain connection ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; the interface is the same.
        self._raw = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self._address = str(peer[0])
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._handshake_timed_out)
        if not self._server_side:
            self._handshake()  # the ClientHello

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._app is None:
            self._handshake()
        if self._app is not None:
            self._deliver()

    def eof_received(self) -> bool | None:
        self._incoming.write_eof()
        if self._app is None:
            self._fail(_closed(self._server_side))
            return False
        self._deliver()
        return self._app.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._app is not None:
            self._app.connection_lost(exc)
        elif self._raw is not None:
            self._raw = None
            self._failed(self._address, _closed(self._server_side))

    def pause_writing(self) -> None:
        if self._app is not None:
            self._app.pause_writing()

    def resume_writing(self) -> None:
        if self._app is not None:
            self._app.resume_writing()

    # -- the handshake ----------------------------------------------------------------------
    def _handshake(self) -> None:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except ssl.SSLError as exc:
            self._flush()  # the alert, so the peer learns why
            self._fail(handshake_error(exc))
            return
        self._flush()
        self._cancel_timer()
        assert self._raw is not None
        self._app_transport = TLSTransport(self._raw, self)
        self._app = self._open_protocol()
        self._app.connection_made(self._app_transport)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self._app is None:
            self._fail(
                TLSHandshakeError("TLS handshake failed: no handshake within the timeout", reason="timeout")
            )

    def _fail(self, error: TLSHandshakeError) -> None:
        self._cancel_timer()
        raw, self._raw = self._raw, None
        if raw is None:
            return
        raw.close()  # after the alert has been written
        self._failed(self._address, error)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- after the handshake ----------------------------------------------------------------
    def _deliver(self) -> None:
        """Pass the plaintext of every complete record to the protocol, in one call: a record
        holds at most 16 KiB, and the association's cost is per call, not per byte."""
        assert self._app is not None
        chunks: list[bytes] = []
        failed = False
        while True:
            try:
                chunk = self._tls.read(_READ_SIZE)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):  # more to come; close_notify
                break
            except ssl.SSLError:
                failed = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        if chunks:
            self._app.data_received(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if failed:
            if self._raw is not None:
                self._raw.abort()
            return
        self._flush()  # key updates, session tickets

    def encrypt(self, data: bytes | bytearray | memoryview) -> None:
        if self._raw is None or self._raw.is_closing():
            return
        view = memoryview(data)
        while view:
            written = self._tls.write(view)
            view = view[written:]
        self._flush()

    def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending and self._raw is not None and not self._raw.is_closing():
            self._raw.write(pending)

    def tls_object(self) -> ssl.SSLObject:
        return self._tls

    def drop(self) -> None:
        """Give up on a handshake (too many at once)."""
        if self._app is None:
            self._fail(
                TLSHandshakeError("TLS handshake failed: too many handshakes at once", reason="dropped")
            )

    def close_notify(self) -> None:
        """Say goodbye in TLS (close_notify) before the connection closes."""
        with contextlib.suppress(ssl.SSLError):  # the peer's close_notify is not waited for
            self._tls.unwrap()
        self._flush()


class TLSTransport(asyncio.Transport):
    """What the association writes through: encrypted onto the plain transport."""

    def __init__(self, raw: asyncio.Transport, connection: TLSConnection) -> None:
        super().__init__()
        self._raw = raw
        self._connection = connection

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._connection.encrypt(data)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        tls = self._connection.tls_object()
        if name == "ssl_object":
            return tls
        if name == "peercert":
            return tls.getpeercert()
        if name == "cipher":
            return tls.cipher()
        return self._raw.get_extra_info(name, default)

    def close(self) -> None:
        if not self._raw.is_closing():
            self._connection.close_notify()
        self._raw.close()

    def abort(self) -> None:
        self._raw.abort()

    def is_closing(self) -> bool:
        return self._raw.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._raw.get_write_buffer_size()

    def pause_reading(self) -> None:
        self._raw.pause_reading()

    def resume_reading(self) -> None:
        self._raw.resume_reading()

    def is_reading(self) -> bool:
        return self._raw.is_reading()

    def can_write_eof(self) -> bool:
        return False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._raw.set_write_buffer_limits(high, low)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._connection

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        raise NotImplementedError("the protocol of a TLS connection is fixed")


def _closed(server_side: bool) -> TLSHandshakeError:
    """The peer closed the connection in the middle of the handshake: OpenSSL's unexpected EOF
    for an acceptor; for a requestor, a peer that is not TLS hung up (SSL_ERROR_SYSCALL)."""
    if not server_side:
        return TLSHandshakeError("TLS handshake failed: connection closed by peer", reason="syscall")
    return TLSHandshakeError(
        "TLS handshake failed: connection closed by peer",
        reason="unexpected eof while reading",
        code=reason_code("UNEXPECTED_EOF_WHILE_READING"),
    )
