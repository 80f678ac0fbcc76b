"""dcmrecv: simple DICOM storage SCP (receiver), a drop-in for DCMTK 3.6.7's dcmrecv.

Same options, defaults, exit codes, log lines and file names as DCMTK's (see
``services.storage_names`` for the naming rules observed).  Unlike DCMTK it
serves several associations at once, writes every file through a temporary
file renamed into place (``.dicomwire-*.part`` while it is being received),
and keeps memory flat whatever the size of an instance.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Mapping, Sequence

from dicomwire import uids
from dicomwire.config import AcceptorSettings, Timeouts
from dicomwire.dcmtk.acceptorlog import DcmrecvAssociationLog, association_logger
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.identity import add_identity_options, check_identity_options, identity_policy
from dicomwire.dcmtk.cmdline.tlsoptions import build_tls
from dicomwire.dcmtk.log import app_logger
from dicomwire.dcmtk.naming import DcmtkNaming, FileNaming
from dicomwire.dcmtk.profiles import ProfileError, acceptor_choice, load_profile, load_profiles
from dicomwire.dcmtk.scplog import DcmtkMessageLog
from dicomwire.services.contexts import all_storage_contexts
from dicomwire.services.identity import UsersFileError
from dicomwire.services.server import Server
from dicomwire.services.storage import FsyncPolicy, StorageSCP, StoreOutcome
from dicomwire.ul.identity import IdentityPolicy

PROG = "dcmrecv"
EXIT_INVALID_OUTPUT_DIRECTORY = 45
EXIT_CANNOT_START_SCP = 64
EXIT_INVALID_ASSOCIATION_CONFIG = 66
EXIT_CANNOT_CREATE_TRANSPORT_LAYER = 71
# DCMTK sets a 60 s network send/receive timeout on every association it accepts.
SOCKET_TIMEOUT = 60.0
# dcmrecv has no option for it; DCMTK does not fsync either (the rename stays atomic).
FSYNC = FsyncPolicy.NONE


def build_parser() -> options.DcmtkParser:
    p = options.DcmtkParser(PROG, "Receive DICOM objects over the network and store them", long_column=21)
    p.add_param("port", "TCP port to accept associations on", type=options.PORT)
    options.add_general_options(p)
    p.add_option("+v", "--verbose-pc", "list the presentation contexts at verbose level", dest="verbose_pc")
    p.add_group("network options")
    p.add_subgroup("association negotiation profile from configuration file")
    p.add_option(
        "-xf",
        "--config-file",
        "negotiate with profile p of file f",
        dest="config_file",
        nargs=2,
        metavar="[f]ilename, [p]rofile",
    )
    p.add_option(
        "+xa",
        "--accept-all",
        "any storage class, any syntax (dicomwire)",
        dest="accept_all",
    )
    options.add_ae_title_options(
        p, aet_default="DCMRECV", aet_help="AE title to answer as", subgroup="application entity title"
    )
    p.add_option(
        "-uca", "--use-called-aetitle", "answer as whatever AE title was called", dest="use_called_aetitle"
    )
    p.add_subgroup("other network options")
    options.add_acse_timeout_option(p)
    options.add_dimse_timeout_option(p)
    options.add_max_pdu_option(p)
    p.add_option(
        "-dhl",
        "--disable-host-lookup",
        "do not resolve peer addresses to host names",
        dest="disable_host_lookup",
    )
    add_identity_options(p)
    options.add_tls_options(p, acceptor=True, setup_exit=EXIT_CANNOT_CREATE_TRANSPORT_LAYER)
    p.tls_deferred = True
    _add_output_options(p)
    p.add_check(_check_storage_mode)
    p.add_check(check_identity_options)
    return p


def _add_output_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("output options")
    p.add_subgroup("general")
    add(
        "-od",
        "--output-directory",
        "store objects in directory d, which must exist",
        dest="output_directory",
        metavar="[d]irectory",
        value_default='"."',
        default=".",
    )
    p.add_subgroup("subdirectory generation")
    add(
        "-s",
        "--no-subdir",
        "put every file in the output directory (default)",
        dest="subdirectories",
        const="none",
        default="none",
    )
    add(
        "+ssd",
        "--series-date-subdir",
        "file objects under a subdirectory per series date",
        dest="subdirectories",
        const="series-date",
    )
    p.add_subgroup("filename generation")
    for short, long, scheme, text in (
        ("+fd", "--default-filenames", FileNaming.DEFAULT, "name files after the instance UID (default)"),
        ("+fu", "--unique-filenames", FileNaming.UNIQUE, "name each file after a freshly made UID"),
        (
            "+fsu",
            "--short-unique-names",
            FileNaming.SHORT_UNIQUE,
            "name each file with a short random unique name",
        ),
        ("+fst", "--system-time-names", FileNaming.SYSTEM_TIME, "name each file after the time it arrived"),
    ):
        add(short, long, text, dest="file_naming", const=scheme, default=FileNaming.DEFAULT)
    add(
        "-fe",
        "--filename-extension",
        "add extension e to every file name",
        dest="filename_extension",
        metavar="[e]xtension",
        value_default="none",
        default="",
    )
    p.add_subgroup("storage mode")
    add(
        "-B",
        "--normal",
        "files may be re-encoded where needed (default)",
        dest="storage_mode",
        const="normal",
        default="normal",
    )
    add(
        "+B",
        "--bit-preserving",
        "store data sets byte for byte as they arrived",
        dest="storage_mode",
        const="bit-preserving",
    )
    add(None, "--ignore", "read each data set but keep nothing", dest="storage_mode", const="ignore")


def _check_storage_mode(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if ns.accept_all and ns.config_file is not None:
        raise options.CommandLineError("--accept-all not allowed with --config-file")
    if ns.storage_mode == "bit-preserving" and ns.subdirectories == "series-date":
        raise options.CommandLineError("--bit-preserving not allowed with --series-date-subdir")


# -- configuration -------------------------------------------------------------------------
def supported_contexts(ns: argparse.Namespace, log: logging.Logger) -> Mapping[str, Sequence[str]] | None:
    """What the SCP accepts: the ``-xf`` profile, else Verification only; None: invalid profile."""
    if ns.accept_all:
        return all_storage_contexts()
    if ns.config_file is None:
        log.warning("no configuration file specified, SCP will only support the Verification SOP Class")
        return {uids.VERIFICATION: (uids.IMPLICIT_VR_LITTLE_ENDIAN,)}
    path, name = ns.config_file
    log.debug("Loading association configuration file: %s", path)
    try:
        load_profiles(path)
    except ProfileError as exc:
        _file_error(log, path, exc)
        return None
    try:
        profile = load_profile(path, name)
    except ProfileError as exc:
        _profile_error(
            log,
            f'No association profile named "{name}" in association configuration, '
            "did you forget to add presentation contexts?",
            exc,
        )
        return None
    try:
        return acceptor_choice(profile)
    except ProfileError as exc:
        _profile_error(
            log, f'The association profile named "{name}" is not a valid SCP association profile', exc
        )
        return None


# DCMTK's lines (DcmSCPConfig), then ours with the detail, as the F: message's second line.
def _file_error(log: logging.Logger, path: str, exc: ProfileError) -> None:
    """The file cannot be read or parsed."""
    reason = (
        f"unable to open configuration file: {path}" if isinstance(exc.__cause__, OSError) else exc.message
    )
    log.error("Unable to parse association configuration file: %s: %s", path, reason)
    log.fatal("cannot load association configuration: %s\n%s", reason, exc)


def _profile_error(log: logging.Logger, dcmtk_line: str, exc: ProfileError) -> None:
    """The file is fine but the profile is missing, or unusable by an acceptor."""
    log.error("%s", dcmtk_line)
    log.fatal(
        "cannot load association configuration: Invalid or non-existing SCP Association Profile\n%s", exc
    )


def storage_scp(
    ns: argparse.Namespace, on_stored: Callable[[StoreOutcome], None] | None = None
) -> StorageSCP:
    naming = DcmtkNaming(
        scheme=FileNaming(ns.file_naming),
        extension=ns.filename_extension or "",
        series_date_subdir=ns.subdirectories == "series-date",
    )
    return StorageSCP(
        ns.output_directory,
        naming=naming,
        bit_preserving=ns.storage_mode == "bit-preserving",
        ignore=ns.storage_mode == "ignore",
        # DCMTK's normal mode re-encodes the data set and writes no (0002,0016); +B keeps both
        normalize=ns.storage_mode == "normal",
        source_ae_title=ns.storage_mode == "bit-preserving",
        fsync=FSYNC,
        on_stored=on_stored,
    )


def acceptor_settings(
    ns: argparse.Namespace, supported: Mapping[str, Sequence[str]], identity: IdentityPolicy | None = None
) -> AcceptorSettings:
    net = options.network_settings(ns, default_ae_title="DCMRECV")
    settings = AcceptorSettings(
        ae_title=net.ae_title,
        supported=supported,
        max_pdu_length=net.max_pdu,
        timeouts=Timeouts(socket=SOCKET_TIMEOUT, acse=net.acse_timeout, dimse=net.dimse_timeout),
        host_lookup=not ns.disable_host_lookup,
        identity=identity,
    )
    return association_logger(settings, app_logger(PROG), _dump_level(ns))


def _dump_level(ns: argparse.Namespace) -> int:
    """The level of the association dumps: info with ``+v``, else debug."""
    return logging.INFO if ns.verbose_pc else logging.DEBUG


# -- running -------------------------------------------------------------------------------
async def run(ns: argparse.Namespace) -> int:
    log = app_logger(PROG)
    log.debug("%s\n", build_parser().banner())
    log.info("configuring service class provider ...")
    supported = supported_contexts(ns, log)
    if supported is None:
        return EXIT_INVALID_ASSOCIATION_CONFIG
    try:
        identity = identity_policy(ns)
    except UsersFileError as exc:
        log.fatal("cannot load users file: %s", exc)
        return EXIT_INVALID_ASSOCIATION_CONFIG
    if not os.path.isdir(ns.output_directory):
        log.fatal("cannot specify output directory: Directory does not exist")
        return EXIT_INVALID_OUTPUT_DIRECTORY
    if not os.access(ns.output_directory, os.W_OK | os.X_OK):
        log.fatal("cannot specify output directory: Directory not writable")
        return EXIT_INVALID_OUTPUT_DIRECTORY
    messages = DcmtkMessageLog(log)
    scp = storage_scp(ns, messages.stored)
    settings = acceptor_settings(ns, supported, identity)
    events = DcmrecvAssociationLog(settings, log, _dump_level(ns))
    log.info("starting service class provider and listening ...")
    stop = build_tls(ns, log)  # where DCMTK's dcmrecv sets its TLS layer up
    if stop is not None:
        return stop
    server = Server(settings, store=scp, observer=messages, events=events, tls=ns.tls_context)
    try:
        await server.start(None, ns.port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio rewrites strerror
        log.fatal("cannot start SCP and listen on port %d: TCP Initialization Error: %s", ns.port, reason)
        return EXIT_CANNOT_START_SCP
    log.debug("listening on port %d", ns.port)
    try:
        await options.serve_until_signalled(server.serve_forever)
    finally:
        await server.close()
        scp.discard_pending()
    return options.EXIT_NO_ERROR


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
