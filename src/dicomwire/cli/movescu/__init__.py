"""movescu: DICOM retrieve (C-MOVE) SCU, a drop-in for DCMTK 3.6.7's movescu.

Observed from DCMTK 3.6.7 movescu (run against dcmqrscp, with and without ``+P``,
and towards a storescp destination):

* It proposes two contexts of the chosen model: C-FIND (ID 1) and C-MOVE (ID 3), each
  with the ``-x`` syntaxes.  ``-P`` (patient root) is the default; the move destination
  (``-aem``) defaults to our own calling AE title.
* Exit codes: 0 on success (also after a cancel, a failed query file or a peer abort),
  61 when the association fails or is rejected (``F: Association Request Failed:`` then
  ``F: 0006:031c TCP Initialization Error: Connection refused``; ``F: Association
  Rejected:`` and its two lines), 66 when no context is accepted, 67 when the release
  fails, 68 after a final Warning (0xB000; ``W: Move response with warning status
  (...)``), 69 after any other final status but Success and Cancel (``W: Move response
  with error status (Refused: MoveDestinationUnknown)``), 60 when ``+P``'s port cannot
  be bound (``F: cannot create network: 0006:031c TCP Initialization Error: Address
  already in use``), 45 when ``-od`` does not exist, 40 when it is not writable, 1 for
  command line errors.  A bad ``-k`` is a command line error (``bad key format or
  dictionary name not found in dictionary: Foo``): only ``gggg,eeee`` and dictionary
  names, no paths.  No query file and no ``-k``: ``either query file or override keys
  (or both) must be specified``; an unreadable one: ``cannot access file: f``.
* A query file that does not parse: ``E: bad DICOM file: f: <reason>``, ``E: Move SCU
  Failed: 0006:0202 DIMSE Inappropriate data for message``, ``Aborting Association``,
  later files are not sent, exit 0.
* Log lines (-v): ``Requesting Association``, ``Association Accepted (Max Send PDV:
  16372)``, ``Sending Move Request (MsgID 1)``, ``Request Identifiers:`` and the dump,
  per sub-operation ``Sub-Association Received``, ``Sub-Association Acknowledged (Max
  Send PDV: n)``, ``Received Store Request (MsgID 1, SC)``, then ``Received Move
  Response 1 (Pending)`` ..., ``Received Final Move Response (Success)``, ``Releasing
  Association`` (``Aborting Association`` with ``--abort``).  With -d the requests and
  responses are dumped after the same lines without their parenthesis.  At exactly the
  info level each received instance also prints ``RECV: .`` on stdout.
* Responses are numbered per C-MOVE; ``--cancel n`` sends ``Sending Cancel Request
  (MsgID m, PresID 3)`` after the n-th Pending response of every C-MOVE (``--cancel 0``
  never fires).  One C-MOVE per query file, each ``--repeat`` times.
* Received files are named ``<modality prefix>.<SOP Instance UID>`` in ``-od``; an
  existing one is overwritten after ``W: DICOM file already exists, overwriting: f``.
  With ``+B`` the file goes to the current directory whatever ``-od`` says (and no
  warning): we do the same.

Differences: ``+ac`` is refused (no TCP wrapper); the progress dots are one per instance,
not one per PDV; ``-pi``/``-pr`` behave alike (the data set of a Pending response is
always read and dropped).  When stderr is a terminal a line shows the sub-operations
done and remaining.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Final

from pydicom.dataset import Dataset

from dicomwire.cli.movescu.parser import DEFAULT_AE_TITLE, PROG, build_parser
from dicomwire.cli.movescu.receiver import MoveStore, start_receiver
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk import querykeys as qk
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.syntaxes import SYNTAX_BY_OPTION, proposed_syntaxes
from dicomwire.dcmtk.formats.dcmdump import dump_dataset
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.log import app_logger
from dicomwire.dcmtk.netreport import dimse_condition, report_rejection
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse import status as st
from dicomwire.errors import AssociationAborted, AssociationRejected, DicomWireError
from dicomwire.net.association import Association
from dicomwire.net.client import open_association
from dicomwire.services.retrieve import MoveOperation, RetrieveResponse, resolve_move_model
from dicomwire.services.server import Server

__all__ = ["build_parser", "main", "run"]

EXIT_OK: Final = 0
EXIT_UNSUPPORTED: Final = 1
EXIT_CANNOT_WRITE_OUTPUT: Final = 40
EXIT_INVALID_OUTPUT_DIRECTORY: Final = 45
EXIT_CANNOT_INITIALIZE_NETWORK: Final = 60
EXIT_CANNOT_NEGOTIATE_ASSOCIATION: Final = 61
EXIT_NO_PRESENTATION_CONTEXT: Final = 66
EXIT_CANNOT_CLOSE_ASSOCIATION: Final = 67
EXIT_MOVE_WARNING: Final = 68
EXIT_MOVE_ERROR: Final = 69
FIND_MODELS: Final = {
    "patient": "1.2.840.10008.5.1.4.1.2.1.1",
    "study": "1.2.840.10008.5.1.4.1.2.2.1",
    "psonly": "1.2.840.10008.5.1.4.1.2.3.1",
}
_LE: Final = "1.2.840.10008.1.2.1"
_BAD_DATA: Final = "0006:0202 DIMSE Inappropriate data for message"
_NO_CONTEXT: Final = "0006:0208 DIMSE No valid Presentation Context ID"
_UNSUPPORTED: Final = "--access-control (TCP wrapper host access control) is not supported by dicomwire"


class MoveFailed(Exception):
    """A C-MOVE could not be done: DCMTK's condition, and whether the peer aborted."""

    def __init__(self, condition: str, *, peer_aborted: bool = False) -> None:
        super().__init__(condition)
        self.condition = condition
        self.peer_aborted = peer_aborted


def requestor_settings(ns: argparse.Namespace) -> RequestorSettings:
    net = options.network_settings(ns, default_ae_title=DEFAULT_AE_TITLE)
    syntaxes = proposed_syntaxes(SYNTAX_BY_OPTION[ns.proposal])
    return RequestorSettings(
        calling_ae=net.ae_title,
        called_ae=net.called_ae_title or "ANY-SCP",
        contexts=[(FIND_MODELS[ns.model], syntaxes), (resolve_move_model(ns.model), syntaxes)],
        max_pdu_length=net.max_pdu,
        timeouts=net.timeouts,
    )


@dataclass
class Session:
    """One association's C-MOVEs; ``exit_code`` follows DCMTK's cmove status."""

    ns: argparse.Namespace
    assoc: Association
    log: logging.Logger
    exit_code: int = EXIT_OK
    progress: bool = field(default_factory=lambda: sys.stderr.isatty())

    @property
    def destination(self) -> str:
        # DCMTK: without -aem the destination is our own calling AE title
        own = self.assoc.request.calling_ae if self.assoc.request is not None else DEFAULT_AE_TITLE
        return str(self.ns.move_destination or own)

    async def run(self) -> None:
        """Every query file (or the keys alone), ``--repeat`` times each; raises MoveFailed."""
        for path in self.ns.dcmfile_in or [None]:
            for _ in range(self.ns.repeat or 1):
                await self.move(self.query(path))

    def query(self, path: str | None) -> Dataset:
        try:
            query = qk.load_query_file(path) if path is not None else Dataset()
        except qk.QueryFileError as exc:
            self.log.error("bad DICOM file: %s: %s", path, exc.reason)
            raise MoveFailed(_BAD_DATA) from None
        try:
            qk.apply_keys(query, self.ns.keys or ())
        except qk.QueryKeyError:
            raise MoveFailed(_BAD_DATA) from None
        return query

    async def move(self, query: Dataset) -> None:
        model = resolve_move_model(self.ns.model)
        context = next((c for c in self.assoc.contexts.values() if c.abstract_syntax == model), None)
        if context is None:
            raise MoveFailed(_NO_CONTEXT)
        operation = MoveOperation(
            self.assoc, query, model=model, destination=self.destination, context=context
        )
        self.announce(operation, query)
        try:
            async for response in operation.responses():
                self.report(operation, response)
        except DicomWireError as exc:
            condition = dimse_condition(exc)
            self.log.error("Move Request Failed: %s", condition)
            raise MoveFailed(condition, peer_aborted=isinstance(exc, AssociationAborted)) from None
        finally:
            self.clear_progress()

    def announce(self, operation: MoveOperation, query: Dataset) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.info("Sending Move Request")
            self.log.debug("%s", dump_message(operation.request, "OUTGOING", operation.context.context_id))
        else:
            self.log.info("Sending Move Request (MsgID %d)", operation.message_id)
        if self.log.isEnabledFor(logging.INFO):
            self.log.info("Request Identifiers:\n%s", dump_dataset(query, _LE))

    def report(self, operation: MoveOperation, response: RetrieveResponse) -> None:
        if not response.pending:
            self.final(response)
            return
        number = operation.received
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.info("Received Move Response %d", number)
            self.log.debug("%s", dump_message(response.message, "INCOMING"))
        else:
            self.log.info(
                "Received Move Response %d (%s)", number, dcmtk_status_string(response.status, "move")
            )
        self.show_progress(response)
        if self.ns.cancel is not None and number == self.ns.cancel:
            self.log.info(
                "Sending Cancel Request (MsgID %d, PresID %d)",
                operation.message_id,
                operation.context.context_id,
            )
            operation.cancel()

    def final(self, response: RetrieveResponse) -> None:
        status = dcmtk_status_string(response.status, "move")
        if response.status == st.SUBOPERATIONS_COMPLETE_WITH_FAILURES:
            self.exit_code = self.exit_code or EXIT_MOVE_WARNING
            self.log.warning("Move response with warning status (%s)", status)
        elif response.status not in (st.SUCCESS, st.CANCEL):
            self.exit_code = EXIT_MOVE_ERROR
            self.log.warning("Move response with error status (%s)", status)
        if not self.log.isEnabledFor(logging.DEBUG):
            self.log.info("Received Final Move Response (%s)", status)
            return
        self.log.info("Received Final Move Response")
        self.log.debug("%s", dump_message(response.message, "INCOMING"))
        if response.identifier is not None:
            self.log.debug(
                "Response Identifiers:\n%s", dump_dataset(response.identifier, response.transfer_syntax)
            )

    # -- the terminal's progress line -------------------------------------------------------------
    def show_progress(self, response: RetrieveResponse) -> None:
        if not self.progress:
            return
        done = sum(n or 0 for n in (response.completed, response.failed, response.warning))
        sys.stderr.write(f"\rsub-operations: {done} done, {response.remaining or 0} remaining ")
        sys.stderr.flush()

    def clear_progress(self) -> None:
        if self.progress:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# -- the tool ---------------------------------------------------------------------------------
def _check_output_directory(ns: argparse.Namespace, log: logging.Logger) -> int | None:
    if not ns.retrieve_port:
        return None
    if not os.path.isdir(ns.output_directory):
        log.fatal("specified output directory does not exist")
        return EXIT_INVALID_OUTPUT_DIRECTORY
    if not os.access(ns.output_directory, os.W_OK | os.X_OK):
        log.fatal("specified output directory is not writeable")
        return EXIT_CANNOT_WRITE_OUTPUT
    return None


async def _start_receiver(ns: argparse.Namespace, log: logging.Logger) -> tuple[Server, MoveStore] | int:
    try:
        return await start_receiver(ns, log)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        log.fatal("cannot create network: 0006:031c TCP Initialization Error: %s", reason)
        return EXIT_CANNOT_INITIALIZE_NETWORK


async def _associate(ns: argparse.Namespace, log: logging.Logger) -> Association | int:
    settings = requestor_settings(ns)
    if log.isEnabledFor(logging.DEBUG):
        from dicomwire.dcmtk.formats.assocdump import dump_association

        log.debug("Request Parameters:\n%s", "\n".join(dump_association(settings.build_request())))
    log.info("Requesting Association")
    try:
        assoc = await open_association(ns.peer, ns.port, settings, tls=ns.tls_context)
    except AssociationRejected as exc:
        report_rejection(log, exc)
        return EXIT_CANNOT_NEGOTIATE_ASSOCIATION
    except DicomWireError as exc:
        from dicomwire.dcmtk.netreport import failure_text

        log.fatal("Association Request Failed:")
        log.fatal("%s", failure_text(exc))
        return EXIT_CANNOT_NEGOTIATE_ASSOCIATION
    if log.isEnabledFor(logging.DEBUG) and assoc.request is not None and assoc.accept is not None:
        from dicomwire.dcmtk.formats.assocdump import dump_association

        log.debug(
            "Association Parameters Negotiated:\n%s", "\n".join(dump_association(assoc.request, assoc.accept))
        )
    if not assoc.contexts:
        log.fatal("No Acceptable Presentation Contexts")
        assoc.abort()
        return EXIT_NO_PRESENTATION_CONTEXT
    log.info("Association Accepted (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
    return assoc


async def _finish(session: Session, failure: MoveFailed | None) -> int:
    assoc, log = session.assoc, session.log
    if failure is not None and failure.peer_aborted:
        log.info("Peer Aborted Association")
        assoc.abort()
        return session.exit_code
    if failure is not None:
        log.error("Move SCU Failed: %s", failure.condition)
    if failure is not None or session.ns.abort:
        log.info("Aborting Association")
        assoc.abort()
        await assoc.wait_closed(5)
        return session.exit_code
    log.info("Releasing Association")
    try:
        await assoc.release()
    except DicomWireError as exc:
        from dicomwire.dcmtk.netreport import failure_text

        log.fatal("Association Release Failed:")
        log.fatal("%s", failure_text(exc))
        return EXIT_CANNOT_CLOSE_ASSOCIATION
    return session.exit_code


async def _move_all(ns: argparse.Namespace, log: logging.Logger) -> int:
    assoc = await _associate(ns, log)
    if isinstance(assoc, int):
        return assoc
    session = Session(ns, assoc, log)
    failure: MoveFailed | None = None
    try:
        await session.run()
    except MoveFailed as exc:
        failure = exc
    return await _finish(session, failure)


async def run(ns: argparse.Namespace) -> int:
    log = app_logger(PROG)
    log.debug("%s\n", ns.banner)
    if ns.access_control:
        log.fatal("%s", _UNSUPPORTED)
        return EXIT_UNSUPPORTED
    refused = _check_output_directory(ns, log)
    if refused is not None:
        return refused
    receiver = await _start_receiver(ns, log) if ns.retrieve_port else None
    if isinstance(receiver, int):
        return receiver
    try:
        return await _move_all(ns, log)
    finally:
        if receiver is not None:
            server, store = receiver
            await server.close()
            store.discard_pending()


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv)
