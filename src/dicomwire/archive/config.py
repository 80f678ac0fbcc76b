"""What the archive is configured to be: its AE titles, storage areas and known peers.

Neutral frozen values, no file syntax: :mod:`dicomwire.dcmtk.qrconfig` reads DCMTK's dcmqrscp.cfg into
an :class:`ArchiveConfig`, :func:`default_config` is the built-in one.  The lookup rules are DCMTK's
(dcmqrscp 3.6.7): AE titles compare exactly (case-sensitive), host names compare ASCII
case-insensitively, and the port of a configured peer plays no part in admitting an association.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = ["Access", "ArchiveConfig", "Peer", "Quota", "StorageArea", "default_config"]

# str.lower() would also fold non-ASCII letters; DCMTK's strcasecmp in the C locale folds only A-Z.
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(host: str) -> str:
    return host.translate(_ASCII_FOLD)


@dataclass(frozen=True)
class Peer:
    """A remote application entity: AE title, host name and TCP port."""

    ae_title: str
    host: str
    port: int

    def is_caller(self, calling_ae: str, host_names: Collection[str]) -> bool:
        """True if an association from *calling_ae* on a host named one of *host_names* is this peer.

        The port is not compared: a caller's port is an ephemeral one.
        """
        if calling_ae != self.ae_title:
            return False
        mine = _fold(self.host)
        return any(_fold(name) == mine for name in host_names)


class Access(enum.Flag):
    """What peers may do with a storage area."""

    READ = enum.auto()
    WRITE = enum.auto()

    @property
    def can_read(self) -> bool:
        return Access.READ in self

    @property
    def can_write(self) -> bool:
        return Access.WRITE in self


@dataclass(frozen=True)
class Quota:
    """At most *max_studies* studies in the area, none larger than *max_bytes_per_study*."""

    max_studies: int
    max_bytes_per_study: int

    def __post_init__(self) -> None:
        if self.max_studies <= 0 or self.max_bytes_per_study <= 0:
            raise ValueError(f"quota limits must be positive: {self.max_studies}, {self.max_bytes_per_study}")


@dataclass(frozen=True)
class StorageArea:
    """One AE title of the archive and the directory that holds its data.

    *peers* None admits any peer; a tuple admits only the callers listed (see :meth:`admits`).
    *quota* None means no limit.
    """

    ae_title: str
    path: str
    access: Access
    quota: Quota | None = None
    peers: tuple[Peer, ...] | None = None

    def admits(self, calling_ae: str, host_names: Collection[str]) -> bool:
        """May *calling_ae*, connecting from a host known by *host_names*, use this area?

        *host_names* are the names the caller's address resolves to (the reverse lookup, or the
        address itself when lookups are off): DCMTK matches configured host names against the
        looked-up name, so ``localhost`` matches a client on 127.0.0.1 and ``127.0.0.1`` does not
        (unless the address is passed too).
        """
        if self.peers is None:
            return True
        return any(peer.is_caller(calling_ae, host_names) for peer in self.peers)


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@dataclass(frozen=True)
class ArchiveConfig:
    """The whole configuration of an archive (DCMTK: one dcmqrscp.cfg).

    *hosts* maps a symbolic name to its peers with groups already expanded; *vendors* maps a vendor
    name to its peers; *areas* maps AE titles to storage areas in file order.  *port* None means the
    configuration names no port (the caller must supply one).  *specific_character_set* is None when
    the file does not configure one; *charset_options* holds its keywords (override, fallback,
    abort, discard, transliterate).  *source* is the file read, None for the built-in default.
    *index_url* is where the index lives (an SQLite file or a database URL, see
    :mod:`dicomwire.archive.database`); None: SQLite in the first storage area.
    """

    port: int | None
    max_pdu_size: int
    max_associations: int
    user_name: str | None = None
    group_name: str | None = None
    specific_character_set: str | None = None
    hosts: Mapping[str, tuple[Peer, ...]] = field(default_factory=dict, hash=False)
    vendors: Mapping[str, tuple[Peer, ...]] = field(default_factory=dict, hash=False)
    areas: Mapping[str, StorageArea] = field(default_factory=dict, hash=False)
    source: str | None = None
    charset_options: tuple[str, ...] = ()
    index_url: str | None = None

    def __post_init__(self) -> None:
        # Read-only views, so that a frozen config cannot be changed through its mappings.
        for name in ("hosts", "vendors", "areas"):
            object.__setattr__(self, name, _frozen_mapping(getattr(self, name)))

    def area_for(self, called_ae: str) -> StorageArea | None:
        """The storage area behind *called_ae* (exact match), None if the title is unknown."""
        return self.areas.get(called_ae)

    def _known_peers(self) -> Iterator[Peer]:
        # DCMTK's search order for a peer by AE title: the AETable's peer lists, then the HostTable.
        for area in self.areas.values():
            yield from area.peers or ()
        for peers in self.hosts.values():
            yield from peers

    def resolve_destination(self, ae_title: str) -> Peer | None:
        """Where to send C-MOVE results for *ae_title*: the first peer with that AE title, or None."""
        return next((peer for peer in self._known_peers() if peer.ae_title == ae_title), None)

    def vendor_of(self, ae_title: str) -> str | None:
        """The first vendor whose peers include *ae_title*, None if no vendor does."""
        for vendor, peers in self.vendors.items():
            if any(peer.ae_title == ae_title for peer in peers):
                return vendor
        return None

    def same_vendor(self, ae_title: str, other_ae_title: str) -> bool:
        """True if one vendor entry lists both AE titles (DCMTK's ``-ZV`` move restriction)."""
        for peers in self.vendors.values():
            titles = {peer.ae_title for peer in peers}
            if ae_title in titles and other_ae_title in titles:
                return True
        return False


#: The move destination the built-in configuration knows: movescu listening with ``+P 11113``.
DEFAULT_MOVE_DESTINATION: Final = Peer("MOVESCU", "localhost", 11113)


def default_config(root: str = "archive") -> ArchiveConfig:
    """The built-in configuration: AE title ARCHIVE storing in *root*, any peer, no quota, and
    one move destination (:data:`DEFAULT_MOVE_DESTINATION`)."""
    area = StorageArea("ARCHIVE", root, Access.READ | Access.WRITE)
    return ArchiveConfig(
        port=11112,
        max_pdu_size=16384,
        max_associations=16,
        hosts={"movescu": (DEFAULT_MOVE_DESTINATION,)},
        areas={"ARCHIVE": area},
    )
