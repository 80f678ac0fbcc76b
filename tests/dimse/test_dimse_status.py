"""Status classes and meanings (PS3.7 Annex C, PS3.4; DCMTK spellings)."""

from __future__ import annotations

import ctypes
import ctypes.util
import glob

import pytest

from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse import status
from dicomwire.dimse.status import (
    Service,
    StatusCategory,
    category,
    describe,
    is_standard,
)

S, W, F, C, P = (
    StatusCategory.SUCCESS,
    StatusCategory.WARNING,
    StatusCategory.FAILURE,
    StatusCategory.CANCEL,
    StatusCategory.PENDING,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0x0000, S),
        (0x0001, W),
        (0x0107, W),
        (0x0116, W),
        (0xB000, W),
        (0xB007, W),
        (0xBFFF, W),
        (0x0100, F),
        (0x0110, F),
        (0x0117, F),
        (0x0122, F),
        (0x01FF, F),
        (0x0211, F),
        (0xA700, F),
        (0xA801, F),
        (0xA900, F),
        (0xC000, F),
        (0xCFFF, F),
        (0xFE00, C),
        (0xFF00, P),
        (0xFF01, P),
        # not allowed by PS3.7: treated as failures
        (0x0002, F),
        (0x0300, F),
        (0xD000, F),
        (0xFE01, F),
        (0xFF02, F),
        (0xFFFF, F),
    ],
)
def test_category(code: int, expected: StatusCategory) -> None:
    assert category(code) is expected


def test_is_standard() -> None:
    assert all(is_standard(c) for c in (0x0000, 0x0001, 0x0107, 0x0213, 0xA9FF, 0xC123))
    assert all(is_standard(c) for c in (0xB123, 0xFE00, 0xFF00, 0xFF01))
    assert not any(is_standard(c) for c in (0x0002, 0x0300, 0x9FFF, 0xD000, 0xFE01, 0xFF02))


def test_constants() -> None:
    assert status.SUCCESS == 0 and status.CANCEL == 0xFE00
    assert status.PENDING == 0xFF00 and status.PENDING_WARNING == 0xFF01
    assert status.OUT_OF_RESOURCES == 0xA700
    assert status.MOVE_DESTINATION_UNKNOWN == 0xA801
    assert status.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS == 0xA900
    assert status.CANNOT_UNDERSTAND == 0xC000
    assert status.SOP_CLASS_NOT_SUPPORTED == 0x0122
    assert status.PROCESSING_FAILURE == 0x0110
    assert status.UNRECOGNIZED_OPERATION == 0x0211
    assert status.NOT_AUTHORIZED == 0x0124
    assert status.INVALID_OBJECT_INSTANCE == 0x0117


# What DCMTK 3.6.7's tools print after "DIMSE Status : 0x....: " with -d
# (observed against responders sending each code).
@pytest.mark.parametrize(
    ("code", "service", "text"),
    [
        (0x0000, "store", "Success"),
        (0xB000, "store", "Warning: Coercion of Data Elements"),
        (0xB006, "store", "Warning: Elements discarded"),
        (0xB007, "store", "Warning: Data Set does not match SOP Class"),
        (0xA7FF, "store", "Refused: Out of resources"),
        (0xA900, "store", "Error: Data Set does not match SOP Class"),
        (0xC123, "store", "Error: Cannot understand"),
        (0x0122, "store", "Refused: SOP Class not supported"),
        (0x0124, "store", "Refused: Not authorized"),
        (0xD000, "store", "Unknown Status Code (non-standard)"),
        (0x0300, "store", "Unknown Status Code (non-standard)"),
        (0x0000, "find", "Success: Matching is complete"),
        (0xFE00, "find", "Cancel: Matching terminated due to Cancel Request"),
        (0xA700, "find", "Refused: Out of resources"),
        (0xC005, "find", "Failed: Unable to process"),
        (0xB000, "find", "Warning"),
        (0xA701, "find", "Failure"),
        (0x0000, "get", "Success: Sub-operations complete - No failures or warnings"),
        (0xFE00, "get", "Cancel: Sub-operations terminated due to Cancel Indication"),
        (0xA701, "get", "Refused: Out of resources - Unable to calculate number of matches"),
        (0xA702, "get", "Refused: Out of resources - Unable to perform sub-operations"),
        (0xB000, "get", "Warning: Sub-operations complete - One or more failures or warnings"),
        (0xA801, "get", "Failure"),
        (0xA801, "move", "Refused: Move Destination unknown"),
        (0xFF00, "move", "Pending: Sub-operations are continuing"),
        (0xFF00, None, "Pending"),
        (0xB000, None, "Warning"),
    ],
)
def test_describe_matches_dcmtk(code: int, service: str | None, text: str) -> None:
    assert describe(code, service) == text


def test_describe_general_meanings() -> None:
    assert describe(0x0110) == "Failure: Processing failure"
    assert describe(0x0211, Service.STORE) == "Failure: Unrecognized operation"
    assert describe(0x0107) == "Warning: Attribute list error"
    assert describe(0xA900) == "Error: Data Set does not match SOP Class"
    assert describe(0x0000, Service.ECHO) == "Success"


def test_describe_rejects_unknown_service() -> None:
    with pytest.raises(ValueError):
        describe(0, "print")


@pytest.mark.parametrize(
    ("code", "service", "text"),
    [
        (0x0000, "echo", "Success"),
        (0x0110, "echo", "Unknown Status: 0x110"),
        (0xB000, "echo", "Unknown Status: 0xb000"),
        (0xB000, "store", "Warning: CoercionOfDataElements"),
        (0xC001, "store", "Error: CannotUnderstand"),
        (0x0001, "store", "Unknown Status: 0x1"),
        (0xFF01, "find", "Pending: WarningUnsupportedOptionalKeys"),
        (0xA801, "move", "Refused: MoveDestinationUnknown"),
        (0xA801, "get", "Unknown Status: 0xa801"),
    ],
)
def test_dcmtk_status_string(code: int, service: str, text: str) -> None:
    assert dcmtk_status_string(code, service) == text


def _libdcmnet() -> ctypes.CDLL | None:
    names = [ctypes.util.find_library("dcmnet"), *glob.glob("/usr/lib/*/libdcmnet.so*")]
    for name in filter(None, names):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


@pytest.mark.interop
@pytest.mark.parametrize("service", list(Service))
def test_dcmtk_status_string_against_libdcmnet(service: Service) -> None:
    """Every code, compared with DCMTK's own DU_c<service>StatusString."""
    lib = _libdcmnet()
    if lib is None:
        pytest.skip("libdcmnet not installed")
    name = f"DU_c{service.value}StatusString"
    function = getattr(lib, f"_Z{len(name)}{name}t")  # C++ mangling of (unsigned short)
    function.restype = ctypes.c_char_p
    function.argtypes = [ctypes.c_ushort]
    mismatches = [
        code for code in range(0x10000) if function(code).decode() != dcmtk_status_string(code, service)
    ]
    assert mismatches == []
