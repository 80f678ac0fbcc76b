"""Certificates for the TLS rows of the benches: the test suite's PKI (tests/tls_certs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from bench._peers import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from tls_certs import Pki, make_pki

__all__ = ["Pki", "client_options", "make_pki", "server_options", "with_tls"]


def server_options(pki: Pki) -> list[str]:
    return ["+tls", str(pki.server_key), str(pki.server_cert), "+cf", str(pki.ca_cert)]


def client_options(pki: Pki) -> list[str]:
    return ["+tls", str(pki.client_key), str(pki.client_cert), "+cf", str(pki.ca_cert)]


def with_tls(argv: list[str], options: list[str]) -> list[str]:
    """A DCMTK-style command line with the TLS options right after the program."""
    return [argv[0], *options, *argv[1:]]


def pki_in(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    return make_pki(directory)
