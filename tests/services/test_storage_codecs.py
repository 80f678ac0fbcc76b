"""Storage SCU: compressed files sent to a peer that takes only uncompressed
syntaxes are decompressed with pydicom's pixel data decoders (numpy, pylibjpeg
with its libjpeg and openjpeg plugins, pydicom's own RLE decoder), over loopback
to our StorageSCP.

What arrives must hold the pixels pydicom decodes from the original (colour
converted to RGB as pydicom's decoders give it), at the uncompressed length,
with every other attribute unchanged but for the ones decompression rewrites.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID
from storage_helpers import SC, TEST_FILES, UNCOMPRESSED, connect, files_below, run, storage_server

from dicomwire import uids
from dicomwire.dimse import status
from dicomwire.errors import DatasetCodecError
from dicomwire.services import transcode
from dicomwire.services.storage import StorageSCP, StoreSource, inspect_file, store

# The compressed syntaxes DCMTK has decoders for (JPEG, JPEG-LS, RLE), and JPEG 2000.
DECODABLE = [
    uids.JPEG_BASELINE,
    uids.JPEG_EXTENDED,  # 8 and 12 bit
    uids.JPEG_LOSSLESS,
    uids.JPEG_LOSSLESS_SV1,
    uids.JPEG_LS_LOSSLESS,
    uids.JPEG_LS_NEAR_LOSSLESS,
    uids.JPEG_2000_LOSSLESS,
    uids.JPEG_2000,
    uids.RLE_LOSSLESS,
]
# The syntaxes DCMTK's decoders mark as lossy when decoding them.
LOSSY = {uids.JPEG_BASELINE, uids.JPEG_EXTENDED, uids.JPEG_LS_NEAR_LOSSLESS}
# Nothing decodes these: video, JPIP references, an unknown UID.
NOT_DECODABLE = [
    uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
    uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
    uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
    uids.JPEG_2000_MC,
    uids.ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN,  # pydicom 3.0 has no decoder for it
    "1.2.840.10008.1.2.4.94",  # JPIP referenced
    "1.2.3.4.5.6",
]

# (file, its transfer syntax, the Photometric Interpretation after decoding)
FILES = [
    ("SC_rgb_jpeg_dcmtk.dcm", uids.JPEG_BASELINE, "RGB"),  # YBR_FULL
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", uids.JPEG_BASELINE, "RGB"),  # YBR_FULL_422
    ("SC_rgb_small_odd_jpeg.dcm", uids.JPEG_BASELINE, "RGB"),  # 27 bytes of pixels: padded
    ("SC_jpeg_no_color_transform.dcm", uids.JPEG_BASELINE, "RGB"),  # RGB, no colour transform
    ("examples_ybr_color.dcm", uids.JPEG_BASELINE, "RGB"),  # 30 frames, YBR_FULL_422
    ("JPGExtended.dcm", uids.JPEG_EXTENDED, "MONOCHROME2"),  # 12-bit
    ("SC_rgb_jpeg_gdcm.dcm", uids.JPEG_LOSSLESS_SV1, "RGB"),
    ("MR_small_jpeg_ls_lossless.dcm", uids.JPEG_LS_LOSSLESS, "MONOCHROME2"),  # signed 16-bit
    ("JPEGLSNearLossless_16.dcm", uids.JPEG_LS_NEAR_LOSSLESS, "MONOCHROME2"),
    ("SC_rgb_jls_lossy_sample.dcm", uids.JPEG_LS_NEAR_LOSSLESS, "RGB"),
    ("MR_small_jp2klossless.dcm", uids.JPEG_2000_LOSSLESS, "MONOCHROME2"),
    ("examples_jpeg2k.dcm", uids.JPEG_2000_LOSSLESS, "RGB"),  # YBR_RCT
    ("JPEG2000.dcm", uids.JPEG_2000, "MONOCHROME2"),
    ("MR_small_RLE.dcm", uids.RLE_LOSSLESS, "MONOCHROME2"),
    ("SC_rgb_rle_2frame.dcm", uids.RLE_LOSSLESS, "RGB"),
]
# Attributes that decompression may rewrite; all others must arrive unchanged.
REWRITTEN = {"PixelData", "PhotometricInterpretation", "PlanarConfiguration", "NumberOfFrames"}


def _send(source: StoreSource, directory: Path, target: str = uids.EXPLICIT_VR_LITTLE_ENDIAN) -> Dataset:
    """``source`` stored to an SCP that accepts only ``target`` (and the file's
    own syntax proposed first, as storescu does); the data set that arrived."""
    scp = StorageSCP(directory)

    async def main() -> None:
        supported = {source.sop_class_uid: [target]}
        contexts = [(source.sop_class_uid, [source.transfer_syntax]), (source.sop_class_uid, [target])]
        async with storage_server(scp, supported) as server, connect(server, contexts) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    (name,) = files_below(directory)
    return pydicom.dcmread(directory / name)


def _frames(ds: Dataset) -> int:
    return int(ds.get("NumberOfFrames", 1) or 1)


def _expected_length(ds: Dataset) -> int:
    length = int(ds.Rows * ds.Columns * _frames(ds) * ds.SamplesPerPixel * ds.BitsAllocated // 8)
    return length + length % 2


# -- which syntaxes decompress ----------------------------------------------------------------


@pytest.mark.parametrize("syntax", DECODABLE)
def test_the_runtime_dependencies_decode_what_dcmtk_decodes(syntax: str) -> None:
    """numpy + pylibjpeg(-libjpeg, -openjpeg) are runtime dependencies: every
    JPEG, JPEG-LS, JPEG 2000 and RLE syntax decompresses."""
    assert transcode.can_decompress(syntax)
    assert transcode.can_convert(syntax, uids.EXPLICIT_VR_LITTLE_ENDIAN)
    assert transcode.can_convert(syntax, uids.IMPLICIT_VR_LITTLE_ENDIAN)
    other = uids.JPEG_2000 if syntax != uids.JPEG_2000 else uids.RLE_LOSSLESS
    assert not transcode.can_convert(syntax, other)  # nothing is ever compressed


def test_can_decompress_follows_pydicoms_decoders() -> None:
    """True exactly for the compressed syntaxes whose pydicom decoder has an
    available plugin; never for an uncompressed or unknown one."""
    for syntax in pydicom.uid.AllTransferSyntaxes:
        uid = UID(syntax)
        try:
            available = get_decoder(uid).is_available
        except NotImplementedError:
            available = False
        expected = available and uid.is_compressed and syntax not in transcode.UNCOMPRESSED
        assert transcode.can_decompress(syntax) == expected, uid.name
    for other in NOT_DECODABLE:
        assert not transcode.can_decompress(other)
        assert not transcode.can_convert(other, uids.EXPLICIT_VR_LITTLE_ENDIAN)
    for plain in UNCOMPRESSED:
        assert not transcode.can_decompress(plain)


# -- what arrives -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "syntax", "photometric"), FILES, ids=[f[0] for f in FILES])
def test_compressed_file_arrives_decompressed(
    tmp_path: Path, name: str, syntax: str, photometric: str
) -> None:
    path = TEST_FILES / name
    source = inspect_file(path)
    assert source.transfer_syntax == syntax
    original = pydicom.dcmread(path)
    expected_pixels = original.pixel_array  # pydicom's own decoding, colour as RGB

    got = _send(source, tmp_path)

    assert got.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert got.SOPInstanceUID == source.sop_instance_uid  # decompression keeps the instance
    assert got.PhotometricInterpretation == photometric
    pixel_data = got["PixelData"]
    assert (pixel_data.VR, pixel_data.is_undefined_length) == ("OW" if got.BitsAllocated > 8 else "OB", False)
    assert len(got.PixelData) == _expected_length(original)
    assert _frames(got) == _frames(original)
    if got.SamplesPerPixel > 1:
        assert got.PlanarConfiguration == 0
    assert np.array_equal(got.pixel_array, expected_pixels)
    # decoded from a lossy syntax: marked lossy, as DCMTK's decoders do; else kept
    lossy = "01" if syntax in LOSSY else original.get("LossyImageCompression")
    assert got.get("LossyImageCompression") == lossy
    for element in original:
        if element.keyword not in REWRITTEN | {"LossyImageCompression"}:
            assert got[element.tag] == element, element.keyword
    added = {got[tag].keyword for tag in set(got.keys()) - set(original.keys())}
    assert added <= REWRITTEN | {"LossyImageCompression"}


@pytest.mark.parametrize(
    ("name", "marking", "expected"),
    [
        ("SC_rgb_jpeg_dcmtk.dcm", "01", "01"),  # kept
        ("SC_rgb_jpeg_dcmtk.dcm", None, "01"),  # JPEG baseline is lossy: marked
        ("SC_rgb_jpeg_dcmtk.dcm", "00", "01"),  # ... whatever the file said
        ("JPGExtended.dcm", None, "01"),
        ("JPEGLSNearLossless_16.dcm", None, "01"),  # JPEG-LS near-lossless: marked
        ("SC_rgb_jpeg_gdcm.dcm", None, None),  # lossless JPEG: left alone
        ("SC_rgb_jpeg_gdcm.dcm", "00", "00"),
        ("MR_small_jpeg_ls_lossless.dcm", None, None),
        ("MR_small_RLE.dcm", None, None),
        ("MR_small_jp2klossless.dcm", None, None),
        ("JPEG2000.dcm", "01", "01"),  # JPEG 2000: as the file says
        ("examples_jpeg2k.dcm", "00", "00"),
    ],
)
def test_lossy_image_compression_after_decoding(
    tmp_path: Path, name: str, marking: str | None, expected: str | None
) -> None:
    """As DCMTK's decoders: Lossy Image Compression becomes "01" when the pixels
    come from a lossy JPEG or JPEG-LS near-lossless stream (PS3.3 C.7.6.1.1.5),
    and is kept as it was otherwise."""
    ds = pydicom.dcmread(TEST_FILES / name)
    if marking is None:
        ds.pop("LossyImageCompression", None)
    else:
        ds.LossyImageCompression = marking
    path = tmp_path / "in.dcm"
    ds.save_as(path, enforce_file_format=True)
    out = tmp_path / "out"
    out.mkdir()
    got = _send(inspect_file(path), out)
    assert got.get("LossyImageCompression") == expected
    assert got.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN


@pytest.mark.parametrize(
    "target",
    [uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN],
)
@pytest.mark.parametrize(
    "name", ["MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm"]
)
def test_decompressed_into_every_uncompressed_syntax(tmp_path: Path, target: str, name: str) -> None:
    """Decompressed, then encoded in the accepted syntax: 16-bit pixels swap
    their bytes for big endian and read back the same."""
    path = TEST_FILES / name
    got = _send(inspect_file(path), tmp_path, target)
    assert got.file_meta.TransferSyntaxUID == target
    assert np.array_equal(got.pixel_array, pydicom.dcmread(path).pixel_array)


def test_lossless_decompression_gives_the_original_pixels(tmp_path: Path) -> None:
    """The lossless encodings of MR_small hold exactly its uncompressed pixels."""
    reference = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    for index, name in enumerate(
        ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm"]
    ):
        directory = tmp_path / str(index)
        directory.mkdir()
        got = _send(inspect_file(TEST_FILES / name), directory)
        assert got.PixelData == reference.PixelData, name


# -- when decoding fails ----------------------------------------------------------------------


def _broken_jpeg(path: Path) -> Path:
    """SC_rgb_jpeg_dcmtk.dcm with a JPEG stream cut after its header."""
    ds = pydicom.dcmread(TEST_FILES / "SC_rgb_jpeg_dcmtk.dcm")
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[:200] + b"\xff\xd9"])
    ds.SOPInstanceUID = "1.2.3.4.404"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_undecodable_pixels_raise_before_anything_is_sent(tmp_path: Path) -> None:
    """A codec error is a DatasetCodecError for the caller to report (storescu
    goes on or halts per -nh); nothing went out, the association goes on."""
    broken = inspect_file(_broken_jpeg(tmp_path / "broken.dcm"))
    good = inspect_file(TEST_FILES / "SC_rgb_jpeg_dcmtk.dcm")
    assert transcode.can_decompress(broken.transfer_syntax)
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out)

    async def main() -> None:
        supported = {SC: UNCOMPRESSED}
        contexts = [(SC, [broken.transfer_syntax]), (SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
        async with storage_server(scp, supported) as server, connect(server, contexts) as assoc:
            with pytest.raises(DatasetCodecError, match="cannot convert"):
                await store(assoc, broken)
            assert (await store(assoc, good)).status == status.SUCCESS

    run(main())
    assert files_below(out) == [f"SC.{good.sop_instance_uid}"]


def test_convert_reads_only_its_data_set(tmp_path: Path) -> None:
    """``convert`` takes the data set at the file position, ``length`` bytes."""
    path = TEST_FILES / "SC_rgb_jpeg_gdcm.dcm"
    source = inspect_file(path)
    with open(path, "rb") as fp:
        fp.seek(source.dataset_offset)
        data = transcode.convert(
            fp, source.dataset_length, source.transfer_syntax, uids.EXPLICIT_VR_LITTLE_ENDIAN
        )
        assert fp.read() == b""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
    assert np.array_equal(ds.pixel_array, pydicom.dcmread(path).pixel_array)


def test_compression_level_reaches_the_deflater() -> None:
    """+cl: level 0 stores, level 9 compresses; both inflate to the same data set."""
    source = inspect_file(TEST_FILES / "CT_small.dcm")
    inflated = set()
    sizes = {}
    for level in (0, 9):
        with open(source.path, "rb") as fp:
            fp.seek(source.dataset_offset)
            data = transcode.convert(
                fp,
                source.dataset_length,
                source.transfer_syntax,
                uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
                compression_level=level,
            )
        sizes[level] = len(data)
        inflated.add(zlib.decompressobj(-zlib.MAX_WBITS).decompress(data).rstrip(b"\0"))
    assert sizes[9] < sizes[0]
    assert len(inflated) == 1
