"""Starting and running the archive the way dcmqrscp does: configuration, checks, listening, privileges.

Every start-up failure is a :class:`StartupError` holding DCMTK's lines and exit code;
:func:`run` prints them (``F:`` lines through the log, the configuration reader's
``CONFIG Error:`` lines straight to stderr, as DCMTK does even with ``-q``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from dicomwire.archive.config import DEFAULT_MOVE_DESTINATION, ArchiveConfig, StorageArea, default_config
from dicomwire.archive.service import Archive, IndexUnavailable
from dicomwire.cli.dcmqrscp import workers
from dicomwire.cli.dcmqrscp.mapping import archive_config, archive_options
from dicomwire.cli.dcmqrscp.parser import DEFAULT_CONFIG_FILE, EXIT_UNSUPPORTED, PROG, build_parser
from dicomwire.cli.dcmqrscp.profiles import negotiates_beyond_contexts
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.identity import identity_policy
from dicomwire.dcmtk.log import app_logger
from dicomwire.dcmtk.qrconfig import (
    DEFAULT_PORT,
    EXIT_CONFIG_ERROR,
    QrConfigError,
    dcmtk_error_lines,
    load_qrconfig,
)
from dicomwire.dcmtk.qrlog import DcmqrscpAssociationLog, DcmqrscpMessageLog
from dicomwire.net.server import listen
from dicomwire.services.identity import UsersFileError
from dicomwire.ul.identity import IdentityPolicy

if sys.platform != "win32":
    import grp
    import pwd

__all__ = [
    "Configuration",
    "StartupError",
    "builtin_banner",
    "check_storage_areas",
    "drop_privileges",
    "listen_failure",
    "listen_port",
    "load_configuration",
    "load_identity",
    "refuse_unsupported",
    "run",
]

_FATAL: Final = "F: "
# What DCMTK honours and the archive cannot yet: refused, never ignored in silence.
_UNSUPPORTED: Final[tuple[tuple[Callable[[argparse.Namespace], bool], str], ...]] = (
    (lambda ns: bool(ns.access_control), "--access-control (TCP wrapper host access control) is"),
    (
        negotiates_beyond_contexts,
        "SCP/SCU role selection and extended negotiation in association profiles (-xf) are",
    ),
)


class StartupError(Exception):
    """dcmqrscp cannot start: the lines to print (DCMTK's wording) and the exit code."""

    def __init__(self, lines: Sequence[str], exit_code: int = EXIT_CONFIG_ERROR) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)
        self.exit_code = exit_code


def _fatal(message: str, exit_code: int = EXIT_CONFIG_ERROR) -> StartupError:
    return StartupError([_FATAL + message], exit_code)


# -- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Configuration:
    """The configuration to run, and whether it is the built-in default (no file at all)."""

    config: ArchiveConfig
    builtin: bool = False


def load_configuration(ns: argparse.Namespace) -> Configuration:
    """``-c FILE``, else ``./dcmqrscp.cfg`` if there is one, else the built-in default."""
    path = ns.config
    if path is None and not os.path.lexists(DEFAULT_CONFIG_FILE):
        return Configuration(default_config(), builtin=True)
    try:
        return Configuration(load_qrconfig(path or DEFAULT_CONFIG_FILE))
    except QrConfigError as exc:
        raise StartupError(dcmtk_error_lines(exc)) from None


def refuse_unsupported(ns: argparse.Namespace) -> None:
    """Options DCMTK honours and we cannot yet end the tool (exit 1, as TLS does in the other tools)."""
    for given, what in _UNSUPPORTED:
        if given(ns):
            raise _fatal(f"{what} not yet supported by dicomwire's dcmqrscp", EXIT_UNSUPPORTED)


def _shown(path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(".", path)


def _area_problem(area: StorageArea) -> int | None:
    """The errno that makes *area* unusable, None if it is usable."""
    if not os.path.exists(area.path):
        return errno.ENOENT
    if not os.path.isdir(area.path):
        return errno.ENOTDIR
    wanted = os.R_OK | os.X_OK | (os.W_OK if area.access.can_write else 0)
    return None if os.access(area.path, wanted) else errno.EACCES


def check_storage_areas(config: ArchiveConfig, *, create: bool = False) -> None:
    """Every storage area must be a usable directory; with *create* missing ones are made."""
    for area in config.areas.values():
        if create:
            try:
                os.makedirs(area.path, exist_ok=True)
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                raise _fatal(f"cannot create storage area {_shown(area.path)}: {reason}") from None
        problem = _area_problem(area)
        if problem is not None:
            where = f"storage area {_shown(area.path)} of AE title {area.ae_title}"
            raise _fatal(f"cannot use {where}: {os.strerror(problem)}")


def listen_port(ns: argparse.Namespace, config: ArchiveConfig) -> int:
    """The port parameter, else the configuration's NetworkTCPPort, else DCMTK's 104."""
    if ns.port is not None:
        return int(ns.port)
    return config.port or DEFAULT_PORT


# -- starting -----------------------------------------------------------------------------------
def listen_failure(exc: OSError, port: int) -> StartupError:
    """DCMTK's line for a port that cannot be listened on."""
    if exc.errno in (errno.EACCES, errno.EPERM) and port < 1024:
        return _fatal(f"cannot listen on port {port}, insufficient privileges")
    reason = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio rewrites strerror
    return _fatal(f"cannot initialize network: 0006:031c TCP Initialization Error: {reason}")


async def _start(archive: Archive, port: int, log: logging.Logger) -> None:
    if archive.options.index_url or archive.config.index_url:  # ours: DCMTK has no such line
        log.info("index database: %s", archive.index_shown)
    try:
        await archive.start(None, port)
    except OSError as exc:
        raise listen_failure(exc, port) from None
    except IndexUnavailable as exc:
        raise _fatal(str(exc)) from None


def _group_id(name: str) -> int:
    try:
        return int(grp.getgrnam(name).gr_gid)
    except KeyError:
        raise _fatal(f"bad group name {name}") from None


def _user_id(name: str) -> int:
    try:
        return int(pwd.getpwnam(name).pw_uid)
    except KeyError:
        raise _fatal(f"bad user name {name}") from None


# Modules Python imports on first use while serving.  Loaded before the switch: the
# new user may not be able to read the interpreter's own directory (a Python under
# /root, say), and an import failing mid-association would abort it.
_LAZY_MODULES: Final = (
    "encodings.idna",
    "concurrent.futures.thread",
    "dicomwire.services.codec",
    "pydicom.charset",
    "pydicom.values",
    "pydicom.filereader",
    "pydicom.filewriter",
)


def _preload() -> None:
    for name in _LAZY_MODULES:
        importlib.import_module(name)


def hand_over_index(archive: Archive, config: ArchiveConfig) -> None:
    """Started as root with a UserName: the SQLite files we just created become that
    user's, or it could not write its own index after the switch."""
    prefix = "sqlite:///"
    location = archive.index_location
    if sys.platform == "win32" or os.geteuid() != 0 or not config.user_name:
        return
    if not location.startswith(prefix) or location == prefix:
        return
    uid = _user_id(config.user_name)
    gid = _group_id(config.group_name) if config.group_name else -1
    database = location[len(prefix) :]
    for path in (database, f"{database}-wal", f"{database}-shm", f"{database}-locks"):
        with contextlib.suppress(FileNotFoundError):
            os.chown(path, uid, gid)


def drop_privileges(config: ArchiveConfig) -> None:
    """GroupName, then UserName, as DCMTK does once it listens (also when not started as root).

    DCMTK keeps root's supplementary groups; started as root, we drop them too.
    """
    if sys.platform == "win32" or not (config.group_name or config.user_name):
        return
    _preload()
    if config.group_name:
        gid = _group_id(config.group_name)
        try:
            os.setgid(gid)
        except OSError:
            raise _fatal(f"setgid: Unable to set group id to group {gid}") from None
    if config.user_name:
        uid = _user_id(config.user_name)
        if os.geteuid() == 0:
            os.setgroups([os.getgid()])
        try:
            os.setuid(uid)
        except OSError:
            raise _fatal(f"setuid: Unable to set user id to user {uid}") from None


def builtin_banner(archive: Archive, port: int) -> str:
    """What we say when running without any configuration file (a warning: shown by default)."""
    area = next(iter(archive.config.areas.values()))
    aet = area.ae_title
    dest = DEFAULT_MOVE_DESTINATION
    return (
        f"no configuration file (no -c, no ./{DEFAULT_CONFIG_FILE}): using the built-in default\n"
        f"  AE title {aet}, any peer, read and write, storage area {_shown(area.path)}\n"
        f"  index: {archive.index_shown}\n"
        f"  send images: storescu -aec {aet} localhost {port} file...\n"
        f"  query: findscu -S -aec {aet} -k QueryRetrieveLevel=STUDY -k PatientName localhost {port}\n"
        f"  get a study: getscu -S -aec {aet} -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=<uid> "
        f"localhost {port}\n"
        f"  move it to {dest.ae_title} ({dest.host}:{dest.port}): movescu -S -aec {aet} -aem {dest.ae_title} "
        f"+P {dest.port} -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=<uid> localhost {port}"
    )


def load_identity(ns: argparse.Namespace) -> IdentityPolicy | None:
    """``--users FILE``: read before the archive starts (and before privileges are dropped)."""
    try:
        return identity_policy(ns)
    except UsersFileError as exc:
        raise _fatal(f"cannot load users file: {exc}") from None


def _archive(
    config: ArchiveConfig, ns: argparse.Namespace, log: logging.Logger, identity: IdentityPolicy | None = None
) -> Archive:
    try:
        options = dataclasses.replace(archive_options(ns, config), identity=identity, tls=ns.tls_settings)
        events = DcmqrscpAssociationLog(log)
        return Archive(config, options, observer=DcmqrscpMessageLog(log), events=events)
    except ValueError as exc:
        raise _fatal(f"bad config file: {config.source}: {exc}") from None


async def _run(ns: argparse.Namespace, log: logging.Logger, argv: Sequence[str]) -> int:
    role = workers.worker_role()
    if role is not None:
        workers.die_with_parent(role)
    configuration = load_configuration(ns)
    config = archive_config(ns, configuration.config)
    check_storage_areas(config, create=configuration.builtin)
    refuse_unsupported(ns)
    port = listen_port(ns, config)
    identity = load_identity(ns)
    archive = _archive(config, ns, log, identity)
    if role is not None:
        return await _serve_as_worker(archive, config, role, log)
    if archive.options.workers > 1:
        return await _supervise(archive, configuration, port, argv, log)
    try:
        await _start(archive, port, log)
        hand_over_index(archive, config)
        drop_privileges(config)

        def ready() -> None:
            if configuration.builtin:
                log.warning("%s", builtin_banner(archive, archive.port))

        await options.serve_until_signalled(archive.serve_forever, ready)
    finally:
        await archive.close()
    return options.EXIT_NO_ERROR


async def _supervise(
    archive: Archive, configuration: Configuration, port: int, argv: Sequence[str], log: logging.Logger
) -> int:
    """--workers n: listen, prepare the index once, start and keep the workers (see .workers)."""
    if not workers.supported():
        raise _fatal("--workers needs Linux (a process descriptor per worker)", EXIT_UNSUPPORTED)
    if archive.index_location == "sqlite://":
        raise _fatal("--workers needs an index its processes can share: an SQLite file or PostgreSQL")
    if archive.options.index_url or archive.config.index_url:
        log.info("index database: %s", archive.index_shown)
    try:
        sockets = listen(None, port)
    except OSError as exc:
        raise listen_failure(exc, port) from None
    try:
        try:
            await archive.prepare()
        except IndexUnavailable as exc:
            raise _fatal(str(exc)) from None
        finally:
            hand_over_index(archive, archive.config)
            await archive.close()  # each worker opens its own

        def ready() -> None:
            if configuration.builtin:
                log.warning("%s", builtin_banner(archive, port))

        supervisor = workers.Supervisor(argv, sockets, archive.options.workers, log)
        return await supervisor.run(ready)
    finally:
        for sock in sockets:
            sock.close()


async def _serve_as_worker(
    archive: Archive, config: ArchiveConfig, role: workers.WorkerRole, log: logging.Logger
) -> int:
    """One of the supervisor's workers: serve on the inherited sockets until signalled."""
    served = 0
    try:
        try:
            await archive.start(None, 0, sockets=workers.inherited_sockets(role), reconcile=False)
        except IndexUnavailable as exc:
            raise _fatal(str(exc)) from None
        drop_privileges(config)
        await options.serve_until_signalled(archive.serve_forever, lambda: workers.report_ready(role))
        served = archive.server.associations_served if archive.server is not None else 0
    finally:
        await archive.close()
    log.info("worker %d (pid %d) stops, %d associations served", role.number, os.getpid(), served)
    return options.EXIT_NO_ERROR


def _emit(lines: Sequence[str], log: logging.Logger) -> None:
    for line in lines:
        if line.startswith(_FATAL):
            log.fatal("%s", line[len(_FATAL) :])
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


async def run(ns: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    """dcmqrscp: load the configuration, start the archive, serve until signalled.

    ``argv`` (the command line, default ``sys.argv[1:]``) is what ``--workers`` starts each
    worker with."""
    log = app_logger(PROG)
    if workers.worker_role() is None:
        log.debug("%s\n", build_parser().banner())
    try:
        return await _run(ns, log, sys.argv[1:] if argv is None else argv)
    except StartupError as exc:
        _emit(exc.lines, log)
        return exc.exit_code
