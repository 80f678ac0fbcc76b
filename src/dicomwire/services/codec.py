"""The one data set codec: pydicom data sets to and from the bytes of a transfer syntax.

Identifiers (C-FIND, C-MOVE, C-GET), converted C-STORE data sets and the archive's
parsed instances all go through here, so deflate, byte order and padding are
handled in one place: a deflated stream must be complete (a truncated one is an
error, never a silently shorter data set) and is padded to even length (PS3.5 A.5).
"""

from __future__ import annotations

import warnings
import zlib
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from dicomwire import uids
from dicomwire.errors import DatasetCodecError
from dicomwire.services.dataset_head import encoding_of

__all__ = ["decode_dataset", "deflate", "encode_dataset", "inflate", "syntax_of"]


def syntax_of(transfer_syntax: str, *, encapsulated_ok: bool = False) -> uids.TransferSyntax:
    """The transfer syntax's description.  An encapsulated (compressed) syntax's
    data set is explicit VR little endian (PS3.5 A.4); only its pixel data differs,
    so it is allowed where the caller does not touch pixel data."""
    syntax = uids.TRANSFER_SYNTAXES.get(transfer_syntax)
    if syntax is None:
        if encapsulated_ok:
            return encoding_of(transfer_syntax)
        raise DatasetCodecError(f"unknown transfer syntax {transfer_syntax}")
    if syntax.encapsulated and not encapsulated_ok:
        raise DatasetCodecError(f"cannot encode identifiers in transfer syntax {transfer_syntax}")
    return syntax


def inflate(data: bytes | memoryview) -> bytes:
    """The raw deflate stream of a deflated transfer syntax, expanded."""
    try:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        inflated = inflater.decompress(data) + inflater.flush()
    except zlib.error as exc:
        raise DatasetCodecError(f"cannot inflate data set: {exc}") from exc
    if not inflater.eof:
        raise DatasetCodecError("cannot inflate data set: the deflate stream is truncated")
    return inflated


def deflate(data: bytes, compression_level: int = 6) -> bytes:
    """``data`` as a raw deflate stream, padded to even length."""
    compressor = zlib.compressobj(compression_level, zlib.DEFLATED, -zlib.MAX_WBITS)
    packed = compressor.compress(data) + compressor.flush()
    return packed + b"\0" if len(packed) % 2 else packed


def encode_dataset(
    dataset: Dataset, transfer_syntax: str, *, compression_level: int = 6, encapsulated_ok: bool = False
) -> bytes:
    """``dataset`` encoded in ``transfer_syntax`` (deflated ones compressed).

    ``encapsulated_ok`` allows a compressed syntax, for a data set whose pixel data
    is already encapsulated in it (a C-STORE of a compressed image)."""
    syntax = syntax_of(transfer_syntax, encapsulated_ok=encapsulated_ok)
    fp = DicomBytesIO()
    fp.is_little_endian = syntax.little_endian
    fp.is_implicit_VR = not syntax.explicit_vr
    try:
        write_dataset(fp, dataset)
    except Exception as exc:  # pydicom raises many kinds for unencodable values
        raise DatasetCodecError(f"cannot encode data set: {exc}") from exc
    data = fp.getvalue()
    return deflate(data, compression_level) if syntax.deflated else data


def decode_dataset(
    data: bytes | memoryview, transfer_syntax: str, *, strict: bool = True, encapsulated_ok: bool = False
) -> Dataset:
    """Parse a data set received in ``transfer_syntax``.

    Elements stay raw until used (pydicom's lazy conversion), so their bytes can
    still be shown as received.  ``strict`` turns pydicom's guesses (its warnings,
    e.g. implicit VR found in an explicit data set) into DatasetCodecError.
    """
    syntax = syntax_of(transfer_syntax, encapsulated_ok=encapsulated_ok)
    raw = inflate(data) if syntax.deflated else bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error" if strict else "ignore")
            return read_dataset(
                BytesIO(raw), is_implicit_VR=not syntax.explicit_vr, is_little_endian=syntax.little_endian
            )
    except Exception as exc:
        raise DatasetCodecError(f"cannot decode data set: {exc}") from exc
