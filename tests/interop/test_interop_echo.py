"""echoscu interop with DCMTK 3.6.7, both directions."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from echo_helpers import DCMTK_ENV, OUR_ECHOSCU, dcmtk, our_scp, run_async, run_command

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(dcmtk("storescp") is None, reason="DCMTK is not installed"),
]

SCENARIOS = [
    [],
    ["--repeat", "10"],
    ["--abort"],
    ["-pts", "5"],
    ["-ppc", "3"],
    ["-pdu", "4096"],
]


def _wait_port(proc: subprocess.Popen[bytes], port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "DCMTK server exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a foreign process's port: no event to wait on
    raise AssertionError(f"DCMTK server not listening on {port}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["storescp", "dcmrecv"])
def dcmtk_scp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    argv = [str(dcmtk(request.param)), str(port)]
    if request.param == "storescp":
        argv[1:1] = ["-od", str(tmp_path)]
    proc = subprocess.Popen(argv, env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("options", SCENARIOS, ids=lambda o: " ".join(o) or "default")
def test_our_echoscu_against_dcmtk(dcmtk_scp: int, options: list[str]) -> None:
    result = subprocess.run(
        [OUR_ECHOSCU, "-v", *options, "127.0.0.1", str(dcmtk_scp)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    repeat = int(options[1]) if options[:1] == ["--repeat"] else 1
    assert result.stderr.count("Received Echo Response (Success)") == repeat


@pytest.mark.parametrize("options", SCENARIOS, ids=lambda o: " ".join(o) or "default")
def test_dcmtk_echoscu_against_our_scp(options: list[str]) -> None:
    async def body() -> None:
        async with our_scp() as server:
            result = await run_command(
                [str(dcmtk("echoscu")), "-v", *options, "127.0.0.1", str(server.port)], env=DCMTK_ENV
            )
        assert result.code == 0, result.stderr
        repeat = int(options[1]) if options[:1] == ["--repeat"] else 1
        assert result.stderr.count("I: Received Echo Response (Success)") == repeat
        if "--abort" not in options:
            assert "Releasing Association" in result.stderr

    run_async(body)


def test_dcmtk_echoscu_sees_our_rejection_like_its_own() -> None:
    from dicomwire.ul.pdu import AAssociateRJ

    async def body() -> None:
        async with our_scp(check=lambda rq, peer: AAssociateRJ(1, 1, 3)) as server:
            result = await run_command([str(dcmtk("echoscu")), "127.0.0.1", str(server.port)], env=DCMTK_ENV)
        assert result.code == 1
        assert "Reason: Calling AE Title Not Recognized" in result.stderr

    run_async(body)


def test_both_echoscus_print_the_same_verbose_lines() -> None:
    async def body() -> None:
        async with our_scp() as server:
            ours = await run_command([OUR_ECHOSCU, "-v", "--repeat", "2", "127.0.0.1", str(server.port)])
            theirs = await run_command(
                [str(dcmtk("echoscu")), "-v", "--repeat", "2", "127.0.0.1", str(server.port)], env=DCMTK_ENV
            )
        assert ours.stderr.splitlines() == theirs.stderr.splitlines()

    run_async(body)
