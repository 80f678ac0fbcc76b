"""C-ECHOs per second in one association: ours vs DCMTK vs pynetdicom.

Run: `make bench` or `.venv/bin/python -m bench.echo [--count N]`.
Every client runs as a process twice, with 1 echo and with N echoes; the
difference removes process start-up and association set-up, leaving the
echo round trips alone.  DCMTK runs with TCP_NODELAY=1 (its best).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from bench._peers import (
    DCMTK_ENV,
    OUR_ECHO_SCP,
    PYNETDICOM_ECHO_SCP,
    PYNETDICOM_ECHO_SCU,
    PYTHON,
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


def rate(client: str, port: int, count: int) -> float:
    command, env = CLIENTS[client]
    one = min(timed(command(port, 1), env) for _ in range(2))
    many = timed(command(port, count), env)
    return (count - 1) / max(many - one, 1e-9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="echoes per association (default 3000)")
    parser.add_argument(
        "--pynetdicom-count", type=int, default=300, help="echoes when pynetdicom is involved"
    )
    parser.add_argument(
        "--peers", default="dicomwire,dcmtk,pynetdicom", help="comma-separated peers to compare"
    )
    args = parser.parse_args(argv)
    names = [name for name in args.peers.split(",") if name in SERVERS and (name != "dcmtk" or have_dcmtk())]
    results: dict[tuple[str, str], float] = {}
    for server_name in names:
        make_server, env = SERVERS[server_name]
        port = free_port()
        with server(make_server(port), port, env):
            for client_name in names:
                slow = "pynetdicom" in (client_name, server_name)
                count = args.pynetdicom_count if slow else args.count
                results[(client_name, server_name)] = rate(client_name, port, count)
    print(f"{'client -> server':32} {'echoes/s':>10}")
    for (client_name, server_name), value in results.items():
        print(f"{client_name + ' -> ' + server_name:32} {value:10.0f}")
    ours = results[("dicomwire", "dicomwire")]
    print()
    for other in [name for name in names if name != "dicomwire"]:
        print(f"ratio dicomwire/dicomwire vs {other}/{other}: {ours / results[(other, other)]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
