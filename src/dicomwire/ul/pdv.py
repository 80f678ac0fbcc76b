"""Presentation data values: the unit the Upper Layer carries for DIMSE (PS3.8 9.3.5.1)."""

from __future__ import annotations

from dicomwire._records import record


@record(frozen=True, slots=True)
class PDV:
    """One presentation-data-value item of a P-DATA-TF PDU.

    ``data`` is a fragment of a command set (``is_command``) or of a data set;
    ``is_last`` marks the last fragment of that command set or data set.
    """

    context_id: int
    is_command: bool
    is_last: bool
    data: bytes | memoryview

    @property
    def control_header(self) -> int:
        """The message control header byte: bit 0 command, bit 1 last fragment."""
        return (0x01 if self.is_command else 0) | (0x02 if self.is_last else 0)

    @classmethod
    def from_control_header(cls, context_id: int, header: int, data: bytes | memoryview) -> PDV:
        return cls(context_id, bool(header & 0x01), bool(header & 0x02), data)


# The PDV item header inside a P-DATA-TF: item length (4) + context id (1) + control header (1).
PDV_HEADER_LENGTH = 6
# The PDU header: type (1) + reserved (1) + length (4).
PDU_HEADER_LENGTH = 6


def max_pdv_data_length(max_pdu_length: int) -> int:
    """Largest data fragment that fits one PDV in one P-DATA-TF of ``max_pdu_length``.

    ``max_pdu_length`` is the peer's Maximum Length Received: the largest value of
    the P-DATA-TF PDU-length field it accepts (the 6-byte PDU header excluded).
    0 means "no limit"; we then still fragment, at 1 MiB, to bound buffers.
    Like DCMTK we also keep the PDU header's 6 bytes in reserve: some peers
    count it in their limit, and the cost is nil.
    """
    if max_pdu_length == 0:
        return 1 << 20
    return max(max_pdu_length - PDV_HEADER_LENGTH - PDU_HEADER_LENGTH, 1)
