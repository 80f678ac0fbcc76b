"""TLS against DCMTK 3.6.7 in both directions: our tools and DCMTK's, the same certificates.

Where DCMTK has the same situation, ours must end the same way: the exit code, and the F:/E:/W:
lines a script reads (DCMTK's E: line with OpenSSL's packed error code is the one thing not
reproduced: ours names the cause in words).  The certificates come from ``tls_certs.make_pki``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pydicom
import pytest

import ports
from ports import free_port
from tls_certs import PKI_PASSWORD, Pki, make_pki

DCMTK: Final = Path("/usr/bin")
BIN: Final = Path(sys.executable).parent
ENV: Final = {**os.environ, "TCP_NODELAY": "1"}
LIMIT: Final = 60

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (DCMTK / "storescp").exists(), reason="DCMTK is not installed"),
]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def lines(self, *prefixes: str) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith(prefixes)]


def run(argv: Sequence[object], *, stdin: str | None = None, cwd: Path | None = None) -> Run:
    done = subprocess.run(
        [str(a) for a in argv],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=ENV,
        cwd=cwd,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def ours(tool: str) -> str:
    return str(BIN / tool)


def theirs(tool: str) -> str:
    return str(DCMTK / tool)


def serving(argv: Sequence[object], port: int) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    return ports.serving(argv, port, env=ENV)


def server_log(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    return process.stderr.read()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def server_keys(pki: Pki) -> list[object]:
    return ["+tls", pki.server_key, pki.server_cert, "+cf", pki.ca_cert]


def client_keys(pki: Pki) -> list[object]:
    return ["+tls", pki.client_key, pki.client_cert, "+cf", pki.ca_cert]


def images(directory: Path) -> Path:
    """A few small instances from pydicom's test data, in a directory of their own."""
    directory.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm"):
        source = pydicom.data.get_testdata_file(name)
        assert isinstance(source, str)
        shutil.copy(source, directory / name)
    return directory


# -- echo and store, both directions ----------------------------------------------------------------


def test_our_tools_into_dcmtk_over_tls(pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    with serving([theirs("storescp"), *server_keys(pki), "-od", out, port], port):
        assert run([ours("echoscu"), *client_keys(pki), "127.0.0.1", port]).code == 0
        sent = run([ours("storescu"), *client_keys(pki), "+sd", "127.0.0.1", port, images(tmp_path / "in")])
        assert sent.code == 0, sent.err
    assert len(list(out.iterdir())) == 3


def test_dcmtk_tools_into_our_dcmrecv_over_tls(pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    with serving([ours("dcmrecv"), "+xa", *server_keys(pki), "-od", out, port], port):
        assert run([theirs("echoscu"), *client_keys(pki), "127.0.0.1", port]).code == 0
        sent = run([theirs("storescu"), *client_keys(pki), "+sd", "127.0.0.1", port, images(tmp_path / "in")])
        assert sent.code == 0, sent.err
    assert len(list(out.iterdir())) == 3


ARCHIVE_CONFIG: Final = """\
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
movescu         = (MOVESCU, localhost, {move_port})
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
ARCHIVE         {area}          RW  (100, 100mb)    ANY
AETable END
"""


def test_an_archive_that_requires_tls(pki: Pki, tmp_path: Path) -> None:
    """DCMTK's storescu and findscu, then our getscu and movescu, all over TLS to our dcmqrscp;
    the C-MOVE's own association to movescu is TLS too."""
    area, got, moved = tmp_path / "area", tmp_path / "got", tmp_path / "moved"
    for directory in (area, got, moved):
        directory.mkdir()
    port, move_port = free_port(), free_port()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(ARCHIVE_CONFIG.format(move_port=move_port, area=area))
    source = images(tmp_path / "in")
    study = str(pydicom.dcmread(source / "CT_small.dcm").StudyInstanceUID)
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"]
    archive = [ours("dcmqrscp"), "-c", config, *server_keys(pki), port]
    with serving(archive, port) as server:
        plain = run([theirs("echoscu"), "-aec", "ARCHIVE", "127.0.0.1", port])
        assert plain.code == 1  # plain TCP gets nowhere
        stored = run(
            [theirs("storescu"), *client_keys(pki), "-aec", "ARCHIVE", "+sd", "127.0.0.1", port, source]
        )
        assert stored.code == 0, stored.err
        found = run([theirs("findscu"), *client_keys(pki), "-S", "-aec", "ARCHIVE", *keys, "127.0.0.1", port])
        assert found.code == 0 and study in found.err, found.err
        fetched = run(
            [ours("getscu"), *client_keys(pki), "-S", "-aec", "ARCHIVE", "-od", got, *keys, "127.0.0.1", port]
        )
        assert fetched.code == 0, fetched.err
        # movescu's incoming associations use its own key and certificate (the archive verifies them)
        mover = ["+tls", pki.server_key, pki.server_cert, "+cf", pki.ca_cert]
        move = [ours("movescu"), *mover, "-S", "-aec", "ARCHIVE", "-aem", "MOVESCU", "+P", move_port]
        moved_run = run([*move, "-od", moved, *keys, "127.0.0.1", port])
        assert moved_run.code == 0, moved_run.err
    assert len(list(got.iterdir())) == len(list(moved.iterdir())) == 1
    assert "Receiving Association failed: 000b:090b TLS error: wrong version number" in server_log(server)


# -- profiles and anonymous TLS: ours ends as DCMTK's does ----------------------------------------------

PAIRS: Final = [
    ("+py", "+py"),
    ("+px", "+pa"),
    ("+pz", "+py"),
    ("+pa", "+pa"),
    ("+pn", "+pn"),
    ("+py", "+pa"),  # no suite in common
]


@pytest.mark.parametrize(("server_profile", "client_profile"), PAIRS, ids=" vs ".join)
def test_profiles_end_as_with_dcmtk(pki: Pki, server_profile: str, client_profile: str) -> None:
    client = [client_profile, *client_keys(pki), "127.0.0.1"]
    port = free_port()
    with serving([theirs("storescp"), server_profile, *server_keys(pki), port], port):
        expected = run([theirs("echoscu"), *client, port]).code
        assert run([ours("echoscu"), *client, port]).code == expected
    port = free_port()
    with serving([ours("dcmrecv"), server_profile, *server_keys(pki), port], port):
        assert run([theirs("echoscu"), *client, port]).code == expected


@pytest.mark.parametrize("verification", ["-rc", "-vc", "-ic"])
def test_anonymous_clients_end_as_with_dcmtk(pki: Pki, verification: str) -> None:
    client = ["+tla", "+cf", pki.ca_cert, "127.0.0.1"]
    port = free_port()
    with serving([theirs("storescp"), verification, *server_keys(pki), port], port):
        expected = run([theirs("echoscu"), *client, port]).code
        assert run([ours("echoscu"), *client, port]).code == expected
    assert expected == (1 if verification == "-rc" else 0)
    port = free_port()
    with serving([ours("dcmrecv"), verification, *server_keys(pki), port], port) as server:
        assert run([theirs("echoscu"), *client, port]).code == expected
    if verification == "-rc":
        assert "Could not receive association request: TLS error: peer did not return a certificate" in (
            server_log(server)
        )


# -- what goes wrong: the same lines as DCMTK's ---------------------------------------------------


def certificate_case(pki: Pki, name: str) -> tuple[list[object], list[object]]:
    """(server options, client options) for a named failure."""
    good_server, good_client = server_keys(pki), client_keys(pki)
    cases: dict[str, tuple[list[object], list[object]]] = {
        "client trusts nothing": (good_server, ["+tls", pki.client_key, pki.client_cert]),
        "expired server": (["+tls", pki.expired_key, pki.expired_cert, "+cf", pki.ca_cert], good_client),
        "rogue server": (["+tls", pki.rogue_key, pki.rogue_cert, "+cf", pki.ca_cert], good_client),
        "other host (not checked)": (["+tls", pki.other_host_key, pki.other_host_cert], good_client),
        "client ignores": (["+tls", pki.rogue_key, pki.rogue_cert], ["-ic", *good_client]),
        "plain client": (good_server, []),
        "plain server": ([], good_client),
    }
    return cases[name]


CASES: Final = [
    "client trusts nothing",
    "expired server",
    "rogue server",
    "other host (not checked)",
    "client ignores",
    "plain client",
    "plain server",
]


@pytest.mark.parametrize("case", CASES)
def test_handshake_failures_read_as_dcmtk(pki: Pki, case: str) -> None:
    server_options, client_options = certificate_case(pki, case)
    if server_options:  # not the client's certificate under test: TLS 1.3 reports that late, racily
        server_options = ["-ic", *server_options]
    port = free_port()
    with serving([theirs("storescp"), *server_options, port], port):
        expected = run([theirs("echoscu"), *client_options, "127.0.0.1", port])
        got = run([ours("echoscu"), *client_options, "127.0.0.1", port])
    assert (got.code, got.lines("F:")) == (expected.code, expected.lines("F:"))
    # the same failure as findscu sees it: E: and exit 2 (1 when nothing failed)
    if expected.code:
        port = free_port()
        with serving([theirs("storescp"), *server_options, port], port):
            found = run([ours("findscu"), *client_options, "-k", "PatientName", "127.0.0.1", port])
        assert found.code == 2
        assert found.lines("E: Association Request Failed") == [
            line.replace("F:", "E:", 1) for line in expected.lines("F:")
        ]


@pytest.mark.parametrize(
    ("case", "reason"),
    [("client trusts nothing", "tlsv1 alert unknown ca"), ("plain client", "wrong version number")],
)
def test_our_dcmrecv_logs_a_failed_handshake_as_dcmtk(pki: Pki, case: str, reason: str) -> None:
    server_options, client_options = certificate_case(pki, case)
    line = f"E: Could not receive association request: TLS error: {reason}"
    for dcmrecv in (theirs("dcmrecv"), ours("dcmrecv")):
        port = free_port()
        with serving([dcmrecv, *server_options, port], port) as server:
            assert run([theirs("echoscu"), *client_options, "127.0.0.1", port]).code == 1
        # (the readiness probe, a plain connection closed at once, adds a line of its own)
        assert line in server_log(server).splitlines(), dcmrecv


# -- setting the TLS layer up: the same exit codes and lines ----------------------------------------


def setup_cases(pki: Pki, tmp_path: Path) -> dict[str, list[object]]:
    missing = tmp_path / "missing.pem"
    return {
        "missing key": ["+tls", missing, pki.client_cert],
        "missing certificate": ["+tls", pki.client_key, missing],
        "key and certificate apart": ["+tls", pki.client_key, pki.server_cert],
        "wrong password": ["+tls", pki.server_key_encrypted, pki.server_cert, "+pw", "wrong"],
        "empty password": ["+tls", pki.server_key_encrypted, pki.server_cert, "-pw"],
        "right password": ["+tls", pki.server_key_encrypted, pki.server_cert, "+pw", PKI_PASSWORD],
        "DER files": ["-der", "+tls", pki.server_key_der, pki.server_cert_der],
        "PEM key read as DER": ["-der", "+tls", pki.client_key, pki.client_cert],
        "unknown suite": ["+tls", pki.client_key, pki.client_cert, "+cs", "FOO"],
        "NULL suite on BCP 195": ["+tls", pki.client_key, pki.client_cert, "+cs", "TLS_RSA_WITH_NULL_SHA"],
        "extra suites warn": [
            "+tls", pki.client_key, pki.client_cert,
            "+cs", "TLS_RSA_WITH_AES_256_GCM_SHA384", "+cs", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ],
        "missing trusted file": ["+tla", "+cf", missing],
        "missing DH parameters": ["+tls", pki.server_key, pki.server_cert, "+dp", missing],
    }  # fmt: skip


@pytest.mark.parametrize("tool", ["echoscu", "storescu", "findscu", "dcmrecv"])
def test_setup_failures_end_as_in_dcmtk(pki: Pki, tmp_path: Path, tool: str) -> None:
    closed = free_port()  # nothing listens: a setup that works ends in "connection refused"
    ct = pydicom.data.get_testdata_file("CT_small.dcm")
    assert isinstance(ct, str)
    tail: dict[str, list[object]] = {"findscu": ["-k", "PatientName"], "storescu": [ct]}
    for name, options in setup_cases(pki, tmp_path).items():
        if tool == "dcmrecv" and options[0] == "+tla":
            continue  # an acceptor has no anonymous TLS
        if tool != "dcmrecv" and "+dp" in options:
            continue  # +dp is an acceptor's option
        if tool == "dcmrecv":
            argv = [*options, closed]
        else:
            argv = [*options, "127.0.0.1", closed, *tail.get(tool, [])]
        if tool == "dcmrecv" and name in (
            "right password",
            "DER files",
            "extra suites warn",
            "missing DH parameters",
        ):
            continue  # these set up fine: the server would run
        expected, got = run([theirs(tool), *argv]), run([ours(tool), *argv])
        assert got.code == expected.code, (name, got.err, expected.err)
        assert got.lines("F:", "W:") == expected.lines("F:", "W:"), name


def test_the_cipher_list_is_dcmtks(pki: Pki) -> None:
    for tool in ("echoscu", "dcmrecv"):
        expected, got = run([theirs(tool), "+cc"]), run([ours(tool), "+cc"])
        assert got.code == expected.code == 0
        marker = "Supported TLS ciphersuites are:"
        assert got.out.split(marker)[1] == expected.out.split(marker)[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["+tla", "+cf", "{ca}", "+vc", "{client}"],
        ["+tla", "+cf", "{ca}", "+vc", "{expired}"],
        ["+tla", "+cf", "{ca}", "+vc", "{rogue}"],
        ["+tla", "+cf", "{ca}", "+vc", "{ca}"],
        ["+tla", "+vc", "{client}"],
        ["+tla", "+cf", "{ca}", "+crl", "{crl}", "+vc", "{revoked}"],
        ["+tla", "+cf", "{ca}", "+crv", "{client}"],
        ["+tla", "+cd", "{ca_dir}", "+vc", "{client}"],
        ["+tla", "+cf", "{ca}", "+vc", "{missing}"],
        ["+tla", "+cf", "{ca}", "+vc", "{key}"],
        ["+rc", "{ca}"],
        ["+rc", "{rogue}"],
        ["+rc", "{client}"],
        ["+rc", "{missing}"],
    ],
    ids=" ".join,
)
def test_offline_certificate_checks_equal_dcmtk(pki: Pki, tmp_path: Path, argv: list[str]) -> None:
    names = {
        "ca": pki.ca_cert,
        "client": pki.client_cert,
        "expired": pki.expired_cert,
        "rogue": pki.rogue_cert,
        "crl": pki.crl,
        "revoked": pki.revoked_cert,
        "ca_dir": pki.ca_dir,
        "missing": tmp_path / "missing.pem",
        "key": pki.client_key,
    }
    filled = [arg.format(**names) for arg in argv]
    if "+crv" in filled:
        filled.insert(filled.index("+crv") + 1, "+vc")
    expected, got = run([theirs("echoscu"), *filled]), run([ours("echoscu"), *filled])
    assert (got.code, got.out, got.lines("E:")) == (expected.code, expected.out, expected.lines("E:"))


def test_a_password_asked_on_stdin(pki: Pki) -> None:
    closed = free_port()
    argv = ["+tls", pki.server_key_encrypted, pki.server_cert, "127.0.0.1", closed]
    for answer in (f"{PKI_PASSWORD}\n", "wrong\n"):
        expected, got = (
            run([theirs("echoscu"), *argv], stdin=answer),
            run([ours("echoscu"), *argv], stdin=answer),
        )
        assert (got.code, got.lines("F:")) == (expected.code, expected.lines("F:"))
        assert got.err.startswith("Enter PEM pass phrase:\n")
