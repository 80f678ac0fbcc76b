"""+II/+IR/+IS/+IP numbering (DCMTK's order), -up and -u rewriting."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from dicomwire.cli.storescu.rewrite import (
    InventCounts,
    Inventor,
    Rewrite,
    disable_new_vrs,
    rewrite_to_temp,
    strip_uid_padding,
)
from storescu_helpers import TEST_FILES


def test_inventor_rolls_series_study_and_patient_over() -> None:
    counter = iter(range(1000))
    inventor = Inventor(
        InventCounts(series=2, study=2, patient=2),
        clock=lambda: 1700000000,
        new_uid=lambda: f"2.25.{next(counter)}",
    )
    identities = [inventor.next() for _ in range(9)]
    assert [i.image_number for i in identities] == ["0", "1"] * 4 + ["0"]
    # as DCMTK: a new study resets the series counter but not the series number already given
    assert [i.series_number for i in identities] == ["0", "0", "1", "1", "2", "2", "1", "1", "2"]
    assert len({i.series_instance_uid for i in identities}) == 5
    assert len({i.study_instance_uid for i in identities}) == 3  # a new study every 2 series
    patients = [i.patient_id for i in identities][::4]
    assert patients == ["PID_17000000000", "PID_17000000000", "PID_17000000001"]
    assert len({i.sop_instance_uid for i in identities}) == 9
    assert inventor.log_lines(identities[-1])[0] == "Inventing Identifying Information (pa1, st0, se0, im0):"


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about the padded UIDs we make
def test_strip_uid_padding_and_disable_new_vrs() -> None:
    ds = Dataset()
    ds.add(DataElement(0x00080018, "UI", "1.2.3 "))
    ds.add(DataElement(0x00081150, "UI", ["1.2 ", " 1.3"]))
    ds.add(DataElement(0x00081030, "LO", "study "))
    ds.add(DataElement(0x00400280, "UT", "long text"))
    ds.add(DataElement(0x00091001, "UN", b"\x01\x02\x03"))
    strip_uid_padding(ds)
    disable_new_vrs(ds)
    assert ds.SOPInstanceUID == "1.2.3"
    assert list(ds[0x00081150].value) == ["1.2", "1.3"]
    assert ds.StudyDescription == "study "
    assert (ds[0x00400280].VR, ds[0x00400280].value) == ("OB", b"long text ")  # DCMTK pads text with 0x20
    assert (ds[0x00091001].VR, ds[0x00091001].value) == ("OB", b"\x01\x02\x03\0")


def test_rewrite_keeps_the_transfer_syntax_and_updates_the_meta(tmp_path: Path) -> None:
    source = TEST_FILES / "MR_small_bigendian.dcm"
    inventor = Inventor(new_uid=lambda: "2.25.42")
    temp = Path(rewrite_to_temp(str(source), "1.2.840.10008.1.2.2", Rewrite(identity=inventor.next())))
    try:
        ds = pydicom.dcmread(temp)
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2"
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID == "2.25.42"
        assert ds.PixelData == pydicom.dcmread(source).PixelData
    finally:
        temp.unlink()
