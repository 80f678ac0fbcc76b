"""dicomwire: fast, asyncio-native DICOM networking.

Everything a library user needs is here::

    import dicomwire

    async with dicomwire.associate("pacs", 104, called_ae="PACS", contexts=[...]) as assoc:
        response = await dicomwire.echo(assoc)

Names load on first use (PEP 562), so ``import dicomwire`` costs almost nothing
and a tool pays only for what it uses.  ``dicomwire.status`` holds the DIMSE status
codes and ``dicomwire.uids`` the UIDs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_HOMES: dict[str, str] = {
    "AcceptorSettings": "dicomwire.config",
    "RequestorSettings": "dicomwire.config",
    "Timeouts": "dicomwire.config",
    "IdentityPolicy": "dicomwire.ul.identity",
    "IdentityAccepted": "dicomwire.ul.identity",
    "IdentityRefused": "dicomwire.ul.identity",
    "UserIdentityRQ": "dicomwire.ul.items",
    "UsersFile": "dicomwire.services.identity",
    "associate": "dicomwire.net.client",
    "TLSSettings": "dicomwire.net.tls",
    "TLSProfile": "dicomwire.net.tls",
    "PeerVerification": "dicomwire.net.tls",
    "RevocationCheck": "dicomwire.net.tls",
    "Association": "dicomwire.net.association",
    "ReleaseRequested": "dicomwire.net.association",
    "Server": "dicomwire.services.server",
    "echo": "dicomwire.services.verification",
    "StoreSource": "dicomwire.services.storage",
    "inspect_file": "dicomwire.services.storage",
    "store": "dicomwire.services.storage",
    "FsyncPolicy": "dicomwire.services.storage_scp",
    "StorageSCP": "dicomwire.services.storage_scp",
    "StoreOutcome": "dicomwire.services.storage_scp",
    "FindOperation": "dicomwire.services.query",
    "FindResponse": "dicomwire.services.query",
    "find": "dicomwire.services.query",
    "MoveOperation": "dicomwire.services.retrieve",
    "GetOperation": "dicomwire.services.retrieve",
    "RetrieveResponse": "dicomwire.services.retrieve",
    "move": "dicomwire.services.retrieve",
    "get": "dicomwire.services.retrieve",
    "get_contexts": "dicomwire.services.retrieve",
    "SubAssociationSettings": "dicomwire.services.retrieve_scp",
    "RetrieveFailed": "dicomwire.services.handlers",
    "CMoveRQ": "dicomwire.dimse.messages",
    "CMoveRSP": "dicomwire.dimse.messages",
    "CGetRQ": "dicomwire.dimse.messages",
    "CGetRSP": "dicomwire.dimse.messages",
    "decode_dataset": "dicomwire.services.codec",
    "all_storage_contexts": "dicomwire.services.contexts",
    "encode_dataset": "dicomwire.services.codec",
    "AcceptEcho": "dicomwire.services.handlers",
    "AssociationInfo": "dicomwire.services.handlers",
    "EchoHandler": "dicomwire.services.handlers",
    "FindHandler": "dicomwire.services.handlers",
    "GetHandler": "dicomwire.services.handlers",
    "MoveHandler": "dicomwire.services.handlers",
    "ReceivedInstance": "dicomwire.services.handlers",
    "RetrieveMatch": "dicomwire.services.handlers",
    "StoreHandler": "dicomwire.services.handlers",
    "StreamingStoreHandler": "dicomwire.services.handlers",
    "Priority": "dicomwire.dimse.commands",
    "CEchoRQ": "dicomwire.dimse.messages",
    "CEchoRSP": "dicomwire.dimse.messages",
    "CFindRQ": "dicomwire.dimse.messages",
    "CFindRSP": "dicomwire.dimse.messages",
    "CStoreRQ": "dicomwire.dimse.messages",
    "CStoreRSP": "dicomwire.dimse.messages",
    "Message": "dicomwire.dimse.messages",
    "DicomWireError": "dicomwire.errors",
    "ProtocolError": "dicomwire.errors",
    "LocalProtocolError": "dicomwire.errors",
    "RemoteProtocolError": "dicomwire.errors",
    "AssociationError": "dicomwire.errors",
    "AssociationRejected": "dicomwire.errors",
    "AssociationAborted": "dicomwire.errors",
    "NoAcceptedContext": "dicomwire.errors",
    "DimseError": "dicomwire.errors",
    "DatasetCodecError": "dicomwire.errors",
    "StatusError": "dicomwire.errors",
    "NetworkError": "dicomwire.errors",
    "ConnectError": "dicomwire.errors",
    "TLSHandshakeError": "dicomwire.errors",
    "TLSSetupError": "dicomwire.errors",
    "ReadError": "dicomwire.errors",
    "WriteError": "dicomwire.errors",
    "DicomTimeout": "dicomwire.errors",
    "AcseTimeout": "dicomwire.errors",
    "DimseTimeout": "dicomwire.errors",
    "NetworkTimeout": "dicomwire.errors",
}
_SUBMODULES = frozenset({"status", "uids"})  # dicomwire.status is dimse.status

__all__ = [
    "AcceptEcho",
    "AcceptorSettings",
    "AcseTimeout",
    "Association",
    "AssociationAborted",
    "AssociationError",
    "AssociationInfo",
    "AssociationRejected",
    "CEchoRQ",
    "CEchoRSP",
    "CFindRQ",
    "CFindRSP",
    "CGetRQ",
    "CGetRSP",
    "CMoveRQ",
    "CMoveRSP",
    "CStoreRQ",
    "CStoreRSP",
    "ConnectError",
    "DatasetCodecError",
    "DicomTimeout",
    "DicomWireError",
    "DimseError",
    "DimseTimeout",
    "EchoHandler",
    "FindHandler",
    "FindOperation",
    "FindResponse",
    "FsyncPolicy",
    "GetHandler",
    "GetOperation",
    "IdentityAccepted",
    "IdentityPolicy",
    "IdentityRefused",
    "LocalProtocolError",
    "Message",
    "MoveHandler",
    "MoveOperation",
    "NetworkError",
    "NetworkTimeout",
    "NoAcceptedContext",
    "PeerVerification",
    "Priority",
    "ProtocolError",
    "ReadError",
    "ReceivedInstance",
    "ReleaseRequested",
    "RemoteProtocolError",
    "RequestorSettings",
    "RetrieveFailed",
    "RetrieveMatch",
    "RetrieveResponse",
    "RevocationCheck",
    "Server",
    "StatusError",
    "StorageSCP",
    "StoreHandler",
    "StoreOutcome",
    "StoreSource",
    "StreamingStoreHandler",
    "SubAssociationSettings",
    "TLSHandshakeError",
    "TLSProfile",
    "TLSSettings",
    "TLSSetupError",
    "Timeouts",
    "UserIdentityRQ",
    "UsersFile",
    "WriteError",
    "__version__",
    "all_storage_contexts",
    "associate",
    "decode_dataset",
    "echo",
    "encode_dataset",
    "find",
    "get",
    "get_contexts",
    "inspect_file",
    "move",
    "status",
    "store",
    "uids",
]

if TYPE_CHECKING:
    from dicomwire import uids
    from dicomwire.config import AcceptorSettings as AcceptorSettings
    from dicomwire.config import RequestorSettings as RequestorSettings
    from dicomwire.config import Timeouts as Timeouts
    from dicomwire.dimse import status
    from dicomwire.dimse.commands import Priority as Priority
    from dicomwire.dimse.messages import CEchoRQ as CEchoRQ
    from dicomwire.dimse.messages import CEchoRSP as CEchoRSP
    from dicomwire.dimse.messages import CFindRQ as CFindRQ
    from dicomwire.dimse.messages import CFindRSP as CFindRSP
    from dicomwire.dimse.messages import CGetRQ as CGetRQ
    from dicomwire.dimse.messages import CGetRSP as CGetRSP
    from dicomwire.dimse.messages import CMoveRQ as CMoveRQ
    from dicomwire.dimse.messages import CMoveRSP as CMoveRSP
    from dicomwire.dimse.messages import CStoreRQ as CStoreRQ
    from dicomwire.dimse.messages import CStoreRSP as CStoreRSP
    from dicomwire.dimse.messages import Message as Message
    from dicomwire.errors import AcseTimeout as AcseTimeout
    from dicomwire.errors import AssociationAborted as AssociationAborted
    from dicomwire.errors import AssociationError as AssociationError
    from dicomwire.errors import AssociationRejected as AssociationRejected
    from dicomwire.errors import ConnectError as ConnectError
    from dicomwire.errors import DatasetCodecError as DatasetCodecError
    from dicomwire.errors import DicomTimeout as DicomTimeout
    from dicomwire.errors import DicomWireError as DicomWireError
    from dicomwire.errors import DimseError as DimseError
    from dicomwire.errors import DimseTimeout as DimseTimeout
    from dicomwire.errors import LocalProtocolError as LocalProtocolError
    from dicomwire.errors import NetworkError as NetworkError
    from dicomwire.errors import NetworkTimeout as NetworkTimeout
    from dicomwire.errors import NoAcceptedContext as NoAcceptedContext
    from dicomwire.errors import ProtocolError as ProtocolError
    from dicomwire.errors import ReadError as ReadError
    from dicomwire.errors import RemoteProtocolError as RemoteProtocolError
    from dicomwire.errors import StatusError as StatusError
    from dicomwire.errors import TLSHandshakeError as TLSHandshakeError
    from dicomwire.errors import TLSSetupError as TLSSetupError
    from dicomwire.errors import WriteError as WriteError
    from dicomwire.net.association import Association as Association
    from dicomwire.net.association import ReleaseRequested as ReleaseRequested
    from dicomwire.net.client import associate as associate
    from dicomwire.net.tls import PeerVerification as PeerVerification
    from dicomwire.net.tls import RevocationCheck as RevocationCheck
    from dicomwire.net.tls import TLSProfile as TLSProfile
    from dicomwire.net.tls import TLSSettings as TLSSettings
    from dicomwire.services.codec import decode_dataset as decode_dataset
    from dicomwire.services.codec import encode_dataset as encode_dataset
    from dicomwire.services.contexts import all_storage_contexts as all_storage_contexts
    from dicomwire.services.handlers import AcceptEcho as AcceptEcho
    from dicomwire.services.handlers import AssociationInfo as AssociationInfo
    from dicomwire.services.handlers import EchoHandler as EchoHandler
    from dicomwire.services.handlers import FindHandler as FindHandler
    from dicomwire.services.handlers import GetHandler as GetHandler
    from dicomwire.services.handlers import MoveHandler as MoveHandler
    from dicomwire.services.handlers import ReceivedInstance as ReceivedInstance
    from dicomwire.services.handlers import RetrieveFailed as RetrieveFailed
    from dicomwire.services.handlers import RetrieveMatch as RetrieveMatch
    from dicomwire.services.handlers import StoreHandler as StoreHandler
    from dicomwire.services.handlers import StreamingStoreHandler as StreamingStoreHandler
    from dicomwire.services.identity import UsersFile as UsersFile
    from dicomwire.services.query import FindOperation as FindOperation
    from dicomwire.services.query import FindResponse as FindResponse
    from dicomwire.services.query import find as find
    from dicomwire.services.retrieve import GetOperation as GetOperation
    from dicomwire.services.retrieve import MoveOperation as MoveOperation
    from dicomwire.services.retrieve import RetrieveResponse as RetrieveResponse
    from dicomwire.services.retrieve import get as get
    from dicomwire.services.retrieve import get_contexts as get_contexts
    from dicomwire.services.retrieve import move as move
    from dicomwire.services.retrieve_scp import SubAssociationSettings as SubAssociationSettings
    from dicomwire.services.server import Server as Server
    from dicomwire.services.storage import StoreSource as StoreSource
    from dicomwire.services.storage import inspect_file as inspect_file
    from dicomwire.services.storage import store as store
    from dicomwire.services.storage_scp import FsyncPolicy as FsyncPolicy
    from dicomwire.services.storage_scp import StorageSCP as StorageSCP
    from dicomwire.services.storage_scp import StoreOutcome as StoreOutcome
    from dicomwire.services.verification import echo as echo
    from dicomwire.ul.identity import IdentityAccepted as IdentityAccepted
    from dicomwire.ul.identity import IdentityPolicy as IdentityPolicy
    from dicomwire.ul.identity import IdentityRefused as IdentityRefused
    from dicomwire.ul.items import UserIdentityRQ as UserIdentityRQ


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
    elif name in _SUBMODULES:
        value = importlib.import_module("dicomwire.dimse.status" if name == "status" else f"dicomwire.{name}")
    else:
        raise AttributeError(f"module 'dicomwire' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
