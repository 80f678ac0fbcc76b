"""DCMTK's help and version texts for a :class:`~dicomwire.dcmtk.cmdline.engine.DcmtkParser`.

:func:`format_help` lays the options out as DCMTK does (short and long
columns, a text column, group and subgroup headings); :func:`format_version`
gives ``--version``'s text; :func:`dicomwire_version` is the package version
shown in both.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from dicomwire import __version__
from dicomwire.dcmtk.cmdline.values import Option

if TYPE_CHECKING:
    from dicomwire.dcmtk.cmdline.engine import DcmtkParser

__all__ = ["dicomwire_version", "format_help", "format_version"]


def dicomwire_version() -> str:
    """The dicomwire version (the package's ``__version__``: every tool's banner needs it, and
    asking ``importlib.metadata`` would cost each start-up about 10 ms of imports)."""
    return __version__


def _package_version(name: str) -> str:
    import importlib.metadata  # only --version needs it

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def format_version(parser: DcmtkParser) -> str:
    """``--version``: the header, host type, Python and the external libraries."""
    import platform

    libraries = [f"- pydicom, Version {_package_version('pydicom')}", f"- {ssl.OPENSSL_VERSION}"]
    return (
        parser.header()
        + f"\nHost type: {platform.system()} {platform.machine()}\n"
        + f"Python: {platform.python_implementation()} {platform.python_version()}\n"
        + "\nExternal libraries used:\n"
        + "".join(line + "\n" for line in libraries)
    )


def format_help(parser: DcmtkParser) -> str:
    """``--help``: the header, usage, parameters and every option group."""
    return _HelpFormatter(parser).render()


class _HelpFormatter:
    """DCMTK's help layout: short and long columns, text column, headings."""

    def __init__(self, parser: DcmtkParser) -> None:
        self.parser = parser
        shorts = [len(o.short) for o in parser.options if o.short]
        longs = [len(o.long) for o in parser.options if o.long]
        self.short_width = max([parser.short_column, *shorts])
        self.long_width = parser.long_column or max([0, *longs])

    def text_column(self, long_width: int) -> int:
        return 2 + self.short_width + 4 + long_width + 2

    def render(self) -> str:
        parser = self.parser
        lines = [f"usage: {parser.prog} {parser.usage()}", ""]
        if parser.params:
            lines.append("parameters:")
            column = self.text_column(self.long_width)
            for param in parser.params:
                text = param.help.split("\n")
                lines.append(f"  {param.name}".ljust(column) + text[0])
                lines.extend(" " * column + more for more in text[1:])
            lines.append("")
        for block_kind, heading, options in self._blocks():
            if heading is not None:
                lines.append(f"{heading}:" if block_kind == "group" else f"  {heading}:")
            longs = [len(o.long) for o in options if o.long]
            lines.extend(self._option_lines(options, block_kind == "subgroup", longs))
        return parser.header() + "\n".join(lines) + "\n\n"

    def _blocks(self) -> list[tuple[str, str | None, list[Option]]]:
        blocks: list[tuple[str, str | None, list[Option]]] = []
        kind = "group"
        for entry_kind, entry in self.parser.layout:
            if isinstance(entry, Option):
                if not blocks:
                    blocks.append((kind, None, []))
                blocks[-1][2].append(entry)
            else:
                kind = entry_kind
                blocks.append((entry_kind, entry, []))
        return blocks

    def _option_lines(self, options: list[Option], nested: bool, longs: list[int]) -> list[str]:
        width = max([self.long_width, *longs])
        indent, short_width = (4, self.short_width + 2) if nested else (2, self.short_width + 4)
        column = indent + short_width + width + 2
        lines: list[str] = []
        for option in options:
            text = (option.value_help or "").split("\n") + option.help.split("\n")
            text = [t for t in text if t] or [""]
            head = " " * indent + (option.short or "").ljust(short_width)
            head += (option.long or "").ljust(width + 2) + text[0]
            lines.append(head if text[0] else head.rstrip())
            lines.extend(" " * column + more for more in text[1:])
        return lines
