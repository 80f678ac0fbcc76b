"""The output options shared by dcmqrscp and movescu (DCMTK's identical option group),
and the dependency checks DCMTK applies to them.

The checks follow DCMTK's way of reading an option block: :func:`processed` gives the
options it acts on.  ``+p`` and ``+cl`` keep their words as typed until their check
converts them: DCMTK looks at their dependencies before their values.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Final

from dicomwire import uids
from dicomwire.archive.options import StoredFormat
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.syntaxes import add_new_vr_options

__all__ = [
    "NOT_WHEN_BIT_PRESERVING",
    "WRITE_XFER",
    "add_output_options",
    "check_compression_level",
    "check_padding",
    "conflict",
    "processed",
    "stored_format",
]


class _Deferred:
    """A value type that keeps the word as typed; :func:`check_command_line` converts it later."""

    def __init__(self, inner: options.Integer) -> None:
        self.inner = inner
        self.kind = inner.kind

    def describe(self) -> str:
        return self.inner.describe()

    def convert(self, raw: str, *, parameter: bool) -> Any:
        return raw


PAD: Final = options.Integer(0, unsigned=True)
LEVEL: Final = options.Integer(0, 9, unsigned=True)
WRITE_XFER: Final = (
    ("+t=", "--write-xfer-same", "keep the transfer syntax received (default)"),
    ("+te", "--write-xfer-little", "convert to explicit VR little endian"),
    ("+tb", "--write-xfer-big", "convert to explicit VR big endian"),
    ("+ti", "--write-xfer-implicit", "convert to implicit VR little endian"),
    ("+td", "--write-xfer-deflated", "convert to deflated explicit VR little endian"),
)


def add_output_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("output options")
    p.add_subgroup("bit preserving mode")
    add(
        "-B",
        "--normal",
        "the encoding may change on the way (default)",
        dest="bit_preserving",
        const=False,
        default=False,
    )
    add(
        "+B",
        "--bit-preserving",
        "write the data byte for byte as received",
        dest="bit_preserving",
        const=True,
    )
    p.add_subgroup("output file format")
    add(
        "+F",
        "--write-file",
        "write files with a meta header (default)",
        dest="write_file",
        const=True,
        default=True,
    )
    add(
        "-F",
        "--write-dataset",
        "write bare data sets, no meta header",
        dest="write_file",
        const=False,
    )
    p.add_subgroup("output transfer syntax (not with --bit-preserving or compressed transmission)")
    for short, long, text in WRITE_XFER:
        add(short, long, text, dest="write_xfer", const=short, default="+t=")
    add_new_vr_options(p)
    p.add_subgroup("group length encoding (not with --bit-preserving)")
    for short, long, const, text in (
        ("+g=", "--group-length-recalc", "recalc", "update the group lengths there are (default)"),
        ("+g", "--group-length-create", "create", "add group lengths to every group"),
        ("-g", "--group-length-remove", "remove", "drop every group length"),
    ):
        add(short, long, text, dest="group_length", const=const, default="recalc")
    p.add_subgroup("length encoding in sequences and items (not with --bit-preserving)")
    add(
        "+e",
        "--length-explicit",
        "give sequences and items a length (default)",
        dest="explicit_lengths",
        const=True,
        default=True,
    )
    add(
        "-e",
        "--length-undefined",
        "leave sequence and item lengths undefined",
        dest="explicit_lengths",
        const=False,
    )
    p.add_subgroup("data set trailing padding (not with --write-dataset or --bit-preserving)")
    add("-p", "--padding-off", "do not pad (default)", dest="padding", action="store_const", const=None)
    add(
        "+p",
        "--padding-create",
        "pad the file to a multiple of f bytes\nand items to a multiple of i bytes",
        dest="padding",
        nargs=2,
        type=_Deferred(PAD),
        value_help="[f]ile-pad [i]tem-pad: integer",
    )
    p.add_subgroup("deflate compression level (only with -xd or --write-xfer-deflated/same)")
    add(
        "+cl",
        "--compression-level",
        "0: none, 1: fastest, 9: smallest output",
        dest="compression_level",
        type=_Deferred(LEVEL),
        value_help="[l]evel: integer (default: 6)",
        default=6,
    )


def processed(given: Sequence[str], block: Sequence[str]) -> list[str]:
    """The options of an option block that DCMTK acts on, in its order.

    DCMTK tests a block's options one after the other and acts on one only when it appears
    further right than the last one it acted on: the rightmost wins, and the ones before it
    are checked too when they come in that order.
    """
    last = {name: index for index, name in enumerate(given)}
    done: list[str] = []
    position = -1
    for name in block:
        at = last.get(name, -1)
        if at > position:
            done.append(name)
            position = at
    return done


def conflict(option: str, other: str, condition: bool) -> None:
    if condition:
        raise options.CommandLineError(f"{option} not allowed with {other}")


NOT_WHEN_BIT_PRESERVING: Final = (
    ("--group-length-recalc", "--group-length-create", "--group-length-remove"),
    ("--length-explicit", "--length-undefined"),
)


def convert_integer(name: str, kind: options.Integer, raw: str) -> int:
    try:
        return int(kind.convert(raw, parameter=False))
    except options.InvalidValue as exc:
        detail = f" ({exc.reason}: {raw})" if exc.reason else (f" ({raw})" if raw else "")
        raise options.CommandLineError(f"Invalid value for option {name}{detail}") from None


def check_padding(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if "--padding-create" not in processed(given, ("--padding-off", "--padding-create")):
        return
    conflict("--padding-create", "--write-dataset", not ns.write_file)
    conflict("--padding-create", "--bit-preserving", ns.bit_preserving)
    ns.padding = tuple(convert_integer("--padding-create", PAD, raw) for raw in ns.padding)


def check_compression_level(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if not isinstance(ns.compression_level, str):
        return
    if not (ns.proposal == "-xd" or ns.write_xfer in ("+td", "+t=")):
        raise options.CommandLineError(
            "--compression-level only allowed with --propose-deflated, --write-xfer-deflated "
            "or --write-xfer-same"
        )
    ns.compression_level = convert_integer("--compression-level", LEVEL, ns.compression_level)


#: +t=, +te, +tb, +ti, +td: the transfer syntax files are written in (None: as received).
SYNTAX_BY_WRITE_XFER: Final[dict[str, str | None]] = {
    "+t=": None,
    "+te": uids.EXPLICIT_VR_LITTLE_ENDIAN,
    "+tb": uids.EXPLICIT_VR_BIG_ENDIAN,
    "+ti": uids.IMPLICIT_VR_LITTLE_ENDIAN,
    "+td": uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
}


def stored_format(ns: argparse.Namespace) -> StoredFormat:
    """The output options: how received instances are written."""
    return StoredFormat(
        bit_preserving=bool(ns.bit_preserving),
        write_file=bool(ns.write_file),
        transfer_syntax=SYNTAX_BY_WRITE_XFER[ns.write_xfer],
        group_length=str(ns.group_length),
        explicit_lengths=bool(ns.explicit_lengths),
        padding=None if ns.padding is None else (int(ns.padding[0]), int(ns.padding[1])),
        new_vrs=bool(ns.new_vrs),
        compression_level=int(ns.compression_level),
    )
