"""The element walk before a file is sent (dataset_walk) and DCMTK's normal form (normal_form)."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from storage_helpers import TEST_FILES

from dicomwire.services.dataset_head import encoding_of
from dicomwire.services.dataset_walk import TruncatedDataset, walk_file
from dicomwire.services.normal_form import write_normal_form
from dicomwire.services.storage import inspect_file

CT = TEST_FILES / "CT_small.dcm"


def test_a_file_cut_inside_a_header_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(CT.read_bytes()[:3000])
    with pytest.raises(TruncatedDataset) as info:
        inspect_file(path)
    assert info.value.tag is None


def test_a_value_longer_than_the_file_names_its_element(tmp_path: Path) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(CT.read_bytes()[:-300])
    with pytest.raises(TruncatedDataset) as info:
        inspect_file(path)
    assert (info.value.tag, info.value.claimed) == (0x7FE00010, 32768)


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "MR_small_bigendian.dcm", "rtplan.dcm", "image_dfl.dcm"])
def test_whole_files_pass(name: str) -> None:
    inspect_file(TEST_FILES / name)


def test_encapsulated_pixel_data_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "j2k.dcm"
    path.write_bytes((TEST_FILES / "JPEG2000.dcm").read_bytes()[:-100])
    with pytest.raises(TruncatedDataset):
        inspect_file(path)


def _with_sequences(path: Path) -> Path:
    ds = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    inner = Dataset()
    inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = "X", "DCM", "m"
    item = Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    item.PurposeOfReferenceCodeSequence = Sequence([inner])
    ds.ReferencedImageSequence = Sequence([item, Dataset()])
    item.is_undefined_length_sequence_item = True
    ds["ReferencedImageSequence"].is_undefined_length = True
    ds.save_as(path)
    return path


def test_layout_and_normal_form(tmp_path: Path) -> None:
    source = inspect_file(_with_sequences(tmp_path / "seq.dcm"))
    assert source.layout.undefined_lengths and source.layout.trailing_padding
    out = io.BytesIO()
    with open(source.path, "rb") as fp:
        size = source.dataset_offset + source.dataset_length
        write_normal_form(fp, out, source.dataset_offset, size, encoding_of(source.transfer_syntax))
    normal = tmp_path / "normal.dcm"
    normal.write_bytes(out.getvalue())
    again = inspect_file(normal)
    assert not again.layout.undefined_lengths and not again.layout.trailing_padding
    before, after = pydicom.dcmread(source.path), pydicom.dcmread(normal)
    assert 0xFFFCFFFC not in after
    del before[0xFFFCFFFC]
    assert [e for e in after if e.tag != 0xFFFCFFFC] == list(before)
    assert not after["ReferencedImageSequence"].is_undefined_length


def test_walk_is_plain_for_a_plain_file(tmp_path: Path) -> None:
    ds = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    del ds[0xFFFCFFFC]
    ds.save_as(tmp_path / "plain.dcm")
    source = inspect_file(tmp_path / "plain.dcm")
    with open(source.path, "rb") as fp:
        end = source.dataset_offset + source.dataset_length
        layout = walk_file(fp, source.dataset_offset, end, encoding_of(source.transfer_syntax))
    assert not layout.undefined_lengths and not layout.trailing_padding
