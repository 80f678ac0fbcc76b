"""DCMTK's texts for a rejected association and for failed DIMSE exchanges."""

from __future__ import annotations

import logging

import pytest

from dicomwire.dcmtk.netreport import (
    DIMSE_TIMEOUT,
    PEER_ABORTED,
    dimse_condition,
    failure_text,
    rejection_complaints,
    rejection_lines,
    report_rejection,
)
from dicomwire.errors import AssociationAborted, AssociationRejected, DimseTimeout


def test_rejection_texts_are_dcmtks() -> None:
    assert rejection_lines(AssociationRejected(1, 2, 2)) == [
        "Association Rejected:",
        "Result: Rejected Permanent, Source: Service Provider (ACSE Related)",
        "Reason: Protocol Version Not Supported",
    ]
    assert rejection_lines(AssociationRejected(2, 3, 1))[1:] == [
        "Result: Rejected Transient, Source: Service Provider (Presentation Related)",
        "Reason: Temporary Congestion",
    ]
    assert rejection_lines(AssociationRejected(1, 1, 2))[2] == "Reason: App Context Name Not Supported"


@pytest.mark.parametrize(
    ("codes", "complaints", "shown"),
    [
        ((1, 1, 7), [], ("Permanent", "Service User", "Called AE Title Not Recognized")),
        ((3, 1, 1), ["result 0x0003"], ("Permanent", "Service User", "No Reason")),
        ((1, 4, 1), ["source 0x0004", "reason 0x0401"], ("Permanent", "Service User", "No Reason")),
        ((2, 2, 3), ["reason 0x0203"], ("Transient", "Service Provider (ACSE Related)", "No Reason")),
        ((1, 255, 255), ["source 0x00ff", "reason 0xffff"], ("Permanent", "Service User", "No Reason")),
    ],
)
def test_invalid_codes_complain_then_use_dcmtks_defaults(
    codes: tuple[int, int, int], complaints: list[str], shown: tuple[str, str, str]
) -> None:
    exc = AssociationRejected(*codes)
    assert rejection_complaints(exc) == [
        f"Received invalid A-ASSOCIATE-RJ reject {what}, using default." for what in complaints
    ]
    result, source, reason = shown
    assert rejection_lines(exc)[1:] == [f"Result: Rejected {result}, Source: {source}", f"Reason: {reason}"]


def test_complaints_are_errors_before_the_rejection(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.netreport")
    with caplog.at_level(logging.DEBUG, logger="test.netreport"):
        report_rejection(log, AssociationRejected(0, 1, 1))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "Received invalid A-ASSOCIATE-RJ reject result 0x0000, using default."),
        (logging.FATAL, "Association Rejected:"),
        (logging.FATAL, "Result: Rejected Permanent, Source: Service User"),
        (logging.FATAL, "Reason: No Reason"),
    ]


def test_abort_and_timeout_conditions_carry_no_words_of_ours() -> None:
    aborted = AssociationAborted(2, 0, "association aborted (source 2, reason 0)")
    assert failure_text(aborted) == PEER_ABORTED
    assert dimse_condition(aborted) == PEER_ABORTED
    assert dimse_condition(DimseTimeout("no DIMSE message within 2 s")) == DIMSE_TIMEOUT
