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
What every process of such an archive must count or decide together (the association
limit, ``no_parallel_store``, the quotas) is held in :mod:`dicomwire.archive.locks`;
``start(sockets=...)`` serves on listening sockets shared with the other processes of the
host (``options.workers``; see :func:`dicomwire.net.server.listen`).
An index that cannot be opened is an :class:`IndexUnavailable` from ``start``.  A
configuration without any AE title is served too: every association is rejected
(called AE title not recognized), as dcmqrscp does with Debian's example file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.database import IndexUnavailable, describe_error, index_url, shown_url, sqlite_url
from dicomwire.archive.index import Index
from dicomwire.archive.locks import SLOTS, Held, SharedLocks, shared_locks, store_lock
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

    async def admit(self, assoc: Association) -> bool:
        return await super().admit(assoc) and await self.archive.admit(assoc)

    def release(self, assoc: Association) -> None:
        self.archive.release(assoc)

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
        # shared with the archive's other processes (None: this one is alone), and held here
        self.locks: SharedLocks | None = None
        self._slots: dict[Association, Held] = {}
        self._store_holds: dict[Association, Held] = {}
        self._not_storing: set[int] = set()  # id() of requests another association's storing excludes
        self._unshared_warned = False
        self._store: ArchiveStore | None = None
        self.one_at_a_time = asyncio.Semaphore(1) if self.options.single_process else None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(
        self, host: str | None, port: int, *, sockets: Sequence[socket.socket] = (), reconcile: bool = True
    ) -> None:
        """Open the index, reconcile the storage areas (unless ``reconcile`` is false: another
        process of the archive did), listen on ``host``:``port`` or serve on ``sockets``."""
        await self.prepare(reconcile=reconcile)
        assert self.index is not None
        self.locks = shared_locks(self.index.engine, self.options.workers)
        self._store = ArchiveStore(
            self.index, self.config, self.options, on_stored=self._stored, locks=self.locks
        )
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
        await self.server.start(host, port, sockets=sockets)

    async def prepare(self, *, reconcile: bool = True) -> None:
        """Open the index (creating or upgrading its schema) and reconcile the storage areas
        with it: what ``start`` does first.  A process that starts the archive's other
        processes (dcmqrscp --workers) does it once for them all, then ``close``."""
        if self.index is None:
            self.index = await self._blocking(self._open_index)
            if reconcile:
                await asyncio.to_thread(self._reconcile_all)

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
        if self.locks is not None:
            self.locks.close()
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

    def _is_storing(self, request: AAssociateRQ, ae_title: str) -> bool:
        """Does another association store into ``ae_title`` (no_parallel_store)?"""
        if self.locks is not None:
            return id(request) in self._not_storing  # it did not get the AE title's lock
        return self._storing[ae_title] > 0

    # -- limits shared with the archive's other processes ----------------------------------------
    async def admit(self, assoc: Association) -> bool:
        """At an association request: a slot of ``MaxAssociations`` (False: none is free, the
        request is refused as one too many) and, with no_parallel_store, the called AE title's
        storing lock for a request that proposes storage.  Without shared locks, and when the
        database that holds them fails, each process counts its own (the server's check)."""
        locks = self.locks
        if locks is None:
            return True
        try:
            slot = await self._locking(locks, locks.try_slot, SLOTS, self.config.max_associations)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._unshared(exc)
            return True
        if slot is None:
            return False
        self._slots[assoc] = slot
        area = self.config.area_for(self._called(assoc))
        if not (self.options.no_parallel_store and area is not None and area.access.can_write):
            return True
        if self._proposes_storage(assoc):
            try:
                hold = await self._locking(locks, locks.try_acquire, store_lock(area.ae_title))
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                self._unshared(exc)
                return True
            if hold is None and assoc.request is not None:
                self._not_storing.add(id(assoc.request))
            elif hold is not None:
                self._store_holds[assoc] = hold
        return True

    def release(self, assoc: Association) -> None:
        """The association is over (or was never accepted): its slot and lock go back."""
        if assoc.request is not None:
            self._not_storing.discard(id(assoc.request))
        for holds in (self._store_holds, self._slots):
            held = holds.pop(assoc, None)
            if held is not None:
                self._let_go(held)

    async def _locking(
        self, locks: SharedLocks, work: Callable[..., Held | None], *args: object
    ) -> Held | None:
        """``work(*args)``: in a thread when it waits on a server, kept even when the task
        is cancelled meanwhile (whatever it took is then given back)."""
        if not locks.remote:
            return work(*args)
        future = asyncio.ensure_future(asyncio.to_thread(work, *args))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(self._let_go_taken)
            raise

    def _let_go_taken(self, future: asyncio.Future[Held | None]) -> None:
        if not future.cancelled() and future.exception() is None and (held := future.result()) is not None:
            self._let_go(held)

    def _let_go(self, held: Held) -> None:
        locks = self.locks
        if locks is None:
            return
        if locks.remote:
            asyncio.get_running_loop().run_in_executor(None, locks.release, held)
        else:
            locks.release(held)

    def _unshared(self, error: BaseException) -> None:
        if not self._unshared_warned:
            self._unshared_warned = True
            log.warning(
                "cannot count the associations of the whole archive (%s): this process counts its own",
                describe_error(error),
            )

    def _proposes_storage(self, assoc: Association) -> bool:
        request = assoc.request
        return request is not None and any(
            self.policy.is_storage(context.abstract_syntax) for context in request.presentation_contexts
        )

    def association_started(self, assoc: Association) -> None:
        if self._holds_storage(assoc):
            self._storing[self._called(assoc)] += 1
        else:
            held = self._store_holds.pop(assoc, None)  # proposed storage, got none: let others
            if held is not None:
                self._let_go(held)

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
