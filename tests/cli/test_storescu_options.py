"""storescu's command line: defaults, value checks and DCMTK's dependency errors.

The error texts and their precedence are DCMTK 3.6.7's (each case below was
run against /usr/bin/storescu): e.g. ``-xs -xe -xf f p`` names the rightmost
-x option, ``-R -xe -xf f p`` the -x option before -R, ``+sp`` is checked
before ``+r``, ``-xf`` before ``+cl``, ``+cl`` before the user identity options.
"""

from __future__ import annotations

import pytest

from dicomwire.cli import storescu
from dicomwire.dcmtk.cmdline import options
from storescu_helpers import run_ours_sync

BASE = ["127.0.0.1", "104", "x.dcm"]


def parse(*argv: str) -> object:
    return storescu.build_parser().parse_args([*argv, *BASE])


def test_defaults() -> None:
    ns = parse()
    assert (ns.ae_title, ns.called_ae_title) == ("STORESCU", "ANY-SCP")  # type: ignore[attr-defined]
    assert ns.proposal == "-x=" and not ns.required and not ns.combine  # type: ignore[attr-defined]
    assert ns.read_mode == "auto" and not ns.scan_directories and not ns.recurse  # type: ignore[attr-defined]
    assert ns.compression_level == 6 and ns.new_vrs and not ns.rename  # type: ignore[attr-defined]
    assert (ns.invent_series, ns.invent_study, ns.invent_patient) == (100, 50, 25)  # type: ignore[attr-defined]
    assert not ns.invent_instance and not ns.no_halt and ns.repeat == 1  # type: ignore[attr-defined]
    assert ns.max_pdu == 16384 and ns.acse_timeout == 30 and ns.dimse_timeout is None  # type: ignore[attr-defined]
    assert ns.files == ["x.dcm"]  # type: ignore[attr-defined]


def test_rightmost_proposal_wins_and_invent_options_imply_invent_instance() -> None:
    ns = parse("-xs", "-xb", "+IS", "3")
    assert ns.proposal == "-xb" and ns.invent_instance and ns.invent_study == 3  # type: ignore[attr-defined]
    ns = parse("-xf", "a.cfg", "Default", "-x=")  # -x= is the default: allowed with -xf
    assert ns.config_file == ("a.cfg", "Default")  # type: ignore[attr-defined]


def test_identity_options_rightmost_wins() -> None:
    ns = parse("-kt", "ticket", "-usr", "alice", "-pwd", "secret", "-rsp")
    assert (ns.identity_mode, ns.user, ns.password, ns.password_mode) == (  # type: ignore[attr-defined]
        "user",
        "alice",
        "secret",
        "given",
    )


ERRORS = [
    (["+cl", "5"], "--compression-level only allowed with --propose-deflated or --config-file"),
    (["+cl", "10", "-xd"], "Invalid value for option --compression-level (overflow: 10)"),
    (["-xf", "a", "b", "-R"], "--config-file not allowed with --required"),
    (["-xf", "a", "b", "+C"], "--config-file not allowed with --combine"),
    (["-xs", "-xe", "-xf", "a", "b"], "--config-file not allowed with --propose-little"),
    (["-R", "-xe", "-xf", "a", "b"], "--config-file not allowed with --propose-little"),
    (["+C", "-R", "-xf", "a", "b"], "--config-file not allowed with --required"),
    (["-xi", "-xf", "a", "b"], "--config-file not allowed with --propose-implicit"),
    (["-xd", "-xf", "a", "b"], "--config-file not allowed with --propose-deflated"),
    (["+cl", "3", "-R", "-xf", "a", "b"], "--config-file not allowed with --required"),
    (["-r", "+r"], "--recurse only allowed with --scan-directories"),
    (["+r", "+sp", "x"], "--scan-pattern only allowed with --scan-directories"),
    (["+sp", "x", "+cl", "3"], "--scan-pattern only allowed with --scan-directories"),
    (["-pwd", "x", "-rsp"], "--password only allowed with --user"),
    (["-kt", "f", "-pwd", "y"], "--password only allowed with --user"),
    (["-epw"], "--empty-password only allowed with --user"),
    (["-rsp"], "--pos-response only allowed with --user, --kerberos or --saml"),
    (["+v"], "--verbose-pc only allowed with verbose mode"),
    (["+IR", "0"], "Invalid value for option --invent-series (underflow: 0)"),
    (["--repeat", "0"], "Invalid value for option --repeat (underflow: 0)"),
    (["-pdu", "100"], "Invalid value for option --max-pdu (underflow: 100)"),
    (["--max-send-pdu", "200000"], "Invalid value for option --max-send-pdu (overflow: 200000)"),
]


def _ids(value: object) -> str:
    return " ".join(value) if isinstance(value, list) else ""


@pytest.mark.parametrize(("argv", "message"), ERRORS, ids=_ids)
def test_dependency_and_value_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(options.CommandLineExit) as stop:
        parse(*argv)
    assert stop.value.exit_code == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"error: {message}"


ACCEPTED = [
    ["-xd", "+cl", "5"],
    ["-xf", "a", "b", "+cl", "3"],
    ["-r"],
    ["+sd", "+r", "+sp", "*.dcm"],
    ["-usr", "a", "-epw", "-rsp"],
    ["-kt", "f", "-usr", "x", "-pwd", "y"],
    ["-v", "+v"],
    ["-d", "+v"],
    ["-ll", "info", "+v"],
    ["+II", "+IR", "5", "+IP", "3"],
    ["+fo"],
    ["-f"],
    ["+rn"],
    ["-up", "-u"],
    ["--max-send-pdu", "4096", "-pdu", "8192"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_accepted_combinations(argv: list[str]) -> None:
    parse(*argv)


def test_a_missing_tls_key_stops_before_connecting() -> None:
    result = run_ours_sync("+tls", "nokey.pem", "nocert.pem", *BASE)
    assert result.code == 1
    assert "F: 000b:0004 Unable to load private TLS key from 'nokey.pem'" in result.stderr


def test_help_lists_every_man_page_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(options.CommandLineExit):
        storescu.build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for name in (
        "+f",
        "+fo",
        "-f",
        "+sd",
        "+sp",
        "-r",
        "+r",
        "-rn",
        "+rn",
        "-aet",
        "-aec",
        "-xf",
        "-x=",
        "-xe",
        "-xb",
        "-xi",
        "-xs",
        "-xy",
        "-xx",
        "-xv",
        "-xw",
        "-xt",
        "-xu",
        "-xm",
        "-xh",
        "-xn",
        "-xl",
        "-x2",
        "-x3",
        "-xo",
        "-x4",
        "-x5",
        "-xr",
        "-xd",
        "-R",
        "+C",
        "+u",
        "-u",
        "+cl",
        "-usr",
        "-pwd",
        "-epw",
        "-kt",
        "--saml",
        "--jwt",
        "-rsp",
        "-to",
        "-ts",
        "-ta",
        "-td",
        "-pdu",
        "--max-send-pdu",
        "--repeat",
        "--abort",
        "-nh",
        "-up",
        "+II",
        "+IR",
        "+IS",
        "+IP",
        "-tls",
        "+tls",
        "+tla",
    ):
        assert f" {name} " in text, name
    assert "usage: storescu [options] peer port dcmfile-in..." in text


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (["-usr", "a", "-pwd", "s", "-epw"], True),  # DCMTK: -epw after the last -pwd fails
        (["-usr", "a", "-epw", "-pwd", "s"], False),
        (["-usr", "a", "-pwd", "s", "-epw", "-pwd", "t"], False),
        (["-usr", "a", "-epw"], False),
    ],
)
def test_empty_password_after_a_password(args: list[str], refused: bool) -> None:
    parser = storescu.build_parser()
    if refused:
        with pytest.raises(options.CommandLineExit):
            parser.parse_args([*args, "127.0.0.1", "104", "x.dcm"])
    else:
        parser.parse_args([*args, "127.0.0.1", "104", "x.dcm"])
