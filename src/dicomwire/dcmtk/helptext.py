"""Give a tool's ``--help`` its own wording for options defined by the shared helpers.

The shared option groups (:mod:`dicomwire.dcmtk.cmdline.options`) carry one wording
for every tool; a tool that words its help itself replaces the text of the help
entries only.  Parsing keeps the original :class:`Option` objects: the help text
plays no part in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dicomwire.dcmtk.cmdline.engine import DcmtkParser
from dicomwire.dcmtk.cmdline.values import Option

__all__ = ["reword"]


def reword(parser: DcmtkParser, texts: Mapping[str, str]) -> None:
    """Replace the help text of each option named (long name, else short) in ``texts``."""
    unknown = set(texts)
    for index, (kind, entry) in enumerate(parser.layout):
        if kind != "option" or not isinstance(entry, Option) or entry.name not in texts:
            continue
        parser.layout[index] = (kind, replace(entry, help=texts[entry.name]))
        unknown.discard(entry.name)
    if unknown:
        raise ValueError(f"no such options to reword: {sorted(unknown)}")
