"""DCMTK's dcmqrscp.cfg reader: Debian's example, every grammar rule, broken and hostile files.

Where DCMTK 3.6.7's behaviour on a file was measured, an interop test runs the real dcmqrscp on the
same file: with its port held busy, a good file ends in "cannot initialize network" and a bad one in
"bad config file" (both exit 10), so no test waits for a server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from dicomwire.archive.config import Access, ArchiveConfig, Peer, Quota, StorageArea
from dicomwire.dcmtk.qrconfig import (
    DEFAULT_MAX_PDU_SIZE,
    EXIT_CONFIG_ERROR,
    MAX_BYTES_PER_STUDY_CAP,
    MAX_PROBLEMS,
    MAX_STUDIES_CAP,
    QrConfigError,
    dcmtk_error_lines,
    load_qrconfig,
    parse_qrconfig,
    parse_qrconfig_bytes,
)
from dicomwire.errors import DicomWireError

# A verbatim copy of Debian 12's /etc/dcmtk/dcmqrscp.cfg (dcmtk 3.6.7-9~deb12u4), so the test never skips.
DEBIAN_EXAMPLE = """\
#-----------------------------------------------------------------------
#
# Example configuration file for the dcmqrscp and dcmqrti applications.
#
#-----------------------------------------------------------------------

#
# Global Configuration Parameters
#
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16

#
# Default settings for specific character set behavior:
# SpecificCharacterSet = fallback

#
# Uncomment to override response character set with UTF-8 and enable
# transliteration and discarding of unsupported characters:
# SpecificCharacterSet = "ISO_IR 192", override, discard, transliterate

#
UserName      = dcmtk
GroupName     = dcmtk

HostTable BEGIN
#
# The HostTable defines symbolic names for collections of network
# DICOM Application Entities.  A symbolic name can represent a single
# application entity or it can represent a group of application entities.
# Each DICOM application entity is defined by a triple consisting of
# Application Entity Title, host name and TCP/IP port number.
#
# Entry Format: SymbolicName = ( AETitle, HostName, Portnumber ), ...   |
#               SymbolicName = SymbolicName, ...
#
# NOTE: in the current implementation you cannot substitute an IP address
# for a hostname.
#
# Example:
#acme1           = (ACME1, acmehost1, 5678)
#acme2           = (ACME2, acmehost2, 5678)
#acmeCTcompany   = acme1, acme2
#united1         = (UNITED1, unitedhost1, 104)
#united2         = (UNITED2, unitedhost2, 104)
#unitedMRcompany = united1, united2
#
HostTable END

VendorTable BEGIN
#
# The VendorTable is used by the dcmqrdb and dcmqrti applications.
# You can give a vendor name (r.h.s. entry below) to the dcmqrti
# program and it will talk to all hosts and AEs of the vendor.
# The dcmqrdb program can use the vendor table to restrict move destination
# to hosts belonging to a vendor.
# Also, the dcmqrti and dcmqrdb programs use the name defined on the left hand side
# as the vendor name to display above images.
#
# The format:
#       VendorName = SymbolicName
# The symbolic name should be defined in the HostTable.
#
# Example:
#"Acme CT Company"   = acmeCTcompany
#"United MR Company" = unitedMRcompany
#
VendorTable END

AETable BEGIN
#
# Each row of the AETable defines an Application Entities (AE) Title known
# to the dcmqrdb application.  Each AE Title represents a separate
# image database located in the specified file system directory (storage area).
# Each AE Title has read/write, quota and peer access restrictions.
#
# Entry Format: AETitle  StorageArea  Access  Quota  Peers
# AccessFormat: R | RW | W
# Quota Format: ( maxStudies, maxBytesPerStudy )
# Peers Format: ( Hostname, AETitle, Portnumber ), ...  |
#               Entry in HostTable                      |
#               ANY
#
# Example:
#
#ACME_STORE   /var/lib/dcmtk/db/ACME_STORE   RW (9, 1024mb)   acmeCTcompany
#UNITED_STORE /var/lib/dcmtk/db/UNITED_STORE RW (9, 1024mb)   unitedMRcompany
#
# Uncomment and adjust the following lines for a common r/rw storage area:
#READWRITE     /var/lib/dcmtk/db/READWRITE    RW (10, 1024mb)  ANY
#READ          /var/lib/dcmtk/db/READ         R  (200, 1024mb) ANY
#
AETable END
"""

RW = Access.READ | Access.WRITE
MB = 1 << 20
HOSTS = (
    "HostTable BEGIN\n"
    "acme1 = (ACME1, acmehost1, 5678)\n"
    "acme2 = (ACME2, acmehost2, 5678)\n"
    "acme = acme1, acme2\n"
    "HostTable END\n"
)
DCMQRSCP = shutil.which("dcmqrscp", path="/usr/bin:/usr/local/bin")


def parse(data: str | bytes, filename: str = "test.cfg") -> ArchiveConfig:
    if isinstance(data, bytes):
        return parse_qrconfig_bytes(data, filename)
    return parse_qrconfig(data, filename)


def refuse(data: str | bytes, filename: str = "test.cfg") -> QrConfigError:
    with pytest.raises(QrConfigError) as caught:
        parse(data, filename)
    return caught.value


def ae_table(*rows: str) -> str:
    return "AETable BEGIN\n" + "".join(f"{row}\n" for row in rows) + "AETable END\n"


def one_area(row: str, prefix: str = HOSTS) -> StorageArea:
    (area,) = parse(prefix + ae_table(row)).areas.values()
    return area


def _uncomment(text: str, *starts: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(line[1:] if line.startswith(starts) else line for line in lines)


# Debian's file with every example in it switched on.
EXAMPLES_ON = _uncomment(
    DEBIAN_EXAMPLE,
    "#acme",
    "#united",
    '#"',
    "#ACME_STORE",
    "#UNITED_STORE",
    "#READWRITE",
    "#READ ",
    '# SpecificCharacterSet = "',
)


# -- Debian's example ---------------------------------------------------------------------------------------
def test_debians_example_parses_unchanged() -> None:
    config = parse(DEBIAN_EXAMPLE, "/etc/dcmtk/dcmqrscp.cfg")
    assert (config.port, config.max_pdu_size, config.max_associations) == (104, 16384, 16)
    assert (config.user_name, config.group_name) == ("dcmtk", "dcmtk")
    assert (config.specific_character_set, config.charset_options) == (None, ())
    assert (dict(config.hosts), dict(config.vendors), dict(config.areas)) == ({}, {}, {})
    assert config.source == "/etc/dcmtk/dcmqrscp.cfg"


@pytest.mark.skipif(not Path("/etc/dcmtk/dcmqrscp.cfg").is_file(), reason="/etc/dcmtk/dcmqrscp.cfg is absent")
def test_the_installed_example_reads_like_the_embedded_copy() -> None:
    path = Path("/etc/dcmtk/dcmqrscp.cfg")
    assert load_qrconfig(path) == parse(DEBIAN_EXAMPLE, str(path))


def test_debians_examples_switched_on() -> None:
    config = parse(EXAMPLES_ON)
    acme = (Peer("ACME1", "acmehost1", 5678), Peer("ACME2", "acmehost2", 5678))
    united = (Peer("UNITED1", "unitedhost1", 104), Peer("UNITED2", "unitedhost2", 104))
    assert list(config.hosts) == ["acme1", "acme2", "acmeCTcompany", "united1", "united2", "unitedMRcompany"]
    assert config.hosts["acmeCTcompany"] == acme
    assert dict(config.vendors) == {"Acme CT Company": acme, "United MR Company": united}
    assert list(config.areas) == ["ACME_STORE", "UNITED_STORE", "READWRITE", "READ"]
    gib = Quota(9, 1 << 30)
    assert config.areas["ACME_STORE"] == StorageArea(
        "ACME_STORE", "/var/lib/dcmtk/db/ACME_STORE", RW, gib, acme
    )
    assert config.areas["READWRITE"] == StorageArea(
        "READWRITE", "/var/lib/dcmtk/db/READWRITE", RW, Quota(10, 1 << 30)
    )
    assert config.areas["READ"].access == Access.READ
    assert config.areas["READ"].quota == Quota(200, 1 << 30)
    assert (config.specific_character_set, config.charset_options) == (
        "ISO_IR 192",
        ("override", "discard", "transliterate"),
    )
    assert config.resolve_destination("UNITED2") == united[1]
    assert config.vendor_of("ACME2") == "Acme CT Company"
    assert config.areas["UNITED_STORE"].admits("UNITED1", ["UnitedHost1"])
    assert not config.areas["UNITED_STORE"].admits("ACME1", ["acmehost1"])


# -- global settings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("NetworkTCPPort = 11112", 11112),
        ("NetworkTCPPort 11112", 11112),
        ("NetworkTCPPort = +11112", 11112),
        ("NetworkTCPPort = 11112abc", 11112),
        ("NetworkTCPPort = 0", 104),
        ("NetworkTCPPort = 70000", 4464),  # DCMTK keeps the low 16 bits
        ("NetworkTCPPort = -1", 65535),
        ("NetworkTCPPort = 99999999999999999999", 65535),  # strtol's LONG_MAX, as an int: -1
        ("NetworkTCPPort = abc", 104),
        ("NetworkTCPPort = 2000\nNetworkTCPPort = abc", 2000),  # unreadable: the previous value stays
        ("# none", 104),
    ],
)
def test_network_tcp_port(text: str, port: int) -> None:
    assert parse(text + "\n").port == port


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("MaxPDUSize = 4096", 4096),
        ("MaxPDUSize = 131072", 131072),
        ("MaxPDUSize = 0", 16384),
        ("MaxPDUSize = abc", 16384),
        ("MaxPDUSize = 4294983680", 16384),  # cast to 32 bits
        ("MaxPDUSize = 32768\nMaxPDUSize = junk", 16384),  # unreadable reads as 0
    ],
)
def test_max_pdu_size(text: str, size: int) -> None:
    assert parse(text + "\n").max_pdu_size == size


@pytest.mark.parametrize(("text", "count"), [("= 3", 3), ("= abc", 16), ("= -2", -2), ("= 0", 0), ("7", 7)])
def test_max_associations(text: str, count: int) -> None:
    assert parse(f"MaxAssociations {text}\n").max_associations == count


@pytest.mark.parametrize(
    ("text", "name"),
    [("= dcmtk", "dcmtk"), ("dcmtk extra", "dcmtk"), ("= 'dicom user'", "dicom user"), ('= ""', None)],
)
def test_user_and_group_names(text: str, name: str | None) -> None:
    config = parse(f"UserName {text}\nGroupName {text}\n")
    assert (config.user_name, config.group_name) == (name, name)


def test_obsolete_keywords_are_accepted_and_ignored() -> None:
    words = ["ApplicationTitle", "ApplicationContext", "ImplementationClass", "ImplementationVersion"]
    words += ["NetworkType", "Display", "DisplayPort"]
    config = parse("".join(f"{word} = whatever 1 2\n" for word in words))
    assert config == parse("", "test.cfg")


@pytest.mark.parametrize(
    ("text", "charset", "options"),
    [
        ("fallback", "", ("fallback",)),
        (
            '"ISO_IR 192", override, discard, transliterate',
            "ISO_IR 192",
            ("override", "discard", "transliterate"),
        ),
        ("'ISO_IR 100'", "ISO_IR 100", ()),
        ("abort, ISO_IR_6 abort", "ISO_IR_6", ("abort",)),
    ],
)
def test_specific_character_set(text: str, charset: str, options: tuple[str, ...]) -> None:
    config = parse(f"SpecificCharacterSet = {text}\n")
    assert (config.specific_character_set, config.charset_options) == (charset, options)


def test_each_specific_character_set_line_starts_afresh() -> None:
    config = parse('SpecificCharacterSet = "ISO_IR 192", discard\nSpecificCharacterSet = override\n')
    assert (config.specific_character_set, config.charset_options) == ("", ("override",))


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("IndexURL = postgresql://pacs@db:5432/archive", "postgresql://pacs@db:5432/archive"),
        # the rest of the line, whole: '=' and ',' are the URL's
        (
            "IndexURL = postgresql://p:s=,x@db/a?sslmode=require&x=1  ",
            "postgresql://p:s=,x@db/a?sslmode=require&x=1",
        ),
        ("IndexURL  'sqlite:////var/lib/archive/index.sqlite'", "sqlite:////var/lib/archive/index.sqlite"),
        ('IndexURL = "index.sqlite"', "index.sqlite"),
        ("IndexURL = a.sqlite\nIndexURL = b.sqlite", "b.sqlite"),  # the last line wins
        ("# none", None),
    ],
)
def test_index_url_is_dicomwires_own_keyword(text: str, url: str | None) -> None:
    assert parse(text + "\n").index_url == url


# -- the AETable ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quota", "studies", "nbytes"),
    [
        ("(9, 1024b)", 9, 1024),
        ("(9, 1kb)", 9, 1024),
        ("(9, 1KB)", 9, 1024),
        ("(9, 1kB)", 9, 1024),
        ("(9, 2mb)", 9, 2 * MB),
        ("(9, 1Mb)", 9, MB),
        ("(9, 1gb)", 9, 1 << 30),
        ("(9,1GB)", 9, 1 << 30),
        ("( 9 , 3mb )", 9, 3 * MB),
        ("'9, 3mb'", 9, 3 * MB),
        ("(9, 10xb)", 9, 10),  # an unknown multiplier counts bytes
        ("(9, 1.5mb)", 9, MB),  # atoi() stops at the dot
        ("(9, 1024)", 9, MAX_BYTES_PER_STUDY_CAP),  # no b: "invalid", which the database reads as its cap
        ("(9, 1 mb)", 9, MAX_BYTES_PER_STUDY_CAP),  # "1" alone, without its unit
        ("(9, -1mb)", 9, MAX_BYTES_PER_STUDY_CAP),
        ("(9, 3gb)", 9, MAX_BYTES_PER_STUDY_CAP),
        ("(501, 1mb)", MAX_STUDIES_CAP, MB),
        ("(-1, 1mb)", MAX_STUDIES_CAP, MB),
    ],
)
def test_quota(quota: str, studies: int, nbytes: int) -> None:
    assert one_area(f"STORE /data RW {quota} ANY").quota == Quota(studies, nbytes)


@pytest.mark.parametrize(
    ("access", "flags"),
    [
        ("R", Access.READ),
        ("W", Access.WRITE),
        ("RW", RW),
        ("WR", RW),
        ("rw", Access.READ),
        ("XYZ", Access.READ),
    ],
)
def test_access(access: str, flags: Access) -> None:
    assert one_area(f"STORE /data {access} (9, 1mb) ANY").access == flags


ACME1 = Peer("ACME1", "acmehost1", 5678)
ACME2 = Peer("ACME2", "acmehost2", 5678)
B = Peer("B", "h2", 2)


@pytest.mark.parametrize(
    ("peers", "expected"),
    [
        ("ANY", None),
        ("ANY acme # anything after ANY is ignored", None),
        ("acme1", (ACME1,)),
        ("acme", (ACME1, ACME2)),
        ("(A, h, 1), (B, h2, 2)", (Peer("A", "h", 1), B)),
        ("acme2 (B, h2, 2) acme1", (ACME2, B, ACME1)),
        ('"B, h2, 2"', (B,)),
        ("(B,h2,2)", (B,)),
        ("(B, h2, x)", (Peer("B", "h2", 0),)),
        ("(B, h2, 2, extra)", (B,)),
    ],
)
def test_peers(peers: str, expected: tuple[Peer, ...] | None) -> None:
    assert one_area(f"STORE /data RW (9, 1mb) {peers}").peers == expected


def test_storage_areas_keep_their_order_and_quoted_paths() -> None:
    config = parse(ae_table('B "/data/with space" RW (1, 1kb) ANY', "A\t/a\tR\t(2,2kb)\tANY"))
    assert list(config.areas) == ["B", "A"]
    assert config.areas["B"].path == "/data/with space"
    assert config.areas["A"] == StorageArea("A", "/a", Access.READ, Quota(2, 2048))


def test_undecodable_bytes_in_a_path_survive_as_by_fsdecode() -> None:
    config = parse(b"AETable BEGIN\nSTORE /data/\xff\xfe RW (1, 1kb) ANY\nAETable END\n")
    assert os.fsencode(config.areas["STORE"].path) == b"/data/\xff\xfe"


def test_a_duplicate_ae_title_keeps_its_first_area_and_admits_the_peers_of_both() -> None:
    config = parse(HOSTS + ae_table("DUP /first RW (1, 1kb) acme1", "DUP /second R (2, 2kb) acme2"))
    assert config.areas["DUP"] == StorageArea("DUP", "/first", RW, Quota(1, 1024), (ACME1, ACME2))
    with_any = parse(HOSTS + ae_table("DUP /first RW (1, 1kb) acme1", "DUP /second RW (1, 1kb) ANY"))
    assert with_any.areas["DUP"].peers is None


def test_a_second_aetable_replaces_the_first() -> None:
    config = parse(ae_table("FIRST /f RW (1, 1kb) ANY") + ae_table("SECOND /s RW (1, 1kb) ANY"))
    assert list(config.areas) == ["SECOND"]


def test_host_tables_add_up_and_groups_nest() -> None:
    text = HOSTS + "HostTable BEGIN\nbig = acme, (C, h3, 3)\nall = big acme1\nHostTable END\n"
    config = parse(text)
    assert config.hosts["big"] == (ACME1, ACME2, Peer("C", "h3", 3))
    assert config.hosts["all"] == (*config.hosts["big"], ACME1)


def test_a_duplicate_symbolic_name_means_its_first_definition() -> None:
    text = "HostTable BEGIN\na = (A, h, 1)\na = (B, h, 2)\nuse = a\nHostTable END\n"
    config = parse(text)
    assert config.hosts["a"] == (Peer("A", "h", 1),)
    assert config.hosts["use"] == (Peer("A", "h", 1),)


def test_vendor_names_quoted_or_not() -> None:
    text = HOSTS + 'VendorTable BEGIN\n"Acme Inc" = acme\nSolo = (S, sh, 9)\nVendorTable END\n'
    config = parse(text)
    assert dict(config.vendors) == {"Acme Inc": (ACME1, ACME2), "Solo": (Peer("S", "sh", 9),)}
    assert config.same_vendor("ACME1", "ACME2")


def test_a_table_keyword_without_status_reuses_the_last_status_word() -> None:
    config = parse("HostTable BEGIN\nHostTable END\nAETable\nX /x RW (1, 1kb) ANY\nAETable END\n")
    assert list(config.areas) == ["X"]


@pytest.mark.parametrize(
    "text",
    [
        "AETable BEGIN\r\nX /x RW (1, 1kb) ANY\r\nAETable END\r\n",
        "AETable = BEGIN\nX /x RW (1, 1kb) ANY\nAETable END with a remark\n",
        "AETable BEGIN\nX /x RW (1, 1kb) ANY\nAETable END",  # no newline at the end
        "   AETable BEGIN\n\nX /x RW (1, 1kb) ANY\n#\n\r\nAETable END\n",
    ],
)
def test_line_endings_and_table_ends(text: str) -> None:
    assert parse(text).areas["X"] == StorageArea("X", "/x", RW, Quota(1, 1024))


def test_comments_and_blank_lines_only() -> None:
    config = parse("# a comment\n\n   \n\t\n#AETable BEGIN\n")
    assert (config.port, config.max_pdu_size, config.max_associations, dict(config.areas)) == (
        104,
        16384,
        16,
        {},
    )


# -- broken files -------------------------------------------------------------------------------------------
class Broken(NamedTuple):
    name: str
    data: str | bytes
    line: int | None
    fragment: str  # in our message
    dcmtk_text: str | None  # DCMTK's CONFIG Error text for the first problem
    outcome: str = "refuse"  # what dcmqrscp does: refuse, crash, or accept (where only we refuse)
    exact: bool = True  # DCMTK's stderr is predictable


LONG = "#" + "x" * 600 + "\n"
BROKEN = [
    Broken(
        "IndexURL without a value",  # ours; DCMTK has no such keyword, and refuses any IndexURL
        "IndexURL =\n",
        1,
        "IndexURL needs a value",
        'Unknown mnemonic "IndexURL" in configuration file, line 1',
    ),
    Broken(
        "unknown keyword",
        "MaxAssociations = 2\nFoo = 1\n",
        2,
        'unknown keyword "Foo"',
        'Unknown mnemonic "Foo" in configuration file, line 2',
    ),
    Broken(
        "indented comment",
        "  # note\n",
        1,
        'unknown keyword "#"',
        'Unknown mnemonic "#" in configuration file, line 1',
    ),
    Broken(
        "keyword case",
        "\nmaxPDUSize = 16384\n",
        2,
        'unknown keyword "maxPDUSize"',
        'Unknown mnemonic "maxPDUSize" in configuration file, line 2',
    ),
    Broken(
        "no space before =",
        "NetworkTCPPort=104\n",
        1,
        '"NetworkTCPPort=104"',
        'Unknown mnemonic "NetworkTCPPort=104" in configuration file, line 1',
    ),
    Broken(
        "END without BEGIN",
        "AETable END\n",
        1,
        '"AETable END" without "AETable BEGIN"',
        'No "AETable BEGIN" before END in configuration file, line 1',
    ),
    Broken(
        "unknown status",
        "HostTable START\n",
        1,
        'not "START"',
        'Unknown HostTable status "START" in configuration file, line 1',
    ),
    Broken(
        "status case",
        "HostTable begin\n",
        1,
        'not "begin"',
        'Unknown HostTable status "begin" in configuration file, line 1',
    ),
    Broken(
        "missing END",
        "\nHostTable BEGIN\nacme = (A, h, 1)\n# end\n",
        2,
        'has no "HostTable END" (the table ran to line 4)',
        'No "HostTable END" in configuration file, line 4',
    ),
    Broken(
        "illegal END",
        "VendorTable BEGIN\nVendorTable FINISH\n",
        2,
        'found status "FINISH"',
        'Illegal VendorTable status "FINISH" in configuration file, line 2',
    ),
    Broken(
        "other table's END",
        "HostTable BEGIN\nAETable END\nHostTable END\n",
        2,
        '"END" is not a symbolic name',
        'Symbolic name "END" not defined',
    ),
    Broken("zero studies", ae_table("X /x RW (0, 1mb) ANY"), 2, "maxStudies is 0", None),
    Broken("zero bytes", ae_table("X /x RW (9, mb) ANY"), 2, 'maxBytesPerStudy "mb" is 0 bytes', None),
    Broken(
        "undefined name",
        HOSTS + ae_table("X /x RW (9, 1mb) nobody"),
        7,
        '"nobody" is not a symbolic name',
        'Symbolic name "nobody" not defined',
    ),
    Broken(
        "no HostTable",
        ae_table("X /x RW (9, 1mb) acme"),
        2,
        "the HostTable is empty",
        "No symbolic names defined",
    ),
    Broken(
        "lower-case any",
        ae_table("X /x RW (9, 1mb) any"),
        2,
        '"any" is not a symbolic name',
        "No symbolic names defined",
    ),
    Broken(
        "self reference",
        "HostTable BEGIN\na = a\nHostTable END\n",
        2,
        'symbolic name "a" has no peers',
        'No peers for symbolic name "a" defined',
    ),
    Broken(
        "trailing comment",
        "HostTable BEGIN\na = (A, h, 1)  # first\nHostTable END\n",
        2,
        '"#" is not a symbolic name',
        'Symbolic name "#" not defined',
    ),
    Broken(
        "one-element tuple",
        "HostTable BEGIN\na = (A)\nHostTable END\n",
        2,
        '"A" is not a symbolic name',
        'Symbolic name "A" not defined',
    ),
    Broken("name only", "HostTable BEGIN\na\nHostTable END\n", 2, 'HostTable entry "a": no peers', None),
    Broken("blank table line", "HostTable BEGIN\n   \nHostTable END\n", 2, "must start in column 1", None),
    Broken(
        "indented entry",
        "HostTable BEGIN\n  a = (A, h, 1)\nHostTable END\n",
        2,
        "must start in column 1",
        'Symbolic name "a" not defined',
    ),
    Broken(
        "short AE line", ae_table("X /x RW"), 2, 'AETable entry "X": the line ends before its quota', None
    ),
    Broken("AE line without peers", ae_table("X /x RW (9, 1mb)"), 2, "ends before its peers", None),
    Broken(
        "NUL cuts the peers",
        b"AETable BEGIN\nX /x RW (9, 1mb) ANY\0\nAETable END\n",
        2,
        "ends before its peers",
        None,
    ),
    Broken("last line unfinished", "AETable BEGIN\nX /x RW (9, 1mb) ANY", 2, "ends before its peers", None),
    Broken(
        "long comment",
        LONG,
        1,
        "longer than 511 bytes",
        f'Unknown mnemonic "{"x" * 90}" in configuration file, line 2',
    ),
    Broken(
        "bare table keyword",
        "AETable\n",
        1,
        "followed by BEGIN or END",
        'Unknown AETable status "" in configuration file, line 1',
        exact=False,
    ),  # DCMTK prints an uninitialised buffer
    Broken("MaxPDUSize too small", "MaxPDUSize = 1000\n", 1, "MaxPDUSize 1000 is outside 4096..131072", None),
    Broken("MaxPDUSize too large", "\nMaxPDUSize = 131073\n", 2, "outside", None),
    Broken("MaxPDUSize negative", "MaxPDUSize = -1\n", 1, "MaxPDUSize 4294967295", None),
    Broken("UserName without value", "UserName =\n", 1, "UserName needs a value", None, "crash"),
    Broken("GroupName at EOF", "GroupName = dcmtk", 1, "GroupName needs a value", None, "crash"),
    Broken(
        "quota without bytes",
        ae_table("X /x RW 9 ANY"),
        2,
        'quota "9" is not (maxStudies, maxBytesPerStudy)',
        None,
        "accept",
    ),
    Broken(
        "quota without studies", ae_table("X /x RW (abc, 1mb) ANY"), 2, "maxStudies in quota", None, "accept"
    ),
    Broken(
        "tuple without host",
        "HostTable BEGIN\na = (A, h)\nHostTable END\n",
        2,
        "needs (AE title, host, port)",
        None,
        "accept",
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=[case.name for case in BROKEN])
def test_a_broken_file_names_its_line(case: Broken) -> None:
    err = refuse(case.data)
    assert err.line == case.line
    assert case.fragment in err.message
    assert str(err).startswith(f"test.cfg, line {case.line}: ")
    assert err.problems[0].line == case.line
    assert err.problems[0].dcmtk_text == case.dcmtk_text
    assert err.dcmtk_refuses == (case.outcome == "refuse")


def test_dcmtk_reads_on_after_an_error_and_so_do_we() -> None:
    err = refuse("Foo 1\nNetworkTCPPort = 5\nBar 2\nHostTable END\n")
    assert [(p.line, p.dcmtk_text) for p in err.problems] == [
        (1, 'Unknown mnemonic "Foo" in configuration file, line 1'),
        (3, 'Unknown mnemonic "Bar" in configuration file, line 3'),
        (4, 'No "HostTable BEGIN" before END in configuration file, line 4'),
    ]
    assert str(err) == 'test.cfg, line 1: unknown keyword "Foo" (and 2 more problems)'


def test_a_failed_entry_is_still_a_name_without_peers() -> None:
    err = refuse("HostTable BEGIN\na = nothing\nb = a\nHostTable END\n")
    assert [p.dcmtk_text for p in err.problems] == [
        'Symbolic name "nothing" not defined',
        'No peers for symbolic name "a" defined',
    ]


def test_the_max_pdu_check_comes_after_the_syntax() -> None:
    err = refuse("MaxPDUSize = 1\nFoo\n")
    assert err.kind == "syntax"
    assert len(err.problems) == 1
    assert refuse("MaxPDUSize = 1\n").kind == "max-pdu"


def test_dcmtk_error_lines() -> None:
    err = refuse("Foo 1\n" + ae_table("X /x RW (0, 1kb) ANY"), "my.cfg")
    trailer = ('CONFIG Error: Reading configuration file "my.cfg" with errors!', "F: bad config file: my.cfg")
    assert dcmtk_error_lines(err, exact=True) == (
        'CONFIG Error: Unknown mnemonic "Foo" in configuration file, line 1!',
        *trailer,
    )
    filled = dcmtk_error_lines(err)
    assert filled[1] == 'CONFIG Error: line 3: AETable entry "X": maxStudies is 0!'
    assert filled[2:] == trailer
    assert dcmtk_error_lines(refuse("MaxPDUSize = 1\n")) == ("F: invalid MaxPDUSize in config file",)


def test_dcmtk_error_lines_are_empty_where_dcmtk_would_go_on() -> None:
    err = refuse("HostTable BEGIN\na = (A, h)\nHostTable END\n", "my.cfg")
    assert dcmtk_error_lines(err, exact=True) == ()
    assert dcmtk_error_lines(err)[-1] == "F: bad config file: my.cfg"


def test_the_error_is_a_dicomwire_error_and_the_exit_code_is_dcmtks() -> None:
    assert issubclass(QrConfigError, DicomWireError)
    assert EXIT_CONFIG_ERROR == 10
    assert DEFAULT_MAX_PDU_SIZE == 16384


# -- files ------------------------------------------------------------------------------------------------
def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.cfg"
    with pytest.raises(QrConfigError) as caught:
        load_qrconfig(path)
    err = caught.value
    assert (err.kind, err.line, err.filename) == ("access", None, str(path))
    assert str(err) == f"{path}: cannot access {path}: No such file or directory"
    assert dcmtk_error_lines(err) == (f"F: cannot access {path}: No such file or directory",)


def test_a_directory_reads_as_an_empty_file_as_in_dcmtk(tmp_path: Path) -> None:
    config = load_qrconfig(tmp_path)
    assert dict(config.areas) == {} and config.port == 104


def test_load_names_the_file_in_config_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "dcmqrscp.cfg"
    path.write_text(ae_table("X /x RW (1, 1kb) ANY"))
    assert load_qrconfig(path).source == str(path)
    path.write_text("\n\nFoo\n")
    with pytest.raises(QrConfigError, match=f"^{path}, line 3: "):
        load_qrconfig(str(path))


# -- hostile input -----------------------------------------------------------------------------------------
def test_a_line_of_ten_megabytes_is_refused_with_a_bounded_report() -> None:
    err = refuse(b"x" * 10_000_000)
    assert len(err.problems) == MAX_PROBLEMS
    assert {p.line for p in err.problems} == {1}
    assert len(err.message) < 300


def test_lines_are_read_in_pieces_of_511_bytes() -> None:
    parse("#" + "x" * 509 + "\n")  # 511 bytes with the newline: one piece
    parse("#" + "x" * 510 + "\n")  # the newline alone is a blank second piece
    err = refuse("#" + "x" * 511 + "\n")
    assert err.problems[0].dcmtk_text == 'Unknown mnemonic "x" in configuration file, line 2'
    assert err.line == 1


def test_a_long_path_is_cut_where_dcmtk_cuts_it() -> None:
    err = refuse(ae_table(f"X /{'d' * 600} RW (1, 1kb) ANY"))
    assert err.line == 2 and "longer than 511 bytes" in err.message


def test_a_nul_byte_ends_the_line() -> None:
    assert parse(b"MaxAssociations = 3\0 junk\n\0Foo = 1\n").max_associations == 3
    err = refuse(b"MaxAssociations\0junk = 3\nFoo 1\n")  # the first line is just the keyword
    assert [p.line for p in err.problems] == [2]


def test_undecodable_bytes() -> None:
    err = refuse(b"\xff\xfe = 1\n")
    assert err.message == 'unknown keyword "\\xff\\xfe"'
    assert err.problems[0].dcmtk_text is not None
    assert (
        err.problems[0]
        .dcmtk_text.encode("utf-8", "surrogateescape")
        .startswith(b'Unknown mnemonic "\xff\xfe"')
    )
    assert parse(b"UserName = \xe9t\xe9\n").user_name == "\udce9t\udce9"
    assert parse("UserName = \ud800x\n").user_name is not None  # a lone surrogate does not crash


def test_a_ten_megabyte_file_parses() -> None:
    entries = "".join(f"h{i} = (AE{i}, host{i}, {i % 65536})\n" for i in range(20_000))
    comments = ("#" + "c" * 498 + "\n") * 19_000
    data = "MaxAssociations = 4\n" + comments + "HostTable BEGIN\n" + entries + "HostTable END\n" + comments
    assert len(data) > 10_000_000
    started = time.monotonic()
    config = parse(data)
    assert len(config.hosts) == 20_000
    assert config.hosts["h19999"] == (Peer("AE19999", "host19999", 19999),)
    assert time.monotonic() - started < 60


def test_exponential_groups_hit_a_limit() -> None:
    rows = ["a0 = (A, h, 1)"] + [f"a{i} = " + " ".join([f"a{i - 1}"] * 40) for i in range(1, 8)]
    err = refuse("HostTable BEGIN\n" + "".join(f"{row}\n" for row in rows) + "HostTable END\n")
    assert (err.kind, err.line) == ("limit", 6)
    assert "peers" in err.message
    assert dcmtk_error_lines(err, exact=True) == ()


# -- interop with DCMTK's dcmqrscp ---------------------------------------------------------------------------
def _run_dcmqrscp(path: Path) -> tuple[str, str]:
    """dcmqrscp's verdict on a file: accept, refuse or crash, and its stderr."""
    assert DCMQRSCP is not None
    with socket.socket() as busy:  # a good file makes dcmqrscp fail to listen here, at once
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        argv = [DCMQRSCP, "-c", str(path), str(busy.getsockname()[1])]
        proc = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    stderr = proc.stderr.decode("utf-8", "surrogateescape")
    if proc.returncode < 0:
        return "crash", stderr
    assert proc.returncode == EXIT_CONFIG_ERROR, stderr
    if "cannot initialize network" in stderr:
        return "accept", stderr
    assert any(text in stderr for text in ("bad config file", "invalid MaxPDUSize", "cannot access")), stderr
    return "refuse", stderr


ACCEPTED: dict[str, str | bytes] = {
    "debian example": DEBIAN_EXAMPLE,
    "debian examples on": EXAMPLES_ON,
    "quota units": HOSTS
    + ae_table("A /a RW (9, 1KB) acme", "B /b W (-1, 1024) ANY", "C /c XYZ ( 9 , 1.5mb ) acme1"),
    "odd tuples": "HostTable BEGIN\nodd = (B, h2, x), (C, h3, 3, extra)\nHostTable END\n",
    "duplicates": "HostTable BEGIN\na = (A, h, 1)\na = (B, h, 2)\nHostTable END\n"
    + ae_table("D /1 RW (1, 1kb) a", "D /2 R (1, 1kb) ANY"),
    "stale status": "HostTable BEGIN\nHostTable END\nAETable\nX /x RW (1, 1kb) ANY\nAETable END\n",
    "line ends": "AETable BEGIN\r\nX /x RW (1, 1kb) ANY\r\nAETable END with a remark",
    "globals": "NetworkTCPPort = 70000\nMaxPDUSize = 0\nMaxAssociations = abc\n"
    "SpecificCharacterSet = fallback\nDisplay 1\n",
    "nul and high bytes": b"\0Foo\nUserName = \xe9t\xe9\n"
    + ae_table("X /_ RW (1, 1kb) ANY").encode().replace(b"_", b"\xff"),
    "comment of 511 bytes": "#" + "x" * 510 + "\n",
}
INTEROP: dict[str, tuple[str | bytes, str, bool]] = {
    name: (data, "accept", True) for name, data in ACCEPTED.items()
}
INTEROP |= {case.name: (case.data, case.outcome, case.exact) for case in BROKEN}


@pytest.mark.interop
@pytest.mark.skipif(DCMQRSCP is None, reason="dcmqrscp (DCMTK) is not installed")
@pytest.mark.parametrize("name", sorted(INTEROP))
def test_dcmqrscp_accepts_and_refuses_what_we_do(name: str, tmp_path: Path) -> None:
    data, outcome, exact = INTEROP[name]
    path = tmp_path / "dcmqrscp.cfg"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    theirs, stderr = _run_dcmqrscp(path)
    assert theirs == outcome, stderr
    try:
        load_qrconfig(path)
    except QrConfigError as err:
        assert outcome != "accept" or not err.dcmtk_refuses, str(err)
        assert err.dcmtk_refuses == (outcome == "refuse")
        if exact and outcome == "refuse":
            assert dcmtk_error_lines(err, exact=True) == tuple(stderr.splitlines())
    else:
        assert outcome == "accept", stderr


@pytest.mark.interop
@pytest.mark.skipif(DCMQRSCP is None, reason="dcmqrscp (DCMTK) is not installed")
def test_dcmqrscp_on_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "absent.cfg"
    theirs, stderr = _run_dcmqrscp(missing)
    assert theirs == "refuse"
    with pytest.raises(QrConfigError) as caught:
        load_qrconfig(missing)
    assert dcmtk_error_lines(caught.value, exact=True) == tuple(stderr.splitlines())
    assert _run_dcmqrscp(tmp_path)[0] == "accept"
    load_qrconfig(tmp_path)
