"""The archive's configuration model: who is admitted, which area answers, where C-MOVE sends."""

from __future__ import annotations

import dataclasses

import pytest

from dicomwire.archive.config import Access, ArchiveConfig, Peer, Quota, StorageArea, default_config

RW = Access.READ | Access.WRITE
CT = Peer("CT1", "ct-host", 104)
MR = Peer("MR1", "mr-host", 11112)


def _config(**areas: StorageArea) -> ArchiveConfig:
    return ArchiveConfig(
        port=104,
        max_pdu_size=16384,
        max_associations=16,
        hosts={"ct": (CT,), "scanners": (CT, MR), "late": (Peer("LATE", "late-host", 1),)},
        vendors={"Acme": (CT,), "Both": (CT, MR)},
        areas=areas,
    )


# -- Peer and StorageArea.admits --------------------------------------------------------------------------
def test_a_peer_is_its_ae_title_on_its_host_whatever_the_port() -> None:
    assert CT.is_caller("CT1", ["ct-host"])
    assert CT.is_caller("CT1", {"other", "ct-host"})
    assert not CT.is_caller("CT1", ["mr-host"])
    assert not CT.is_caller("CT2", ["ct-host"])


def test_ae_titles_are_case_sensitive_and_host_names_are_not() -> None:
    assert not CT.is_caller("ct1", ["ct-host"])
    assert CT.is_caller("CT1", ["CT-HOST"])
    assert Peer("A", "LocalHost", 5).is_caller("A", ["localhost"])


def test_host_names_fold_only_ascii_letters_as_strcasecmp_does() -> None:
    assert not Peer("A", "Ä-host", 1).is_caller("A", ["ä-host"])


def test_any_peer_is_admitted_when_the_area_names_none() -> None:
    area = StorageArea("ARCHIVE", "/data", RW)
    assert area.admits("WHOEVER", [])
    assert area.admits("", ["anywhere"])


def test_a_restricted_area_needs_both_title_and_host_of_one_entry() -> None:
    area = StorageArea("STORE", "/data", RW, Quota(9, 1 << 20), (CT, MR))
    assert area.admits("CT1", ["ct-host"])
    assert area.admits("MR1", ["mr-host"])
    assert not area.admits("CT1", ["mr-host"])  # title of one entry, host of the other
    assert not area.admits("CT1", [])
    assert not area.admits("XX", ["ct-host"])


def test_hosts_are_compared_by_name_not_by_address() -> None:
    area = StorageArea("STORE", "/data", RW, None, (Peer("A", "localhost", 1),))
    assert area.admits("A", ["localhost"])
    assert not area.admits("A", ["127.0.0.1"])
    assert not StorageArea("S", "/d", RW, None, ()).admits("A", ["localhost"])


# -- Access and Quota -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("access", "read", "write"),
    [(Access.READ, True, False), (Access.WRITE, False, True), (RW, True, True)],
)
def test_access_flags(access: Access, read: bool, write: bool) -> None:
    assert (access.can_read, access.can_write) == (read, write)


@pytest.mark.parametrize(("studies", "nbytes"), [(0, 1), (1, 0), (-1, 5), (5, -1)])
def test_a_quota_limits_must_be_positive(studies: int, nbytes: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        Quota(studies, nbytes)


# -- ArchiveConfig ----------------------------------------------------------------------------------------
def test_area_for_finds_the_called_title_exactly() -> None:
    store = StorageArea("STORE", "/s", RW)
    config = _config(STORE=store, READ=StorageArea("READ", "/r", Access.READ))
    assert config.area_for("STORE") is store
    assert config.area_for("store") is None
    assert config.area_for("STORE ") is None
    assert config.area_for("NOPE") is None
    assert list(config.areas) == ["STORE", "READ"]  # file order


def test_resolve_destination_searches_area_peers_then_the_host_table() -> None:
    elsewhere = Peer("CT1", "ct-elsewhere", 4242)
    config = _config(STORE=StorageArea("STORE", "/s", RW, None, (elsewhere,)))
    assert config.resolve_destination("CT1") == elsewhere  # DCMTK's order: AETable first
    assert config.resolve_destination("MR1") == MR
    assert config.resolve_destination("LATE") == Peer("LATE", "late-host", 1)
    assert config.resolve_destination("mr1") is None
    assert config.resolve_destination("UNKNOWN") is None


def test_resolve_destination_without_area_peers_uses_the_first_host_entry() -> None:
    config = _config(ANY=StorageArea("ANY", "/a", RW))
    assert config.resolve_destination("CT1") == CT


def test_vendor_lookups() -> None:
    config = _config()
    assert config.vendor_of("CT1") == "Acme"  # the first vendor listing the title
    assert config.vendor_of("MR1") == "Both"
    assert config.vendor_of("LATE") is None
    assert config.same_vendor("CT1", "MR1")
    assert config.same_vendor("CT1", "CT1")
    assert not config.same_vendor("CT1", "LATE")


def test_a_config_cannot_be_changed() -> None:
    config = _config(STORE=StorageArea("STORE", "/s", RW))
    with pytest.raises(TypeError):
        config.areas["X"] = StorageArea("X", "/x", RW)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]


def test_configs_compare_by_value_and_can_be_hashed() -> None:
    a = _config(STORE=StorageArea("STORE", "/s", RW))
    b = _config(STORE=StorageArea("STORE", "/s", RW))
    assert a == b
    assert hash(a) == hash(b)
    assert a != _config(STORE=StorageArea("STORE", "/other", RW))


def test_a_config_does_not_follow_changes_to_the_dict_it_was_given() -> None:
    areas = {"STORE": StorageArea("STORE", "/s", RW)}
    config = ArchiveConfig(port=None, max_pdu_size=16384, max_associations=1, areas=areas)
    areas["LATER"] = StorageArea("LATER", "/l", RW)
    assert list(config.areas) == ["STORE"]
    assert config.port is None


# -- default_config ---------------------------------------------------------------------------------------
def test_default_config() -> None:
    config = default_config()
    assert (config.port, config.max_pdu_size, config.max_associations) == (11112, 16384, 16)
    assert config.source is None
    assert (config.user_name, config.group_name, config.specific_character_set) == (None, None, None)
    assert dict(config.vendors) == {}
    # one move destination: movescu listening on 11113 (the README's example)
    assert config.resolve_destination("MOVESCU") == Peer("MOVESCU", "localhost", 11113)
    area = config.area_for("ARCHIVE")
    assert area == StorageArea("ARCHIVE", "archive", RW, None, None)
    assert list(config.areas) == ["ARCHIVE"]


def test_default_config_admits_anyone_and_stores_where_told() -> None:
    area = default_config("/srv/dicom").area_for("ARCHIVE")
    assert area is not None
    assert area.path == "/srv/dicom"
    assert area.access.can_read and area.access.can_write
    assert area.quota is None
    assert area.admits("ANYONE", ["some-host"])
    assert default_config().resolve_destination("ANYONE") is None
