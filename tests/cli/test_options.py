"""The DCMTK-style command line of dicomwire.dcmtk.cmdline.options."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from dcmtk_help import interface
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline import engine, options
from dicomwire.dcmtk.cmdline.options import CommandLineError, CommandLineExit, DcmtkParser, Integer

ECHOSCU = shutil.which("echoscu")
needs_echoscu = pytest.mark.skipif(ECHOSCU is None, reason="DCMTK echoscu not installed")


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    yield
    cli_logging.shutdown_logging()


def echoscu_parser(**kwargs: object) -> DcmtkParser:
    """The command line of DCMTK's echoscu, built from the shared pieces."""
    p = DcmtkParser("echoscu", "DICOM verification (C-ECHO) SCU", long_column=19, **kwargs)  # type: ignore[arg-type]
    p.add_param("peer", "hostname of DICOM peer")
    p.add_param("port", "tcp/ip port number of peer", type=options.PORT)
    options.add_general_options(p)
    p.add_group("network options")
    options.add_ae_title_options(p, aet_default="ECHOSCU", aec_default="ANY-SCP")
    p.add_subgroup("association negotiation debugging")
    p.add_option(
        "-pts",
        "--propose-ts",
        "propose n transfer syntaxes",
        metavar="[n]umber",
        type=Integer(1, 38, unsigned=True),
    )
    p.add_option(
        "-ppc",
        "--propose-pc",
        "propose n presentation contexts",
        metavar="[n]umber",
        type=Integer(1, 128, unsigned=True),
    )
    options.add_other_network_options(p, repeat=True, abort=True)
    options.add_tls_options(p, offline_verification=True)
    return p


def parse(*argv: str) -> argparse.Namespace:
    return echoscu_parser().parse_args(list(argv))


def fail(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Parse a bad command line; return the error line, check exit code and header."""
    with pytest.raises(CommandLineExit) as info:
        parse(*argv)
    assert info.value.exit_code == 1
    assert info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("$dicomwire: echoscu v")
    assert lines[1:3] == ["", "echoscu: DICOM verification (C-ECHO) SCU"]
    assert len(lines) == 4
    return lines[3]


# -- help, version, no arguments ---------------------------------------------------------


def test_help_layout(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandLineExit) as info:
        parse("--help")
    assert info.value.exit_code == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.split("\n")
    assert lines[1:5] == [
        "",
        "echoscu: DICOM verification (C-ECHO) SCU",
        "usage: echoscu [options] peer port",
        "",
    ]
    for expected in [
        "parameters:",
        "  peer                         hostname of DICOM peer",
        "general options:",
        "  -h      --help               show this help and exit",
        "          --version            show version and build information and exit",
        "  -ll     --log-level          [l]evel: string constant",
        "                               (fatal, error, warn, info, debug, trace)",
        "network options:",
        "  application entity titles:",
        "    -aet  --aetitle            [a]etitle: string",
        "                               AE title we call from (default: ECHOSCU)",
        "    -pts  --propose-ts         [n]umber: integer (1..38)",
        "    -to   --timeout            [s]econds: integer (default: unlimited)",
        "    -pdu  --max-pdu            [n]umber of bytes: integer (4096..131072)",
        "          --abort              end with an A-ABORT instead of a release",
        "    +pw   --use-passwd         [p]assword: string ",
        "    +py   --profile-bcp195-nd  the BCP 195 profile, non-downgrading (default)",
        "                               (implies --enable-crl-vfy)",
    ]:
        assert expected in lines
    assert out.endswith("tell whether f is a self-signed root CA\n\n")


def test_help_widens_a_subgroup_with_longer_options(capsys: pytest.CaptureFixture[str]) -> None:
    p = DcmtkParser("tool", "a tool", long_column=8)
    p.add_group("options")
    p.add_option("-a", "--alpha", "first")
    p.add_subgroup("long ones")
    p.add_option("-b", "--a-much-longer-name", "second")
    p.add_option("-c", "--gamma", "third")
    text = p.format_help()
    assert "  -a      --alpha   first\n" in text
    assert "    -b    --a-much-longer-name  second\n" in text
    assert "    -c    --gamma               third\n" in text


def test_help_wins_over_bad_values_but_not_unknown_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["-pdu", "100", "-h"], ["-h", "a", "b", "c"], ["--version", "--help"]):
        with pytest.raises(CommandLineExit) as info:
            parse(*argv)
        assert info.value.exit_code == 0
        assert "usage: echoscu [options] peer port" in capsys.readouterr().out
    assert fail(capsys, "-h", "--bogus") == "error: Unknown option --bogus"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandLineExit) as info:
        parse("--version", "a", "b", "c")
    assert info.value.exit_code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"$dicomwire: echoscu v{options.dicomwire_version()} $\n\n")
    assert "External libraries used:\n- pydicom, Version " in out


def test_no_arguments_prints_help_or_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandLineExit) as info:
        parse()
    assert info.value.exit_code == 0
    assert "usage: echoscu" in capsys.readouterr().out
    with pytest.raises(CommandLineExit) as info:
        echoscu_parser(no_arguments="run").parse_args([])
    assert capsys.readouterr().err.endswith("error: Missing parameter peer\n")


# -- errors -------------------------------------------------------------------------------

ERRORS = [
    (["-pdu", "100", "localhost", "104"], "Invalid value for option --max-pdu (underflow: 100)"),
    (["-pdu", "131073", "h", "1"], "Invalid value for option --max-pdu (overflow: 131073)"),
    (["-pdu", "-5000", "h", "1"], "Invalid value for option --max-pdu (-5000)"),
    (["-pts", "39", "h", "1"], "Invalid value for option --propose-ts (overflow: 39)"),
    (["-pts", "040", "h", "1"], "Invalid value for option --propose-ts (overflow: 040)"),
    (["-pts", "0x30", "h", "1"], "Invalid value for option --propose-ts (underflow: 0x30)"),
    (["-ta", "0", "h", "1"], "Invalid value for option --acse-timeout (underflow: 0)"),
    (["-ta", "-5", "h", "1"], "Invalid value for option --acse-timeout (underflow: -5)"),
    (["-ta", "abc", "h", "1"], "Invalid value for option --acse-timeout (abc)"),
    (["-ta", "", "h", "1"], "Invalid value for option --acse-timeout"),
    (["-to", "0", "h", "1"], "Invalid value for option --timeout (underflow: 0)"),
    (["-td", "0", "h", "1"], "Invalid value for option --dimse-timeout (underflow: 0)"),
    (["--repeat", "0", "h", "1"], "Invalid value for option --repeat (underflow: 0)"),
    (["--bogus", "h", "1"], "Unknown option --bogus"),
    (["+bogus", "h", "1"], "Unknown option +bogus"),
    (["--", "h", "1"], "Unknown option --"),
    (["h", "-.5"], "Unknown option -.5"),
    (["localhost"], "Missing parameter port"),
    (["a", "b", "c"], "Too many parameters"),
    (["h", "1", "-aet"], "Missing value for option --aetitle"),
    (["+tls", "a"], "Missing value for option --enable-tls"),
    (["h", "0"], "Invalid parameter value 0 (underflow)"),
    (["h", "-5"], "Invalid parameter value -5 (overflow)"),
    (["h", "70000"], "Invalid parameter value 70000 (overflow)"),
    (["h", "abc"], "Invalid parameter value abc"),
    (["h", ""], "Invalid parameter value "),
    (["-ll", "bogus", "h", "1"], "Invalid log level for --log-level option"),
    (["-q", "-ll", "info", "h", "1"], "--log-level not allowed with --verbose, --debug or --quiet"),
    (["-lc", "x.cfg", "-v", "h", "1"], "--log-config not allowed with --verbose, --debug or --quiet"),
    (["-ll", "info", "-lc", "x.cfg", "h", "1"], "--log-config not allowed with --log-level"),
    (["-lc", "/nonexistent/x.cfg", "h", "1"], "Specified --log-config file does not exist"),
    (["+cf", "x", "h", "1"], "--add-cert-file only allowed with --enable-tls or --anonymous-tls"),
    (["-pem", "h", "1"], "--pem-keys only allowed with --enable-tls or --anonymous-tls"),
    (["+pw", "x", "h", "1"], "--use-passwd only allowed with --enable-tls"),
    (["+tla", "+pw", "x", "h", "1"], "--use-passwd only allowed with --enable-tls"),
    (["+tla", "+ws", "h", "1"], "--write-seed only allowed with --seed"),
    (["+tls", "k", "c", "+pz", "+cs", "X", "h", "1"], "--cipher not allowed with --profile-bcp195-ex"),
    (["+pb", "h", "1"], "Unknown option +pb"),
]


@pytest.mark.parametrize(("argv", "message"), ERRORS)
def test_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert fail(capsys, *argv) == f"error: {message}"


def test_error_order_follows_dcmtk(capsys: pytest.CaptureFixture[str]) -> None:
    # parameters before log options before other options; definition order
    assert fail(capsys, "-q", "-ll", "info", "h", "0") == "error: Invalid parameter value 0 (underflow)"
    line = fail(capsys, "-pdu", "100", "-ll", "bogus", "h", "1")
    assert line == "error: Invalid log level for --log-level option"
    assert fail(capsys, "-pdu", "100", "-ta", "0", "h", "1").endswith("--acse-timeout (underflow: 0)")
    assert fail(capsys, "--bogus", "-aet").endswith("Unknown option --bogus")


def test_parser_error_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    p = echoscu_parser()

    def check(ns: argparse.Namespace, given: Sequence[str]) -> None:
        if ns.abort and "--repeat" in given:
            raise CommandLineError("--abort not allowed with --repeat")

    p.add_check(check)
    assert p.parse_args(["--abort", "h", "1"]).abort is True
    with pytest.raises(CommandLineExit):
        p.parse_args(["--repeat", "2", "--abort", "h", "1"])
    assert capsys.readouterr().err.endswith("error: --abort not allowed with --repeat\n")
    with pytest.raises(CommandLineExit) as info:
        p.error("something else")
    assert info.value.exit_code == 1


# -- values -------------------------------------------------------------------------------


def test_defaults() -> None:
    ns = parse("localhost", "104")
    assert (ns.peer, ns.port) == ("localhost", 104)
    assert ns.ae_title == "ECHOSCU"
    assert ns.called_ae_title == "ANY-SCP"
    assert (ns.connect_timeout, ns.socket_timeout, ns.acse_timeout, ns.dimse_timeout) == (
        None,
        60,
        30,
        None,
    )
    assert (ns.max_pdu, ns.repeat, ns.abort) == (16384, 1, False)
    assert (ns.verbosity, ns.log_level, ns.log_config, ns.arguments) == (None, None, None, False)
    assert (ns.tls, ns.tls_keys, ns.tls_cert_files, ns.tls_profile) == ("disable", None, [], "bcp195-nd")
    assert ns.propose_ts is None


def test_rightmost_wins() -> None:
    assert parse("-q", "-v", "h", "1").verbosity == "info"
    assert parse("-v", "-d", "-q", "h", "1").verbosity == "fatal"
    ns = parse("+tls", "key.pem", "cert.pem", "-tls", "h", "1")
    assert ns.tls == "disable"
    assert ns.tls_keys == ("key.pem", "cert.pem")
    assert parse("-tls", "+tls", "k", "c", "h", "1").tls == "enable"
    assert parse("-tls", "+tla", "h", "1").tls == "anonymous"
    # only the rightmost occurrence of a value option is checked, as DCMTK
    assert parse("-pdu", "100", "-pdu", "8192", "h", "1").max_pdu == 8192
    assert parse("-aet", "A", "-aet", "B", "h", "1").ae_title == "B"


def test_values_are_taken_verbatim_and_numbers_are_parameters() -> None:
    ns = parse("-aet", "-v", "-aec", "+tls", "h", "1")
    assert (ns.ae_title, ns.called_ae_title, ns.verbosity, ns.tls) == ("-v", "+tls", None, "disable")
    ns = parse("-5", "+5")
    assert (ns.peer, ns.port) == ("-5", 5)
    ns = parse("-", "1")
    assert ns.peer == "-"


def test_integers_read_like_dcmtk() -> None:
    # signed options: C strtol base 0, trailing garbage ignored
    assert parse("-ta", "0x10", "h", "1").acse_timeout == 16
    assert parse("-ta", "010", "h", "1").acse_timeout == 8
    assert parse("-ta", " +5x", "h", "1").acse_timeout == 5
    assert parse("-ts", "-1", "h", "1").socket_timeout == -1
    # unsigned: decimal
    assert parse("-pdu", "010000", "h", "1").max_pdu == 10000
    assert parse("-pdu", "5000.5", "h", "1").max_pdu == 5000
    assert parse("h", " 104").port == 104


def test_append_and_sets() -> None:
    ns = parse("+tls", "k", "c", "+cf", "a.pem", "+cf", "b.pem", "+cs", "X", "h", "1")
    assert ns.tls_cert_files == ["a.pem", "b.pem"]
    assert ns.tls_ciphers == ["X"]
    ns = parse("+tls", "k", "c", "+pw", "secret", "h", "1")
    assert (ns.tls_password, ns.tls_password_mode) == ("secret", "given")
    # a fresh list each time
    assert parse("h", "1").tls_cert_files == []


def test_exclusive_options_lift_the_parameter_check() -> None:
    ns = parse("+cc")
    assert ns.tls_list_ciphers is True
    assert ns.peer is None
    assert parse("+vc", "cert.pem").tls_verify_cert == "cert.pem"


def test_multiple_and_optional_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    p = DcmtkParser("storescu", "DICOM storage (C-STORE) SCU")
    p.add_param("peer", "hostname of DICOM peer")
    p.add_param("port", "tcp/ip port number of peer", type=options.PORT)
    p.add_param("dcmfile-in", "DICOM file", multiple=True)
    assert p.usage() == "[options] peer port dcmfile-in..."
    assert p.parse_args(["h", "1", "a", "b"]).dcmfile_in == ["a", "b"]
    with pytest.raises(CommandLineExit):
        p.parse_args(["h", "1"])
    assert capsys.readouterr().err.endswith("error: Missing parameter dcmfile-in\n")
    q = DcmtkParser("findscu", "query", no_arguments="run")
    q.add_param("peer", "p")
    q.add_param("dcmfile-in", "files", optional=True, multiple=True)
    assert q.usage() == "[options] peer [dcmfile-in...]"
    assert q.parse_args(["h"]).dcmfile_in == []
    with pytest.raises(ValueError, match="last"):
        p.add_param("more", "x")


def test_definition_errors() -> None:
    p = DcmtkParser("t", "t")
    p.add_option("-x", "--x-ray", "x")
    with pytest.raises(ValueError, match="twice"):
        p.add_option("-x", "--other", "y")
    with pytest.raises(ValueError, match="not an option"):
        p.add_option("x", None, "y")
    with pytest.raises(ValueError):
        DcmtkParser("t", "t", no_arguments="bogus")


# -- command files ------------------------------------------------------------------------


def test_command_file_quotes(tmp_path: Path) -> None:
    cmd = tmp_path / "cmd.txt"
    cmd.write_text('-aet "MY AE"\n  -aec\ta"b c"d\r\n-v "" \n')
    assert options.expand_command_files(["x", f"@{cmd}", "y"]) == [
        "x",
        "-aet",
        "MY AE",
        "-aec",
        "ab c",
        "d",
        "-v",
        "",
        "y",
    ]
    cmd.write_text('-aet "multi\nline  \n')
    assert options.expand_command_files([f"@{cmd}"]) == ["-aet", "multi\nline  \n"]
    cmd.write_text('ab"" "a""b" \'x y\'')
    assert options.expand_command_files([f"@{cmd}"]) == ["ab", "a", "b", "'x", "y'"]


def test_command_file_in_a_command_line(tmp_path: Path) -> None:
    cmd = tmp_path / "cmd.txt"
    cmd.write_text('-aet "MY AE" -v localhost')
    ns = parse(f"@{cmd}", "104")
    assert (ns.ae_title, ns.verbosity, ns.peer, ns.port) == ("MY AE", "info", "localhost", 104)


def test_nested_command_file_stays_literal(tmp_path: Path) -> None:
    inner = tmp_path / "inner.txt"
    inner.write_text("-v")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"@{inner}")
    assert parse(f"@{outer}", "1").peer == f"@{inner}"


def test_command_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.txt"
    assert fail(capsys, f"@{missing}") == f"error: Cannot open command file '{missing}'"
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(CommandLineExit) as info:
        parse(f"@{empty}")
    assert info.value.exit_code == 0
    assert "usage: echoscu" in capsys.readouterr().out
    assert options.expand_command_files(["@"]) == ["@"]


# -- --arguments ----------------------------------------------------------------------------


def test_arguments_are_echoed_with_long_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmd = tmp_path / "c.txt"
    cmd.write_text('-aet "MY AE"')
    parse("--arguments", "-q", f"@{cmd}", "-aec", "", "-pdu", "8192", "h", "1")
    err = capsys.readouterr().err
    assert err == (
        "I: calling 'echoscu' with 10 arguments: '--arguments' '--quiet' '--aetitle' "
        "'MY AE' '--call' '--max-pdu' '8192' 'h' '1' \nI: \n"
    )


@pytest.mark.parametrize(
    ("argv0", "path", "shown"),
    [
        ("/opt/x/bin/echoscu", "/usr/bin", "/opt/x/bin/echoscu"),  # typed as a path
        ("./echoscu", "", "./echoscu"),
        ("/work/src/dicomwire/cli/echoscu.py", "", "echoscu"),  # python -m
        ("", "", "echoscu"),
    ],
)
def test_program_name_as_typed(argv0: str, path: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path)
    assert engine.typed_program_name(argv0, "echoscu") == shown


def test_program_found_on_path_is_its_bare_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "echoscu"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert engine.typed_program_name(str(tool), "echoscu") == "echoscu"


def test_arguments_show_argv0_when_parsing_the_real_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["/opt/x/bin/echoscu", "--arguments", "-q", "h", "1"])
    echoscu_parser().parse_args()
    assert capsys.readouterr().err.startswith("I: calling '/opt/x/bin/echoscu' with 4 arguments:")


def test_arguments_echo_comes_before_value_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandLineExit):
        parse("--arguments", "-pdu", "100", "h", "1")
    err = capsys.readouterr().err
    assert err.startswith("I: calling 'echoscu' with 5 arguments: '--arguments' '--max-pdu'")
    assert err.endswith("error: Invalid value for option --max-pdu (underflow: 100)\n")


# -- TLS ------------------------------------------------------------------------------------


def test_prepare_tls_builds_a_context_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    log = cli_logging.setup_logging(argparse.Namespace(), "echoscu")
    parser = echoscu_parser()
    for argv in (["h", "1"], ["+tls", "k", "c", "-tls", "h", "1"]):
        ns = parser.parse_args(argv)
        assert options.prepare_tls(parser, ns, log) is None
        assert ns.tls_context is None
    ns = parser.parse_args(["+tla", "-ic", "h", "1"])
    assert options.prepare_tls(parser, ns, log) is None
    assert isinstance(ns.tls_context, ssl.SSLContext)
    assert capsys.readouterr().err == ""


def test_run_tool_stops_when_the_tls_layer_cannot_be_made(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[argparse.Namespace] = []

    async def run(ns: argparse.Namespace) -> int:
        ran.append(ns)
        return 0

    assert options.run_tool(echoscu_parser(), run, ["+tls", "nokey.pem", "nocert.pem", "h", "1"]) == 1
    assert ran == []
    assert capsys.readouterr().err.endswith("F: 000b:0004 Unable to load private TLS key from 'nokey.pem'\n")


# -- run_tool and settings ------------------------------------------------------------


def test_run_tool_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    async def ok(ns: argparse.Namespace) -> int:
        await asyncio.sleep(0)
        cli_logging.app_logger("echoscu").info("running %s", ns.peer)
        return 7

    assert options.run_tool(echoscu_parser(), ok, ["-v", "h", "1"]) == 7
    assert capsys.readouterr().err == "I: running h\n"
    assert options.run_tool(echoscu_parser(), ok, ["-pdu", "1", "h", "1"]) == 1
    assert options.run_tool(echoscu_parser(), ok, ["--help"]) == 0
    capsys.readouterr()

    parser = echoscu_parser()

    async def bad(ns: argparse.Namespace) -> int:
        parser.error("late problem")

    assert options.run_tool(parser, bad, ["h", "1"]) == 1
    assert capsys.readouterr().err.endswith("error: late problem\n")

    async def interrupted(ns: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert options.run_tool(echoscu_parser(), interrupted, ["h", "1"]) == 130
    # logging is always cleaned up
    assert not [h for h in logging.getLogger("dicomwire").handlers if getattr(h, "_dicomwire_cli", False)]


def test_a_short_run_goes_on_asyncios_own_loop() -> None:
    """uvloop costs a few ms to import: a plain echo does not earn that back (issue 10)."""
    from dicomwire.cli import echoscu

    loops: list[str] = []

    async def which(ns: argparse.Namespace) -> int:
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return 0

    def short_run(ns: argparse.Namespace) -> bool:
        return bool(echoscu._short_run(ns))

    assert options.run_tool(echoscu_parser(), which, ["h", "1"], short_run=short_run) == 0
    assert options.run_tool(echoscu_parser(), which, ["--repeat", "64", "h", "1"], short_run=short_run) == 0
    assert options.run_tool(echoscu_parser(), which, ["h", "1"]) == 0
    fast = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    assert loops == ["asyncio", fast, fast]


def test_network_settings() -> None:
    net = options.network_settings(parse("h", "1"))
    assert net == options.NetworkSettings(
        ae_title="ECHOSCU",
        called_ae_title="ANY-SCP",
        connect_timeout=None,
        socket_timeout=60.0,
        acse_timeout=30.0,
        dimse_timeout=None,
        max_pdu=16384,
    )
    assert net.calling_ae_title == "ECHOSCU"
    net = options.network_settings(
        parse(
            "-aet",
            "ABCDEFGHIJKLMNOPQRSTUV",
            "-aec",
            "12345678901234567890",
            "-to",
            "5",
            "-ts",
            "0",
            "-ta",
            "7",
            "-td",
            "9",
            "-pdu",
            "65536",
            "h",
            "1",
        )
    )
    assert net.ae_title == "ABCDEFGHIJKLMNOP"
    assert net.called_ae_title == "1234567890123456"
    assert (net.connect_timeout, net.socket_timeout, net.acse_timeout, net.dimse_timeout) == (
        5.0,
        None,
        7.0,
        9.0,
    )
    assert net.max_pdu == 65536
    assert options.network_settings(parse("-ts", "-1", "h", "1")).socket_timeout is None
    assert options.network_settings(parse("-ta", "99999999999999999999", "h", "1")).acse_timeout is None
    bare = options.network_settings(argparse.Namespace(), default_ae_title="DCMRECV")
    assert (bare.ae_title, bare.called_ae_title, bare.acse_timeout) == ("DCMRECV", None, 30.0)
    with pytest.raises(AttributeError):
        net.max_pdu = 1  # type: ignore[misc]


# -- against the real DCMTK ----------------------------------------------------------------


def _dcmtk(*argv: str) -> subprocess.CompletedProcess[str]:
    assert ECHOSCU is not None
    # argv[0] "echoscu": DCMTK's --arguments echo names the program as invoked
    return subprocess.run(
        ["echoscu", *argv],
        executable=ECHOSCU,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _ours(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        parse(*argv)
        code = 0
    except CommandLineExit as exc:
        code = exc.exit_code
    out, err = capsys.readouterr()
    return code, out, err


def _without_header(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(("$dcmtk:", "$dicomwire:"))]


@pytest.mark.interop
@needs_echoscu
@pytest.mark.parametrize(
    "argv",
    [
        ["-pdu", "100", "localhost", "104"],
        ["-pts", "39", "localhost", "104"],
        ["-ta", "0", "localhost", "104"],
        ["-ta", "abc", "localhost", "104"],
        ["--bogus", "localhost", "104"],
        ["localhost"],
        ["a", "b", "c"],
        ["localhost", "-5"],
        ["-ll", "trace", "-q", "h", "1"],
        ["+cf", "x", "h", "1"],
    ],
)
def test_errors_match_dcmtk(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    theirs = _dcmtk(*argv)
    code, out, err = _ours(capsys, *argv)
    assert code == theirs.returncode == 1
    assert out == theirs.stdout == ""
    assert _without_header(err) == _without_header(theirs.stderr)


@pytest.mark.interop
@needs_echoscu
def test_help_interface_matches_dcmtk(capsys: pytest.CaptureFixture[str]) -> None:
    """Options, layout, value lines and defaults (the prose: tests/cli/test_help_interface.py)."""
    theirs = _dcmtk("--help")
    code, out, _err = _ours(capsys, "--help")
    assert code == theirs.returncode == 0
    assert interface(out, echoscu_parser()) == interface(theirs.stdout, echoscu_parser())
    no_args = _dcmtk()
    assert no_args.returncode == 0
    assert no_args.stdout == theirs.stdout


@pytest.mark.interop
@needs_echoscu
def test_arguments_echo_matches_dcmtk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cmd = tmp_path / "cmd.txt"
    cmd.write_text('-aet a"b c" -aec ""\n"multi\nline"')
    argv = ["--arguments", f"@{cmd}", "-pdu", "100", "1"]
    theirs = _dcmtk(*argv)
    code, _out, err = _ours(capsys, *argv)
    assert code == theirs.returncode == 1
    assert err.startswith("I: calling 'echoscu' with 9 arguments: '--arguments' '--aetitle' 'ab c'")
    assert "\nI: line' '--max-pdu' '100' '1' \nI: \n" in err
    assert _without_header(err) == _without_header(theirs.stderr)
