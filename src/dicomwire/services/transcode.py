"""Re-encoding a stored data set for a presentation context that wants another
transfer syntax (storescu's implicit conversions), with pydicom.

Between the uncompressed syntaxes (implicit/explicit VR little endian,
explicit VR big endian, deflated) the data set is re-encoded; binary values
(OW, OL, OF, OD, OV) are byte-swapped when the byte order changes, which
pydicom leaves to its caller.  A compressed data set is decompressed when
pydicom has a decoder for it (with NumPy any installed plugin; without NumPy
only pydicom's own RLE decoder).  As DCMTK's decoders do, colour comes out as
pydicom's decoders give it (YCbCr as RGB), the SOP Instance UID is kept, and
an image decoded from a lossy syntax is marked so: Lossy Image Compression
"01" (PS3.3 C.7.6.1.1.5).  Nothing is ever compressed.

This path holds the data set in memory, as DCMTK does when it converts; the
common case (the context takes the file's own syntax) streams instead.
"""

from __future__ import annotations

import importlib.util
from array import array
from typing import Any, BinaryIO, Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import correct_ambiguous_vr
from pydicom.uid import UID

from dicomwire import uids
from dicomwire.errors import DatasetCodecError
from dicomwire.services.codec import decode_dataset, encode_dataset
from dicomwire.services.dataset_head import encoding_of

__all__ = ["UNCOMPRESSED", "can_convert", "can_decompress", "convert"]

UNCOMPRESSED: Final = frozenset(
    {
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_BIG_ENDIAN,
        uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    }
)
_HAVE_NUMPY: Final = importlib.util.find_spec("numpy") is not None
_SWAP_WIDTH: Final = {"OW": "H", "OL": "I", "OF": "I", "OD": "Q", "OV": "Q"}
# The syntaxes whose decoding DCMTK marks as lossy (its JPEG decoder for every
# process but the lossless ones, its JPEG-LS decoder for near-lossless).  JPEG
# 2000 is left alone: either of its syntaxes may hold a reversible codestream.
_LOSSY: Final = frozenset({uids.JPEG_BASELINE, uids.JPEG_EXTENDED, uids.JPEG_LS_NEAR_LOSSLESS})


def can_decompress(transfer_syntax: str) -> bool:
    """Whether pydicom can decode pixel data in ``transfer_syntax`` here."""
    if transfer_syntax in UNCOMPRESSED:
        return False
    try:
        from pydicom.pixels.decoders.base import get_decoder

        decoder = get_decoder(transfer_syntax)
    except (NotImplementedError, ValueError, ImportError):
        return False
    if not decoder.is_available:
        return False
    return _HAVE_NUMPY or transfer_syntax == uids.RLE_LOSSLESS


def can_convert(source: str, target: str) -> bool:
    """Whether a data set in ``source`` can be sent in ``target``."""
    if source == target:
        return True
    if target not in UNCOMPRESSED:
        return False
    return source in UNCOMPRESSED or can_decompress(source)


def convert(fp: BinaryIO, length: int, source: str, target: str, *, compression_level: int = 6) -> bytes:
    """The data set at ``fp``'s position (``length`` bytes, in ``source``)
    encoded in ``target`` (deflated at ``compression_level``, 0-9, as ``+cl``).
    Raises DatasetCodecError."""
    if not can_convert(source, target):
        names = f"{uids.name_of(source)} to {uids.name_of(target)}"
        raise DatasetCodecError(f"cannot convert a data set from {names}")
    try:
        dataset = _read(fp, length, source)
        if source not in UNCOMPRESSED:
            _decompress(dataset, source)
            source = uids.EXPLICIT_VR_LITTLE_ENDIAN
        return _write(dataset, source, target, compression_level)
    except DatasetCodecError:
        raise
    except Exception as exc:  # pydicom raises many kinds on malformed input
        raise DatasetCodecError(
            f"cannot convert the data set from {uids.name_of(source)} to {uids.name_of(target)}: {exc}"
        ) from exc


def _read(fp: BinaryIO, length: int, transfer_syntax: str) -> Dataset:
    dataset = decode_dataset(fp.read(length), transfer_syntax, strict=False, encapsulated_ok=True)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    return dataset


def _decompress(dataset: Dataset, transfer_syntax: str) -> None:
    _decode(dataset, transfer_syntax)
    if transfer_syntax in _LOSSY:
        dataset.LossyImageCompression = "01"


def _decode(dataset: Dataset, transfer_syntax: str) -> None:
    if _HAVE_NUMPY:
        dataset.decompress(generate_instance_uid=False)
        return
    from pydicom.pixels.decoders.base import get_decoder

    buffer, meta = get_decoder(transfer_syntax).as_buffer(dataset)
    pixels = bytes(buffer)
    if len(pixels) % 2:
        pixels += b"\0"
    dataset.PixelData = pixels
    element = dataset["PixelData"]
    element.VR = "OW" if int(meta["bits_allocated"]) > 8 else "OB"
    element.is_undefined_length = False
    dataset.PhotometricInterpretation = str(meta["photometric_interpretation"])
    if int(meta.get("samples_per_pixel", 1)) > 1:
        dataset.PlanarConfiguration = int(meta.get("planar_configuration", 0))
    dataset.file_meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)


def _write(dataset: Dataset, source: str, target: str, compression_level: int) -> bytes:
    source_encoding, target_encoding = encoding_of(source), encoding_of(target)
    if source_encoding.little_endian != target_encoding.little_endian:
        correct_ambiguous_vr(dataset, source_encoding.little_endian)
        _swap_binary_values(dataset)
    return encode_dataset(dataset, target, compression_level=compression_level)


def _swap_binary_values(dataset: Dataset) -> None:
    """Byte-swap the words of OW/OL/OF/OD/OV values (pydicom keeps them as bytes)."""
    for element in dataset.iterall():
        code = _SWAP_WIDTH.get(str(element.VR))
        value: Any = element.value
        if code is None or not isinstance(value, bytes | bytearray) or element.is_undefined_length:
            continue
        words = array(code)
        if len(value) % words.itemsize:
            continue
        words.frombytes(value)
        words.byteswap()
        element.value = words.tobytes()
