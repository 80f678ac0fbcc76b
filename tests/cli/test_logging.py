"""DCMTK-style logging of dicomwire.dcmtk.log: levels, "X: " lines, -lc files."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.log import (
    DEBUG,
    ERROR,
    FATAL,
    INFO,
    TRACE,
    WARN,
    LogConfigError,
    PatternFormatter,
    setup_logging,
)

ECHOSCU = shutil.which("echoscu")


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    cli_logging.shutdown_logging()
    yield
    cli_logging.shutdown_logging()


def ns(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**values)


def log_every_level(log: logging.Logger) -> None:
    log.critical("fatal one")
    log.error("error one")
    log.warning("warn one")
    log.info("info one")
    log.debug("debug one")
    log.log(TRACE, "trace one")


def record(message: str, level: int = INFO, name: str = "dicomwire.apps.echoscu") -> logging.LogRecord:
    return logging.LogRecord(name, level, "/src/x/mod.py", 42, message, None, None, func="fn")


# -- levels and the default console ----------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "letters"),
    [
        ({}, "FEW"),
        ({"verbosity": "fatal"}, "F"),
        ({"verbosity": "info"}, "FEWI"),
        ({"verbosity": "debug"}, "FEWID"),
        ({"log_level": "trace"}, "FEWIDT"),
        ({"log_level": "ERROR"}, "FE"),
        ({"log_level": "warn"}, "FEW"),
        ({"log_level": "off"}, ""),
        ({"log_level": "all"}, "FEWIDT"),
    ],
)
def test_levels_and_letters(capsys: pytest.CaptureFixture[str], choice: dict[str, str], letters: str) -> None:
    log = setup_logging(ns(**choice), "echoscu")
    assert log.name == "dicomwire.apps.echoscu"
    log_every_level(log)
    out, err = capsys.readouterr()
    assert out == ""
    names = {"F": "fatal", "E": "error", "W": "warn", "I": "info", "D": "debug", "T": "trace"}
    assert err == "".join(f"{letter}: {names[letter]} one\n" for letter in letters)


def test_level_numbers() -> None:
    assert TRACE < DEBUG < INFO < WARN < ERROR < FATAL < cli_logging.OFF
    assert FATAL == logging.CRITICAL
    assert cli_logging.level_from_namespace(ns()) == WARN
    with pytest.raises(LogConfigError, match="Invalid log level for --log-level option"):
        cli_logging.level_from_namespace(ns(log_level="loud"))


def test_multi_line_messages_prefix_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    log = setup_logging(ns(verbosity="debug"), "t")
    log.debug("Request Parameters:\n=== BEGIN ===\n\nend")
    log.info("trailing newline\n")
    assert capsys.readouterr().err == (
        "D: Request Parameters:\nD: === BEGIN ===\nD: \nD: end\nI: trailing newline\nI: \n"
    )


def test_library_loggers_share_the_setup(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(ns(verbosity="info"), "t")
    logging.getLogger("dicomwire.net.association").info("from the library")
    logging.getLogger("somebody.else").error("not ours")
    assert capsys.readouterr().err == "I: from the library\n"


def test_setup_is_idempotent_and_replaceable(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger("dicomwire")
    for _ in range(3):
        setup_logging(ns(verbosity="info"), "t")
    handlers = list(root.handlers)
    assert len(handlers) == 2  # console + a sink that keeps logging.lastResort quiet
    setup_logging(ns(verbosity="info"), "t")
    assert root.handlers == handlers
    setup_logging(ns(verbosity="fatal"), "t")
    assert len(root.handlers) == 2
    assert root.level == FATAL
    cli_logging.app_logger("t").error("hidden")
    assert capsys.readouterr().err == ""
    cli_logging.shutdown_logging()
    assert root.handlers == []
    assert root.level == logging.NOTSET
    assert root.propagate is True


def test_disabled_levels_cost_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    class Expensive:
        calls = 0

        def __str__(self) -> str:
            Expensive.calls += 1
            return "expensive"

    log = setup_logging(ns(), "t")
    log.debug("%s", Expensive())
    log.info("%s", Expensive())
    assert Expensive.calls == 0
    assert not log.isEnabledFor(INFO)
    log.warning("%s", Expensive())
    assert Expensive.calls == 1
    assert capsys.readouterr().err == "W: expensive\n"


def test_log_always_bypasses_the_level(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(ns(log_level="off"), "t")
    cli_logging.app_logger("t").critical("hidden")
    cli_logging.log_always("calling 't' with 0 arguments: \n")
    assert capsys.readouterr().err == "I: calling 't' with 0 arguments: \nI: \n"


def test_parser_configures_logging(capsys: pytest.CaptureFixture[str]) -> None:
    parser = options.DcmtkParser("demo", "a demo", no_arguments="run")
    options.add_general_options(parser)
    parser.parse_args(["-d"])
    log = cli_logging.app_logger("demo")
    log.debug("visible")
    log.log(TRACE, "not visible")
    assert capsys.readouterr().err == "D: visible\n"


# -- PatternLayout ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("%P: %m%n", "hello", "I: hello\n"),
        ("%p|%-5p|%5p|%-3P|%5P", "x", "INFO|INFO | INFO|I  |    I"),
        (
            "%.3m|%10.3m|%.5m|%10m|%-10m|",
            "Requesting Association",
            "ion|ion|ation|Requesting Association|Requesting Association|",
        ),
        ("[%10.3m][%-4m]", "", "[          ][    ]"),
        ("%c|%c{1}|%c{2}", "x", "dicomwire.apps.echoscu|echoscu|apps.echoscu"),
        ("%F|%b|%L|%l|%M", "x", "/src/x/mod.py|mod.py|42|/src/x/mod.py:42|fn"),
        ("100%% %Z %E{HOME} %q", "x", "100% %Z %E{HOME} %q"),
        ("%x|%X{key}|", "x", "||"),
    ],
)
def test_pattern_conversions(pattern: str, message: str, expected: str) -> None:
    assert PatternFormatter(pattern).format(record(message)) == expected


def test_pattern_dates_and_ids() -> None:
    rec = record("x")
    rec.created = time.mktime((2024, 3, 5, 14, 7, 9, 0, 0, -1)) + 0.25
    rec.msecs = 250.0
    text = PatternFormatter("%D{%Y-%m-%d %H:%M:%S.%q}|%D|%d{%Y}|%i|%t|%r|%h").format(rec)
    local, default, year, pid, thread, relative, host = text.split("|")
    assert local == "2024-03-05 14:07:09.250"
    assert default == "2024-03-05 14:07:09"
    assert year == time.strftime("%Y", time.gmtime(rec.created))
    assert pid == str(os.getpid())
    assert thread == str(rec.thread)
    assert relative.isdigit()
    assert host


def test_pattern_repeats_per_line_but_simple_layout_does_not() -> None:
    rec = record("one\ntwo", level=WARN)
    assert PatternFormatter("<%p|%m>%n").format(rec) == "<WARN|one>\n<WARN|two>\n"
    assert PatternFormatter("%p - %m%n", per_line=False).format(rec) == "WARN - one\ntwo\n"


# -- -lc configuration files --------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "logger.cfg"
    path.write_text(text)
    return str(path)


def test_config_console_file_and_rolling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(
        tmp_path,
        """
# comment
log4cplus.rootLogger = DEBUG, console, logfile, roll
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.Threshold = INFO
log4cplus.appender.console.logToStdErr = true
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %5p: %m%n
log4cplus.appender.logfile = log4cplus::FileAppender
log4cplus.appender.logfile.File = ${appname}.log
log4cplus.appender.logfile.Append = true
log4cplus.appender.logfile.layout = log4cplus::PatternLayout
log4cplus.appender.logfile.layout.ConversionPattern = %D{%Y-%m-%d %H:%M:%S.%q} %-5p %c: %m%n
log4cplus.appender.roll = log4cplus::RollingFileAppender
log4cplus.appender.roll.File = roll.log
log4cplus.appender.roll.MaxFileSize = 1KB
log4cplus.appender.roll.MaxBackupIndex = 2
log4cplus.appender.roll.layout = log4cplus::PatternLayout
log4cplus.appender.roll.layout.ConversionPattern = %m%n
""",
    )
    log = setup_logging(ns(log_config=config), "echoscu")
    log.debug("only in files")
    log.warning("everywhere\nsecond line")
    out, err = capsys.readouterr()
    assert (out, err) == ("", " WARN: everywhere\n WARN: second line\n")
    lines = (tmp_path / "echoscu.log").read_text().splitlines()
    assert len(lines) == 3
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
    assert re.fullmatch(stamp + r" DEBUG dicomwire\.apps\.echoscu: only in files", lines[0])
    assert lines[2].endswith("WARN  dicomwire.apps.echoscu: second line")

    # log4cplus never rolls below 200 KB, whatever MaxFileSize says
    line = "x" * 1023
    for _ in range(150):
        log.info(line)
    assert not (tmp_path / "roll.log.1").exists()
    for _ in range(300):
        log.info(line)
    assert (tmp_path / "roll.log.1").stat().st_size > 200 * 1024
    assert (tmp_path / "roll.log.2").exists()
    assert not (tmp_path / "roll.log.3").exists()
    assert (tmp_path / "roll.log").stat().st_size <= 200 * 1024 + 1024
    cli_logging.shutdown_logging()

    # Append=true keeps the file; the default (false) truncates it
    setup_logging(ns(log_config=config), "echoscu").warning("again")
    cli_logging.shutdown_logging()
    assert len((tmp_path / "echoscu.log").read_text().splitlines()) > 3
    Path(config).write_text(
        "log4cplus.rootLogger = INFO, f\n"
        "log4cplus.appender.f = log4cplus::FileAppender\n"
        "log4cplus.appender.f.File = echoscu.log\n"
    )
    setup_logging(ns(log_config=config), "echoscu").warning("fresh")
    cli_logging.shutdown_logging()
    assert (tmp_path / "echoscu.log").read_text() == "WARN - fresh\n"


def test_console_appender_defaults_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # DCMTK's sample logger.cfg spells it "logToStderr": log4cplus ignores that
    config = write_config(
        tmp_path,
        "log4cplus.rootLogger = INFO, c\n"
        "log4cplus.appender.c = log4cplus::ConsoleAppender\n"
        "log4cplus.appender.c.logToStderr = true\n",
    )
    setup_logging(ns(log_config=config), "t").info("hello\nworld")
    assert capsys.readouterr() == ("INFO - hello\nworld\n", "")


def test_config_loggers_additivity_filters_and_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DW_TEST_PREFIX", "env")
    config = write_config(
        tmp_path,
        """
prefix = ${DW_TEST_PREFIX}-${appname}
log4cplus.rootLogger = WARN, out
log4cplus.logger.dcmtk.dcmnet = DEBUG, quiet
log4cplus.additivity.dcmtk.dcmnet = false
log4cplus.logger.dcmtk.apps.tool.progress = INFO
log4cplus.appender.out = log4cplus::ConsoleAppender
log4cplus.appender.out.logToStdErr = true
log4cplus.appender.out.layout = log4cplus::PatternLayout
log4cplus.appender.out.layout.ConversionPattern = ${prefix} ${missing} %c %p %m%n
log4cplus.appender.quiet = log4cplus::ConsoleAppender
log4cplus.appender.quiet.layout = log4cplus::PatternLayout
log4cplus.appender.quiet.layout.ConversionPattern = NET %p %m%n
log4cplus.appender.quiet.filters.1 = log4cplus::spi::LogLevelRangeFilter
log4cplus.appender.quiet.filters.1.logLevelMin = info
log4cplus.appender.quiet.filters.1.logLevelMax = error
log4cplus.appender.quiet.filters.1.acceptOnMatch = true
log4cplus.appender.quiet.filters.2 = log4cplus::spi::DenyAllFilter
""",
    )
    log = setup_logging(ns(log_config=config), "tool")
    log.info("hidden: root is WARN")
    log.warning("shown")
    logging.getLogger("dicomwire.apps.tool.progress").info("progress")
    net = logging.getLogger("dicomwire.dcmnet")
    net.debug("denied by the range filter")
    net.info("net info")
    net.critical("denied: above the range")
    out, err = capsys.readouterr()
    assert err == (
        "env-tool ${missing} dicomwire.apps.tool WARN shown\n"
        "env-tool ${missing} dicomwire.apps.tool.progress INFO progress\n"
    )
    assert out == "NET INFO net info\n"


def test_simple_and_ttcc_layouts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path,
        "log4cplus.rootLogger = INFO, s, t, n\n"
        "log4cplus.appender.s = log4cplus::ConsoleAppender\n"
        "log4cplus.appender.s.layout = log4cplus::SimpleLayout\n"
        "log4cplus.appender.t = log4cplus::ConsoleAppender\n"
        "log4cplus.appender.t.logToStdErr = true\n"
        "log4cplus.appender.t.layout = log4cplus::TTCCLayout\n"
        "log4cplus.appender.n = log4cplus::NullAppender\n",
    )
    setup_logging(ns(log_config=config), "t").error("boom")
    out, err = capsys.readouterr()
    assert out == "ERROR - boom\n"
    assert re.fullmatch(r"\d+ \[\d+\] ERROR dicomwire\.apps\.t <> - boom\n", err)


def test_daily_rolling_file(tmp_path: Path) -> None:
    path = tmp_path / "daily.log"
    handler = cli_logging.DailyRollingFileHandler(str(path), "MINUTELY")
    handler.setFormatter(PatternFormatter("%m%n"))
    first = record("first")
    handler.handle(first)
    old_period = handler.period
    later = record("later")
    later.created = time.time() + 120
    handler.handle(later)
    handler.close()
    assert (tmp_path / f"daily.log.{old_period}").read_text() == "first\n"
    assert path.read_text() == "later\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "# nothing but a comment\nnot a setting\n",
            "Specified --log-config file does not contain any settings",
        ),
        (
            "log4cplus.rootLogger = INFO, a\nlog4cplus.appender.a = log4cplus::BogusAppender\n",
            "line 2: unknown appender class 'log4cplus::BogusAppender'",
        ),
        ("log4cplus.rootLogger = INFO, a\n", "line 1: appender 'a' is not defined"),
        ("log4cplus.rootLogger = LOUD\n", "line 1: invalid log level 'LOUD'"),
        (
            "log4cplus.rootLogger = INFO, a\nlog4cplus.appender.a = log4cplus::ConsoleAppender\n"
            "log4cplus.appender.a.layout = log4cplus::XMLLayout\n",
            "line 3: unknown layout class 'log4cplus::XMLLayout'",
        ),
        (
            "log4cplus.rootLogger = INFO, a\nlog4cplus.appender.a = log4cplus::FileAppender\n"
            "log4cplus.appender.a.File = /nonexistent/dir/x.log\n",
            "line 3: cannot open log file '/nonexistent/dir/x.log': No such file or directory",
        ),
    ],
)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    config = write_config(tmp_path, text)
    with pytest.raises(LogConfigError) as info:
        setup_logging(ns(log_config=config), "t")
    assert str(info.value).endswith(message)
    assert config in str(info.value) or "Specified" in str(info.value)
    assert logging.getLogger("dicomwire").handlers == []


def test_config_errors_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = options.DcmtkParser("demo", "a demo", no_arguments="run")
    options.add_general_options(parser)
    config = write_config(tmp_path, "log4cplus.rootLogger = INFO, x\n")
    with pytest.raises(options.CommandLineExit) as info:
        parser.parse_args(["-lc", config])
    assert info.value.exit_code == 1
    expected = f"error: --log-config file '{config}', line 1: appender 'x' is not defined\n"
    assert capsys.readouterr().err.endswith(expected)
    with pytest.raises(options.CommandLineExit):
        parser.parse_args(["-lc", str(tmp_path)])
    assert capsys.readouterr().err.endswith("error: Specified --log-config file does not exist\n")


# -- against the real DCMTK ---------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.skipif(ECHOSCU is None, reason="DCMTK echoscu not installed")
def test_arguments_through_a_pattern_layout_match_dcmtk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path,
        "log4cplus.rootLogger = WARN, c\n"
        "log4cplus.appender.c = log4cplus::ConsoleAppender\n"
        "log4cplus.appender.c.logToStdErr = true\n"
        "log4cplus.appender.c.layout = log4cplus::PatternLayout\n"
        "log4cplus.appender.c.layout.ConversionPattern = [%-6p|%P|%3P|%.4m]%n\n",
    )
    argv = ["--arguments", "-lc", config, "-pdu", "1", "localhost", "1"]
    theirs = subprocess.run(
        ["echoscu", *argv],
        executable=ECHOSCU,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    parser = options.DcmtkParser("echoscu", "DICOM verification (C-ECHO) SCU")
    parser.add_param("peer", "hostname of DICOM peer")
    parser.add_param("port", "tcp/ip port number of peer", type=options.PORT)
    options.add_general_options(parser)
    options.add_max_pdu_option(parser)
    with pytest.raises(options.CommandLineExit) as info:
        parser.parse_args(argv)
    assert info.value.exit_code == theirs.returncode == 1
    ours = capsys.readouterr().err.splitlines()
    assert ours[:2] == theirs.stderr.splitlines()[:2] == ["[INFO  |I|  I|'1' ]", "[INFO  |I|  I|]"]
    assert ours[-1] == theirs.stderr.splitlines()[-1]


def test_a_log_file_keeps_bytes_of_another_character_set(tmp_path: Path) -> None:
    from dicomwire.dcmtk.log.layout import FileHandler

    handler = FileHandler(str(tmp_path / "out.log"), append=False)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "M\udcfcller", None, None)  # Latin-1 ü kept
    handler.emit(record)
    handler.close()
    assert b"M\xfcller" in (tmp_path / "out.log").read_bytes()
