"""Ready-made acceptor context tables (``AcceptorSettings.supported``)."""

from __future__ import annotations

from collections.abc import Mapping

from dicomwire import uids

__all__ = ["all_storage_contexts"]


def all_storage_contexts() -> Mapping[str, tuple[str, ...]]:
    """Acceptor contexts for every storage SOP class with every transfer syntax.

    In our order of preference: uncompressed explicit, then implicit little
    endian, then every compressed syntax, deflate and big endian; plus
    Verification.  (A DCMTK profile cannot say this: it caps a list at 128.)
    """
    known = [ts for ts in uids.TRANSFER_SYNTAXES.values() if not ts.retired]
    compressed = [ts.uid for ts in known if ts.encapsulated]
    preference = (
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
        *compressed,
        uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_BIG_ENDIAN,
    )
    contexts: dict[str, tuple[str, ...]] = {
        uids.VERIFICATION: (
            uids.EXPLICIT_VR_LITTLE_ENDIAN,
            uids.IMPLICIT_VR_LITTLE_ENDIAN,
            uids.EXPLICIT_VR_BIG_ENDIAN,
        )
    }
    for sop in uids.SOP_CLASSES.values():
        if sop.service is uids.Service.STORAGE:
            contexts[sop.uid] = preference
    return contexts
