"""C-ECHOs per second in one association: ours vs DCMTK vs pynetdicom.

Run: `make bench` or `.venv/bin/python -m bench.echo [--count N]`.
Every client runs as a process twice, with 1 echo and with N echoes; the
difference removes process start-up and association set-up, leaving the
echo round trips alone.  DCMTK runs with TCP_NODELAY=1 (its best).

The yardstick (bench._floor): a minimal uvloop asyncio.Protocol pair, in two
processes, that only frames a 96-byte P-DATA-like PDU (6-byte header, 4-byte
big-endian length) and answers it with another, one connection over 127.0.0.1
with TCP_NODELAY.  Every pair is printed as a fraction of that floor, with its
microseconds per round trip above it.  The same pair on one loop in one process is
a second row.  Both floors are timed inside their client, over 10 x N round trips
(N of them take less time than a Python process's start-up varies by), before the
pairs and after each server's pairs; the best of these is kept.  The two-process floor moves a lot
with the machine's load: every round trip wakes the other process, and a core that
was idle takes its time to wake (an idle machine is the slow case).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench._peers import (
    DCMTK_ENV,
    OUR_ECHO_SCP,
    PYNETDICOM_ECHO_SCP,
    PYNETDICOM_ECHO_SCU,
    PYTHON,
    ROOT,
    free_port,
    have_dcmtk,
    server,
    timed,
)

BIN = os.path.dirname(PYTHON)
ClientCmd = Callable[[int, int], list[str]]

SERVERS: dict[str, tuple[Callable[[int], list[str]], dict[str, str] | None]] = {
    "dicomwire": (lambda port: [PYTHON, "-c", OUR_ECHO_SCP, str(port)], None),
    "dcmtk": (lambda port: ["storescp", str(port)], DCMTK_ENV),
    "pynetdicom": (lambda port: [PYTHON, "-c", PYNETDICOM_ECHO_SCP, str(port)], None),
}
CLIENTS: dict[str, tuple[ClientCmd, dict[str, str] | None]] = {
    "dicomwire": (
        lambda port, n: [os.path.join(BIN, "echoscu"), "--repeat", str(n), "127.0.0.1", str(port)],
        None,
    ),
    "dcmtk": (lambda port, n: ["echoscu", "--repeat", str(n), "127.0.0.1", str(port)], DCMTK_ENV),
    "pynetdicom": (lambda port, n: [PYTHON, "-c", PYNETDICOM_ECHO_SCU, str(port), str(n)], None),
}


RETRIED: list[str] = []


def _timed(argv: list[str], env: dict[str, str] | None, what: str) -> float:
    """``timed``, with up to 2 more tries of a run that failed (pynetdicom's client, now and then)."""
    for attempt in range(3):
        try:
            return timed(argv, env)
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            RETRIED.append(what)
    raise AssertionError("unreachable")


def rate(client: str, port: int, count: int, what: str = "") -> float:
    command, env = CLIENTS[client]
    one = min(_timed(command(port, 1), env, what) for _ in range(2))
    many = _timed(command(port, count), env, what)
    return (count - 1) / max(many - one, 1e-9)


FLOOR = "floor: minimal uvloop protocol pair"
FLOOR_IN_PROCESS = "floor: the same, one process, one loop"


def floor_rates(count: int) -> dict[str, float]:
    """Round trips/s of the minimal pair, timed inside its client: two processes, then one loop
    in one process.  (A run of N minus a run of 1 does not work here: N round trips of the
    floor take less time than the start-up of a Python process varies by.)"""
    floor = [PYTHON, str(ROOT / "bench" / "_floor.py")]
    port = free_port()

    def rate(argv: list[str]) -> float:
        return float(subprocess.run(argv, capture_output=True, check=True, timeout=120).stdout)

    with server([*floor, "server", str(port)], port):
        two = rate([*floor, "client", str(port), str(count)])
    return {FLOOR: two, FLOOR_IN_PROCESS: rate([*floor, "inproc", str(count)])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="echoes per association (default 3000)")
    parser.add_argument(
        "--pynetdicom-count", type=int, default=300, help="echoes when pynetdicom is involved"
    )
    parser.add_argument(
        "--peers", default="dicomwire,dcmtk,pynetdicom", help="comma-separated peers to compare"
    )
    parser.add_argument("--no-tls", action="store_true", help="leave out the TLS rows")
    args = parser.parse_args(argv)
    names = [name for name in args.peers.split(",") if name in SERVERS and (name != "dcmtk" or have_dcmtk())]
    samples = [floor_rates(10 * args.count)]
    results: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tls_names = (
            [] if args.no_tls else _add_tls_peers(Path(scratch), [n for n in names if n != "pynetdicom"])
        )
        _measure(names, tls_names, args, samples, results)
    _print(samples, results, names, args.count)
    return 0


def _measure(
    names: list[str],
    tls_names: list[str],
    args: argparse.Namespace,
    samples: list[dict[str, float]],
    results: dict[tuple[str, str], float],
) -> None:
    groups = [names, tls_names] if tls_names else [names]
    for group in groups:
        _pairs(group, args, samples, results)


def _pairs(
    names: list[str],
    args: argparse.Namespace,
    samples: list[dict[str, float]],
    results: dict[tuple[str, str], float],
) -> None:
    for server_name in names:
        make_server, env = SERVERS[server_name]
        port = free_port()
        with server(make_server(port), port, env):
            for client_name in names:
                slow = "pynetdicom" in (client_name, server_name)
                count = args.pynetdicom_count if slow else args.count
                what = f"{client_name} -> {server_name}"
                results[(client_name, server_name)] = rate(client_name, port, count, what)
        samples.append(floor_rates(10 * args.count))


def _add_tls_peers(directory: Path, names: list[str]) -> list[str]:
    """``NAME+tls`` servers and clients: the same programs, the same certificates."""
    from bench._tls import client_options, pki_in, server_options, with_tls

    pki = pki_in(directory / "pki")
    for name in names:
        make_server, server_env = SERVERS[name]
        command, client_env = CLIENTS[name]

        def tls_server(
            port: int, make: Callable[[int], list[str]] = make_server, ours: bool = name == "dicomwire"
        ) -> list[str]:
            if ours:  # the echo SCP script takes KEY CERT CA after its port
                return [*make(port), str(pki.server_key), str(pki.server_cert), str(pki.ca_cert)]
            return with_tls(make(port), server_options(pki))

        def tls_client(port: int, n: int, make: ClientCmd = command) -> list[str]:
            return with_tls(make(port, n), client_options(pki))

        SERVERS[f"{name}+tls"] = (tls_server, server_env)
        CLIENTS[f"{name}+tls"] = (tls_client, client_env)
    return [f"{name}+tls" for name in names]


def _print(
    samples: list[dict[str, float]], results: dict[tuple[str, str], float], names: list[str], count: int
) -> None:
    floors = {label: max(sample[label] for sample in samples) for label in samples[0]}
    floor = floors[FLOOR]
    print(f"{'client -> server':40} {'echoes/s':>10} {'/ floor':>8} {'us/rt':>7} {'us above floor':>15}")
    rows = [*floors.items(), *((f"{c} -> {s}", v) for (c, s), v in results.items())]
    for label, value in rows:
        above = f"{1e6 / value - 1e6 / floor:15.1f}" if label != FLOOR else f"{'':15}"
        print(f"{label:40} {value:10.0f} {value / floor:8.2f} {1e6 / value:7.1f} {above}")
    ours = results[("dicomwire", "dicomwire")]
    print(
        f"(floors: timed inside their client over {10 * count} round trips, before the pairs and"
        " after each server's, the best kept; two processes: "
        + ", ".join(f"{sample[FLOOR]:.0f}" for sample in samples)
        + "/s; pairs: whole runs of N echoes minus runs of 1)"
    )
    if RETRIED:
        print(f"(a failed client run, not timed, was run again: {', '.join(RETRIED)})")
    print()
    for other in [name for name in names if name != "dicomwire"]:
        print(f"ratio dicomwire/dicomwire vs {other}/{other}: {ours / results[(other, other)]:.2f}x")
    tls_ours = results.get(("dicomwire+tls", "dicomwire+tls"))
    tls_theirs = results.get(("dcmtk+tls", "dcmtk+tls"))
    plain_theirs = results.get(("dcmtk", "dcmtk"))
    if tls_ours and tls_theirs and plain_theirs:
        print(
            f"over TLS: dicomwire/dicomwire vs dcmtk/dcmtk: {tls_ours / tls_theirs:.2f}x "
            f"(plain: {ours / plain_theirs:.2f}x); TLS costs each echo of ours "
            f"{1e6 / tls_ours - 1e6 / ours:.0f} us, of dcmtk's {1e6 / tls_theirs - 1e6 / plain_theirs:.0f} us"
        )


if __name__ == "__main__":
    raise SystemExit(main())
