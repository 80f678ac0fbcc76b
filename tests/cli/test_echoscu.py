"""Our echoscu as a user runs it: exit codes and log lines for every outcome."""

from __future__ import annotations

import asyncio

from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CEchoRQ, CEchoRSP
from dicomwire.net.association import Association
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ
from echo_helpers import OUR_ECHOSCU, Result, our_scp, run_async, run_command


async def echoscu(*args: object) -> Result:
    return await run_command([OUR_ECHOSCU, *map(str, args)])


def test_repeat_sends_that_many_echoes_in_one_association() -> None:
    async def body() -> None:
        async with our_scp() as server:
            result = await echoscu("-v", "--repeat", 10, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        assert result.stderr.count("I: Received Echo Response (Success)") == 10
        assert "I: Sending Echo Request (MsgID 10)" in result.stderr
        assert result.stderr.count("I: Requesting Association") == 1
        assert "I: Releasing Association" in result.stderr

    run_async(body)


def test_abort_instead_of_release() -> None:
    async def body() -> None:
        async with our_scp() as server:
            result = await echoscu("-v", "--abort", "127.0.0.1", server.port)
        assert result.code == 0
        assert "I: Aborting Association" in result.stderr
        assert "Releasing" not in result.stderr

    run_async(body)


def test_quiet_by_default() -> None:
    async def body() -> None:
        async with our_scp() as server:
            result = await echoscu("127.0.0.1", server.port)
        assert (result.code, result.stdout, result.stderr) == (0, "", "")

    run_async(body)


def test_proposed_contexts_and_syntaxes_in_debug_dump() -> None:
    async def body() -> None:
        async with our_scp() as server:
            result = await echoscu("-d", "-pts", 5, "-ppc", 3, "-pdu", 4096, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        assert "D: Our Max PDU Receive Size:    4096" in result.stderr
        for context_id in (1, 3, 5):
            assert f"D:   Context ID:        {context_id} (Proposed)" in result.stderr
        assert "D:       =JPEGExtended:Process2+4" in result.stderr  # the 5th syntax
        assert "JPEGExtended:Process3+5" not in result.stderr

    run_async(body)


def test_rejection_prints_dcmtk_lines_and_exits_1() -> None:
    def reject(request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ:
        return AAssociateRJ(1, 1, 7)

    async def body() -> None:
        async with our_scp(check=reject) as server:
            result = await echoscu("127.0.0.1", server.port)
        assert result.code == 1
        assert result.stderr.splitlines() == [
            "F: Association Rejected:",
            "F: Result: Rejected Permanent, Source: Service User",
            "F: Reason: Called AE Title Not Recognized",
        ]

    run_async(body)


def test_refused_connection() -> None:
    async def body() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        result = await echoscu("127.0.0.1", port)
        assert result.code == 1
        assert result.stderr.strip() == (
            "F: Association Request Failed: 0006:031c TCP Initialization Error: Connection refused"
        )

    run_async(body)


def test_unknown_host() -> None:
    async def body() -> None:
        result = await echoscu("no-such-host.invalid", 104)
        assert result.code == 1
        assert "0006:0320 Attempt to connect to unknown host: no-such-host.invalid" in result.stderr

    run_async(body)


def test_bad_options_exit_1_without_traceback() -> None:
    async def body() -> None:
        for args in (["-pdu", 100], ["-pts", 39], ["-ppc", 0], ["--bogus"], ["-ta", 0]):
            result = await echoscu(*args, "127.0.0.1", 104)
            assert result.code == 1, args
            assert "error: " in result.stderr and "Traceback" not in result.stderr, args

    run_async(body)


def test_a_missing_tls_key_stops_before_connecting() -> None:
    async def body() -> None:
        result = await echoscu("+tls", "nokey.pem", "nocert.pem", "127.0.0.1", 104)
        assert result.code == 1
        assert "F: 000b:0004 Unable to load private TLS key from 'nokey.pem'" in result.stderr
        assert "Requesting Association" not in result.stderr

    run_async(body)


def test_silent_peer_times_out_on_acse() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    async def body() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            result = await echoscu("-ta", 1, "127.0.0.1", port)
        finally:
            server.close()
        assert result.code == 1
        assert "0006:031a DUL network read timeout" in result.stderr

    run_async(body)


def test_garbage_from_peer_fails_cleanly() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.write(b"\x99\x00\x00\x00\x00\x04abcd")
        await writer.drain()
        await reader.read()
        writer.close()

    async def body() -> None:
        server = await asyncio.start_server(garbage, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            result = await echoscu("127.0.0.1", port)
        finally:
            server.close()
        assert result.code == 1
        assert result.stderr.startswith("F: Association Request Failed:")
        assert "Traceback" not in result.stderr

    run_async(body)


def test_dimse_timeout_aborts_with_exit_70() -> None:
    async def never(assoc: Association, received: MessageReceived) -> None:
        await asyncio.sleep(60)

    async def body() -> None:
        async with our_scp(handler=never) as server:
            result = await echoscu("-v", "-td", 1, "127.0.0.1", server.port)
        assert result.code == 70
        timeout = "0006:0207 DIMSE No data available (timeout in non-blocking mode)"
        assert f"E: Echo Failed: {timeout}\nE: Echo SCU Failed: {timeout}\n" in result.stderr
        assert "I: Aborting Association" in result.stderr

    run_async(body)


def test_peer_abort_is_reported_and_exit_0_like_dcmtk() -> None:
    async def abort(assoc: Association, received: MessageReceived) -> None:
        assoc.abort()

    async def body() -> None:
        async with our_scp(handler=abort) as server:
            result = await echoscu("-v", "127.0.0.1", server.port)
        assert result.code == 0
        assert "E: Echo Failed: 0006:0317 Peer aborted Association (or never connected)\n" in result.stderr
        assert "I: Peer Aborted Association" in result.stderr

    run_async(body)


def test_failure_status_is_printed_and_exit_0_like_dcmtk() -> None:
    async def fail(assoc: Association, received: MessageReceived) -> None:
        assert isinstance(received.message, CEchoRQ)
        rsp = CEchoRSP(message_id_being_responded_to=received.message.message_id, status=0xC000)
        await assoc.send(received.context_id, rsp)

    async def body() -> None:
        async with our_scp(handler=fail) as server:
            result = await echoscu("-v", "127.0.0.1", server.port)
        assert result.code == 0
        assert "I: Received Echo Response (Unknown Status: 0xc000)" in result.stderr

    run_async(body)
