"""movescu's storage SCP for ``+P``: the sub-operations' instances, written as DCMTK's movescu does.

A :class:`~dicomwire.services.server.Server` on the same event loop as the C-MOVE, with
a :class:`~dicomwire.services.storage_scp.StorageSCP` behind :class:`MoveStore`, which adds
what movescu does around it: the ``DICOM file already exists, overwriting`` warning, the
rewrite of normal mode (``archive.output.rewrite``, as dcmqrscp), ``-F``, and the file
place of ``+B`` (the current directory: DCMTK 3.6.7 ignores ``-od`` there).
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from typing import Final

from dicomwire import uids
from dicomwire.archive.output import MetaFields, rewrite
from dicomwire.cli.movescu.parser import DEFAULT_AE_TITLE, incoming_syntaxes
from dicomwire.config import AcceptorSettings, Timeouts
from dicomwire.dcmtk.acceptorlog import acceptor_view
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.outputs import stored_format
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.naming import DcmtkNaming
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import DatasetSink
from dicomwire.dimse.messages import CStoreRQ, Message
from dicomwire.errors import AssociationAborted, DatasetCodecError, TLSHandshakeError
from dicomwire.net.association import Association
from dicomwire.net.tls import TLSSettings
from dicomwire.services.contexts import all_storage_contexts
from dicomwire.services.file_meta import read_file_meta
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.server import Server
from dicomwire.services.storage_names import InstanceInfo
from dicomwire.services.storage_scp import FsyncPolicy, StorageSCP
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ

__all__ = ["MoveStore", "SubAssociationLog", "start_receiver"]

# DCMTK gives every socket of the sub-associations a 60 s send/receive timeout.
SOCKET_TIMEOUT: Final = 60.0
_PDV_OVERHEAD: Final = 12


class MoveStore:
    """The store handler of the sub-associations (a streaming one, like StorageSCP)."""

    def __init__(self, ns: argparse.Namespace, log: logging.Logger) -> None:
        self.log = log
        self.format = stored_format(ns)
        # +B writes where DCMTK does: the name alone, relative to the current directory.
        self.directory = "." if self.format.bit_preserving else str(ns.output_directory)
        self.naming = DcmtkNaming()
        self.scp = StorageSCP(
            self.directory,
            naming=self.naming,
            bit_preserving=self.format.bit_preserving,
            ignore=bool(ns.ignore),
            fsync=FsyncPolicy.NONE,
            on_stored=lambda outcome: None,  # keeps the library's own "stored" line out
        )

    def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink:
        return self.scp.open_sink(request, info)

    def discard_pending(self) -> None:
        self.scp.discard_pending()

    def _target(self, request: CStoreRQ, info: AssociationInfo) -> str:
        name = self.naming(InstanceInfo(request.affected_sop_class_uid, request.affected_sop_instance_uid))
        return name if self.directory == "." else os.path.join(self.directory, name)

    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        if self.scp.ignore:
            return await self.scp.store(instance, info)
        target = self._target(instance.request, info)
        if os.path.lexists(target):
            if not self.format.bit_preserving:
                self.log.warning("DICOM file already exists, overwriting: %s", target)
            os.unlink(target)  # DCMTK overwrites; StorageSCP would warn in its own words
        outcome = await self.scp.complete(instance, info)
        if outcome.status != st.SUCCESS or outcome.path is None:
            return outcome.status
        return self._finish(outcome.path, target, instance, info)

    def _finish(self, path: str, shown: str, instance: ReceivedInstance, info: AssociationInfo) -> int:
        """Rewrite the stored file as the output options ask (normal mode, or -F with +B)."""
        fmt = self.format
        if fmt.bit_preserving and fmt.write_file:
            return st.SUCCESS
        temp = f"{path}.movescu-part"
        try:
            if fmt.bit_preserving:
                _strip_meta(path, temp)
            else:
                request = instance.request
                # DCMTK writes a new meta header without Source AE Title
                meta = MetaFields(request.affected_sop_class_uid, request.affected_sop_instance_uid)
                rewrite(path, temp, fmt, received_syntax=info.transfer_syntax, meta=meta)
            os.replace(temp, path)
        except (DatasetCodecError, OSError):
            self.log.error("cannot write DICOM file: %s", shown)
            for leftover in (temp, path):
                if os.path.lexists(leftover):
                    os.unlink(leftover)
            return st.OUT_OF_RESOURCES
        return st.SUCCESS


def _strip_meta(path: str, out: str) -> None:
    with open(path, "rb") as fp:
        fp.seek(read_file_meta(fp).dataset_offset)
        data = fp.read()
    with open(out, "wb") as target:
        target.write(data)


class SubAssociationLog:
    """movescu's lines for the sub-associations and their C-STORE-RQs (server events and observer)."""

    def __init__(self, log: logging.Logger, settings: AcceptorSettings) -> None:
        self.log = log
        self.settings = settings

    # -- AssociationEvents -----------------------------------------------------------------------
    def received(self, assoc: Association, request: AAssociateRQ) -> None:
        self.log.info("Sub-Association Received")
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("Parameters:\n%s", "\n".join(acceptor_view(self.settings, request)))

    def refused(self, assoc: Association, rejection: AAssociateRJ, why: str) -> None:
        self.log.error("Sub-Association refused: %s", why)

    def acknowledged(self, assoc: Association) -> None:
        self.log.info("Sub-Association Acknowledged (Max Send PDV: %d)", _max_send_pdv(assoc))
        if not assoc.contexts:
            self.log.info("    (but no valid presentation contexts)")
        if self.log.isEnabledFor(logging.DEBUG) and assoc.request is not None:
            self.log.debug("%s", "\n".join(acceptor_view(self.settings, assoc.request, assoc.accept)))

    def release_requested(self, assoc: Association) -> None:
        pass

    def aborted(self, assoc: Association, error: AssociationAborted) -> None:
        pass

    def handshake_failed(self, address: str, error: TLSHandshakeError) -> None:
        self.log.error("TLS connection from %s failed: %s", address, error)

    # -- MessageObserver -------------------------------------------------------------------------
    def __call__(self, assoc: Association, incoming: bool, context_id: int, message: Message) -> None:
        if not incoming or not isinstance(message, CStoreRQ):
            return
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.info("Received Store Request")
            self.log.debug("%s", dump_message(message, "INCOMING", context_id))
            return
        modality = uids.dcmtk_modality_prefix(message.affected_sop_class_uid, "OT")
        self.log.info("Received Store Request (MsgID %d, %s)", message.message_id, modality)
        if self.log.getEffectiveLevel() == logging.INFO:
            # DCMTK's progress dots go to stdout at exactly the info level.
            sys.stdout.write("RECV: .\n")
            sys.stdout.flush()


def _max_send_pdv(assoc: Association) -> int:
    return max(assoc.peer_max_pdu_length - _PDV_OVERHEAD, 0)


def acceptor_settings(ns: argparse.Namespace) -> AcceptorSettings:
    """Verification and every storage class, with the ``+x`` option's syntaxes."""
    net = options.network_settings(ns, default_ae_title=DEFAULT_AE_TITLE)
    syntaxes = incoming_syntaxes(ns)
    supported = {uids.VERIFICATION: syntaxes, **{uid: syntaxes for uid in all_storage_contexts()}}
    return AcceptorSettings(
        ae_title=net.ae_title,
        supported=supported,
        max_pdu_length=net.max_pdu,
        timeouts=Timeouts(socket=SOCKET_TIMEOUT, acse=net.acse_timeout, dimse=net.dimse_timeout),
        host_lookup=not ns.disable_host_lookup,
        reject_without_contexts=False,
    )


async def start_receiver(ns: argparse.Namespace, log: logging.Logger) -> tuple[Server, MoveStore]:
    """The listening storage SCP of ``+P`` (raises OSError when the port cannot be bound)."""
    settings = acceptor_settings(ns)
    sub_log = SubAssociationLog(log, settings)
    store = MoveStore(ns, log)
    server = Server(settings, store=store, observer=sub_log, events=sub_log, tls=_receiver_tls(ns, log))
    await server.start(None, ns.retrieve_port)
    return server, store


def _receiver_tls(ns: argparse.Namespace, log: logging.Logger) -> ssl.SSLContext | None:
    """With ``+tls``, the incoming associations are TLS too, with the same key and certificate."""
    if ns.tls == "anonymous":
        log.warning("incoming associations stay plain TCP: --anonymous-tls has no certificate to offer")
    if ns.tls != "enable" or ns.tls_settings is None:
        return None
    settings: TLSSettings = ns.tls_settings
    return settings.context(server_side=True)
