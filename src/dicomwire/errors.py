"""The exception tree of dicomwire, grouped by cause.

Every error says whose fault it was: ours (Local...), the peer's (Remote...),
the network's, or a timeout.  OS errors are translated once, at the net
boundary, into NetworkError subclasses.
"""

from __future__ import annotations


class DicomWireError(Exception):
    """Base of every error raised by dicomwire."""


# -- protocol -----------------------------------------------------------------
class ProtocolError(DicomWireError):
    """A violation of PS3.7/PS3.8."""


class LocalProtocolError(ProtocolError):
    """We were asked to do something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


# -- association --------------------------------------------------------------
class AssociationError(DicomWireError):
    """The association could not be used."""


class AssociationRejected(AssociationError):
    """The peer (or its provider) rejected the association request."""

    def __init__(self, result: int, source: int, reason: int) -> None:
        self.result = result
        self.source = source
        self.reason = reason
        super().__init__(f"association rejected (result {result}, source {source}, reason {reason})")


class AssociationAborted(AssociationError):
    """The association was aborted (A-ABORT or A-P-ABORT)."""

    def __init__(self, source: int, reason: int, detail: str = "") -> None:
        self.source = source
        self.reason = reason
        msg = f"association aborted (source {source}, reason {reason})"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class NoAcceptedContext(AssociationError):
    """No accepted presentation context fits the request."""


# -- DIMSE --------------------------------------------------------------------
class DimseError(DicomWireError):
    """A DIMSE message could not be built, read or completed."""


class DatasetCodecError(DimseError):
    """A data set could not be encoded or decoded."""


class StatusError(DimseError):
    """A DIMSE operation ended with a failure status."""

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        super().__init__(message or f"DIMSE status 0x{status:04X}")


# -- network --------------------------------------------------------------------
class NetworkError(DicomWireError):
    """The transport failed."""


class ConnectError(NetworkError):
    """The TCP (or TLS) connection could not be made."""

    def __init__(self, message: str, *, unknown_host: bool = False) -> None:
        self.unknown_host = unknown_host
        super().__init__(message)


class TLSHandshakeError(ConnectError):
    """The TLS handshake failed: ``reason`` is OpenSSL's, ``verify_message`` names a
    certificate problem (expired, untrusted, ...) when that was the cause."""

    def __init__(self, message: str, *, reason: str = "", verify_message: str = "", code: int = 0) -> None:
        self.reason = reason
        self.verify_message = verify_message
        self.code = code  # OpenSSL's reason code (library SSL), 0 when unknown
        super().__init__(message)


class TLSSetupError(DicomWireError):
    """A TLS context could not be built: ``what`` failed (``"private key"``,
    ``"certificate"``, ``"ciphersuite"``, ...), ``path`` is the file involved."""

    def __init__(self, message: str, *, what: str, path: str = "") -> None:
        self.what = what
        self.path = path
        super().__init__(message)


class ReadError(NetworkError):
    """Reading from the peer failed or the peer closed the connection."""


class WriteError(NetworkError):
    """Writing to the peer failed."""


# -- timeouts -------------------------------------------------------------------
class DicomTimeout(DicomWireError, TimeoutError):
    """A DCMTK-style timeout fired."""


class AcseTimeout(DicomTimeout):
    """No ACSE answer (association accept/reject/release) in time (-ta)."""


class DimseTimeout(DicomTimeout):
    """No DIMSE message in time (-td)."""


class NetworkTimeout(DicomTimeout):
    """The connection or the socket was idle for too long (-to / -ts)."""
