"""Frozen settings of associations, passed down, never global.

:class:`Timeouts` are DCMTK's four timeouts; :class:`RequestorSettings` is what a
requestor puts in its A-ASSOCIATE-RQ (``associate()`` takes the same fields as
keyword arguments); :class:`AcceptorSettings` is what a ``Server`` accepts and how
it answers.  Every field has a keyword that mypy checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING

from dicomwire import uids
from dicomwire._records import record
from dicomwire.ul.items import (
    PresentationContextRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityRQ,
    UserInformation,
)
from dicomwire.ul.negotiation import propose
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ

if TYPE_CHECKING:  # the identity policy is the acceptor's: a requestor does not load it
    from dicomwire.ul.identity import IdentityPolicy

__all__ = ["AcceptorSettings", "ContextSpec", "RequestCheck", "RequestorSettings", "SupportedFor", "Timeouts"]

#: A proposed presentation context: abstract syntax and its transfer syntaxes.
ContextSpec = tuple[str, Sequence[str]]
#: Decides on a request before negotiation: None to go on, or a rejection.  The peer is
#: (host name as looked up, or the address with host lookup off; port).
RequestCheck = Callable[[AAssociateRQ, tuple[str, int]], AAssociateRJ | None]
#: What is accepted for one request (abstract syntax -> transfer syntaxes), when that
#: depends on the request: its called AE title, what else it proposes.
SupportedFor = Callable[[AAssociateRQ, tuple[str, int]], Mapping[str, Sequence[str]]]


@record(frozen=True, slots=True)
class Timeouts:
    """DCMTK's four timeouts, in seconds; None = wait forever."""

    connect: float | None = None  # -to
    socket: float | None = 60.0  # -ts
    acse: float | None = 30.0  # -ta
    dimse: float | None = None  # -td

    @property
    def handshake(self) -> float:
        """The limit on a TLS handshake: the shorter of -ts and -ta (DCMTK: -ts), else 60 s."""
        limits = [limit for limit in (self.socket, self.acse) if limit is not None]
        return min(limits) if limits else 60.0


@record(frozen=True)
class RequestorSettings:
    """Everything the requestor puts in its A-ASSOCIATE-RQ."""

    calling_ae: str = "DICOMWIRE"
    called_ae: str = "ANY-SCP"
    contexts: Sequence[ContextSpec] | Sequence[PresentationContextRQ] = ()
    max_pdu_length: int = 16384
    roles: Sequence[RoleSelection] = ()
    extended_negotiation: Sequence[SOPClassExtendedNegotiation] = ()
    common_extended_negotiation: Sequence[SOPClassCommonExtendedNegotiation] = ()
    user_identity: UserIdentityRQ | None = None
    async_ops_window: tuple[int, int] | None = None
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION
    timeouts: Timeouts = field(default_factory=Timeouts)

    def build_request(self) -> AAssociateRQ:
        """The A-ASSOCIATE-RQ these settings describe."""
        contexts = self.contexts
        if contexts and isinstance(contexts[0], PresentationContextRQ):
            proposal = tuple(c for c in contexts if isinstance(c, PresentationContextRQ))
        else:
            proposal = propose(c for c in contexts if isinstance(c, tuple))
        info = UserInformation(
            max_length=self.max_pdu_length,
            implementation_class_uid=self.implementation_class_uid,
            implementation_version_name=self.implementation_version_name,
            async_ops_window=self.async_ops_window,
            role_selections=tuple(self.roles),
            extended_negotiation=tuple(self.extended_negotiation),
            common_extended_negotiation=tuple(self.common_extended_negotiation),
            user_identity_rq=self.user_identity,
        )
        return AAssociateRQ(
            called_ae=self.called_ae,
            calling_ae=self.calling_ae,
            user_information=info,
            presentation_contexts=proposal,
        )


def _verification_only() -> Mapping[str, Sequence[str]]:
    return {uids.VERIFICATION: (uids.IMPLICIT_VR_LITTLE_ENDIAN,)}


@record(frozen=True)
class AcceptorSettings:
    """What the acceptor accepts and how it answers."""

    ae_title: str = "ANY-SCP"
    # abstract syntax -> transfer syntaxes, in our order of preference
    supported: Mapping[str, Sequence[str]] = field(default_factory=_verification_only)
    # abstract syntax -> (SCU, SCP) roles we accept when the requestor proposes them
    roles: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)
    max_pdu_length: int = 16384
    max_associations: int = 64
    # Connections that have not yet sent their A-ASSOCIATE-RQ.  Beyond this, the
    # oldest is dropped: a flood of idle sockets cannot exhaust file descriptors,
    # and real peers (who send their request at once) are never the ones dropped.
    max_waiting: int = 256
    timeouts: Timeouts = field(default_factory=Timeouts)
    prefer_requestor_order: bool = False
    # DCMTK's dcmrecv/storescp reject an association with no usable context
    # (1, 1, 1); its dcmqrscp accepts it with every context rejected.
    reject_without_contexts: bool = True
    # Log (and match peers by) the looked-up host name, as DCMTK does; -dhl turns it off.
    host_lookup: bool = True
    check: RequestCheck | None = None
    # when set, decides ``supported`` per request
    supported_for: SupportedFor | None = None
    # who may associate by user identity (PS3.7 D.3.3.7); None: any identity is accepted
    # unverified (see ``dicomwire.ul.identity``)
    identity: IdentityPolicy | None = None
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION
