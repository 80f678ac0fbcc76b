"""From dcmqrscp's parsed command line to the archive's neutral settings.

:func:`archive_options` gives the :class:`~dicomwire.archive.options.ArchiveOptions`;
:func:`archive_config` applies the character set options to the configuration, where
DCMTK applies them too (they override the file's ``SpecificCharacterSet``).  Both are
pure: a namespace and a configuration in, frozen values out.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Final

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.options import ArchiveOptions, MoveRestriction
from dicomwire.config import Timeouts
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.outputs import stored_format
from dicomwire.dcmtk.cmdline.syntaxes import (
    ACCEPTANCE_BY_OPTION,
    SYNTAX_BY_OPTION,
    accepted_syntaxes,
    proposed_syntaxes,
)
from dicomwire.dcmtk.profiles import acceptor_choice

__all__ = ["SOCKET_TIMEOUT", "archive_config", "archive_options", "charset_given", "stored_format"]

#: DCMTK's network layer gives every socket a 60 s send and receive timeout; dcmqrscp has no option for it.
SOCKET_TIMEOUT: Final = 60.0
# The character set keywords of ArchiveConfig.charset_options that options switch on.
_OVERRIDE: Final = "override"
_FALLBACK: Final = "fallback"


def _timeouts(ns: argparse.Namespace) -> Timeouts:
    net = options.network_settings(ns)
    return Timeouts(
        connect=net.connect_timeout, socket=SOCKET_TIMEOUT, acse=net.acse_timeout, dimse=net.dimse_timeout
    )


def archive_options(ns: argparse.Namespace, config: ArchiveConfig) -> ArchiveOptions:
    """Every dcmqrscp option that has an :class:`ArchiveOptions` field, mapped onto it.

    The incoming list is DCMTK's, used by DCMTK for every context (Verification and
    query/retrieve too): the compressed syntax a ``+x`` option names comes first, so
    ``accepted_compressed`` stays empty.  ``-pdu`` overrides the file's MaxPDUSize.  The
    ``-xf`` incoming profile (read by the parser) gives ``profile``; ``--index-url`` (ours)
    gives ``index_url``, ``--workers`` (ours) ``workers``.
    """
    return ArchiveOptions(
        single_process=bool(ns.single_process),
        require_find=bool(ns.require_find),
        no_parallel_store=bool(ns.no_parallel_store),
        disable_get=bool(ns.disable_get),
        allow_shutdown=bool(ns.allow_shutdown),
        check_find=bool(ns.check_find),
        check_move=bool(ns.check_move),
        move_restriction=MoveRestriction(ns.move_restriction),
        patient_root=not ns.no_patient_root,
        study_root=not ns.no_study_root,
        patient_study_only=not ns.no_patient_study,
        preferred_syntaxes=accepted_syntaxes(ACCEPTANCE_BY_OPTION[ns.preference]),
        accepted_compressed=(),
        profile=None if ns.incoming_profile is None else acceptor_choice(ns.incoming_profile),
        proposed_syntaxes=proposed_syntaxes(SYNTAX_BY_OPTION[ns.proposal]),
        max_pdu_length=config.max_pdu_size if ns.max_pdu is None else int(ns.max_pdu),
        timeouts=_timeouts(ns),
        host_lookup=not ns.disable_host_lookup,
        refuse=bool(ns.refuse),
        require_implementation_class_uid=bool(ns.reject),
        ignore_store=bool(ns.ignore),
        correct_uid_padding=bool(ns.uid_padding),
        stored_format=stored_format(ns),
        index_url=ns.index_url or None,  # wins over the file's IndexURL (see Archive)
        workers=int(ns.workers),
    )


def charset_given(ns: argparse.Namespace) -> bool:
    """Was any of the character set options given?"""
    return ns.charset_override is not None or ns.charset is not None or ns.transliterate or ns.discard_illegal


def archive_config(ns: argparse.Namespace, config: ArchiveConfig) -> ArchiveConfig:
    """The configuration with the character set options applied (unchanged without them).

    As in DCMTK: a file without ``SpecificCharacterSet`` counts as ``fallback`` to ASCII;
    ``+Cr``/``-Cr`` switch ``override`` off/on, ``+A7 +U8 +L1 +C`` set the character set,
    ``-Ct``/``-Cd`` add ``transliterate``/``discard``.
    """
    if not charset_given(ns):
        return config
    configured = config.specific_character_set is not None or bool(config.charset_options)
    keywords = list(config.charset_options) if configured else [_FALLBACK]
    charset = config.specific_character_set or ""
    if ns.charset_override is not None:
        keywords = [word for word in keywords if word != _OVERRIDE]
        keywords += [_OVERRIDE] if ns.charset_override else []
    if ns.charset is not None:
        charset = str(ns.charset)
    keywords += ["transliterate"] if ns.transliterate else []
    keywords += ["discard"] if ns.discard_illegal else []
    return dataclasses.replace(
        config, specific_character_set=charset, charset_options=tuple(dict.fromkeys(keywords))
    )
