"""Who may associate with the archive, and which presentation contexts each request gets.

dcmqrscp's rules, as functions of the configuration and options:

* the called AE title must be one of the AETable's (else rejected: called AE title not
  recognized), and the caller must be one of that AE's peers when it lists any (else
  rejected with the same reason, as dcmqrscp does); ``refuse`` rejects everyone,
  ``require_implementation_class_uid`` those that send none;
* storage contexts only for an AE that may be written (``W``), query/retrieve contexts
  only for one that may be read (``R``; DCMTK 3.6.7 does not check read access, we do),
  only for the models not switched off; with ``no_parallel_store``, no storage contexts
  while another association holds them for the same AE title;
* C-MOVE and C-GET contexts for the same models (none for C-GET with ``disable_get``;
  with ``require_find`` only when the request proposes the model's C-FIND too); for C-GET
  the requestor may take the SCP role of every storage class, and an AE that may be read
  but not written gets the storage contexts the requestor proposes to be SCP for (it
  cannot store into them: the archive refuses such a C-STORE).

With ``options.profile`` (an association profile's contexts, dcmqrscp's ``-xf``) the
profile replaces the storage contexts: only the SOP classes it lists are stored, each with
its own transfer syntaxes in its order (a UID we do not know counts as a private storage
class).  Verification and the FIND, MOVE and GET models stay as they are; a profile entry for one of them
adds its transfer syntaxes after ours, and makes a model switched off acceptable again (a
profile entry is never filtered by the models switched off, as in dcmqrscp).  The access
rules hold for profile entries too: storage only for ``W``, query/retrieve only for ``R``.
A profile entry for anything else (worklist, ...) is refused: dcmqrscp accepts it and then
cannot serve it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from dicomwire import uids
from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.keys import MODELS, PATIENT_ROOT, PATIENT_STUDY_ONLY, STUDY_ROOT, Model
from dicomwire.archive.options import ArchiveOptions
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ, RejectResult, RejectSource

__all__ = ["PRIVATE_SHUTDOWN", "AssociationPolicy"]

Contexts = dict[str, Sequence[str]]

#: DCMTK's private SOP class that asks a server to shut down (termscu proposes it).
PRIVATE_SHUTDOWN: Final = "1.2.276.0.7230010.3.4.1915765545.18030.917282194.0"
_NO_REASON: Final = 1
_CALLED_NOT_RECOGNIZED: Final = 7


def _reject(reason: int) -> AAssociateRJ:
    return AAssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_USER, reason)


def _storage_classes() -> tuple[str, ...]:
    return tuple(sop.uid for sop in uids.SOP_CLASSES.values() if sop.service is uids.Service.STORAGE)


def _stores(abstract_syntax: str) -> bool:
    """A profile entry for storage: a storage SOP class, or a UID we do not know (a private one)."""
    sop = uids.SOP_CLASSES.get(abstract_syntax)
    if sop is None:
        return abstract_syntax != PRIVATE_SHUTDOWN  # asked for in the request, never a context
    return sop.service is uids.Service.STORAGE


def _storage(options: ArchiveOptions, storage_classes: Sequence[str]) -> Contexts:
    """Every storage class with our syntaxes, or the profile's storage entries with theirs."""
    if options.profile is None:
        return dict.fromkeys(storage_classes, (*options.preferred_syntaxes, *options.accepted_compressed))
    return {uid: tuple(syntaxes) for uid, syntaxes in options.profile.items() if _stores(uid)}


def _with_profile(
    ours: Mapping[str, Sequence[str]], profile: Mapping[str, Sequence[str]] | None, wanted: set[str]
) -> Contexts:
    """``ours``, plus the profile's entries of ``wanted`` (after ours where both have one)."""
    merged = dict(ours)
    for abstract, syntaxes in (profile or {}).items():
        if abstract in wanted:
            own = tuple(merged.get(abstract, ()))
            merged[abstract] = (*own, *(ts for ts in syntaxes if ts not in own))
    return merged


class AssociationPolicy:
    """The archive's ``check`` and ``supported_for`` (see the module)."""

    def __init__(
        self,
        config: ArchiveConfig,
        options: ArchiveOptions,
        storing: Callable[[AAssociateRQ, str], bool],
    ) -> None:
        self.config = config
        self.options = options
        self.storing = storing  # is another association storing for this AE title (request, AE title)?
        self.storage_classes = _storage_classes()
        switched_on = {
            PATIENT_ROOT.name: options.patient_root,
            STUDY_ROOT.name: options.study_root,
            PATIENT_STUDY_ONLY.name: options.patient_study_only,
        }
        self.models: tuple[Model, ...] = tuple(m for m in MODELS if switched_on[m.name])
        syntaxes = options.preferred_syntaxes
        self.verification = _with_profile({uids.VERIFICATION: syntaxes}, options.profile, {uids.VERIFICATION})
        finds = {model.find: syntaxes for model in self.models}
        self.query = _with_profile(finds, options.profile, {model.find for model in MODELS})
        moves = {model.move: syntaxes for model in self.models}
        self.moves = _with_profile(moves, options.profile, {model.move for model in MODELS})
        gets = {} if options.disable_get else {model.get: syntaxes for model in self.models}
        wanted_gets = set() if options.disable_get else {model.get for model in MODELS}
        self.gets = _with_profile(gets, options.profile, wanted_gets)
        self.storage = _storage(options, self.storage_classes)
        # C-GET: the requestor may take the SCP role for every storage class.
        self.roles = {} if options.disable_get else dict.fromkeys(self.storage, (True, True))

    def check(self, request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ | None:
        """None to go on negotiating, or the rejection (dcmqrscp's reasons)."""
        if self.options.refuse:
            return _reject(_NO_REASON)
        if (
            self.options.require_implementation_class_uid
            and not request.user_information.implementation_class_uid
        ):
            return _reject(_NO_REASON)
        area = self.config.area_for(request.called_ae)
        if area is None:
            return _reject(_CALLED_NOT_RECOGNIZED)
        if not area.admits(request.calling_ae, (peer[0],)):
            return _reject(_CALLED_NOT_RECOGNIZED)  # dcmqrscp's answer (CTN_BadAEService)
        return None

    def wants_shutdown(self, request: AAssociateRQ) -> bool:
        proposed = {context.abstract_syntax for context in request.presentation_contexts}
        return self.options.allow_shutdown and PRIVATE_SHUTDOWN in proposed

    def supported_for(self, request: AAssociateRQ, peer: tuple[str, int]) -> Mapping[str, Sequence[str]]:
        """The contexts this request may have (abstract syntax -> transfer syntaxes)."""
        area = self.config.area_for(request.called_ae)
        supported = dict(self.verification)
        if area is None:
            return supported
        if area.access.can_read:
            supported.update(self.query)
            supported.update(self._retrieval(request))
        if area.access.can_write and not (
            self.options.no_parallel_store and self.storing(request, area.ae_title)
        ):
            supported.update(self.storage)
        elif area.access.can_read and self.gets:
            supported.update(self._get_storage(request))
        return supported

    def _retrieval(self, request: AAssociateRQ) -> Contexts:
        """The C-MOVE and C-GET contexts; with ``require_find`` only those whose model's
        C-FIND is proposed too (dcmqrscp's --require-find)."""
        retrieval = {**self.moves, **self.gets}
        if not self.options.require_find:
            return retrieval
        proposed = {context.abstract_syntax for context in request.presentation_contexts}
        finds_of = {sop: model.find for model in MODELS for sop in (model.move, model.get)}
        return {sop: ts for sop, ts in retrieval.items() if finds_of.get(sop) in proposed}

    def _get_storage(self, request: AAssociateRQ) -> Contexts:
        """For an AE that may be read, not written: the storage contexts a C-GET needs
        (those the requestor proposes to be SCP for), never one to store into."""
        scp_roles = {role.sop_class_uid for role in request.user_information.role_selections if role.scp_role}
        return {sop: ts for sop, ts in self.storage.items() if sop in scp_roles}

    def is_storage(self, abstract_syntax: str) -> bool:
        return abstract_syntax in self.storage
