"""findscu: DICOM query (C-FIND) SCU, a drop-in for DCMTK 3.6.7's findscu.

Same options, defaults, log lines and exit codes as DCMTK's (observed by
running it against dcmqrscp and wlmscpfs).  Facts worth knowing:

* exit 2 when the association cannot be set up (connection refused, rejected,
  no acceptable presentation context) or released; exit 0 otherwise, even
  when a query fails (bad ``-k`` key, unreadable query file, DIMSE timeout,
  peer abort): findscu logs the error and aborts the association.
* One association; each query file (or the ``-k`` keys alone) is sent
  ``--repeat`` times.  Responses are numbered across the whole association,
  final responses included (the second query's first response may be number
  5): ``-X`` file names and ``--cancel n`` use that number, so ``--cancel``
  only ever fires in the first query that reaches it.
* Responses go to the log as ``Find Response: n (Pending)`` blocks at info
  level.  Without any logging option they are shown although the level is
  warn (``findscu`` shows them, ``findscu -ll warn`` does not); ``+sr``
  shows them whatever the level; ``-sr`` and ``-X``/``-Xx``/``-Xs`` leave
  them out (``Received Find Response n (Pending)`` at info instead).  With
  ``-d`` the DIMSE messages are dumped and the identifiers follow at debug.

Our addition: ``--json`` prints every response identifier as one DICOM JSON
array (PS3.18 F.2) on stdout; everything else stays on stderr.
"""

from __future__ import annotations

import argparse
import copy
import io
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk import querykeys as qk
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.syntaxes import (
    SYNTAX_BY_OPTION,
    add_compression_level_option,
    add_new_vr_options,
    add_proposal_options,
    proposed_syntaxes,
)
from dicomwire.dcmtk.formats import queryoutput as qo
from dicomwire.dcmtk.formats.dcmdump import DumpError, dump_bytes, dump_dataset, transfer_syntax_name
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.log import INFO, app_logger, log_always
from dicomwire.dcmtk.netreport import AssociationFailed, dimse_condition, failure_text, request_association
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.errors import (
    AssociationAborted,
    DicomWireError,
)
from dicomwire.net.association import Association
from dicomwire.services.query import FindOperation, FindResponse, decode_dataset, inflate

PROG: Final = "findscu"
EXIT_OK: Final = 0
EXIT_COMMAND_LINE: Final = 1
EXIT_ASSOCIATION: Final = 2  # no association (refused, rejected, no context) or release failed

MODELS: Final = {
    "worklist": uids.MODALITY_WORKLIST_FIND,
    "patient": uids.PATIENT_ROOT_FIND,
    "study": uids.STUDY_ROOT_FIND,
    "psonly": uids.PATIENT_STUDY_ONLY_FIND,
}
_LE, _BE = uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN
_IMPLICIT, _DEFLATED = uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
# -x= / -xe / -xb / -xd / -xi, in DCMTK's order (local byte order first for -x=).
# -u: the VRs DCMTK 3.6.7 no longer generates when new VRs are disabled.
_NEW_VRS: Final = frozenset({"UN", "UT", "UC", "UR", "OD", "OL", "OV", "SV", "UV"})
_SEPARATOR: Final = "---------------------------"
_LIMIT_REACHED: Final = (
    "Maximum number of responses already written to file ... "
    "not writing this and all following responses to file"
)
# DCMTK's condition texts for what can go wrong during a C-FIND.


# -- command line ---------------------------------------------------------------------


def build_parser() -> options.DcmtkParser:
    p = options.DcmtkParser(PROG, "query a DICOM peer (C-FIND SCU)")
    add = p.add_option
    p.add_param("peer", "host name or address of the DICOM peer")
    p.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
    p.add_param("dcmfile-in", "query file(s), one C-FIND each", optional=True, multiple=True)
    options.add_general_options(p)
    p.add_group("network options")
    p.add_subgroup("override matching keys")
    add(
        "-k",
        "--key",
        "set (or replace) one key of every query",
        dest="keys",
        action="append",
        value_help='[k]ey: gggg,eeee="str", path or dict. name="str"',
    )
    p.add_subgroup("query information model")
    for short, long, model, text in (
        ("-W", "--worklist", "worklist", "query the modality worklist model (default)"),
        ("-P", "--patient", "patient", "query the patient root model"),
        ("-S", "--study", "study", "query the study root model"),
        ("-O", "--psonly", "psonly", "query the patient/study only model"),
    ):
        add(short, long, text, dest="model", const=model, default="worklist")
    options.add_ae_title_options(p, aet_default="FINDSCU", aec_default="ANY-SCP")
    add_new_vr_options(p)
    p.add_subgroup("proposed transmission transfer syntaxes")
    add_proposal_options(p, ["-x=", "-xe", "-xb", "-xd", "-xi"])
    add_compression_level_option(p, "deflate compression level (only with --propose-deflated)")
    p.add_subgroup("other network options")
    options.add_connect_timeout_option(p)
    options.add_socket_timeout_option(p)
    options.add_acse_timeout_option(p)
    options.add_dimse_timeout_option(p)
    options.add_max_pdu_option(p)
    options.add_repeat_option(p)
    options.add_abort_option(p)
    add(
        None,
        "--cancel",
        "C-CANCEL at response n (default: never)",
        metavar="[n]umber",
        type=options.Integer(0),
    )
    options.add_tls_options(p)
    p.add_group("output options")
    p.add_subgroup("general")
    add(
        "-od",
        "--output-directory",
        "directory (must exist) for the output files",
        metavar="[d]irectory",
        value_default='"."',
        default=".",
    )
    p.add_subgroup("automatic data correction")
    add(
        "+dc",
        "--enable-correction",
        "fix known defects of the data read",
        dest="correction",
        const=True,
        default=False,
    )
    add(
        "-dc",
        "--disable-correction",
        "use the data as read (default)",
        dest="correction",
        const=False,
    )
    p.add_subgroup("C-FIND responses")
    add("+sr", "--show-responses", "always log the responses", dest="show_responses", const=True)
    add("-sr", "--hide-responses", "never log the responses", dest="show_responses", const=False)
    add("-X", "--extract", "save responses as DICOM files (rsp0001.dcm...)", dest="extract", const="dcm")
    add("-Xx", "--extract-xml", "save responses as XML files (rsp0001.xml...)", dest="extract", const="xml")
    add(
        "-Xs",
        "--extract-xml-single",
        "save all responses in one XML file f",
        dest="extract_single",
        metavar="[f]ilename",
        sets=("extract", "single"),
    )
    add(
        "-Xlo",
        "--limit-output",
        "save at most n responses to files\n(default: unlimited)",
        dest="limit_output",
        metavar="[n]umber",
        type=options.Integer(1),
    )
    add(None, "--json", "print all responses as one DICOM JSON array\non stdout (dicomwire)", dest="json")
    p.add_check(_check_dependencies)
    p.add_check(_check_query_files)
    p.set_defaults(banner=p.banner())
    return p


def _check_dependencies(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if "--compression-level" in given and ns.proposal != "-xd":
        raise options.CommandLineError("--compression-level only allowed with --propose-deflated")
    if "--limit-output" in given and not ns.extract:
        raise options.CommandLineError(
            "--limit-output only allowed with --extract, --extract-xml or --extract-xml-single"
        )


def _check_query_files(ns: argparse.Namespace, given: Sequence[str]) -> None:
    try:
        qk.check_query_files(Path(name) for name in ns.dcmfile_in)
    except qk.QueryFileError as exc:
        raise options.CommandLineError(f"cannot access file: {exc.path}") from None
    if not ns.dcmfile_in and not ns.keys:
        raise options.CommandLineError("either query file or override keys (or both) must be specified")


def requestor_settings(ns: argparse.Namespace) -> RequestorSettings:
    net = options.network_settings(ns, default_ae_title="FINDSCU")
    return RequestorSettings(
        calling_ae=net.ae_title,
        called_ae=net.called_ae_title or "ANY-SCP",
        contexts=[(MODELS[ns.model], proposed_syntaxes(SYNTAX_BY_OPTION[ns.proposal]))],
        max_pdu_length=net.max_pdu,
        timeouts=net.timeouts,
    )


# -- dumps ----------------------------------------------------------------------------


def dump_file_format(query: Dataset, transfer_syntax: str) -> str:
    """A query as DCMTK prints a file format (empty meta header), after a failure:
    its values as they went out, padded."""
    dataset = dump_dataset(query, transfer_syntax, padded=True)
    return (
        "\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n"
        f"# Used TransferSyntax: {transfer_syntax_name(_LE)}\n{dataset}"
    )


# -- the query data sets ---------------------------------------------------------------


def without_new_vrs(query: Dataset) -> Dataset:
    """``-u``: a copy where UN, UT and the other post-1993 VRs are sent as OB."""
    result = copy.deepcopy(query)
    for elem in list(_walk(result)):
        if elem.VR in _NEW_VRS:
            value = elem.value
            if isinstance(value, str):
                value = value.encode("latin-1", "replace")
            elem.VR = "OB"
            elem.value = value if isinstance(value, bytes) else b""
    return result


def _walk(ds: Dataset) -> list[DataElement]:
    found: list[DataElement] = []
    for elem in ds:
        found.append(elem)
        if elem.VR == "SQ":
            for item in elem.value or ():
                found.extend(_walk(item))
    return found


class QueryFailed(Exception):
    """A query could not be built: the two lines findscu logs."""

    def __init__(self, first: str, condition: str) -> None:
        super().__init__(condition)
        self.first = first
        self.condition = condition


def load_query(path: str | None, keys: Sequence[str]) -> Dataset:
    """One query: the file's data set (or an empty one) with the keys applied."""
    try:
        query = qk.load_query_file(path) if path is not None else Dataset()
    except qk.QueryFileError as exc:
        raise QueryFailed(f"Bad DICOM file: {path}: {exc.reason}", f"{exc.code} {exc.reason}") from None
    try:
        qk.apply_keys(query, keys)
    except qk.QueryKeyError as exc:
        raise QueryFailed(f"Bad override key/path: {exc.key}", f"{exc.code} {exc.reason}") from None
    return query


# -- the session ---------------------------------------------------------------------


class Outcome:
    DONE = "done"
    FAILED = "failed"  # abort the association
    PEER_ABORTED = "peer aborted"


@dataclass
class Session:
    """One association's queries and everything their responses go to."""

    ns: argparse.Namespace
    assoc: Association
    log: logging.Logger
    responses: int = 0  # all responses of the association, finals included
    extracted: int = 0
    limit_reported: bool = False
    xml: qo.XmlResponsesWriter | None = None
    json: qo.JsonResponsesWriter | None = None

    @property
    def model(self) -> str:
        return str(MODELS[self.ns.model])

    @property
    def extracting(self) -> bool:
        return self.ns.extract is not None

    @property
    def forced(self) -> bool:
        """Responses go to the log whatever its level: with +sr, and by default
        when no logging option at all was given (DCMTK 3.6.7: ``findscu`` shows
        them, ``findscu -ll warn`` does not)."""
        if self.ns.show_responses is not None:
            return bool(self.ns.show_responses)
        chosen = (self.ns.verbosity, self.ns.log_level, self.ns.log_config)
        return not self.extracting and all(option is None for option in chosen)

    def open_outputs(self) -> None:
        if self.ns.extract == "single":
            path = output_path(self.ns.output_directory, self.ns.extract_single)
            self.log.info("Writing all response datasets to file: %s", path)
            try:
                self.xml = qo.XmlResponsesWriter(Path(path), self.log).open()
            except qo.OutputFileError as exc:
                self.log.error("%s", exc)
        if self.ns.json:
            self.json = qo.JsonResponsesWriter(sys.stdout).open()

    def close_outputs(self) -> None:
        for writer in (self.xml, self.json):
            if writer is not None:
                try:
                    writer.close()
                except qo.OutputFileError as exc:
                    self.log.error("%s", exc)

    async def run(self) -> str:
        for path in self.ns.dcmfile_in or [None]:
            for repeat in range(self.ns.repeat or 1):
                try:
                    query = load_query(path, self.ns.keys)
                except QueryFailed as exc:
                    self.log.error("%s", exc.first)
                    self.log.error("Find SCU Failed: %s", exc.condition)
                    return Outcome.FAILED
                outcome = await self.query(query, sent_before=repeat > 0)
                if outcome != Outcome.DONE:
                    return outcome
        return Outcome.DONE

    async def query(self, query: Dataset, *, sent_before: bool = False) -> str:
        """One C-FIND; ``sent_before``: DCMTK has sent (and padded) this query's values already."""
        context = self.assoc.context_for(self.model)
        sent = without_new_vrs(query) if not self.ns.new_vrs else query
        # --cancel n counts the association's responses: n - (responses so far) into this one
        cancel_after = None if self.ns.cancel is None else self.ns.cancel - self.responses
        operation = FindOperation(
            self.assoc,
            sent,
            model=self.model,
            context=context,
            compression_level=self.ns.compression_level,
            cancel_after=cancel_after if cancel_after is not None and cancel_after > 0 else None,
        )
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.info("Sending Find Request")
            self.log.debug("%s", dump_message(operation.request, "OUTGOING", context.context_id))
        else:
            self.log.info("Sending Find Request (MsgID %d)", operation.message_id)
        # Dumped before the request goes out: the responses must not wait for it.
        shown = (
            dump_dataset(query, _LE, correction=self.ns.correction, padded=sent_before)
            if self.log.isEnabledFor(INFO)
            else None
        )
        try:
            await operation.send()
            if shown is not None:
                self.log.info("Request Identifiers:\n%s", shown)
            async for response in operation.responses():
                self.responses += 1
                self.report(response)
                if response.pending and self.ns.cancel is not None and self.responses == self.ns.cancel:
                    self.log.info(
                        "Sending Cancel Request (MsgID %d, PresID %d)",
                        operation.message_id,
                        context.context_id,
                    )
                    operation.cancel()
        except DicomWireError as exc:
            return self.failed(query, operation, exc)
        return Outcome.DONE

    def failed(self, query: Dataset, operation: FindOperation, exc: DicomWireError) -> str:
        condition = dimse_condition(exc)
        keys = dump_file_format(query, operation.transfer_syntax)
        self.log.error("Find Failed, query keys:\n%s\n%s", keys, condition)
        if isinstance(exc, AssociationAborted):
            self.log.info("Peer Aborted Association")
            return Outcome.PEER_ABORTED
        self.log.error("Find SCU Failed: %s", condition)
        return Outcome.FAILED

    # -- one response ----------------------------------------------------------------
    def report(self, response: FindResponse) -> None:
        debug = self.log.isEnabledFor(logging.DEBUG)
        status = dcmtk_status_string(response.status, "find")
        if not response.pending:
            if response.message.has_dataset:
                self.dataset_in_final_response(status)
            if debug:
                self.log.info("Received Final Find Response")
                self.log.debug("%s", dump_message(response.message, "INCOMING"))
            else:
                self.log.info("Received Final Find Response (%s)", status)
            return
        show = self.ns.show_responses is True or (self.ns.show_responses is None and not self.extracting)
        if debug:
            self.log.info("Received Find Response %d", self.responses)
            self.log.debug("%s", dump_message(response.message, "INCOMING"))
            if show:
                self.log.debug("Response Identifiers:\n%s", self.dump(response))
        elif show:
            text = f"{_SEPARATOR}\nFind Response: {self.responses} ({status})\n{self.dump(response)}"
            if self.forced:
                log_always(text, INFO)
            else:
                self.log.info("%s", text)
        else:
            self.log.info("Received Find Response %d (%s)", self.responses, status)
        if response.raw_identifier is not None:
            self.keep(response)

    def dataset_in_final_response(self, status: str) -> None:
        request = self.assoc.request
        peers = f"({request.calling_ae},{request.called_ae})" if request is not None else "(,)"
        self.log.warning("DIMSE Warning: %s: findUser: Status %s, but DataSetType!=NULL", peers, status)
        self.log.warning("DIMSE Warning: %s: Assuming no response identifiers are present", peers)

    def plain_bytes(self, response: FindResponse) -> bytes:
        raw = response.raw_identifier or b""
        return inflate(raw) if response.transfer_syntax == _DEFLATED else raw

    def dump(self, response: FindResponse) -> str:
        try:
            return dump_bytes(
                self.plain_bytes(response),
                response.transfer_syntax,
                correction=self.ns.correction,
                keep_bytes=True,
            )
        except (DumpError, DicomWireError):
            assert response.identifier is not None
            return dump_dataset(
                response.identifier, response.transfer_syntax, correction=self.ns.correction, keep_bytes=True
            )

    def fresh(self, response: FindResponse) -> Dataset:
        """The identifier as received, untouched by anyone before (each writer gets its own)."""
        syntax = _LE if response.transfer_syntax == _DEFLATED else response.transfer_syntax
        return decode_dataset(self.plain_bytes(response), syntax)

    def keep(self, response: FindResponse) -> None:
        """Extract the identifier (-X, -Xx, -Xs) and stream it to --json."""
        if self.json is not None:
            self.json.add(self.fresh(response))
        if not self.extracting:
            return
        limit = self.ns.limit_output
        if limit is not None and self.extracted >= limit:
            if not self.limit_reported:
                self.log.info("%s", _LIMIT_REACHED)
                self.limit_reported = True
            return
        self.extracted += 1
        try:
            self.extract(response)
        except qo.OutputFileError as exc:
            self.log.error("%s", exc)

    def extract(self, response: FindResponse) -> None:
        directory, index = self.ns.output_directory, self.responses
        if self.ns.extract == "single":
            if self.xml is not None:
                self.xml.add(self.fresh(response), response.transfer_syntax)
            return
        suffix = ".dcm" if self.ns.extract == "dcm" else ".xml"
        path = output_path(directory, qo.response_file_name(index, suffix))
        self.log.info("Writing response dataset to file: %s", path)
        if self.ns.extract == "dcm":
            qo.write_response_file(self.fresh(response), directory, index, response.transfer_syntax)
        else:
            qo.write_xml_response(
                self.fresh(response), directory, index, response.transfer_syntax, logger=self.log
            )


def output_path(directory: str, name: str) -> str:
    """A file in -od as DCMTK names it in its messages (no ``./`` for the default)."""
    if directory in ("", ".") or os.path.isabs(name):
        return name
    return os.path.join(directory, name)


# -- the tool ---------------------------------------------------------------------------


def write_text_bytes_as_received() -> None:
    """Let the console write back the bytes a response dump kept (a Latin-1 name
    as its Latin-1 bytes, as DCMTK prints it) instead of escaping them."""
    for stream in (sys.stderr, sys.stdout):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")


async def run(ns: argparse.Namespace) -> int:
    write_text_bytes_as_received()
    log = app_logger(PROG)
    log.debug("%s\n", ns.banner)
    if ns.extract is not None:
        try:
            qo.check_output_directory(ns.output_directory)
        except qo.OutputDirectoryError as exc:
            log.fatal("%s", exc)
            return EXIT_COMMAND_LINE
    try:
        assoc = await request_association(
            log, ns.peer, ns.port, requestor_settings(ns), failure_level=logging.ERROR, tls=ns.tls_context
        )
    except AssociationFailed:
        return EXIT_ASSOCIATION
    if not assoc.contexts:
        log.error("No Acceptable Presentation Contexts")
        assoc.abort()
        return EXIT_ASSOCIATION
    log.info("Association Accepted (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
    session = Session(ns, assoc, log)
    session.open_outputs()
    try:
        outcome = await session.run()
        return await _close(assoc, ns, log, outcome)
    finally:
        session.close_outputs()


async def _close(assoc: Association, ns: argparse.Namespace, log: logging.Logger, outcome: str) -> int:
    if outcome == Outcome.PEER_ABORTED:
        assoc.abort()
        return EXIT_OK
    if outcome == Outcome.FAILED or ns.abort:
        log.info("Aborting Association")
        assoc.abort()
        await assoc.wait_closed(5)
        return EXIT_OK
    log.info("Releasing Association")
    try:
        await assoc.release()
    except DicomWireError as exc:
        log.error("Association Release Failed: %s", failure_text(exc))
        return EXIT_ASSOCIATION
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
