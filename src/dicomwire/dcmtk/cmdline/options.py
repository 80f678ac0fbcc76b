"""DCMTK-style command lines, defined once for every dicomwire tool.

Every tool imports this module only: it holds the option groups the tools
share, turns a parsed namespace into :class:`NetworkSettings`, runs a tool,
and re-exports the command-line engine, which lives in three modules:

- :mod:`dicomwire.dcmtk.cmdline.engine`: :class:`DcmtkParser` (DCMTK's
  ``OFCommandLine`` behaviour: ``-``/``+`` options, ``@file`` command files,
  rightmost wins, DCMTK's messages and exit codes) and
  :func:`expand_command_files`;
- :mod:`dicomwire.dcmtk.cmdline.values`: value types (:class:`Integer`,
  :class:`String`, ``PORT``), :class:`Option`, :class:`Param`,
  :class:`CommandLineExit`, :class:`CommandLineError`;
- :mod:`dicomwire.dcmtk.cmdline.help`: the ``--help`` and ``--version`` texts,
  :func:`dicomwire_version`.

Writing a tool::

    from dicomwire.dcmtk.cmdline import options
    from dicomwire.dcmtk.log import app_logger
    from dicomwire.dcmtk.cmdline.options import Integer

    def build_parser() -> options.DcmtkParser:
        p = options.DcmtkParser("echoscu", "check that a DICOM peer answers (C-ECHO SCU)",
                                long_column=19)
        p.add_param("peer", "host name or address of the DICOM peer")
        p.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
        options.add_general_options(p)
        p.add_group("network options")
        options.add_ae_title_options(p, aet_default="ECHOSCU", aec_default="ANY-SCP")
        p.add_subgroup("association negotiation debugging")
        p.add_option("-pts", "--propose-ts", "offer n transfer syntaxes",
                     metavar="[n]umber", type=Integer(1, 38, unsigned=True))
        options.add_other_network_options(p, repeat=True, abort=True)
        options.add_tls_options(p, offline_verification=True)
        return p

    async def run(ns: argparse.Namespace) -> int:
        log = app_logger("echoscu")
        net = options.network_settings(ns)     # frozen NetworkSettings
        ...
        return 0

    def main(argv: list[str] | None = None) -> int:
        return options.run_tool(build_parser(), run, argv)

Public API
----------
``DcmtkParser``, its value types and its errors: see
:mod:`dicomwire.dcmtk.cmdline.engine` (all re-exported here).

Shared option groups: :func:`add_general_options`, :func:`add_ae_title_options`,
:func:`add_other_network_options` (or the single-option helpers
:func:`add_connect_timeout_option`, :func:`add_socket_timeout_option`,
:func:`add_acse_timeout_option`, :func:`add_dimse_timeout_option`,
:func:`add_max_pdu_option`, :func:`add_max_send_pdu_option`,
:func:`add_repeat_option`, :func:`add_abort_option`), :func:`add_tls_options`.
Value types: :class:`Integer`, :class:`String`, ``PORT``.

:func:`network_settings` -> :class:`NetworkSettings`;
:func:`run_tool` (parse, set up TLS, ``asyncio.run(run(ns))``, clean up).  The
TLS group lives in :mod:`dicomwire.dcmtk.cmdline.tlsoptions` (re-exported here).

Namespace attributes set by the shared groups: ``help``, ``version``,
``arguments``, ``verbosity`` (``"fatal"``/``"info"``/``"debug"`` or None),
``log_level``, ``log_config``, ``ae_title``, ``called_ae_title``,
``connect_timeout``, ``socket_timeout``, ``acse_timeout``, ``dimse_timeout``,
``max_pdu``, ``max_send_pdu``, ``repeat``, ``abort``, ``tls``
(``"disable"``/``"enable"``/``"anonymous"``), ``tls_keys`` and the other
``tls_*`` values.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from dicomwire._records import record
from dicomwire._startup import settle
from dicomwire.config import Timeouts
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline.engine import DcmtkParser, expand_command_files
from dicomwire.dcmtk.cmdline.help import dicomwire_version
from dicomwire.dcmtk.cmdline.tlsoptions import add_tls_options, finish_tls, prepare_tls
from dicomwire.dcmtk.cmdline.values import (
    EXIT_COMMANDLINE_SYNTAX_ERROR,
    EXIT_NO_ERROR,
    PORT,
    CommandLineError,
    CommandLineExit,
    Integer,
    InvalidValue,
    Option,
    Param,
    String,
    ValueType,
)
from dicomwire.net.tasks import until_first

__all__ = [
    "EXIT_COMMANDLINE_SYNTAX_ERROR",
    "EXIT_NO_ERROR",
    "PORT",
    "UVLOOP_BREAK_EVEN",
    "CommandLineError",
    "CommandLineExit",
    "DcmtkParser",
    "Integer",
    "InvalidValue",
    "NetworkSettings",
    "Option",
    "Param",
    "String",
    "ValueType",
    "add_abort_option",
    "add_acse_timeout_option",
    "add_ae_title_options",
    "add_connect_timeout_option",
    "add_dimse_timeout_option",
    "add_general_options",
    "add_max_pdu_option",
    "add_max_send_pdu_option",
    "add_other_network_options",
    "add_repeat_option",
    "add_socket_timeout_option",
    "add_tls_options",
    "dicomwire_version",
    "expand_command_files",
    "finish_tls",
    "network_settings",
    "prepare_tls",
    "run_tool",
]

AE_TITLE_MAX = 16


# -- shared option groups -------------------------------------------------------------


def add_general_options(parser: DcmtkParser, *, group: str | None = "general options") -> None:
    """``-h --version --arguments -q -v -d -ll -lc`` (and logging setup on parse)."""
    if group is not None:
        parser.add_group(group)
    parser.add_option("-h", "--help", "show this help and exit", action="help")
    parser.add_option(None, "--version", "show version and build information and exit", action="version")
    parser.add_option(None, "--arguments", "show the command line once @files are expanded")
    for short, long, level, text in (
        ("-q", "--quiet", "fatal", "quiet: no warnings and no errors"),
        ("-v", "--verbose", "info", "verbose: report each step"),
        ("-d", "--debug", "debug", "debug: report everything, for diagnosis"),
    ):
        parser.add_option(short, long, text, dest="verbosity", const=level)
    parser.add_option(
        "-ll",
        "--log-level",
        "log at level l and above",
        value_help="[l]evel: string constant\n(fatal, error, warn, info, debug, trace)",
    )
    parser.add_option("-lc", "--log-config", "configure the logger from file f", metavar="[f]ilename")
    parser.logging_options = True


def add_ae_title_options(
    parser: DcmtkParser,
    *,
    aet_default: str,
    aec_default: str | None = None,
    aet_help: str = "AE title we call from",
    subgroup: str | None = "application entity titles",
) -> None:
    """``-aet`` (dest ``ae_title``) and, when ``aec_default`` is given, ``-aec``
    (dest ``called_ae_title``).  Titles longer than 16 characters are cut
    silently, as DCMTK does (see :func:`network_settings`)."""
    if subgroup is not None:
        parser.add_subgroup(subgroup)
    parser.add_option(
        "-aet",
        "--aetitle",
        f"{aet_help} (default: {aet_default})",
        dest="ae_title",
        metavar="[a]etitle",
        default=aet_default,
    )
    if aec_default is not None:
        parser.add_option(
            "-aec",
            "--call",
            f"AE title of the peer we call (default: {aec_default})",
            dest="called_ae_title",
            metavar="[a]etitle",
            default=aec_default,
        )


_SECONDS = "[s]econds"


def add_connect_timeout_option(parser: DcmtkParser) -> None:
    """``-to``: dest ``connect_timeout``, default None (unlimited)."""
    parser.add_option(
        "-to",
        "--timeout",
        "give up connecting after s seconds",
        dest="connect_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="unlimited",
    )


def add_socket_timeout_option(parser: DcmtkParser) -> None:
    """``-ts``: dest ``socket_timeout``, default 60; 0 (or less) means none."""
    parser.add_option(
        "-ts",
        "--socket-timeout",
        "at most s seconds per socket wait (0: none)",
        dest="socket_timeout",
        metavar=_SECONDS,
        type=Integer(),
        value_default="60",
        default=60,
    )


def add_acse_timeout_option(parser: DcmtkParser) -> None:
    """``-ta``: dest ``acse_timeout``, default 30."""
    parser.add_option(
        "-ta",
        "--acse-timeout",
        "wait at most s seconds for an ACSE message",
        dest="acse_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="30",
        default=30,
    )


def add_dimse_timeout_option(parser: DcmtkParser) -> None:
    """``-td``: dest ``dimse_timeout``, default None (unlimited)."""
    parser.add_option(
        "-td",
        "--dimse-timeout",
        "wait at most s seconds for a DIMSE message",
        dest="dimse_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="unlimited",
    )


_PDU_RANGE = Integer(4096, 131072, unsigned=True)


def add_max_pdu_option(
    parser: DcmtkParser,
    *,
    help: str = "largest PDU to receive (default: 16384)",
    default: int | None = 16384,
) -> None:
    """``-pdu``: dest ``max_pdu`` (4096..131072)."""
    parser.add_option(
        "-pdu",
        "--max-pdu",
        help,
        dest="max_pdu",
        metavar="[n]umber of bytes",
        type=_PDU_RANGE,
        default=default,
    )


def add_max_send_pdu_option(parser: DcmtkParser) -> None:
    """``--max-send-pdu``: dest ``max_send_pdu`` (4096..131072), default None."""
    parser.add_option(
        None,
        "--max-send-pdu",
        "send PDUs of at most n bytes",
        dest="max_send_pdu",
        metavar="[n]umber of bytes",
        type=_PDU_RANGE,
    )


def add_repeat_option(parser: DcmtkParser) -> None:
    """``--repeat``: dest ``repeat``, default 1."""
    parser.add_option(
        None,
        "--repeat",
        "run all requests n times",
        metavar="[n]umber",
        type=Integer(1, unsigned=True),
        default=1,
    )


def add_abort_option(parser: DcmtkParser) -> None:
    """``--abort``: dest ``abort``, default False."""
    parser.add_option(None, "--abort", "end with an A-ABORT instead of a release")


def add_other_network_options(
    parser: DcmtkParser,
    *,
    connect_timeout: bool = True,
    socket_timeout: bool = True,
    max_send_pdu: bool = False,
    repeat: bool = False,
    abort: bool = False,
    subgroup: str | None = "other network options",
) -> None:
    """DCMTK's usual sequence: ``-to -ts -ta -td -pdu [--max-send-pdu]
    [--repeat] [--abort]``.  Tools with extra options in between use the
    single-option helpers instead."""
    if subgroup is not None:
        parser.add_subgroup(subgroup)
    if connect_timeout:
        add_connect_timeout_option(parser)
    if socket_timeout:
        add_socket_timeout_option(parser)
    add_acse_timeout_option(parser)
    add_dimse_timeout_option(parser)
    add_max_pdu_option(parser)
    if max_send_pdu:
        add_max_send_pdu_option(parser)
    if repeat:
        add_repeat_option(parser)
    if abort:
        add_abort_option(parser)


# -- settings ----------------------------------------------------------------------

_FOREVER = 2**31  # seconds; anything longer is "unlimited"


def _seconds(value: Any, *, zero_is_none: bool = False) -> float | None:
    if value is None:
        return None
    seconds = int(value)
    if seconds >= _FOREVER or (zero_is_none and seconds <= 0):
        return None
    return float(seconds)


@record(frozen=True)
class NetworkSettings:
    """The common network settings of a tool, in library units.

    ``ae_title`` is our own AE title (``-aet``: the calling AE title of an
    SCU, the title an SCP answers to); ``called_ae_title`` is the peer's
    (``-aec``; None for tools without it).  Timeouts are seconds, None means
    no limit.
    """

    ae_title: str
    called_ae_title: str | None = None
    connect_timeout: float | None = None
    socket_timeout: float | None = 60.0
    acse_timeout: float | None = 30.0
    dimse_timeout: float | None = None
    max_pdu: int = 16384
    max_send_pdu: int | None = None

    @property
    def calling_ae_title(self) -> str:
        return self.ae_title

    @property
    def timeouts(self) -> Timeouts:
        """The four DCMTK timeouts in the form the association layer takes."""
        return Timeouts(
            connect=self.connect_timeout,
            socket=self.socket_timeout,
            acse=self.acse_timeout,
            dimse=self.dimse_timeout,
        )


def _ae_title(value: Any) -> str | None:
    return None if value is None else str(value)[:AE_TITLE_MAX]


def network_settings(ns: argparse.Namespace, *, default_ae_title: str = "ANY-SCU") -> NetworkSettings:
    """Build :class:`NetworkSettings` from a namespace of the shared options.

    AE titles are cut to 16 characters without a word (DCMTK does the same);
    ``-ts 0`` (or negative) means no socket timeout; options a tool does
    not have take the DCMTK defaults.
    """
    max_pdu = getattr(ns, "max_pdu", None)
    return NetworkSettings(
        ae_title=_ae_title(getattr(ns, "ae_title", None)) or default_ae_title,
        called_ae_title=_ae_title(getattr(ns, "called_ae_title", None)),
        connect_timeout=_seconds(getattr(ns, "connect_timeout", None)),
        socket_timeout=_seconds(getattr(ns, "socket_timeout", 60), zero_is_none=True),
        acse_timeout=_seconds(getattr(ns, "acse_timeout", 30)),
        dimse_timeout=_seconds(getattr(ns, "dimse_timeout", None)),
        max_pdu=16384 if max_pdu is None else int(max_pdu),
        max_send_pdu=getattr(ns, "max_send_pdu", None),
    )


# -- running a tool ----------------------------------------------------------------------


def run_tool(
    parser: DcmtkParser,
    run: Callable[[argparse.Namespace], Awaitable[int]],
    argv: Sequence[str] | None = None,
    *,
    short_run: Callable[[argparse.Namespace], bool] | None = None,
) -> int:
    """Parse, set up TLS, run ``run(ns)`` under asyncio, always clean up logging.

    Returns the exit code (never raises SystemExit).  A
    :class:`CommandLineExit` raised inside ``run`` (e.g. via
    ``parser.error``) returns its code; Ctrl-C returns 130 quietly.
    ``short_run(ns)`` true: the run is a few small messages, so it goes on asyncio's own
    loop rather than uvloop (see :func:`run_event_loop`).
    """
    if argv is None:  # the tool is the program (its console script): its modules are loaded
        settle()
    try:
        ns = parser.parse_args(argv)
        log = cli_logging.app_logger(parser.prog)
        stop = prepare_tls(parser, ns, log)
        if stop is not None:
            return stop
        fast_loop = short_run is None or not short_run(ns)
        code = run_event_loop(_as_coroutine(run, ns), uvloop=fast_loop)
        seed_failure = finish_tls(ns, log)
        return code if seed_failure is None or code != 0 else seed_failure
    except CommandLineExit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        cli_logging.shutdown_logging()


#: About where uvloop pays for itself: importing it costs 2.5 to 3 ms, and it saves some 40 us
#: per C-ECHO round trip over asyncio's own loop (measured here for issue 10).
UVLOOP_BREAK_EVEN = 64


def run_event_loop(coroutine: Coroutine[Any, Any, int], *, uvloop: bool = True) -> int:
    """Run a tool's coroutine on uvloop when it is installed (faster per message), else on
    asyncio's loop; ``uvloop=False``: asyncio's loop anyway (a run too short to earn back
    uvloop's import, :data:`UVLOOP_BREAK_EVEN`)."""
    if uvloop:
        try:
            import uvloop as fast
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=fast.new_event_loop) as runner:
                return runner.run(coroutine)
    return asyncio.run(coroutine)


async def _as_coroutine(run: Callable[[argparse.Namespace], Awaitable[int]], ns: argparse.Namespace) -> int:
    return await run(ns)


async def serve_until_signalled(
    serve: Callable[[], Awaitable[None]], ready: Callable[[], None] | None = None
) -> None:
    """Run ``serve`` until it returns or SIGTERM/SIGINT arrives (the SCP tools' main loop).

    ``ready`` runs once the signals are caught: whoever waits for it may send them.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for number in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(number, stop.set)
    if ready is not None:
        ready()
    try:
        await until_first(serve(), stop.wait())
    finally:
        for number in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(number)
