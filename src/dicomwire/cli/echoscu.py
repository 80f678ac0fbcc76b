"""echoscu: DICOM verification (C-ECHO) SCU, a drop-in for DCMTK's echoscu."""

from __future__ import annotations

import argparse
import logging

from dicomwire import uids
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.log import app_logger
from dicomwire.dcmtk.netreport import AssociationFailed, dimse_condition, failure_text, request_association
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.errors import AssociationAborted, DicomWireError
from dicomwire.net.association import Association
from dicomwire.services.verification import echo

PROG = "echoscu"
EXIT_ASSOCIATION_ABORTED = 70

# DCMTK 3.6.7 echoscu's transfer syntaxes for -pts, in its order (from `echoscu -d -pts 38`).
PROPOSABLE_TRANSFER_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2",  # LittleEndianImplicit
    "1.2.840.10008.1.2.1",  # LittleEndianExplicit
    "1.2.840.10008.1.2.2",  # BigEndianExplicit
    *(f"1.2.840.10008.1.2.4.{n}" for n in range(50, 67)),  # JPEG processes 1 .. 29
    "1.2.840.10008.1.2.4.70",  # JPEG lossless SV1
    "1.2.840.10008.1.2.5",  # RLE lossless
    "1.2.840.10008.1.2.1.99",  # deflated explicit LE
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    *(f"1.2.840.10008.1.2.4.{n}" for n in range(90, 94)),  # JPEG 2000 (part 1 and 2)
    *(f"1.2.840.10008.1.2.4.{n}" for n in range(100, 109)),  # MPEG-2, MPEG-4, HEVC
)


def build_parser() -> options.DcmtkParser:
    parser = options.DcmtkParser(PROG, "check that a DICOM peer answers (C-ECHO SCU)", long_column=19)
    parser.add_param("peer", "host name or address of the DICOM peer")
    parser.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
    options.add_general_options(parser)
    parser.add_group("network options")
    options.add_ae_title_options(parser, aet_default="ECHOSCU", aec_default="ANY-SCP")
    parser.add_subgroup("association negotiation debugging")
    parser.add_option(
        "-pts",
        "--propose-ts",
        "offer n transfer syntaxes",
        dest="propose_ts",
        metavar="[n]umber",
        type=options.Integer(1, len(PROPOSABLE_TRANSFER_SYNTAXES), unsigned=True),
    )
    parser.add_option(
        "-ppc",
        "--propose-pc",
        "offer n presentation contexts",
        dest="propose_pc",
        metavar="[n]umber",
        type=options.Integer(1, 128, unsigned=True),
    )
    options.add_other_network_options(parser, repeat=True, abort=True)
    options.add_tls_options(parser, offline_verification=True)
    return parser


def requestor_settings(ns: argparse.Namespace) -> RequestorSettings:
    net = options.network_settings(ns, default_ae_title="ECHOSCU")
    syntaxes = PROPOSABLE_TRANSFER_SYNTAXES[: ns.propose_ts or 1]
    contexts = [(uids.VERIFICATION, syntaxes)] * (ns.propose_pc or 1)
    return RequestorSettings(
        calling_ae=net.ae_title,
        called_ae=net.called_ae_title or "ANY-SCP",
        contexts=contexts,
        max_pdu_length=net.max_pdu,
        timeouts=net.timeouts,
    )


async def run(ns: argparse.Namespace) -> int:
    log = app_logger(PROG)
    try:
        assoc = await request_association(log, ns.peer, ns.port, requestor_settings(ns), tls=ns.tls_context)
    except AssociationFailed:
        return 1
    if not assoc.contexts:
        log.fatal("No Acceptable Presentation Contexts")
        assoc.abort()
        return 1
    log.info("Association Accepted (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
    return await _echo_and_close(assoc, ns, log)


async def _echo_and_close(assoc: Association, ns: argparse.Namespace, log: logging.Logger) -> int:
    try:
        for _ in range(ns.repeat or 1):
            message_id = assoc.next_message_id()
            log.info("Sending Echo Request (MsgID %d)", message_id)
            status = (await echo(assoc, message_id=message_id)).status
            if log.isEnabledFor(logging.INFO):  # the status text costs more than the echo's own work
                log.info("Received Echo Response (%s)", dcmtk_status_string(status, "echo"))
    except AssociationAborted as exc:
        log.error("Echo Failed: %s", dimse_condition(exc))
        log.info("Peer Aborted Association")
        return 0
    except DicomWireError as exc:
        condition = dimse_condition(exc)
        log.error("Echo Failed: %s", condition)
        log.error("Echo SCU Failed: %s", condition)
        log.info("Aborting Association")
        assoc.abort()
        return EXIT_ASSOCIATION_ABORTED
    if ns.abort:
        log.info("Aborting Association")
        assoc.abort()
        await assoc.wait_closed(5)
        return 0
    log.info("Releasing Association")
    try:
        await assoc.release()
    except DicomWireError as exc:
        log.fatal("Association Release Failed: %s", failure_text(exc))
        return 1
    return 0


def _short_run(ns: argparse.Namespace) -> bool:
    """A few echoes: asyncio's own loop starts sooner than uvloop loads."""
    return int(ns.repeat or 1) < options.UVLOOP_BREAK_EVEN


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv, short_run=_short_run)


if __name__ == "__main__":
    raise SystemExit(main())
