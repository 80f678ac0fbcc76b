"""The Query/Retrieve C-MOVE and C-GET services (PS3.4 C.4.2, C.4.3): the SCU side.

::

    async with associate(host, port, contexts=[(uids.STUDY_ROOT_MOVE, syntaxes)]) as assoc:
        async for response in move(assoc, query, model="study", destination="STORESCP"):
            print(response.status, response.remaining, response.completed)

    settings = get_requestor_settings(called_ae="ARCHIVE", model="study")
    async with associate(host, port, settings) as assoc:
        async for response in get(assoc, query, model="study", store="incoming/"):
            ...

Both operations are async iterators of :class:`RetrieveResponse` (the Pending ones,
then the final one) with :meth:`~RequestOperation.cancel`.  During a C-GET the
instances arrive on the same association as C-STORE-RQs between the responses;
:class:`GetOperation` hands each to a :class:`~dicomwire.services.handlers.StoreHandler`
(a directory is a :class:`~dicomwire.services.storage_scp.StorageSCP`) and answers it.
The SCP side is in :mod:`dicomwire.services.retrieve_scp`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Unpack

from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.config import RequestorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import DatasetSink, MessageReceived
from dicomwire.dimse.messages import CGetRQ, CGetRSP, CMoveRQ, CMoveRSP, CStoreRQ, CStoreRSP, Message
from dicomwire.net.association import Association
from dicomwire.services.codec import decode_dataset
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance, StoreHandler, StreamingStoreHandler
from dicomwire.services.info import association_info
from dicomwire.services.operation import OperationOptions, RequestOperation, ResponseMessage
from dicomwire.ul.items import PresentationContextRQ, RoleSelection

__all__ = [
    "GET_MODELS",
    "MOVE_MODELS",
    "GetOperation",
    "MoveOperation",
    "RetrieveResponse",
    "get",
    "get_contexts",
    "get_requestor_settings",
    "move",
    "resolve_get_model",
    "resolve_move_model",
]

log = logging.getLogger("dicomwire.services.retrieve")

#: Short names of the retrieve information models (movescu's/getscu's -P -S -O).
MOVE_MODELS: Final[Mapping[str, str]] = {
    "patient": uids.PATIENT_ROOT_MOVE,
    "study": uids.STUDY_ROOT_MOVE,
    "psonly": uids.PATIENT_STUDY_ONLY_MOVE,
}
GET_MODELS: Final[Mapping[str, str]] = {
    "patient": uids.PATIENT_ROOT_GET,
    "study": uids.STUDY_ROOT_GET,
    "psonly": uids.PATIENT_STUDY_ONLY_GET,
}
FAILED_SOP_INSTANCE_UID_LIST: Final = 0x00080058
# PS3.8: at most 128 presentation contexts in one A-ASSOCIATE-RQ (odd IDs 1..255).
MAX_CONTEXTS: Final = 128


def resolve_move_model(model: str) -> str:
    """A C-MOVE model's SOP class UID from a short name (``"study"``) or the UID itself."""
    return MOVE_MODELS.get(model, model)


def resolve_get_model(model: str) -> str:
    """A C-GET model's SOP class UID from a short name (``"study"``) or the UID itself."""
    return GET_MODELS.get(model, model)


@dataclass(frozen=True)
class RetrieveResponse:
    """One C-MOVE-RSP or C-GET-RSP: its status, its counts and its identifier (the final
    response of a retrieve with failures lists the failed instances in it)."""

    status: int
    message: CMoveRSP | CGetRSP
    identifier: Dataset | None
    raw_identifier: bytes | None
    transfer_syntax: str

    @property
    def pending(self) -> bool:
        return self.status == st.PENDING

    @property
    def remaining(self) -> int | None:
        return self.message.number_of_remaining_suboperations

    @property
    def completed(self) -> int | None:
        return self.message.number_of_completed_suboperations

    @property
    def failed(self) -> int | None:
        return self.message.number_of_failed_suboperations

    @property
    def warning(self) -> int | None:
        return self.message.number_of_warning_suboperations

    @property
    def failed_instances(self) -> tuple[str, ...]:
        """The Failed SOP Instance UID List (0008,0058) of the identifier, if any."""
        if self.identifier is None or FAILED_SOP_INSTANCE_UID_LIST not in self.identifier:
            return ()
        value = self.identifier[FAILED_SOP_INSTANCE_UID_LIST].value
        if value is None or value == "":
            return ()
        items = [value] if isinstance(value, str) else list(value)
        return tuple(str(uid) for uid in items)


class _RetrieveOperation(RequestOperation[RetrieveResponse]):
    """What C-MOVE and C-GET share: their responses."""

    def _is_pending(self, status: int) -> bool:
        return status == st.PENDING

    def _response(self, message: ResponseMessage, raw: bytes | None) -> RetrieveResponse:
        assert isinstance(message, CMoveRSP | CGetRSP)
        identifier = None
        if raw is not None:
            try:
                identifier = decode_dataset(raw, self.transfer_syntax)
            except Exception:  # a broken identifier must not lose the response and its counts
                log.warning("cannot decode the identifier of a %s", self.response_name)
        return RetrieveResponse(message.status, message, identifier, raw, self.transfer_syntax)


class MoveOperation(_RetrieveOperation):
    """One C-MOVE request and its responses (see the module)."""

    response_type = CMoveRSP
    response_name = "C-MOVE-RSP"

    def __init__(
        self,
        assoc: Association,
        query: Dataset,
        *,
        model: str,
        destination: str,
        **options: Unpack[OperationOptions],
    ) -> None:
        self.destination = destination
        super().__init__(assoc, query, sop_class=resolve_move_model(model), **options)

    def _make_request(self) -> CMoveRQ:
        return CMoveRQ(
            message_id=self.message_id,
            affected_sop_class_uid=self.model,
            move_destination=self.destination,
            priority=self.priority,
        )


#: Called for each C-STORE a C-GET brings, once answered: the request and its status.
StoredCallback = Callable[[CStoreRQ, int], None]


class GetOperation(_RetrieveOperation):
    """One C-GET request and its responses; the C-STORE-RQs that come between them go
    to ``store`` (a handler; a streaming one writes each data set as it arrives)."""

    response_type = CGetRSP
    response_name = "C-GET-RSP"

    def __init__(
        self,
        assoc: Association,
        query: Dataset,
        *,
        model: str,
        store: StoreHandler,
        on_stored: StoredCallback | None = None,
        **options: Unpack[OperationOptions],
    ) -> None:
        self.store = store
        self.on_stored = on_stored
        self.stored = 0  # C-STORE sub-operations received
        super().__init__(assoc, query, sop_class=resolve_get_model(model), **options)
        if isinstance(store, StreamingStoreHandler):
            assoc.assembler.sink_factory = self._sink_for

    def _make_request(self) -> CGetRQ:
        return CGetRQ(message_id=self.message_id, affected_sop_class_uid=self.model, priority=self.priority)

    def _sink_for(self, context_id: int, message: Message) -> DatasetSink | None:
        if not isinstance(message, CStoreRQ) or not isinstance(self.store, StreamingStoreHandler):
            return None
        return self.store.open_sink(message, association_info(self.assoc, context_id, message.message_id))

    async def _other_message(self, item: MessageReceived) -> bool:
        request = item.message
        if not isinstance(request, CStoreRQ):
            return False
        info = association_info(self.assoc, item.context_id, request.message_id, request.priority)
        code = await self._keep(request, item, info.transfer_syntax, info)
        response = CStoreRSP(
            message_id_being_responded_to=request.message_id,
            affected_sop_class_uid=request.affected_sop_class_uid,
            affected_sop_instance_uid=request.affected_sop_instance_uid,
            status=code,
        )
        await self.assoc.send(item.context_id, response)
        self.stored += 1
        if self.on_stored is not None:
            self.on_stored(request, code)
        return True

    async def _keep(
        self, request: CStoreRQ, item: MessageReceived, syntax: str, info: AssociationInfo
    ) -> int:
        context = self.assoc.contexts.get(item.context_id)
        if context is None or context.abstract_syntax != request.affected_sop_class_uid:
            _discard(item.sink)
            return st.DATA_SET_DOES_NOT_MATCH_SOP_CLASS
        instance = ReceivedInstance(request, syntax, item.dataset, item.sink)
        try:
            return await self.store.store(instance, info)
        except Exception:
            log.exception("the store handler failed during a C-GET")
            return st.CANNOT_UNDERSTAND

    def close(self) -> None:
        """Stop taking data sets into the store handler's sinks (done at the final response)."""
        if self.assoc.assembler.sink_factory == self._sink_for:
            self.assoc.assembler.sink_factory = None

    async def receive(self) -> RetrieveResponse:
        try:
            response = await super().receive()
        except BaseException:
            self.close()
            raise
        if self.final is not None:
            self.close()
        return response


def _discard(sink: DatasetSink | None) -> None:
    if sink is not None:
        discard = getattr(sink, "discard", None)  # an InstanceSink: remove its temporary file
        if discard is not None:
            discard()


def move(
    assoc: Association,
    query: Dataset,
    *,
    model: str,
    destination: str,
    **options: Unpack[OperationOptions],
) -> MoveOperation:
    """Start a C-MOVE to the AE title ``destination``: ``async for response in move(...)``.

    ``model`` is the model's SOP class UID or ``patient``, ``study``, ``psonly``; the
    options are :class:`~dicomwire.services.operation.OperationOptions` (``priority``,
    ``cancel_after``: a C-CANCEL-RQ after that many Pending responses, ``timeout``: the
    DIMSE timeout for each response).
    """
    return MoveOperation(assoc, query, model=model, destination=destination, **options)


def get(
    assoc: Association,
    query: Dataset,
    *,
    model: str,
    store: StoreHandler | str | os.PathLike[str],
    on_stored: StoredCallback | None = None,
    **options: Unpack[OperationOptions],
) -> GetOperation:
    """Start a C-GET: ``async for response in get(...)``; the instances go to ``store``
    (a :class:`StoreHandler`, or a directory they are written into, one file each).

    The association must have been negotiated with storage contexts on which we take
    the SCP role (:func:`get_contexts` builds them).
    """
    handler: StoreHandler
    if isinstance(store, str | os.PathLike):
        from dicomwire.services.storage_scp import StorageSCP

        handler = StorageSCP(store)
    else:
        handler = store
    return GetOperation(assoc, query, model=model, store=handler, on_stored=on_stored, **options)


def get_contexts(
    model: str,
    *,
    storage_classes: Iterable[str] | None = None,
    storage_syntaxes: Sequence[str] = (uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN),
    query_syntaxes: Sequence[str] = (uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN),
) -> tuple[tuple[PresentationContextRQ, ...], tuple[RoleSelection, ...]]:
    """The contexts and role selections a C-GET requestor proposes: the model, then one
    storage context per SOP class (every storage class we know, up to PS3.8's limit of
    128 contexts) on which it asks for the SCP role."""
    if storage_classes is None:
        from dicomwire.services.contexts import all_storage_contexts

        storage_classes = all_storage_contexts()
    classes = list(dict.fromkeys(storage_classes))[: MAX_CONTEXTS - 1]
    contexts = [PresentationContextRQ(1, resolve_get_model(model), tuple(query_syntaxes))]
    for number, sop_class in enumerate(classes, start=1):
        contexts.append(PresentationContextRQ(2 * number + 1, sop_class, tuple(storage_syntaxes)))
    roles = tuple(RoleSelection(sop_class, False, True) for sop_class in classes)
    return tuple(contexts), roles


def get_requestor_settings(model: str, **settings: object) -> RequestorSettings:
    """:class:`RequestorSettings` for a C-GET (``get_contexts`` with default syntaxes),
    the other fields as keyword arguments."""
    contexts, roles = get_contexts(model)
    return RequestorSettings(contexts=contexts, roles=roles, **settings)  # type: ignore[arg-type]
