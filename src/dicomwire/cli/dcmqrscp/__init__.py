"""dcmqrscp: DICOM image archive (storage, query, retrieve), a drop-in for DCMTK 3.6.7's dcmqrscp.

Same options, help, configuration file (see :mod:`dicomwire.dcmtk.qrconfig`), messages and
exit codes as DCMTK's; the archive itself is :mod:`dicomwire.archive`, and this package
only maps the command line onto it (:mod:`.parser`, :mod:`.mapping`, :mod:`.running`).

What DCMTK 3.6.7 does, observed with the Debian build, and what we do:

* Exit 1 for command-line errors (``error: ...`` after the usage header), among them
  DCMTK's dependency checks: ``--X not allowed with --bit-preserving`` for ``+te +tb +ti
  +td +g= +g -g +e -e +p``, ``--write-xfer-X not allowed with --prefer-Y`` for a
  compressed ``+x`` choice, ``--padding-create not allowed with --write-dataset``,
  ``--compression-level only allowed with --propose-deflated, --write-xfer-deflated or
  --write-xfer-same``, ``cannot disable all Q/R models``, ``--assoc-config-file not
  allowed with --prefer-X`` / ``--propose-X``.
* TLS (ours: DCMTK 3.6.7's dcmqrscp has none): dcmrecv's acceptor group, for the
  incoming associations and those to C-MOVE destinations; a TLS layer that cannot be
  set up exits 10 like any other start-up failure.
* Exit 10 for everything at start-up: a missing or bad configuration file (``F: cannot
  access FILE: No such file or directory``, ``F: bad config file: FILE``), a port in use
  (``F: cannot initialize network: 0006:031c TCP Initialization Error: Address already in
  use``), a port below 1024 without the right to bind it (``F: cannot listen on port N,
  insufficient privileges``), an unknown GroupName/UserName (``F: bad group name X``,
  ``F: bad user name X``) or one the process may not switch to (``F: setgid: Unable to set
  group id to group N``, ``F: setuid: Unable to set user id to user N``).  DCMTK switches
  group and user once it listens, whoever started it; so do we (started as root we also
  drop root's supplementary groups, which DCMTK keeps).
* DCMTK prints nothing once it listens, not even with ``-v``.

Deliberate differences:

* Without ``-c`` DCMTK reads the configuration file compiled into it (Debian:
  ``/usr//etc/dcmtk/dcmqrscp.cfg``, which does not exist, so it exits 10).  Ours reads
  ``./dcmqrscp.cfg`` if there is one, else runs the built-in default configuration
  (:func:`~dicomwire.archive.config.default_config`: AE title ARCHIVE, storage area
  ``./archive``, created if missing, any peer, port 11112) and says so in ``W:`` lines,
  with the commands that store into it and query it.  The help shows ``dcmqrscp.cfg``
  as the default.
* DCMTK accepts a configuration whose storage area directory does not exist and fails
  each association to it (``E: DIR/index.dat: No such file or directory``).  Ours refuses
  to start, exit 10: ``F: cannot use storage area DIR of AE title AET: No such file or
  directory`` (likewise for a file that is not a directory, or one without the access the
  area needs).  A configuration without AETable is refused too (DCMTK rejects every
  association).
* ``--workers n`` (ours; DCMTK forks a process per association): n processes serve the one
  port, under a supervisor that starts again one that dies (:mod:`.workers`); what the whole
  archive counts (MaxAssociations, ``--no-parallel-store``, quotas) is shared among them
  (:mod:`dicomwire.archive.locks`).  Not with ``-s``.
* ``-s`` serves one association at a time and does not crash (DCMTK 3.6.7's does, with
  SIGSEGV, after its first association).
* ``-xf FILE IN OUT`` (:mod:`.profiles`): read while the command line is checked, as DCMTK
  does; a problem ends the tool with DCMTK's ``F:`` line and exit 1 (``cannot read association
  config file: ...``, ``unknown configuration profile name: X``, ``profile 'X' is not valid
  for incoming use, duplicate abstract syntaxes found``).  The IN profile replaces the storage
  contexts (only its SOP classes, with its transfer syntaxes in its order); Verification and
  FIND are accepted as without it, a profile entry for them adding its syntaxes after ours,
  even for a model switched off by ``-QP -QS -QO``.  An ``R`` area still takes no storage and
  a ``W`` area answers no query.  Unlike DCMTK, profile entries the archive cannot serve
  (C-MOVE, C-GET, worklist) are refused, and so (``F:``, exit 1) is an IN profile with role
  selection or extended negotiation; OUT is for C-MOVE, which the archive does not make yet.
* ``+ac`` (TCP wrapper) is parsed and checked as DCMTK does, then refused with an ``F:`` line
  and exit 1: the archive cannot honour it yet.
"""

from __future__ import annotations

import functools
import sys

from dicomwire.cli.dcmqrscp.mapping import archive_config, archive_options, stored_format
from dicomwire.cli.dcmqrscp.parser import DEFAULT_CONFIG_FILE, EXIT_UNSUPPORTED, PROG, build_parser
from dicomwire.cli.dcmqrscp.running import StartupError, run
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.qrconfig import EXIT_CONFIG_ERROR

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "EXIT_CONFIG_ERROR",
    "EXIT_UNSUPPORTED",
    "PROG",
    "StartupError",
    "archive_config",
    "archive_options",
    "build_parser",
    "main",
    "run",
    "stored_format",
]


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)  # --workers starts each worker with them
    return options.run_tool(build_parser(), functools.partial(run, argv=arguments), argv)
