"""The archive: a configuration, an index and a server, put together.

::

    archive = Archive(load_qrconfig("dcmqrscp.cfg"), ArchiveOptions())
    await archive.start(None, 11112)
    await archive.serve_forever()

``start`` opens (or creates, or upgrades) the index, reconciles every storage area
with it (leftover temporary files removed, rows without files dropped, files without
rows indexed; logged), then listens.  The index is one database for all areas:
``options.index_url``, else ``config.index_url``, else SQLite in the first storage area
(``<area>/dicomwire-index.sqlite``); a PostgreSQL URL makes it one index that several
processes and hosts share over one storage tree (:mod:`dicomwire.archive.database`).
An index that cannot be opened is an :class:`IndexUnavailable` from ``start``.  A
configuration without any AE title is served too: every association is rejected
(called AE title not recognized), as dcmqrscp does with Debian's example file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.database import IndexUnavailable, describe_error, index_url, shown_url, sqlite_url
from dicomwire.archive.index import Index
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.policy import AssociationPolicy
from dicomwire.archive.query import ArchiveFind
from dicomwire.archive.retrieve import ArchiveRetrieve
from dicomwire.archive.store import ArchiveStore, StoredInstance, reconcile
from dicomwire.config import AcceptorSettings
from dicomwire.net.association import Association, MessageObserver
from dicomwire.net.server import AssociationEvents
from dicomwire.net.tasks import until_first
from dicomwire.services.retrieve_scp import SubAssociationSettings
from dicomwire.services.server import Server
from dicomwire.ul.identity import IdentityRejection, answer_identity
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ

__all__ = ["INDEX_FILE", "Archive", "IndexUnavailable"]

log = logging.getLogger("dicomwire.archive")

INDEX_FILE = "dicomwire-index.sqlite"
T = TypeVar("T")


def _default_index(config: ArchiveConfig) -> str:
    """SQLite in the first storage area; with no AE title at all (every association is
    rejected, as dcmqrscp does with an empty AETable) an index in memory."""
    first = next(iter(config.areas.values()), None)
    return sqlite_url(os.path.join(first.path, INDEX_FILE)) if first is not None else "sqlite://"


class _ArchiveServer(Server):
    """The server, plus what the archive tracks per association."""

    def __init__(
        self,
        archive: Archive,
        settings: AcceptorSettings,
        *,
        store: ArchiveStore,
        find: ArchiveFind,
        retrieve: ArchiveRetrieve,
        observer: MessageObserver | None,
        events: AssociationEvents | None,
    ) -> None:
        options = archive.options
        sub_associations = SubAssociationSettings(
            proposed_syntaxes=options.proposed_syntaxes,
            max_pdu_length=options.max_pdu_length or archive.config.max_pdu_size,
            timeouts=options.timeouts,
            compression_level=options.stored_format.compression_level,
            observer=observer,
            tls=options.tls.context(server_side=False) if options.tls is not None else None,
        )
        super().__init__(
            settings,
            store=store,
            find=find,
            move=retrieve,
            get=None if options.disable_get else retrieve,
            retrieve=sub_associations,
            observer=observer,
            events=events,
            tls=options.tls,
        )
        self.archive = archive

    @asynccontextmanager
    async def serving_slot(self) -> AsyncIterator[None]:
        """-s: one association at a time; the others wait for their turn."""
        gate = self.archive.one_at_a_time
        if gate is None:
            yield
            return
        async with gate:
            yield

    def association_started(self, assoc: Association) -> None:
        self.archive.association_started(assoc)

    def association_ended(self, assoc: Association) -> None:
        self.archive.association_ended(assoc)


class Archive:
    """A running (or ready to run) archive; see the module."""

    def __init__(
        self,
        config: ArchiveConfig,
        options: ArchiveOptions | None = None,
        *,
        observer: MessageObserver | None = None,
        events: AssociationEvents | None = None,
        on_stored: Callable[[StoredInstance], None] | None = None,
    ) -> None:
        self.config = config
        self.options = options if options is not None else ArchiveOptions()
        self.observer = observer
        self.events = events
        self.on_stored = on_stored
        configured = self.options.index_url or config.index_url
        self.index_location = index_url(configured) if configured else _default_index(config)
        self.policy = AssociationPolicy(config, self.options, self._is_storing)
        self.index: Index | None = None
        self.server: _ArchiveServer | None = None
        self.shutdown_requested = asyncio.Event()
        self._storing: Counter[str] = Counter()
        self._store: ArchiveStore | None = None
        self.one_at_a_time = asyncio.Semaphore(1) if self.options.single_process else None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str | None, port: int) -> None:
        """Open the index, reconcile the storage areas, listen."""
        self.index = await self._blocking(self._open_index)
        await asyncio.to_thread(self._reconcile_all)
        self._store = ArchiveStore(self.index, self.config, self.options, on_stored=self._stored)
        find = ArchiveFind(self.index, self.config, self.options)
        retrieve = ArchiveRetrieve(self.index, self.config, self.options)
        self.server = _ArchiveServer(
            self,
            self._settings(),
            store=self._store,
            find=find,
            retrieve=retrieve,
            observer=self.observer,
            events=self.events,
        )
        await self.server.start(host, port)

    @property
    def index_shown(self) -> str:
        """The index location as it may be logged (no password)."""
        return shown_url(self.index_location)

    def _open_index(self) -> Index:
        try:
            return Index.open(self.index_location)
        except sa.exc.SQLAlchemyError as exc:
            reason = describe_error(exc)
            raise IndexUnavailable(f"cannot open the index {self.index_shown}: {reason}") from exc

    async def _blocking(self, work: Callable[..., T], *args: object) -> T:
        """Database set-up work, off the event loop; an index in memory lives in one
        thread (SQLite's rule), so it stays on the loop's."""
        if self.index_location == "sqlite://":
            return work(*args)
        return await asyncio.to_thread(work, *args)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    async def serve_forever(self) -> None:
        """Serve until closed, or until a peer sends the shutdown request (``allow_shutdown``)."""
        assert self.server is not None
        await until_first(self.server.serve_forever(), self.shutdown_requested.wait())

    async def close(self) -> None:
        """Stop listening, abort what is open, remove unfinished files, close the index."""
        if self.server is not None:
            await self.server.close()
        if self._store is not None:
            self._store.discard_pending()
        if self.index is not None:
            await self._blocking(self.index.close)
            self.index = None

    # -- negotiation ---------------------------------------------------------------------------
    def _settings(self) -> AcceptorSettings:
        options = self.options
        return AcceptorSettings(
            ae_title=next(iter(self.config.areas), "ARCHIVE"),
            supported={},
            supported_for=self.policy.supported_for,
            roles=self.policy.roles,
            check=self._check,
            max_pdu_length=options.max_pdu_length or self.config.max_pdu_size,
            max_associations=self.config.max_associations,
            timeouts=options.timeouts,
            reject_without_contexts=False,  # dcmqrscp accepts, every context refused
            host_lookup=options.host_lookup,
            identity=options.identity,
        )

    def _check(self, request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ | None:
        rejection = self.policy.check(request, peer)
        if rejection is None and self.policy.wants_shutdown(request):
            # only a peer whose identity passes may stop the archive (negotiate() checks it
            # after this check, too late for a request that is rejected here anyway)
            identity = answer_identity(self.options.identity, request.user_information.user_identity_rq, peer)
            if isinstance(identity, IdentityRejection):
                return identity
            log.warning("shutdown requested by %s (%s)", request.calling_ae, peer[0])
            self.shutdown_requested.set()
            return AAssociateRJ(1, 1, 1)
        return rejection

    def _is_storing(self, ae_title: str) -> bool:
        return self._storing[ae_title] > 0

    def association_started(self, assoc: Association) -> None:
        if self._holds_storage(assoc):
            self._storing[self._called(assoc)] += 1

    def association_ended(self, assoc: Association) -> None:
        if self._holds_storage(assoc):
            self._storing[self._called(assoc)] -= 1

    def _holds_storage(self, assoc: Association) -> bool:
        return any(self.policy.is_storage(c.abstract_syntax) for c in assoc.contexts.values())

    @staticmethod
    def _called(assoc: Association) -> str:
        return assoc.request.called_ae if assoc.request is not None else ""

    # -- storage -------------------------------------------------------------------------------
    def _stored(self, outcome: StoredInstance) -> None:
        if self.on_stored is not None:
            self.on_stored(outcome)

    def _reconcile_all(self) -> None:
        assert self.index is not None
        for area in self.config.areas.values():
            removed, dropped, added = reconcile(self.index, area)
            if removed or dropped or added:
                log.warning(
                    "storage area %s (%s): removed %d unfinished files, dropped %d index rows "
                    "without files, indexed %d files without rows",
                    area.ae_title,
                    area.path,
                    removed,
                    dropped,
                    added,
                )
