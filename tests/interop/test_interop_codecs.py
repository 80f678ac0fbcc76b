"""Our storescu decompresses for DCMTK's storescp when the compressed syntax is
not accepted (storescp's default: uncompressed syntaxes only).

* Files compressed by pydicom's test data and by DCMTK's own encoders (dcmcjpeg,
  dcmcjpls, dcmcrle): every JPEG process, JPEG-LS, JPEG 2000 and RLE arrive in
  explicit VR little endian, pixel-equal to pydicom's decoding of what was sent
  (and exactly equal to the uncompressed original for the lossless ones).
* Against DCMTK's decoders (dcmdjpeg, dcmdjpls, dcmdrle, the ones a storescu
  built with on-the-fly compression and dcmsend use): the same attributes, the
  same pixels for lossless syntaxes, and nearly the same for lossy JPEG: IJG
  and libjpeg round their inverse DCT and colour conversion differently (within
  2), and upsample subsampled chroma differently (more, at sharp colour edges).
* A stream no decoder can read is reported as DCMTK's storescu reports a
  conversion failure, and storescu goes on with -nh or halts without it.

The stock DCMTK 3.6.7 storescu decodes nothing (its on-the-fly compression is
compiled out), so the message comparison uses a file neither side can decode.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import UID

from dicomwire import uids
from storescu_helpers import (
    OUR_STORESCU,
    TEST_FILES,
    comparable,
    dcmtk,
    dcmtk_server,
    free_port,
    run_tool,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        any(dcmtk(tool) is None for tool in ("storescp", "storescu", "dcmcjpeg", "dcmcjpls", "dcmcrle")),
        reason="DCMTK is not installed",
    ),
]

# Decoding these marks the image lossy (DCMTK's JPEG and JPEG-LS decoders do).
LOSSY = {uids.JPEG_BASELINE, uids.JPEG_EXTENDED, uids.JPEG_LS_NEAR_LOSSLESS}


@dataclass(frozen=True)
class Case:
    name: str
    syntax: str
    photometric: str  # after decoding
    source: str  # a pydicom test file, or the uncompressed file DCMTK compresses
    encoder: tuple[str, ...] = ()  # DCMTK's command, when DCMTK compresses
    lossless_of: str | None = None  # the uncompressed original of a lossless file

    def decoder(self) -> str | None:
        """DCMTK's tool decoding this syntax, if it has one."""
        if self.syntax == uids.RLE_LOSSLESS:
            return "dcmdrle"
        if self.syntax in (uids.JPEG_LS_LOSSLESS, uids.JPEG_LS_NEAR_LOSSLESS):
            return "dcmdjpls"
        if self.syntax.startswith("1.2.840.10008.1.2.4.") and int(self.syntax.rsplit(".", 1)[1]) < 80:
            return "dcmdjpeg"
        return None


MR, US_RGB = "MR_small.dcm", "examples_rgb_color.dcm"  # signed 16-bit; 8-bit RGB
CASES = [
    # pydicom's test files
    Case("SC_rgb_jpeg_dcmtk.dcm", uids.JPEG_BASELINE, "RGB", "SC_rgb_jpeg_dcmtk.dcm"),
    Case("SC_rgb_dcmtk_+eb+cy+np.dcm", uids.JPEG_BASELINE, "RGB", "SC_rgb_dcmtk_+eb+cy+np.dcm"),
    Case("examples_ybr_color.dcm", uids.JPEG_BASELINE, "RGB", "examples_ybr_color.dcm"),
    Case("JPGExtended.dcm", uids.JPEG_EXTENDED, "MONOCHROME2", "JPGExtended.dcm"),
    Case("SC_rgb_jpeg_gdcm.dcm", uids.JPEG_LOSSLESS_SV1, "RGB", "SC_rgb_jpeg_gdcm.dcm"),
    Case("JPEGLSNearLossless_16.dcm", uids.JPEG_LS_NEAR_LOSSLESS, "MONOCHROME2", "JPEGLSNearLossless_16.dcm"),
    Case("JPEG2000.dcm", uids.JPEG_2000, "MONOCHROME2", "JPEG2000.dcm"),
    Case("examples_jpeg2k.dcm", uids.JPEG_2000_LOSSLESS, "RGB", "examples_jpeg2k.dcm"),
    # compressed here by DCMTK
    Case("mr_p14.dcm", uids.JPEG_LOSSLESS, "MONOCHROME2", MR, ("dcmcjpeg", "+el"), lossless_of=MR),
    Case("mr_sv1.dcm", uids.JPEG_LOSSLESS_SV1, "MONOCHROME2", MR, ("dcmcjpeg", "+e1"), lossless_of=MR),
    Case("mr_jls.dcm", uids.JPEG_LS_LOSSLESS, "MONOCHROME2", MR, ("dcmcjpls", "+el"), lossless_of=MR),
    Case("mr_rle.dcm", uids.RLE_LOSSLESS, "MONOCHROME2", MR, ("dcmcrle",), lossless_of=MR),
    Case("us_baseline.dcm", uids.JPEG_BASELINE, "RGB", US_RGB, ("dcmcjpeg", "+eb")),
    Case("us_p14.dcm", uids.JPEG_LOSSLESS, "RGB", US_RGB, ("dcmcjpeg", "+el"), lossless_of=US_RGB),
    Case("us_jls_near.dcm", uids.JPEG_LS_NEAR_LOSSLESS, "RGB", US_RGB, ("dcmcjpls", "+en")),
    Case("us_rle.dcm", uids.RLE_LOSSLESS, "RGB", US_RGB, ("dcmcrle",), lossless_of=US_RGB),
]


def _prepare(case: Case, directory: Path, index: int) -> Path:
    """The file to send, with an instance UID of its own (storescp names files by it)."""
    ds = pydicom.dcmread(TEST_FILES / case.source)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = UID(f"1.2.826.0.1.3680043.10.543.{index}")
    path = directory / case.name
    if not case.encoder:
        ds.save_as(path, enforce_file_format=True)
        return path
    plain = directory / f"plain_{case.name}"
    ds.save_as(plain, enforce_file_format=True)
    tool, *options = case.encoder
    # keep the instance UID even when compressing lossy, so the received file can be found
    keep_uid = ["+un"] if tool in ("dcmcjpeg", "dcmcjpls") else []
    subprocess.run([str(dcmtk(tool)), *options, *keep_uid, str(plain), str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Dataset]]:
    """Every case sent in one run of our storescu to a default storescp: the
    sent file and the data set that arrived, by case name."""
    directory = tmp_path_factory.mktemp("codecs")
    out = directory / "out"
    out.mkdir()
    paths = [_prepare(case, directory, index) for index, case in enumerate(CASES, 1)]
    port = free_port()
    with dcmtk_server([str(dcmtk("storescp")), "-od", str(out), str(port)], port):
        result = run_tool([OUR_STORESCU, "-v", "127.0.0.1", str(port), *map(str, paths)])
    assert result.code == 0, result.stderr
    assert result.stderr.count("Received Store Response (Success)") == len(CASES), result.stderr
    received: dict[str, Dataset] = {}
    for path in out.iterdir():
        ds = pydicom.dcmread(path)
        received[str(ds.SOPInstanceUID)] = ds
    found: dict[str, tuple[Path, Dataset]] = {}
    for case, path in zip(CASES, paths, strict=True):
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        found[case.name] = (path, received[uid])
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_compressed_file_arrives_uncompressed(sent: dict[str, tuple[Path, Dataset]], case: Case) -> None:
    path, got = sent[case.name]
    original = pydicom.dcmread(path)
    assert original.file_meta.TransferSyntaxUID == case.syntax
    assert got.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert got.PhotometricInterpretation == case.photometric
    frames = int(original.get("NumberOfFrames", 1) or 1)
    length = (
        original.Rows * original.Columns * frames * original.SamplesPerPixel * original.BitsAllocated // 8
    )
    assert len(got.PixelData) == length + length % 2
    assert np.array_equal(got.pixel_array, original.pixel_array)
    if case.lossless_of is not None:
        assert got.PixelData == pydicom.dcmread(TEST_FILES / case.lossless_of).PixelData
    lossy = "01" if case.syntax in LOSSY else original.get("LossyImageCompression")
    assert got.get("LossyImageCompression") == lossy


@pytest.mark.parametrize("case", [c for c in CASES if c.decoder()], ids=lambda c: c.name)
def test_decoded_as_dcmtk_decodes(sent: dict[str, tuple[Path, Dataset]], case: Case, tmp_path: Path) -> None:
    """What arrives matches DCMTK's own decoding of the sent file: every
    attribute, and the pixels (exactly when lossless)."""
    path, got = sent[case.name]
    decoded = tmp_path / "dcmtk.dcm"
    tool = str(dcmtk(str(case.decoder())))
    subprocess.run([tool, "-q", str(path), str(decoded)], check=True, timeout=60)
    theirs = pydicom.dcmread(decoded)
    assert theirs.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN
    ours_values, their_values = comparable(got), comparable(theirs)
    pixel_data = str(pydicom.tag.Tag("PixelData"))
    ours_values.pop(pixel_data)
    their_values.pop(pixel_data)
    assert ours_values == their_values
    ours_pixels, their_pixels = got.pixel_array.astype(np.int32), theirs.pixel_array.astype(np.int32)
    if case.syntax in LOSSY:
        difference = np.abs(ours_pixels - their_pixels)
        assert float(difference.mean()) < 0.25
        assert float(np.mean(difference > 2)) < 0.01
    else:
        assert np.array_equal(ours_pixels, their_pixels)


def _broken_jpeg(path: Path) -> Path:
    """A JPEG baseline file whose stream ends after its header: no decoder reads it."""
    ds = pydicom.dcmread(TEST_FILES / "SC_rgb_jpeg_dcmtk.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([frame[:200] + b"\xff\xd9"])
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.543.404"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("halt", [True, False], ids=["halt", "no-halt"])
def test_undecodable_file_reported_as_dcmtk_does(tmp_path: Path, halt: bool) -> None:
    """Same messages and exit code as DCMTK's storescu when the conversion
    fails; with -nh the next file still goes, without it nothing more does."""
    _broken_jpeg(tmp_path / "broken.dcm")
    (tmp_path / "CT_small.dcm").write_bytes((TEST_FILES / "CT_small.dcm").read_bytes())
    results, stored = {}, {}
    for who, tool in (("theirs", str(dcmtk("storescu"))), ("ours", OUR_STORESCU)):
        out = tmp_path / f"out_{who}"
        out.mkdir()
        port = free_port()
        argv = [tool, *([] if halt else ["-nh"]), "127.0.0.1", str(port), "broken.dcm", "CT_small.dcm"]
        with dcmtk_server([str(dcmtk("storescp")), "-od", str(out), str(port)], port):
            results[who] = run_tool(argv, dcmtk_env=who == "theirs", cwd=tmp_path)
        stored[who] = sorted(str(pydicom.dcmread(p).SOPInstanceUID) for p in out.iterdir())
    ours, theirs = results["ours"], results["theirs"]
    assert "E: Store Failed, file: broken.dcm:" in theirs.stderr
    assert ours.stderr == theirs.stderr
    assert ours.code == theirs.code == (1 if halt else 0)
    ct = str(pydicom.dcmread(TEST_FILES / "CT_small.dcm", stop_before_pixels=True).SOPInstanceUID)
    assert stored["ours"] == stored["theirs"] == ([] if halt else [ct])
