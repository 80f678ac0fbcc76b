"""How an archive behaves beyond its configuration file: dcmqrscp's command-line choices, neutral.

The tool (``dicomwire.cli.dcmqrscp``) maps DCMTK's options onto :class:`ArchiveOptions`;
a library user builds one directly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dicomwire import uids
from dicomwire.config import Timeouts
from dicomwire.net.tls import TLSSettings
from dicomwire.ul.identity import IdentityPolicy

__all__ = ["ArchiveOptions", "MoveRestriction", "StoredFormat"]


class MoveRestriction(enum.Enum):
    """Which C-MOVE destinations are allowed (dcmqrscp's --move-unrestricted, -ZA, -ZH, -ZV)."""

    UNRESTRICTED = "unrestricted"
    AE_TITLE = "aetitle"  # only the requesting AE title
    HOST = "host"  # only the requesting host
    VENDOR = "vendor"  # only a destination of the requestor's vendor (VendorTable)


@dataclass(frozen=True)
class StoredFormat:
    """How a received instance is written into its storage area (dcmqrscp's output options).

    ``bit_preserving`` writes the data set exactly as received.  Otherwise the other
    fields apply: ``write_file`` (file meta information, else a bare data set),
    ``transfer_syntax`` (None: the one it arrived in), ``group_length`` (``"recalc"``,
    ``"create"``, ``"remove"``), ``explicit_lengths`` in sequences and items,
    ``padding`` (file, item) alignment or None, ``new_vrs`` (UN/UT; off: converted to
    OB), ``compression_level`` for deflate.
    """

    bit_preserving: bool = False
    write_file: bool = True
    transfer_syntax: str | None = None
    group_length: str = "recalc"
    explicit_lengths: bool = True
    padding: tuple[int, int] | None = None
    new_vrs: bool = True
    compression_level: int = 6


def _local_uncompressed() -> tuple[str, ...]:
    return (uids.local_endian_explicit(), uids.opposite_endian_explicit(), uids.IMPLICIT_VR_LITTLE_ENDIAN)


@dataclass(frozen=True)
class ArchiveOptions:
    """Everything about an archive that is not in its configuration (see the fields)."""

    # serve one association at a time (dcmqrscp -s)
    single_process: bool = False
    # refuse MOVE/GET contexts when no FIND context of the same model is proposed
    require_find: bool = False
    # one association at a time may have storage contexts for an AE title
    no_parallel_store: bool = False
    disable_get: bool = False
    # accept the private shutdown SOP class (the archive stops when asked)
    allow_shutdown: bool = False
    # strict identifier checks (0xA900 for malformed C-FIND / C-MOVE identifiers)
    check_find: bool = False
    check_move: bool = False
    move_restriction: MoveRestriction = MoveRestriction.UNRESTRICTED
    # the query/retrieve information models served
    patient_root: bool = True
    study_root: bool = True
    patient_study_only: bool = True
    # transfer syntaxes accepted for incoming associations, preferred first
    # (dcmqrscp +x=, +xe, ...); storage contexts also take the compressed ones
    # of ``accepted_compressed``
    preferred_syntaxes: tuple[str, ...] = field(default_factory=_local_uncompressed)
    accepted_compressed: tuple[str, ...] = ()
    # an association profile's contexts (abstract syntax -> transfer syntaxes, preferred
    # first; dcmqrscp -xf): it replaces the storage contexts, adds to Verification and
    # FIND (see archive.policy); None: every storage SOP class
    profile: Mapping[str, Sequence[str]] | None = None
    # transfer syntaxes proposed on outgoing (C-MOVE) associations, preferred first
    proposed_syntaxes: tuple[str, ...] = field(default_factory=_local_uncompressed)
    # None: the configuration's MaxPDUSize
    max_pdu_length: int | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    host_lookup: bool = True
    # refuse every association (dcmqrscp --refuse)
    refuse: bool = False
    # reject requests without an implementation class UID (dcmqrscp --reject)
    require_implementation_class_uid: bool = False
    # receive instances but neither store nor index them (dcmqrscp --ignore)
    ignore_store: bool = False
    # accept space-padded UIDs in identifiers, correcting them (dcmqrscp -up)
    correct_uid_padding: bool = False
    stored_format: StoredFormat = field(default_factory=StoredFormat)
    # where the index lives; None: SQLite in the first storage area (see Archive)
    index_url: str | None = None
    # who may associate by user identity (AcceptorSettings.identity); None: anyone
    identity: IdentityPolicy | None = None
    # TLS for every association, incoming and to C-MOVE destinations; None: plain TCP
    tls: TLSSettings | None = None
    # how many processes of this host serve the archive together on one port (dcmqrscp
    # --workers); above 1 they share an SQLite index too, with its locks in files beside it
    # (archive.locks).  A PostgreSQL index is shared by every process of every host anyway.
    workers: int = 1
