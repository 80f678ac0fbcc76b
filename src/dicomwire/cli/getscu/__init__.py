"""getscu: DICOM retrieve (C-GET) SCU, a drop-in for DCMTK 3.6.7's getscu.

Observed from DCMTK 3.6.7 getscu (run against dcmqrscp, storescp and a listener
that records the A-ASSOCIATE-RQ):

* The request proposes 121 contexts: the retrieve model (ID 1, role item none)
  with the ``-x`` syntaxes, then DCMTK's 120 "long SCU" storage classes (IDs
  3..241, in that table's order) with the ``+x`` syntaxes, each with an SCP/SCU
  role selection item asking for the SCP role only.  ``-x=``/``+x=``: explicit VR
  in the local byte order, the other explicit, implicit; ``+xs`` and the other
  compressed ones put their syntax first, then those three; ``-xd``/``+xd``:
  deflated first.  ``-xi`` and ``+xi`` propose explicit VR little endian alone
  (not implicit, whatever the help says): DCMTK's quirk, kept.
* Lines (``-v``): ``Requesting Association``, ``Association Accepted (Max Send
  PDV: n)``, ``Sending C-GET Request (MsgID n)``, per instance ``Received C-STORE
  Request (MsgID n)`` and ``Sending C-STORE Response (Success)``, ``Received C-GET
  Response (Pending)``, then after each ``--repeat`` round ``Final status report
  from last C-GET message:`` and four ``  Number of ... Suboperations : n`` lines
  (0 for a count the response left out), ``Releasing Association`` or
  ``Aborting Association``.  A failure status adds ``E: DIMSE status is: <status>``.
  ``-d`` dumps the association and every DIMSE message (the C-GET-RQ with its
  identifier) and adds ``Received dataset on presentation context n`` and
  ``Stored instance to disk:`` with the file name and UIDs.  ``+v`` (only with
  ``-v`` or ``-d``) shows the association dumps at info level.
* Files: ``-B`` (default) ``<modality prefix>.<SOP Instance UID>``, e.g.
  ``CT.1.2.3``; ``+B`` just ``<SOP Instance UID>``, with a meta header built from
  the C-STORE-RQ (it adds Source AE Title = our AE title).  An existing file is
  replaced after ``W: DICOM file already exists, overwriting: <file>`` (normal
  mode only).  ``--ignore`` stores nothing and cannot be combined with ``-od``.
  A file that cannot be written: ``E: cannot write DICOM file: <file>``, answered
  0xC000; the C-GET is abandoned and the release fails (``E: Association Release
  Failed: 0006:0316 DUL P-Data PDU arrived``, ``I: Aborting Association``), exit 0.
* Exit codes: 0 after a release or ``--abort`` (also when the C-GET ended with a
  failure status); 1 for a bad command line, a missing or unwritable ``-od``
  (``F: specified output directory does not exist``), an unreadable query file
  (the command line check ``cannot access file: <f>``; a non-DICOM one after
  connecting: ``F: 0001:000a I/O suspension or premature end of stream``),
  ``F: Could not negotiate association: <reason>`` (``TCP Initialization Error:
  Connection refused``, ``DUL Association Rejected``, ``Attempt to connect to
  unknown host: <h>``, ``No acceptable Presentation Contexts`` after
  ``E: No Acceptable Presentation Contexts``), ``F: No adequate Presentation
  Contexts for sending C-GET`` (the model refused), an empty identifier (all keys
  bad: ``E: Bad override key/path: <key>: <reason>`` for each, then ``E: Failed
  sending C-GET request: 0006:020e DIMSE Failed to send message``), and a receive
  failure (``E: Failed receiving DIMSE command: ...``); none of these release.
* Option quirks: ``+B -B`` and ``-B``/``--ignore`` together are errors
  (``--normal not allowed with --bit-preserving``), ``-B +B`` is not (DCMTK
  checks them in that order).

Differences: instances always stream to a temporary file renamed into place (in
DCMTK ``-B`` collects the data set in memory first); names come from the
C-STORE-RQ's UIDs and unsafe characters become ``_`` in both modes; after a
failed store no further C-GET goes out (DCMTK would send the next on a confused
association).  On a terminal at the default log level a line shows the
sub-operations done and remaining.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import Final

from dicomwire import uids
from dicomwire.cli.getscu.session import Outcome, Progress, Session
from dicomwire.cli.getscu.store import GetStore, StorageMode, quiet_storage_log
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk import querykeys as qk
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.syntaxes import (
    ACCEPTANCE_BY_OPTION,
    ACCEPTANCE_CHOICES,
    SYNTAX_BY_OPTION,
    accepted_syntaxes,
    add_acceptance_options,
    add_proposal_options,
    proposed_syntaxes,
)
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.dcmtk.log import INFO, app_logger
from dicomwire.dcmtk.netreport import failure_text, rejection_complaints
from dicomwire.errors import AssociationRejected, ConnectError, DicomWireError
from dicomwire.net.association import Association
from dicomwire.net.client import open_association
from dicomwire.services.retrieve import GET_MODELS, get_contexts

__all__ = ["build_parser", "main", "requestor_settings", "run"]

PROG: Final = "getscu"
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # DCMTK's getscu has one failure code for everything
_RELEASE_COLLISION: Final = "0006:0316 DUL P-Data PDU arrived"
_PROPOSALS: Final = ("-x=", "-xe", "-xb", "-xd", "-xi")
_PREFERENCES: Final = tuple(choice.option for choice in ACCEPTANCE_CHOICES)

# -xi and +xi: DCMTK's getscu maps "implicit only" to explicit VR little endian (its help says
# implicit; ours says what happens).
_IMPLICIT_HELP: Final = "one syntax only (DCMTK 3.6.7 sends explicit\nVR little endian here, and so do we)"
_IMPLICIT_QUIRK: Final = (uids.EXPLICIT_VR_LITTLE_ENDIAN,)


# -- command line ----------------------------------------------------------------------------


def build_parser() -> options.DcmtkParser:
    p = options.DcmtkParser(PROG, "fetch instances from a DICOM peer (C-GET SCU)", long_column=21)
    add = p.add_option
    p.add_param("peer", "host name or address of the DICOM peer")
    p.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
    p.add_param("dcmfile-in", "files holding the query identifier", optional=True, multiple=True)
    options.add_general_options(p)
    add("+v", "--verbose-pc", "with -v, dump the presentation contexts too", dest="verbose_pc")
    p.add_group("network options")
    p.add_subgroup("override matching keys")
    add(
        "-k",
        "--key",
        "add or replace a key of the identifier\n(repeat the option for more keys)",
        dest="keys",
        action="append",
        value_help='[k]ey: gggg,eeee="str", path or dic. name="str"',
    )
    p.add_subgroup("retrieve information model")
    for short, long, model, text in (
        ("-P", "--patient", "patient", "retrieve with the patient root model (default)"),
        ("-S", "--study", "study", "retrieve with the study root model"),
        ("-O", "--psonly", "psonly", "retrieve with the patient/study only model"),
    ):
        add(short, long, text, dest="model", const=model, default="patient")
    options.add_ae_title_options(p, aet_default="GETSCU", aec_default="ANY-SCP")
    p.add_subgroup("preferred storage transfer syntaxes (incoming associations)")
    add_acceptance_options(p, _PREFERENCES, help_overrides={"+xi": _IMPLICIT_HELP})
    p.add_subgroup("proposed retrieve transfer syntaxes (outgoing associations)")
    add_proposal_options(p, _PROPOSALS, help_overrides={"-xi": _IMPLICIT_HELP})
    _add_other_network_options(p)
    options.add_tls_options(p, extension=True)  # DCMTK 3.6.7's getscu has none
    _add_output_options(p)
    p.add_check(_check_options)
    p.set_defaults(banner=p.banner())
    return p


def _add_other_network_options(p: options.DcmtkParser) -> None:
    p.add_subgroup("other network options")
    options.add_connect_timeout_option(p)
    options.add_acse_timeout_option(p)
    options.add_dimse_timeout_option(p)
    options.add_max_pdu_option(p)
    options.add_repeat_option(p)
    options.add_abort_option(p)


def _add_output_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("output options")
    p.add_subgroup("general")
    add(
        "-od",
        "--output-directory",
        "put the received instances in directory d",
        metavar="[d]irectory",
        value_default='"."',
    )
    p.add_subgroup("storage mode")
    add("-B", "--normal", "write each instance once received (default)", dest="normal")
    add("+B", "--bit-preserving", "write each instance as it comes off the wire", dest="bit_preserving")
    add(None, "--ignore", "take the instances but keep none of them", dest="ignore")


def _check_options(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """DCMTK's checks, in its order (see the module docstring for the -B/+B quirk)."""
    if ns.verbose_pc and not app_logger(PROG).isEnabledFor(INFO):
        raise options.CommandLineError("--verbose-pc only allowed with verbose mode")
    if ns.output_directory is not None and ns.ignore:
        raise options.CommandLineError("--output-directory not allowed with --ignore")
    ns.storage_mode = _storage_mode(ns, list(given))
    for name in ns.dcmfile_in:
        try:
            qk.check_query_files([name])
        except qk.QueryFileError:
            raise options.CommandLineError(f"cannot access file: {name}") from None
    if not ns.dcmfile_in and not ns.keys:
        raise options.CommandLineError("either query file or override keys (or both) must be specified")


def _storage_mode(ns: argparse.Namespace, given: list[str]) -> StorageMode:
    """DCMTK looks for +B (rightmost), then for a -B to its right."""
    mode = StorageMode.IGNORE if ns.ignore else StorageMode.NORMAL
    after = 0
    if "--bit-preserving" in given:
        if mode is StorageMode.IGNORE:
            raise options.CommandLineError("--bit-preserving not allowed with --ignore")
        mode = StorageMode.BIT_PRESERVING
        after = len(given) - given[::-1].index("--bit-preserving")
    if "--normal" in given[after:] and mode is not StorageMode.NORMAL:
        raise options.CommandLineError(f"--normal not allowed with --{mode.value}")
    return mode


def requestor_settings(ns: argparse.Namespace) -> RequestorSettings:
    """DCMTK getscu's A-ASSOCIATE-RQ (see the module docstring)."""
    net = options.network_settings(ns, default_ae_title="GETSCU")
    query_syntaxes = (
        _IMPLICIT_QUIRK if ns.proposal == "-xi" else proposed_syntaxes(SYNTAX_BY_OPTION[ns.proposal])
    )
    choice = ACCEPTANCE_BY_OPTION[ns.preference]
    storage_syntaxes = _IMPLICIT_QUIRK if ns.preference == "+xi" else accepted_syntaxes(choice)
    contexts, roles = get_contexts(
        GET_MODELS[ns.model],
        storage_classes=uids.DCMTK_LONG_SCU_STORAGE,
        storage_syntaxes=storage_syntaxes,
        query_syntaxes=query_syntaxes,
    )
    return RequestorSettings(
        calling_ae=net.ae_title,
        called_ae=net.called_ae_title or "ANY-SCP",
        contexts=contexts,
        roles=roles,
        max_pdu_length=net.max_pdu,
        timeouts=net.timeouts,
    )


# -- the association --------------------------------------------------------------------------


class _NoAssociation(Exception):
    """The association could not be set up; DCMTK's lines are logged."""


def _negotiation_text(exc: DicomWireError) -> str:
    """DcmSCU's reason after "Could not negotiate association:" (no condition code)."""
    if isinstance(exc, AssociationRejected):
        return "DUL Association Rejected"
    if isinstance(exc, ConnectError):
        return str(exc) if exc.unknown_host else f"TCP Initialization Error: {exc}"
    return failure_text(exc).split(" ", 1)[-1]


async def _associate(ns: argparse.Namespace, log: logging.Logger, settings: RequestorSettings) -> Association:
    dump_level = INFO if ns.verbose_pc else logging.DEBUG
    log.debug("Configured a total of %d presentation contexts for SCU", len(settings.contexts))
    if log.isEnabledFor(dump_level):
        log.log(dump_level, "Request Parameters:\n%s", "\n".join(dump_association(settings.build_request())))
    log.info("Requesting Association")
    try:
        assoc = await open_association(ns.peer, ns.port, settings, tls=ns.tls_context)
    except DicomWireError as exc:
        if isinstance(exc, AssociationRejected):  # DCMTK complains of codes it does not know first
            for complaint in rejection_complaints(exc):
                log.error("%s", complaint)
        log.fatal("Could not negotiate association: %s", _negotiation_text(exc))
        raise _NoAssociation from exc
    if not assoc.contexts:
        log.error("No Acceptable Presentation Contexts")
        log.fatal("Could not negotiate association: No acceptable Presentation Contexts")
        assoc.abort()
        raise _NoAssociation
    if log.isEnabledFor(dump_level) and assoc.request is not None and assoc.accept is not None:
        negotiated = "\n".join(dump_association(assoc.request, assoc.accept))
        log.log(dump_level, "Association Parameters Negotiated:\n%s", negotiated)
    log.info("Association Accepted (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
    return assoc


def _has_model_context(assoc: Association, model: str) -> bool:
    return any(context.abstract_syntax == model for context in assoc.contexts.values())


async def _close(assoc: Association, ns: argparse.Namespace, log: logging.Logger, outcome: Outcome) -> int:
    if outcome is Outcome.FAILED:
        assoc.abort()
        return EXIT_FAILED
    if ns.abort:
        log.info("Aborting Association")
        assoc.abort()
        return EXIT_OK
    log.info("Releasing Association")
    if outcome is Outcome.STORE_FAILED:
        # The peer's C-GET responses are still on their way: DCMTK's release meets them.
        log.error("Association Release Failed: %s", _RELEASE_COLLISION)
        log.info("Aborting Association")
        assoc.abort()
        return EXIT_OK
    try:
        await assoc.release()
    except DicomWireError as exc:
        log.error("Association Release Failed: %s", failure_text(exc))
        log.info("Aborting Association")
        assoc.abort()
    return EXIT_OK


# -- the tool ---------------------------------------------------------------------------------


def _output_directory_problem(directory: str) -> str | None:
    if not os.path.isdir(directory):
        return "specified output directory does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "specified output directory is not writeable"
    return None


async def run(ns: argparse.Namespace) -> int:
    log = app_logger(PROG)
    log.debug("%s\n", ns.banner)
    directory = ns.output_directory or "."
    problem = _output_directory_problem(directory)
    if problem is not None:
        log.fatal("%s", problem)
        return EXIT_FAILED
    settings = requestor_settings(ns)
    try:
        assoc = await _associate(ns, log, settings)
    except _NoAssociation:
        return EXIT_FAILED
    model = GET_MODELS[ns.model]
    if not _has_model_context(assoc, model):
        log.fatal("No adequate Presentation Contexts for sending C-GET")
        assoc.abort()
        return EXIT_FAILED
    store = GetStore(directory, ns.storage_mode, log)
    session = Session(ns, assoc, log, store, model, Progress.for_terminal(log))
    try:
        with quiet_storage_log():
            outcome = await session.run()
        return await _close(assoc, ns, log, outcome)
    finally:
        store.discard_pending()


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
