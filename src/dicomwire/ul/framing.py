"""Incremental PDU reader: ``feed(bytes)`` returns the complete PDUs.

It checks every announced PDU length before buffering for it: a P-DATA-TF
longer than our Maximum Length Received, or any other PDU longer than
``MAX_ASSOCIATION_PDU``, is a RemoteProtocolError, never an allocation.

A PDU whose header is bad (unknown type, impossible length) leaves no way to
find where the next PDU starts: the reader is then ``failed`` and refuses all
further input.  A PDU whose header is fine but whose body is invalid is
consumed; the PDUs after it can still be read.
"""

from __future__ import annotations

from dicomwire.errors import RemoteProtocolError
from dicomwire.ul.pdu import PDU, PDU_HEADER, PDUType, decode_pdu

# An A-ASSOCIATE PDU is bounded only by its items' 16-bit lengths; a real one is
# a few KiB (128 contexts), a large SAML identity a few tens of KiB.
MAX_ASSOCIATION_PDU = 1 << 20
# With "no limit" negotiated (0) we still refuse absurd P-DATA-TF PDUs.
MAX_UNLIMITED_PDATA = 64 << 20
_HEADER = PDU_HEADER.size
_KNOWN_TYPES = frozenset(PDUType)
# PDUs whose length field is fixed by PS3.8 9.3.4, 9.3.6-9.3.8.
_FIXED_LENGTH: dict[int, int] = {
    PDUType.A_ASSOCIATE_RJ: 4,
    PDUType.A_RELEASE_RQ: 4,
    PDUType.A_RELEASE_RP: 4,
    PDUType.A_ABORT: 4,
}
# Consumed bytes at the front of the buffer are dropped in one go past this size.
_COMPACT_AT = 1 << 16


class PduReader:
    """Turns a byte stream into PDUs.

    ``max_pdu_length`` is our Maximum Length Received (0 = no limit).  A peer
    may exceed it by a little: DCMTK and others count the PDV header
    differently, so we allow the PDV item header on top.

    ``feed(data)`` is ``push(data)`` followed by ``next_pdu()`` until it
    returns None.  Use ``push``/``next_pdu`` to act on every PDU that precedes
    an invalid one in the same chunk of bytes.
    """

    __slots__ = ("_buffer", "_error", "_pdata_limit", "_start")

    def __init__(self, max_pdu_length: int = 0) -> None:
        self._buffer = bytearray()
        self._start = 0  # bytes of _buffer already consumed
        self._error: RemoteProtocolError | None = None
        self._pdata_limit = MAX_UNLIMITED_PDATA
        self.set_max_pdu_length(max_pdu_length)

    def set_max_pdu_length(self, max_pdu_length: int) -> None:
        self._pdata_limit = MAX_UNLIMITED_PDATA if max_pdu_length == 0 else max_pdu_length + 6

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet form a complete PDU."""
        return len(self._buffer) - self._start

    @property
    def failed(self) -> bool:
        """A PDU header was invalid: the stream can no longer be split into PDUs."""
        return self._error is not None

    def feed(self, data: bytes | bytearray | memoryview) -> list[PDU]:
        """All the PDUs completed by ``data``; RemoteProtocolError at the first invalid one."""
        self.push(data)
        pdus: list[PDU] = []
        while (pdu := self.next_pdu()) is not None:
            pdus.append(pdu)
        return pdus

    def push(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer ``data``; ``next_pdu`` reads it (and checks each header as soon as complete)."""
        if self._error is not None:
            raise RemoteProtocolError(f"input refused after an earlier error: {self._error}")
        self._buffer += data

    def next_pdu(self) -> PDU | None:
        """The next complete PDU, or None when more bytes are needed."""
        if self._error is not None:
            raise RemoteProtocolError(f"input refused after an earlier error: {self._error}")
        buffer, start = self._buffer, self._start
        if len(buffer) - start < _HEADER:
            self._compact()
            return None
        pdu_type, length = self._check_header()
        end = start + _HEADER + length
        if len(buffer) < end:
            self._compact()
            return None
        view = memoryview(buffer)
        try:
            body = view[start + _HEADER : end].tobytes()
        finally:
            view.release()
        if end == len(buffer):  # the usual case: the chunk held whole PDUs
            buffer.clear()
            self._start = 0
        else:
            self._start = end
        return decode_pdu(pdu_type, body)

    def _compact(self) -> None:
        if self._start == len(self._buffer):
            self._buffer.clear()
            self._start = 0
        elif self._start >= _COMPACT_AT or self._start * 2 >= len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0

    def _check_header(self) -> tuple[int, int]:
        pdu_type, length = PDU_HEADER.unpack_from(self._buffer, self._start)
        try:
            self._check_length(pdu_type, length)
        except RemoteProtocolError as exc:
            self._error = exc
            self._buffer = bytearray()
            self._start = 0
            raise
        return pdu_type, length

    def _check_length(self, pdu_type: int, length: int) -> None:
        if pdu_type not in _KNOWN_TYPES:
            raise RemoteProtocolError(f"unrecognized PDU type 0x{pdu_type:02X}")
        fixed = _FIXED_LENGTH.get(pdu_type)
        if fixed is not None and length != fixed:
            raise RemoteProtocolError(f"PDU type 0x{pdu_type:02X} of length {length}, expected {fixed}")
        limit = self._pdata_limit if pdu_type == PDUType.P_DATA_TF else MAX_ASSOCIATION_PDU
        if length > limit:
            raise RemoteProtocolError(
                f"PDU type 0x{pdu_type:02X} announces {length} bytes, more than the {limit} accepted"
            )
