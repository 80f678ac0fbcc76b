"""A tool's start-up and the cyclic garbage collector (issue 10).

Loading a tool makes some 30,000 long-lived objects (modules, classes, functions, tables).  The
collector walks them over and over while they are made (about 15 collections: 3 ms of a plain
echo), and once more when the interpreter exits (about 8 ms).  So when the program being run is
one of the tools (:data:`TOOLS`, the console scripts of ``pyproject.toml``), ``dicomwire.cli``
pauses the collector before the tool's modules load (:func:`pause_for_tool`), and
``run_tool`` calls :func:`settle` once the command line is the process's own (``main()`` with
no arguments): what exists then moves to the permanent generation (``gc.freeze()``), which no
collection walks, the one at exit included, and the collector runs again as before.  Imported as
a library, or from a test, nothing here changes anything.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Final

__all__ = ["TOOLS", "pause_for_tool", "settle"]

#: The console scripts (``[project.scripts]``; tests/test_public_api.py checks the two agree).
TOOLS: Final = frozenset({"dcmqrscp", "dcmrecv", "echoscu", "findscu", "getscu", "movescu", "storescu"})

_paused = False


def pause_for_tool() -> None:
    """Pause the collector while a tool's modules load, if a tool is the program being run."""
    global _paused
    argv = getattr(sys, "argv", None) or [""]
    if os.path.basename(argv[0]) in TOOLS and gc.isenabled():
        gc.disable()
        _paused = True


def settle() -> None:
    """The tool is loaded and runs as the program: freeze what exists, and wake the collector."""
    global _paused
    gc.freeze()
    if _paused:
        _paused = False
        gc.enable()
