"""cli layer: one module (or package) per tool.

When a tool is the program being run, the cyclic garbage collector sleeps while its modules load
(see :mod:`dicomwire._startup`; ``run_tool`` wakes it).
"""

from dicomwire._startup import pause_for_tool

pause_for_tool()
