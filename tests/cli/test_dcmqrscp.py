"""dcmqrscp's command line: help, option mapping onto ArchiveOptions, dependency errors, start-up
failures and their exit codes, compared with DCMTK 3.6.7's dcmqrscp where it is installed."""

from __future__ import annotations

import dataclasses
import grp
import logging
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcmtk_help import copied_descriptions, interface
from dicomwire import uids
from dicomwire.archive.config import ArchiveConfig, default_config
from dicomwire.archive.options import ArchiveOptions, MoveRestriction, StoredFormat
from dicomwire.archive.service import Archive
from dicomwire.cli import dcmqrscp as tool
from dicomwire.cli.dcmqrscp import running
from dicomwire.config import Timeouts
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline.syntaxes import ACCEPTANCE_CHOICES, SYNTAX_CHOICES
from dicomwire.dcmtk.qrconfig import parse_qrconfig
from ports import free_port

DCMTK_DCMQRSCP = shutil.which("dcmqrscp")
OURS = [sys.executable, "-m", "dicomwire.cli.dcmqrscp"]
LIMIT = 30.0
LEE, BEE, LEI = uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN
LOCAL = uids.local_endian_explicit()
needs_dcmtk = pytest.mark.skipif(DCMTK_DCMQRSCP is None, reason="DCMTK's dcmqrscp is not installed")


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    yield
    cli_logging.shutdown_logging()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without -c the tool reads ./dcmqrscp.cfg or creates ./archive: never in the repository.
    monkeypatch.chdir(tmp_path)


def ours(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = tool.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def dcmtk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert DCMTK_DCMQRSCP is not None
    return subprocess.run(
        [DCMTK_DCMQRSCP, *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def without_header(text: str) -> list[str]:
    """The lines after the header (banner, blank line, "dcmqrscp: <description>"), which differ."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if line.startswith(("$dcmtk:", "$dicomwire:")):
            assert lines[at + 1 : at + 3][-1].startswith("dcmqrscp: "), lines[at : at + 3]
            return lines[:at] + lines[at + 3 :]
    return lines


def write_config(directory: Path, area: Path, *, port: int = 11112, extra: str = "") -> Path:
    path = directory / "test.cfg"
    path.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n{extra}"
        f"AETable BEGIN\nACME {area} RW (9, 1024mb) ANY\nAETable END\n"
    )
    return path


# -- help -----------------------------------------------------------------------------------------
def test_help_lists_our_default_configuration_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ours(capsys, "--help")
    assert code == 0
    assert out == tool.build_parser().format_help()
    assert "  -c      --config                [f]ilename: string (default: dcmqrscp.cfg)\n" in out
    assert "                                  read the configuration from file f\n" in out


def test_long_default_goes_under_the_help_text() -> None:
    lines = tool.build_parser("/etc/dcmtk/dcmqrscp.cfg").format_help().splitlines()
    at = lines.index("  -c      --config                [f]ilename: string")
    assert lines[at + 1 : at + 3] == [
        " " * 34 + "read the configuration from file f",
        " " * 34 + "(default: /etc/dcmtk/dcmqrscp.cfg)",
    ]


def test_help_subprocess_is_the_same() -> None:
    done = subprocess.run([*OURS, "--help"], capture_output=True, text=True, timeout=LIMIT)
    assert done.returncode == 0
    assert done.stdout == tool.build_parser().format_help()


@pytest.mark.interop
@needs_dcmtk
def test_help_interface_equals_dcmtk() -> None:
    """DCMTK's options, layout, value lines and defaults; the descriptions are our own words
    (tests/cli/test_help_interface.py checks both for every tool)."""
    theirs = dcmtk("--help")
    assert theirs.returncode == 0
    # The one value we differ on by design: DCMTK's compiled-in configuration path.
    default = re.search(r"\(default: (\S*dcmqrscp\.cfg)\)", theirs.stdout)
    assert default is not None
    parser = tool.build_parser(default.group(1))
    rendered = parser.format_help()
    ours_only = ("--users", "--users-optional")  # dicomwire's user identity options
    assert interface(rendered, parser, extensions=ours_only) == interface(theirs.stdout, parser)
    assert copied_descriptions(rendered, theirs.stdout, parser) == []


def test_no_arguments_runs() -> None:
    ns = tool.build_parser().parse_args([])
    assert ns.port is None and ns.config is None


# -- every option onto its ArchiveOptions field ----------------------------------------------------
def options_for(*args: str, config: ArchiveConfig | None = None) -> ArchiveOptions:
    ns = tool.build_parser().parse_args(list(args))
    return tool.archive_options(ns, config or default_config())


def test_defaults_are_dcmtks() -> None:
    expected = dataclasses.replace(ArchiveOptions(), max_pdu_length=16384)
    assert options_for() == expected
    assert options_for().timeouts == Timeouts(connect=None, socket=60.0, acse=30.0, dimse=None)
    assert options_for().stored_format == StoredFormat()


# (options, field (dotted), value); the long names used here are checked for completeness below.
MAPPING: list[tuple[list[str], str, Any]] = [
    (["--single-process"], "single_process", True),
    (["-s", "--fork"], "single_process", False),
    (["--require-find"], "require_find", True),
    (["--no-parallel-store"], "no_parallel_store", True),
    (["--disable-get"], "disable_get", True),
    (["--allow-shutdown"], "allow_shutdown", True),
    (["--check-find"], "check_find", True),
    (["-XF", "--no-check-find"], "check_find", False),
    (["--check-move"], "check_move", True),
    (["-XM", "--no-check-move"], "check_move", False),
    (["--move-aetitle"], "move_restriction", MoveRestriction.AE_TITLE),
    (["--move-host"], "move_restriction", MoveRestriction.HOST),
    (["--move-vendor"], "move_restriction", MoveRestriction.VENDOR),
    (["-ZV", "--move-unrestricted"], "move_restriction", MoveRestriction.UNRESTRICTED),
    (["--no-patient-root"], "patient_root", False),
    (["--no-study-root"], "study_root", False),
    (["--no-patient-study"], "patient_study_only", False),
    (["--timeout", "5"], "timeouts.connect", 5.0),
    (["--acse-timeout", "7"], "timeouts.acse", 7.0),
    (["--dimse-timeout", "9"], "timeouts.dimse", 9.0),
    (["-to", "5", "-ta", "7", "-td", "9"], "timeouts.socket", 60.0),
    (["--max-pdu", "32768"], "max_pdu_length", 32768),
    (["--disable-host-lookup"], "host_lookup", False),
    (["--refuse"], "refuse", True),
    (["--reject"], "require_implementation_class_uid", True),
    (["--ignore"], "ignore_store", True),
    (["--uid-padding"], "correct_uid_padding", True),
    (["--index-url", "postgresql://pacs@db/archive"], "index_url", "postgresql://pacs@db/archive"),
    (["--workers", "3"], "workers", 3),
    (["--bit-preserving"], "stored_format.bit_preserving", True),
    (["+B", "--normal"], "stored_format.bit_preserving", False),
    (["--write-dataset"], "stored_format.write_file", False),
    (["-F", "--write-file"], "stored_format.write_file", True),
    (["--write-xfer-little"], "stored_format.transfer_syntax", LEE),
    (["--write-xfer-big"], "stored_format.transfer_syntax", BEE),
    (["--write-xfer-implicit"], "stored_format.transfer_syntax", LEI),
    (["--write-xfer-deflated"], "stored_format.transfer_syntax", uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
    (["+te", "--write-xfer-same"], "stored_format.transfer_syntax", None),
    (["--enable-new-vr"], "stored_format.new_vrs", True),
    (["--disable-new-vr"], "stored_format.new_vrs", False),
    (["--group-length-create"], "stored_format.group_length", "create"),
    (["--group-length-remove"], "stored_format.group_length", "remove"),
    (["-g", "--group-length-recalc"], "stored_format.group_length", "recalc"),
    (["--length-undefined"], "stored_format.explicit_lengths", False),
    (["-e", "--length-explicit"], "stored_format.explicit_lengths", True),
    (["--padding-create", "8", "4"], "stored_format.padding", (8, 4)),
    (["+p", "8", "4", "--padding-off"], "stored_format.padding", None),
    (["--compression-level", "9"], "stored_format.compression_level", 9),
    (["--prefer-big"], "preferred_syntaxes", (BEE, LEE, LEI)),
    (["--prefer-little"], "preferred_syntaxes", (LEE, BEE, LEI)),
    (["--implicit"], "preferred_syntaxes", (LEI,)),
    (["--prefer-lossless"], "preferred_syntaxes", (uids.JPEG_LOSSLESS_SV1, LEE, BEE, LEI)),
    (["--prefer-mpeg2"], "preferred_syntaxes", (uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL, LEE, BEE, LEI)),
    (["--prefer-rle"], "accepted_compressed", ()),
    (["+xb", "--prefer-uncompr"], "preferred_syntaxes", (LOCAL, uids.opposite_endian_explicit(), LEI)),
    (["--propose-big"], "proposed_syntaxes", (BEE, LEE, LEI)),
    (["--propose-implicit"], "proposed_syntaxes", (LEI,)),
    (["--propose-lossless"], "proposed_syntaxes", (uids.JPEG_LOSSLESS_SV1, LEE, BEE, LEI)),
    (["--propose-mpeg2"], "proposed_syntaxes", (uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,)),
    (["--propose-deflated"], "proposed_syntaxes", (uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, LEE, BEE, LEI)),
]  # fmt: skip


def _field(value: object, dotted: str) -> object:
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize(("args", "dotted", "expected"), MAPPING, ids=lambda v: str(v))
def test_option_maps_to_its_field(args: list[str], dotted: str, expected: object) -> None:
    assert _field(options_for(*args), dotted) == expected


def test_max_pdu_defaults_to_the_configuration() -> None:
    config = dataclasses.replace(default_config(), max_pdu_size=65536)
    assert options_for(config=config).max_pdu_length == 65536
    assert options_for("-pdu", "4096", config=config).max_pdu_length == 4096


@pytest.mark.parametrize("choice", ACCEPTANCE_CHOICES, ids=lambda c: c.option)
def test_every_preferred_syntax_choice(choice: Any) -> None:
    syntaxes = options_for(choice.option).preferred_syntaxes
    if choice.option == "+xi":
        assert syntaxes == (LEI,)
    elif choice.preferred is not None and choice.preferred not in (LEE, BEE):
        assert syntaxes == (choice.preferred, LEE, BEE, LEI)
    else:
        assert sorted(syntaxes) == sorted((LEE, BEE, LEI))


@pytest.mark.parametrize("choice", SYNTAX_CHOICES, ids=lambda c: c.option)
def test_every_proposed_syntax_choice(choice: Any) -> None:
    syntaxes = options_for(choice.option).proposed_syntaxes
    assert syntaxes[0] == (choice.preferred or uids.local_endian_explicit())
    assert len(syntaxes) == (3 if choice.fallbacks else 1) + (
        1 if choice.fallbacks and choice.preferred not in (None, LEE, BEE, LEI) else 0
    )


# Options that are not archive options: general ones, the configuration file, the ones refused,
# and the character set options (they go into the configuration, see below).
NOT_ARCHIVE_OPTIONS = {
    "--help", "--version", "--arguments", "--quiet", "--verbose", "--debug", "--log-level",
    "--log-config", "--config", "--access-full", "--access-control",
    "--use-request-charset", "--override-charset", "--convert-to-ascii", "--convert-to-utf8",
    "--convert-to-latin1", "--convert-to-charset", "--transliterate", "--discard-illegal",
    "--users", "--users-optional",  # need a file: tests/cli/test_identity_options.py
}  # fmt: skip


def test_every_option_is_mapped_or_accounted_for() -> None:
    parser = tool.build_parser()
    short_to_long = {o.short: o.long for o in parser.options if o.short}
    covered = {short_to_long.get(word, word) for args, _, _ in MAPPING for word in args}
    covered |= {c.long for c in (*ACCEPTANCE_CHOICES, *SYNTAX_CHOICES)}
    covered |= {"--assoc-config-file"}  # needs a file: test_profile_gives_the_archive_its_contexts
    # the TLS group becomes ArchiveOptions.tls: tests/interop/test_interop_tls.py
    tls = {o.long for o in parser.options if o.long and o.dest.startswith("tls")}
    every = {o.long for o in parser.options if o.long}
    assert every - covered - NOT_ARCHIVE_OPTIONS - tls == set()


# -- character set options onto the configuration ------------------------------------------------
def config_for(*args: str, text: str = "") -> ArchiveConfig:
    config = parse_qrconfig(text + "AETable BEGIN\nA /tmp RW (9, 1mb) ANY\nAETable END\n", "x.cfg")
    return tool.archive_config(tool.build_parser().parse_args(list(args)), config)


@pytest.mark.parametrize(
    ("args", "text", "charset", "keywords"),
    [
        ([], "", None, ()),
        (["+U8"], "", "ISO_IR 192", ("fallback",)),
        (["+L1", "-Cr"], "", "ISO_IR 100", ("fallback", "override")),
        (["+C", "ISO_IR 144"], "", "ISO_IR 144", ("fallback",)),
        (["+U8", "+A7"], "", "", ("fallback",)),
        (["-Ct", "-Cd"], "", "", ("fallback", "transliterate", "discard")),
        (["+Cr"], 'SpecificCharacterSet = "ISO_IR 192", override\n', "ISO_IR 192", ()),
        (["-Cr"], "SpecificCharacterSet = override\n", "", ("override",)),
        (["+L1"], 'SpecificCharacterSet = "ISO_IR 192", override\n', "ISO_IR 100", ("override",)),
    ],
)
def test_charset_options_override_the_configuration(
    args: list[str], text: str, charset: str | None, keywords: tuple[str, ...]
) -> None:
    config = config_for(*args, text=text)
    assert config.specific_character_set == charset
    assert config.charset_options == keywords


# -- dependency errors ------------------------------------------------------------------------------
ERRORS: list[tuple[list[str], str]] = [
    (["+B", "+te"], "--write-xfer-little not allowed with --bit-preserving"),
    (["+te", "+B"], "--write-xfer-little not allowed with --bit-preserving"),
    (["+B", "+ti", "+te"], "--write-xfer-little not allowed with --bit-preserving"),
    (["+B", "+tb"], "--write-xfer-big not allowed with --bit-preserving"),
    (["+B", "+td"], "--write-xfer-deflated not allowed with --bit-preserving"),
    (["+xs", "+ti", "+te"], "--write-xfer-little not allowed with --prefer-lossless"),
    (["+xs", "+te", "+ti"], "--write-xfer-little not allowed with --prefer-lossless"),
    (["+xr", "+ti"], "--write-xfer-implicit not allowed with --prefer-rle"),
    (["+x5", "+td"], "--write-xfer-deflated not allowed with --prefer-hevc10"),
    (["+B", "+g="], "--group-length-recalc not allowed with --bit-preserving"),
    (["+B", "-g", "+g="], "--group-length-recalc not allowed with --bit-preserving"),
    (["+B", "+g"], "--group-length-create not allowed with --bit-preserving"),
    (["+B", "-e"], "--length-undefined not allowed with --bit-preserving"),
    (["+B", "+e"], "--length-explicit not allowed with --bit-preserving"),
    (["-F", "+p", "4", "4"], "--padding-create not allowed with --write-dataset"),
    (["+B", "-p", "+p", "4", "4"], "--padding-create not allowed with --bit-preserving"),
    (["+B", "+te", "+p", "-1", "0"], "--write-xfer-little not allowed with --bit-preserving"),
    (["+p", "-1", "0"], "Invalid value for option --padding-create (-1)"),
    (["+p", "4"], "Missing value for option --padding-create"),
    (["+te", "+cl", "5"], "--compression-level only allowed with --propose-deflated, "
     "--write-xfer-deflated or --write-xfer-same"),
    (["+ti", "+cl", "10"], "--compression-level only allowed with --propose-deflated, "
     "--write-xfer-deflated or --write-xfer-same"),
    (["+td", "+te", "+cl", "3"], "--compression-level only allowed with --propose-deflated, "
     "--write-xfer-deflated or --write-xfer-same"),
    (["+td", "+cl", "10"], "Invalid value for option --compression-level (overflow: 10)"),
    (["+cl", "-1"], "Invalid value for option --compression-level (-1)"),
    (["-QP", "-QS", "-QO"], "cannot disable all Q/R models"),
    (["-xf", "a", "b", "c", "+xe"], "--assoc-config-file not allowed with --prefer-little"),
    (["-xf", "a", "b", "c", "-xe"], "--assoc-config-file not allowed with --propose-little"),
    (["+xe", "-x=", "-xf", "a", "b", "c"], "--assoc-config-file not allowed with --prefer-little"),
    (["-to", "0"], "Invalid value for option --timeout (underflow: 0)"),
    (["-ta", "abc"], "Invalid value for option --acse-timeout (abc)"),
    (["-pdu", "200000"], "Invalid value for option --max-pdu (overflow: 200000)"),
    (["-c"], "Missing value for option --config"),
    (["-vv"], "Unknown option -vv"),
    (["1", "2"], "Too many parameters"),
    (["0"], "Invalid parameter value 0 (underflow)"),
    (["70000"], "Invalid parameter value 70000 (overflow)"),
]  # fmt: skip
# The same for our own options (DCMTK has none of them to compare with).
OUR_ERRORS: list[tuple[list[str], str]] = [
    (["--workers", "0"], "Invalid value for option --workers (underflow: 0)"),
    (["--workers", "2", "-s"], "--workers not allowed with --single-process"),
]
# Command lines DCMTK accepts: they get as far as reading the (missing) configuration file.
ACCEPTED: list[list[str]] = [
    ["+B", "-B", "+te"],
    ["+te", "+td", "+cl", "3"],
    ["-xd", "+te", "+cl", "3"],
    ["+B", "+p", "1", "1", "-p"],
    ["-F", "+p", "1", "1", "-p"],
    ["+xd", "+te"],
    ["+xs", "+t="],
    ["-QP", "-QS"],
    ["-ZA", "-ZH", "-s", "--fork"],
    ["+Cr", "-Cd", "+C", "ISO_IR 100"],
]


@pytest.mark.parametrize(
    ("args", "line"), ERRORS + OUR_ERRORS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_dependency_errors(capsys: pytest.CaptureFixture[str], args: list[str], line: str) -> None:
    code, out, err = ours(capsys, "-c", "missing.cfg", *args)
    assert code == 1
    assert out == ""
    assert err.splitlines()[-1] == f"error: {line}"
    assert err.splitlines()[2] == f"dcmqrscp: {tool.build_parser().description}"


@pytest.mark.parametrize("args", [*ACCEPTED, ["--workers", "1", "-s"], ["--workers", "4"]], ids=" ".join)
def test_accepted_command_lines_reach_the_configuration(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = ours(capsys, "-c", "missing.cfg", *args)
    assert (code, err) == (10, "F: cannot access missing.cfg: No such file or directory\n")


@pytest.mark.interop
@needs_dcmtk
@pytest.mark.parametrize(
    "args", [args for args, _ in ERRORS] + ACCEPTED, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_command_line_outcomes_equal_dcmtk(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    theirs = dcmtk("-c", "missing.cfg", *args)
    code, out, err = ours(capsys, "-c", "missing.cfg", *args)
    assert code == theirs.returncode
    assert out == theirs.stdout
    assert without_header(err) == without_header(theirs.stderr)


# -- association profiles (-xf) -------------------------------------------------------------------
PROFILES = r"""[[TransferSyntaxes]]
[Implicit]
TransferSyntax1 = LittleEndianImplicit
[Uncompressed]
TransferSyntax1 = LocalEndianExplicit
TransferSyntax2 = LittleEndianImplicit

[[PresentationContexts]]
[CT]
PresentationContext1 = CTImageStorage\Uncompressed
PresentationContext2 = FINDStudyRootQueryRetrieveInformationModel\Implicit
[Twice]
PresentationContext1 = CTImageStorage\Implicit
PresentationContext2 = CTImageStorage\Uncompressed

[[SCPSCURoleSelection]]
[Roles]
Role1 = CTImageStorage\BOTH

[[Profiles]]
[Only CT]
PresentationContexts = CT
[Twice]
PresentationContexts = Twice
[WithRoles]
PresentationContexts = CT
SCPSCURoleSelection = Roles
"""
CT = "1.2.840.10008.5.1.4.1.1.2"
CANNOT_READ = "F: cannot read association config file: "
BAD_SYNTAX = PROFILES.replace("= LittleEndianImplicit", "= NoSuchSyntax", 1)  # line 3


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.cfg"
    path.write_text(PROFILES)
    return path


def test_profile_gives_the_archive_its_contexts(profiles: Path) -> None:
    # names match as in DCMTK: case and blanks ignored
    profile = options_for("-xf", str(profiles), "onlyct", "TWICE").profile
    assert profile == {CT: (LOCAL, LEI), uids.STUDY_ROOT_FIND: (LEI,)}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-xf", "missing.cfg", "A", "B"], CANNOT_READ + "unable to open configuration file: missing.cfg"),
        (["-xf", ".", "A", "B"], CANNOT_READ + "unable to open configuration file: ."),
        (["-xf", "profiles.cfg", "Nope", "Other"], "F: unknown configuration profile name: Nope"),
        (["-xf", "profiles.cfg", "Only CT", "Other"], "F: unknown configuration profile name: Other"),
        (
            ["-xf", "profiles.cfg", "Twice", "Only CT"],
            "F: profile 'Twice' is not valid for incoming use, duplicate abstract syntaxes found",
        ),
        # read while the command line is checked: before the next dependency error
        (["-xf", "missing.cfg", "A", "B", "+B", "+te"], CANNOT_READ + "unable to open configuration file: missing.cfg"),  # noqa: E501
    ],
)  # fmt: skip
def test_profile_errors_end_before_the_configuration_is_read(
    capsys: pytest.CaptureFixture[str], profiles: Path, args: list[str], line: str
) -> None:
    code, out, err = ours(capsys, "-c", "missing.cfg", *args)
    assert (code, out, err) == (1, "", line + "\n")


def test_a_file_that_is_not_a_profile_file_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "bad.cfg").write_text(BAD_SYNTAX)
    code, _, err = ours(capsys, "-xf", "bad.cfg", "A", "B")
    assert code == 1
    assert err.startswith(CANNOT_READ + "bad.cfg:3: ") and "NoSuchSyntax" in err
    assert len(err.splitlines()) == 1


def test_a_good_profile_goes_on_to_the_configuration(
    capsys: pytest.CaptureFixture[str], profiles: Path
) -> None:
    code, _, err = ours(capsys, "-xf", str(profiles), "Only CT", "Twice", "-c", "missing.cfg")
    assert (code, err) == (10, "F: cannot access missing.cfg: No such file or directory\n")


def test_role_selection_in_the_incoming_profile_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profiles: Path
) -> None:
    config = write_config(tmp_path, tmp_path)
    code, _, err = ours(
        capsys, "-xf", str(profiles), "WithRoles", "Only CT", "-c", str(config), str(free_port())
    )
    what = "SCP/SCU role selection and extended negotiation in association profiles (-xf) are"
    assert (code, err) == (1, f"F: {what} not yet supported by dicomwire's dcmqrscp\n")


@pytest.mark.interop
@needs_dcmtk
@pytest.mark.parametrize(
    "args",
    [
        ["-xf", "missing.cfg", "Default", "Default"],
        ["-xf", "missing.cfg", "Default", "Default", "+B", "+te"],
        ["-xf", "profiles.cfg", "Nope", "Only CT"],
        ["-xf", "profiles.cfg", "Only CT", "Nope"],
        ["-xf", "profiles.cfg", "Twice", "Twice"],
        ["-xf", "profiles.cfg", "onlyct", "Twice"],
        ["-xf", "/etc/dcmtk/storescp.cfg", "Default", "Default"],
    ],
    ids=" ".join,
)
def test_profile_outcomes_equal_dcmtk(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, profiles: Path, args: list[str]
) -> None:
    theirs = dcmtk("-c", "missing.cfg", *args, cwd=tmp_path)
    assert ours(capsys, "-c", "missing.cfg", *args) == (theirs.returncode, theirs.stdout, theirs.stderr)


@pytest.mark.interop
@needs_dcmtk
def test_bad_profile_file_ends_as_in_dcmtk(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.cfg").write_text(BAD_SYNTAX)
    theirs = dcmtk("-xf", "bad.cfg", "A", "B", cwd=tmp_path)
    code, out, err = ours(capsys, "-xf", "bad.cfg", "A", "B")
    assert (code, out) == (theirs.returncode, theirs.stdout) == (1, "")
    assert err.startswith(CANNOT_READ) and theirs.stderr.startswith(
        CANNOT_READ
    )  # the reasons are worded apart


# -- refused options ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["+ac"], "--access-control (TCP wrapper host access control) is"),
        (["+ac", "+U8"], "--access-control (TCP wrapper host access control) is"),
    ],
)
def test_options_the_archive_cannot_honour_yet_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], what: str
) -> None:
    config = write_config(tmp_path, tmp_path)
    code, _, err = ours(capsys, *args, "-c", str(config), str(free_port()))
    assert code == 1
    assert err == f"F: {what} not yet supported by dicomwire's dcmqrscp\n"
    assert not list(tmp_path.glob("*.sqlite"))  # refused before the archive was opened


def test_a_tls_layer_that_cannot_be_made_stops_the_archive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ours(capsys, "+tls", "key.pem", "cert.pem")
    assert code == 10
    assert err.endswith("F: 000b:0004 Unable to load private TLS key from 'key.pem'\n")


# -- configuration ---------------------------------------------------------------------------------
def test_missing_configuration_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = ours(capsys, "-c", "missing.cfg")
    assert (code, out, err) == (10, "", "F: cannot access missing.cfg: No such file or directory\n")


BROKEN = "Bogus = 1\nAETable BEGIN\n"
BROKEN_LINES = [
    'CONFIG Error: Unknown mnemonic "Bogus" in configuration file, line 1!',
    'CONFIG Error: No "AETable END" in configuration file, line 2!',
    'CONFIG Error: Reading configuration file "bad.cfg" with errors!',
    "F: bad config file: bad.cfg",
]


def test_broken_configuration_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.cfg").write_text(BROKEN)
    code, _, err = ours(capsys, "-q", "-c", "bad.cfg")
    assert code == 10
    assert err.splitlines() == BROKEN_LINES


def test_dcmqrscp_cfg_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "dcmqrscp.cfg").write_text(BROKEN.replace("Bogus", "Other"))
    done = subprocess.run(OURS, capture_output=True, text=True, timeout=LIMIT, cwd=tmp_path)
    assert done.returncode == 10
    assert done.stderr.splitlines()[-1] == "F: bad config file: dcmqrscp.cfg"
    assert not (tmp_path / "archive").exists()


@pytest.mark.interop
@needs_dcmtk
def test_configuration_errors_equal_dcmtk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.cfg").write_text(BROKEN)
    for name in ("missing.cfg", "bad.cfg"):
        port = str(free_port())
        theirs = dcmtk("-c", name, port, cwd=tmp_path)
        assert ours(capsys, "-c", name, port) == (theirs.returncode, theirs.stdout, theirs.stderr)
        assert theirs.returncode == 10


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "No such file or directory"),
        (lambda p: p.write_text("x"), "Not a directory"),
    ],
)
def test_storage_area_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, reason: str
) -> None:
    area = tmp_path / "area"
    make(area)
    config = write_config(tmp_path, area)
    code, _, err = ours(capsys, "-c", str(config), str(free_port()))
    assert code == 10
    assert err == f"F: cannot use storage area {area} of AE title ACME: {reason}\n"


def test_configuration_without_ae_titles_is_served_rejecting_everyone(tmp_path: Path) -> None:
    """As dcmqrscp runs Debian's example file (empty AETable): no index on disk is needed."""
    (tmp_path / "empty.cfg").write_text("NetworkTCPPort = 11112\n")
    ns = tool.build_parser().parse_args(["-c", str(tmp_path / "empty.cfg")])
    configuration = running.load_configuration(ns)
    assert configuration.config.areas == {}
    archive = running._archive(configuration.config, ns, logging.getLogger("test"))
    assert archive.index_location == "sqlite://"


def test_index_url_on_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path, extra="IndexURL = postgresql://file@db/archive\n")
    locations = []
    for args in (["--index-url", "postgresql://command@db/archive"], [], ["--index-url", "here.sqlite"]):
        ns = tool.build_parser().parse_args(["-c", str(config), *args])
        configuration = running.load_configuration(ns)
        locations.append(running._archive(configuration.config, ns, logging.getLogger("test")).index_location)
    assert locations == [
        "postgresql+psycopg://command@db/archive",
        "postgresql+psycopg://file@db/archive",
        "sqlite:///here.sqlite",
    ]


def test_the_builtin_banner_shows_the_index_without_its_password(tmp_path: Path) -> None:
    options = ArchiveOptions(index_url="postgresql://pacs:s3cret@db:5432/archive")
    archive = Archive(default_config(str(tmp_path / "archive")), options)
    banner = running.builtin_banner(archive, 11112)
    assert "  index: postgresql+psycopg://pacs:***@db:5432/archive\n" in banner
    assert "s3cret" not in banner


def test_an_index_database_that_cannot_be_reached_stops_the_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 10 like every start-up failure, the URL shown without its password."""
    config = write_config(tmp_path, tmp_path, port=free_port())
    url = f"postgresql://pacs:s3cret@127.0.0.1:{free_port()}/archive"  # nothing listens there
    code, out, err = ours(capsys, "-v", "--index-url", url, "-c", str(config))
    shown = url.replace("postgresql:", "postgresql+psycopg:").replace("s3cret", "***")
    assert (code, out) == (10, "")
    assert err.startswith(f"I: index database: {shown}\nF: cannot open the index {shown}: connection failed")
    assert "s3cret" not in err


def test_listen_port() -> None:
    config = default_config()
    parse = tool.build_parser().parse_args
    assert running.listen_port(parse([]), config) == 11112
    assert running.listen_port(parse(["2000"]), config) == 2000
    assert running.listen_port(parse([]), dataclasses.replace(config, port=None)) == 104


# -- starting ------------------------------------------------------------------------------------
IN_USE = "F: cannot initialize network: 0006:031c TCP Initialization Error: Address already in use\n"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str], busy_port: int) -> None:
    config = write_config(tmp_path, tmp_path, port=busy_port)
    assert ours(capsys, "-c", str(config)) == (10, "", IN_USE)


def test_builtin_default_creates_its_area(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], busy_port: int
) -> None:
    assert ours(capsys, str(busy_port)) == (10, "", IN_USE)
    assert (tmp_path / "archive").is_dir()


@pytest.mark.interop
@needs_dcmtk
def test_port_in_use_equals_dcmtk(tmp_path: Path, capsys: pytest.CaptureFixture[str], busy_port: int) -> None:
    config = write_config(tmp_path, tmp_path, port=busy_port)
    theirs = dcmtk("-c", str(config))
    assert ours(capsys, "-c", str(config)) == (theirs.returncode, theirs.stdout, theirs.stderr)


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def test_builtin_default_runs_until_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*OURS, str(port)], cwd=tmp_path, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        seen = [lines.get(timeout=LIMIT) for _ in range(5)]
        assert seen[0].startswith("W: no configuration file (no -c, no ./dcmqrscp.cfg)")
        assert "AE title ARCHIVE" in seen[1] and "storage area ./archive" in seen[1]
        assert seen[2].startswith("W:   index: ")
        assert seen[3] == f"W:   send images: storescu -aec ARCHIVE localhost {port} file...\n"
        query = "findscu -S -aec ARCHIVE -k QueryRetrieveLevel=STUDY -k PatientName"
        assert seen[4] == f"W:   query: {query} localhost {port}\n"
        with socket.create_connection(("127.0.0.1", port), timeout=LIMIT):
            pass
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=LIMIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=LIMIT)
    assert (tmp_path / "archive").is_dir()


# -- privileges -------------------------------------------------------------------------------------
@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    made: list[tuple[str, object]] = []
    for name in ("setgid", "setuid", "setgroups"):
        monkeypatch.setattr(os, name, lambda value, name=name: made.append((name, value)))
    return made


def with_ids(user: str | None, group: str | None) -> ArchiveConfig:
    return dataclasses.replace(default_config(), user_name=user, group_name=group)


def test_no_user_no_group_changes_nothing(calls: list[tuple[str, object]]) -> None:
    running.drop_privileges(with_ids(None, None))
    assert calls == []


def test_drop_as_root(calls: list[tuple[str, object]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "getgid", lambda: 65534)
    running.drop_privileges(with_ids("nobody", grp.getgrgid(65534).gr_name))
    assert calls == [("setgid", 65534), ("setgroups", [65534]), ("setuid", 65534)]


def test_not_root_tries_as_dcmtk_does(
    calls: list[tuple[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    running.drop_privileges(with_ids("nobody", None))
    assert calls == [("setuid", 65534)]


@pytest.mark.parametrize(
    ("user", "group", "line"),
    [
        (None, "no-such-group-x", "F: bad group name no-such-group-x"),
        ("no-such-user-x", None, "F: bad user name no-such-user-x"),
    ],
)
def test_unknown_names(user: str | None, group: str | None, line: str) -> None:
    with pytest.raises(running.StartupError) as caught:
        running.drop_privileges(with_ids(user, group))
    assert (caught.value.lines, caught.value.exit_code) == ((line,), 10)


def _refuse(value: int) -> None:
    raise PermissionError(1, "Operation not permitted")


@pytest.mark.parametrize(
    ("user", "group", "call", "line"),
    [
        (None, "root", "setgid", "F: setgid: Unable to set group id to group 0"),
        ("root", None, "setuid", "F: setuid: Unable to set user id to user 0"),
    ],
)
def test_switch_refused(
    monkeypatch: pytest.MonkeyPatch, user: str | None, group: str | None, call: str, line: str
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, call, _refuse)
    with pytest.raises(running.StartupError) as caught:
        running.drop_privileges(with_ids(user, group))
    assert (caught.value.lines, caught.value.exit_code) == ((line,), 10)


def test_privileged_port_message() -> None:
    failure = running.listen_failure(PermissionError(13, "Permission denied"), 500)
    assert failure.lines == ("F: cannot listen on port 500, insufficient privileges",)
    assert failure.exit_code == 10
