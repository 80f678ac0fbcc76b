"""dcmrecv's file names: the mapping observed on DCMTK 3.6.7, and path safety."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dicomwire import uids
from dicomwire.dcmtk.naming import DcmtkNaming, FileNaming, series_date_subdirectory
from dicomwire.services.storage_names import (
    InstanceInfo,
    UidNaming,
    is_safe_relative_path,
    safe_uid_for_filename,
)

NOW = datetime(2026, 11, 23, 5, 37, 21, 953633)
SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE


def clock() -> datetime:
    return NOW


# (SOP Instance UID in the C-STORE-RQ, file name DCMTK 3.6.7 dcmrecv wrote)
OBSERVED = [
    ("../../../../tmp/x", "SC..._.._.._.._tmp_x"),
    ('a/b\\c:d*e?f"g<h>i|jk', "SC.a_b_c:d_e_f_g_h_i_jk"),
    ('a/b:c*d?e"f<g>h|ij~k%l', "SC.a_b:c_d_e_f_g_h_ij_k_l"),
    (".", "SC.."),
    ("..", "SC..."),
    ("x y", "SC.x y"),
    ("a\x01b\x1fc\x7fd", "SC.a_b_c_d"),
    ("".join(chr(c) for c in range(0x21, 0x41)), "SC.____________-._0123456789:_____@"),
    ("".join(chr(c) for c in range(0x41, 0x61)), "SC.ABCDEFGHIJKLMNOPQRSTUVWXYZ______"),
    ("".join(chr(c) for c in range(0x61, 0x7F)), "SC.abcdefghijklmnopqrstuvwxyz____"),
    # UIDs arrive as bytes decoded Latin-1: one character per byte, one "_" per unsafe byte.
    ("1.2.3.\xe9", "SC.1.2.3._"),
    ("1.2.3.\xc3\xa9", "SC.1.2.3.__"),  # "é" sent as UTF-8: two bytes, two underscores
]


@pytest.mark.parametrize(("uid", "name"), OBSERVED)
def test_default_names_match_dcmtk(uid: str, name: str) -> None:
    assert DcmtkNaming(clock=clock)(InstanceInfo(SC, uid)) == name


@given(st.text(max_size=80))
def test_any_uid_gives_a_safe_single_name(uid: str) -> None:
    name = DcmtkNaming()(InstanceInfo(SC, uid))
    assert is_safe_relative_path(name)
    assert "/" not in name
    assert name.startswith("SC.")
    assert len(name) == 3 + len(uid.encode("latin-1", errors="replace"))
    assert safe_uid_for_filename(uid) == name[3:]


def test_prefixes_follow_the_command_sop_class() -> None:
    naming = DcmtkNaming(extension=".dcm")
    assert naming(InstanceInfo(uids.CT_IMAGE_STORAGE, "1.2")) == "CT.1.2.dcm"
    assert naming(InstanceInfo(uids.RT_DOSE_STORAGE, "1.2")) == "RD.1.2.dcm"
    assert naming(InstanceInfo("1.2.3.4.5.6.7", "1.2")) == "UNKNOWN.1.2.dcm"


def test_other_schemes() -> None:
    info = InstanceInfo(SC, "1.2.3")
    unique = DcmtkNaming(FileNaming.UNIQUE, ".dcm")(info)
    assert unique.startswith("SC.X.2.25.") and unique.endswith(".dcm")
    assert uids.is_valid_uid(unique[len("SC.X.") : -len(".dcm")])
    short = DcmtkNaming(FileNaming.SHORT_UNIQUE)(info)
    assert short.startswith("SC_") and len(short) == 3 + 16
    int(short[3:], 16)
    assert DcmtkNaming(FileNaming.SYSTEM_TIME, clock=clock)(info) == "20261123053721.953633.SC"
    assert DcmtkNaming(FileNaming.DEFAULT).overwrite
    assert not any(DcmtkNaming(s).overwrite for s in FileNaming if s is not FileNaming.DEFAULT)


# (Series Date, subdirectory DCMTK 3.6.7 dcmrecv chose; None: undef/<today>)
DATES = [
    ("20210304", "data/2021/03/04"),
    ("2021.03.04", "data/2021/03/04"),
    ("20210230", "data/2021/02/30"),
    ("20210229", "data/2021/02/29"),
    ("19000101", "data/1900/01/01"),
    ("99991231", "data/9999/12/31"),
    ("00000101", "data/0000/01/01"),
    ("20210304 ", "data/2021/03/04"),
    ("2021.03.04 ", "data/2021/03/04"),
    ("20210304\\20210305", "data/2021/03/04"),
    ("20211301", None),
    ("20210132", None),
    ("00000000", None),
    ("20210300", None),
    ("20210001", None),
    ("2021030", None),
    ("202103041", None),
    (" 20210304", None),
    ("20210304-", None),
    ("2021-03-04", None),
    ("2021.3.04", None),
    ("+0210304", None),
    ("2021030a", None),
    ("\\20210304", None),
    ("2021030 4", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), DATES)
def test_series_date_subdirectories_match_dcmtk(value: str | None, expected: str | None) -> None:
    assert series_date_subdirectory(value, NOW) == (expected or "undef/20261123")
    naming = DcmtkNaming(series_date_subdir=True, clock=clock)
    assert naming(InstanceInfo(SC, "1.2", series_date=value)) == f"{expected or 'undef/20261123'}/SC.1.2"


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("SC.1.2", True),
        ("data/2021/03/04/SC.1", True),
        ("", False),
        ("/etc/passwd", False),
        ("../x", False),
        ("a/../../x", False),
        ("a//b", False),
        ("./x", False),
        ("a\\b", False),
        ("a\0b", False),
    ],
)
def test_safe_relative_paths(path: str, safe: bool) -> None:
    assert is_safe_relative_path(path) is safe


@given(st.text(min_size=1, max_size=80))
def test_uid_naming_is_dcmtks_default_and_stays_inside(uid: str) -> None:
    """The library's default names files as dcmrecv's +fd does, safely."""
    info = InstanceInfo(uids.CT_IMAGE_STORAGE, uid)
    name = UidNaming()(info)
    assert name == DcmtkNaming()(info)
    assert is_safe_relative_path(name) and "/" not in name
    assert UidNaming(".dcm")(info) == name + ".dcm"
    assert UidNaming().overwrite and not UidNaming().needs_series_date
