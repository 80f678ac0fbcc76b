"""Our storescu against DCMTK 3.6.7: what it proposes, what arrives, what it says.

* Proposal: the context list of ``storescu -d`` (ours and DCMTK's, same files
  and options) must be identical, for every -x option, -R, +C and -xf.
* Transfer: a varied corpus (pydicom's test files: explicit/implicit/big
  endian, deflated, JPEG, JPEG 2000, RLE, Latin-1/UTF-8/Japanese character
  sets, SR, RT, waveform, small and large, plus a generated 1.3 MB multi-frame
  instance) sent to DCMTK's storescp and dcmrecv; every received file must
  equal the sent data set element by element.
* Messages and exit codes: the same as DCMTK's storescu in the same situations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import UID

from dicomwire import uids
from storescu_helpers import (
    OUR_STORESCU,
    TEST_FILES,
    comparable,
    corpus,
    dcmtk,
    dcmtk_server,
    file_dataset,
    free_port,
    run_tool,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        dcmtk("storescp") is None or dcmtk("storescu") is None, reason="DCMTK is not installed"
    ),
]

CT = TEST_FILES / "CT_small.dcm"
MR = TEST_FILES / "MR_small.dcm"
J2K = TEST_FILES / "JPEG2000.dcm"
RTPLAN = TEST_FILES / "rtplan.dcm"


def _both(args: list[str], cwd: Path | None = None) -> tuple[object, object]:
    theirs = run_tool([str(dcmtk("storescu")), *args], dcmtk_env=True, cwd=cwd)
    ours = run_tool([OUR_STORESCU, *args], cwd=cwd)
    return theirs, ours


def proposed_contexts(dump: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(ID, abstract syntax, transfer syntaxes) from an A-ASSOCIATE-RQ dump."""
    block = dump.split("BEGIN A-ASSOCIATE-RQ", 1)[1].split("END A-ASSOCIATE-RQ", 1)[0]
    contexts: list[tuple[int, str, list[str]]] = []
    for line in block.splitlines():
        text = re.sub(r"^[A-Z]: ", "", line)
        if match := re.match(r"  Context ID:\s+(\d+)", text):
            contexts.append((int(match.group(1)), "", []))
        elif match := re.match(r"    Abstract Syntax: (\S+)", text):
            contexts[-1] = (contexts[-1][0], match.group(1), contexts[-1][2])
        elif match := re.match(r"      (\S+)$", text):
            contexts[-1][2].append(match.group(1))
    return [(cid, abstract, tuple(syntaxes)) for cid, abstract, syntaxes in contexts]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    directory = tmp_path_factory.mktemp("proposal")
    ds = pydicom.dcmread(CT)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(uids.SEGMENTATION_STORAGE)
    seg = directory / "seg.dcm"
    ds.save_as(seg)
    return [str(CT), str(J2K), str(MR), str(seg), str(RTPLAN)]


SYNTAX_OPTIONS = [
    "-x=",
    "-xe",
    "-xb",
    "-xi",
    "-xs",
    "-xy",
    "-xx",
    "-xv",
    "-xw",
    "-xt",
    "-xu",
    "-xm",
    "-xh",
    "-xn",
    "-xl",
    "-x2",
    "-x3",
    "-xo",
    "-x4",
    "-x5",
    "-xr",
    "-xd",
]
PROPOSALS = [
    [],
    ["+C"],
    ["-R"],
    ["-R", "+C"],
    ["-R", "-xi", "+C"],
    ["-R", "-xv"],
    ["-xs", "+C"],
    ["-xf", "/etc/dcmtk/storescu.cfg", "Default"],
    *([option] for option in SYNTAX_OPTIONS),
]


@pytest.mark.parametrize("options", PROPOSALS, ids=lambda o: " ".join(o) or "default")
def test_proposal_matches_dcmtk(files: list[str], options: list[str]) -> None:
    port = free_port()  # nobody listens: the request is dumped before connecting
    theirs, ours = _both(["-d", *options, "127.0.0.1", str(port), *files])
    expected = proposed_contexts(theirs.stderr)  # type: ignore[attr-defined]
    assert expected, theirs.stderr  # type: ignore[attr-defined]
    assert proposed_contexts(ours.stderr) == expected  # type: ignore[attr-defined]
    assert ours.code == theirs.code == 1  # type: ignore[attr-defined]


def _profile_for(paths: list[Path], directory: Path) -> Path:
    """A requestor profile proposing each file's own (SOP class, transfer syntax)."""
    pairs: dict[tuple[str, str], None] = {}
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        pairs[(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID))] = None
    syntaxes = sorted({ts for _, ts in pairs})
    lines = ["[[TransferSyntaxes]]"]
    for index, syntax in enumerate(syntaxes):
        lines += [f"[TS{index}]", f"TransferSyntax1 = {syntax}"]
    lines += ["[[PresentationContexts]]", "[Corpus]"]
    for index, (sop_class, syntax) in enumerate(pairs, 1):
        lines.append(f"PresentationContext{index} = {sop_class}\\TS{syntaxes.index(syntax)}")
    lines += ["[[Profiles]]", "[Corpus]", "PresentationContexts = Corpus"]
    cfg = directory / "corpus.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def _received(directory: Path) -> dict[str, pydicom.Dataset]:
    found: dict[str, pydicom.Dataset] = {}
    for path in directory.rglob("*"):
        if path.is_file():
            ds = pydicom.dcmread(path)
            found[str(ds.SOPInstanceUID)] = ds
    return found


SERVERS = {
    "storescp": lambda out, port: [str(dcmtk("storescp")), "-od", str(out), "+xa", str(port)],
    "dcmrecv": lambda out, port: [
        str(dcmtk("dcmrecv")),
        "-od",
        str(out),
        "-xf",
        "/etc/dcmtk/storescp.cfg",
        "Default",
        str(port),
    ],
}


def _send_corpus(server: str, sent: list[Path], tmp_path: Path) -> None:
    if dcmtk(server) is None:
        pytest.skip(f"{server} is not installed")
    out = tmp_path / "out"
    out.mkdir()
    cfg = _profile_for(sent, tmp_path)
    port = free_port()
    with dcmtk_server(SERVERS[server](out, port), port):
        argv = [OUR_STORESCU, "-v", "-xf", str(cfg), "Corpus", "127.0.0.1", str(port), *map(str, sent)]
        result = run_tool(argv)
    assert result.code == 0, result.stderr
    assert result.stderr.count("Received Store Response (Success)") == len(sent)
    received = _received(out)
    for path in sent:
        original = file_dataset(path)
        copy = received[str(original.SOPInstanceUID)]
        assert copy.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID, path.name
        assert comparable(copy) == comparable(original), path.name


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_corpus_arrives_unchanged(server: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    _send_corpus(server, corpus(tmp_path / "in", deflated=False), tmp_path)


def test_odd_length_deflated_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    source = TEST_FILES / "image_dfl.dcm"
    target = tmp_path / "in" / source.name
    target.write_bytes(source.read_bytes())
    _send_corpus("storescp", [target], tmp_path)


def test_uncompressed_files_with_the_default_proposal(tmp_path: Path) -> None:
    """Big endian and implicit files, converted where storescp took another syntax."""
    sent = [CT, MR, RTPLAN, TEST_FILES / "MR_small_bigendian.dcm", TEST_FILES / "MR_small_implicit.dcm"]
    out = tmp_path / "out"
    out.mkdir()
    port = free_port()
    with dcmtk_server(SERVERS["storescp"](out, port), port):
        result = run_tool([OUR_STORESCU, "-v", "--repeat", "2", "127.0.0.1", str(port), *map(str, sent)])
    assert result.code == 0, result.stderr
    assert result.stderr.count("Received Store Response (Success)") == 2 * len(sent)
    received = _received(out)
    for path in sent:
        original = file_dataset(path)
        assert comparable(received[str(original.SOPInstanceUID)]) == comparable(original), path.name


def _compare_with_dcmtk(
    args: list[str], server_args: list[str] | None, tmp_path: Path, *, exit_code: bool = True
) -> None:
    port = free_port()
    argv = [a.replace("PORT", str(port)) for a in args]
    if server_args is None:
        theirs, ours = _both(argv, cwd=tmp_path)
    else:
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        with dcmtk_server([str(dcmtk("storescp")), "-od", str(out), *server_args, str(port)], port):
            theirs, ours = _both(argv, cwd=tmp_path)
    # the header differs: the banner, and the tool's description (ours in our words)
    banner = re.compile(r"^\$(dcmtk|dicomwire): storescu v\S+( \S+)? \$(\n\nstorescu: .*)?$", re.M)
    assert banner.sub("$header$", ours.stderr) == banner.sub("$header$", theirs.stderr)  # type: ignore[attr-defined]
    assert ours.stdout == theirs.stdout  # type: ignore[attr-defined]
    if exit_code:
        assert ours.code == theirs.code  # type: ignore[attr-defined]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for source in (CT, MR, J2K, RTPLAN):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "text.txt").write_text("hello\n")
    (tmp_path / "dir1").mkdir()
    ds = pydicom.dcmread(CT)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(uids.SEGMENTATION_STORAGE)
    ds.save_as(tmp_path / "seg.dcm")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID("1.2.3.4.5")
    ds.save_as(tmp_path / "unknown.dcm")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(NEWER_STORAGE_CLASS)
    ds.save_as(tmp_path / "newer.dcm")
    _damaged_files(tmp_path)
    verification = tmp_path / "verification.cfg"
    verification.write_text(
        "[[TransferSyntaxes]]\n[Unc]\nTransferSyntax1 = LittleEndianExplicit\n"
        "[[PresentationContexts]]\n[V]\nPresentationContext1 = VerificationSOPClass\\Unc\n"
        "[[Profiles]]\n[Ver]\nPresentationContexts = V\n"
    )
    return tmp_path


# A storage SOP class of the standard that DCMTK 3.6.7 does not know (Photoacoustic Image).
NEWER_STORAGE_CLASS = "1.2.840.10008.5.1.4.1.1.6.3"


def _damaged_files(directory: Path) -> None:
    """Files cut short, empty, not DICOM, without meta header, with a space in a UID."""
    raw = CT.read_bytes()
    (directory / "cut3000.dcm").write_bytes(raw[:3000])  # inside an element header
    (directory / "cutpixels.dcm").write_bytes(raw[:-300])  # Pixel Data claims more than remains
    (directory / "empty.dcm").write_bytes(b"")
    (directory / "binary.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    ds = pydicom.dcmread(CT)
    ds.save_as(directory / "bare.dcm", enforce_file_format=False, implicit_vr=False, little_endian=True)
    uid = str(ds.SOPInstanceUID).encode()
    (directory / "spaced.dcm").write_bytes(raw.replace(uid, uid[:-1] + b" "))


NO_SERVER = [
    ["-usr", "a", "-pwd", "s", "-epw", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["-usr", "a", "-epw", "-pwd", "s", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["-R", "127.0.0.1", "PORT", "newer.dcm"],
    ["-R", "-nh", "127.0.0.1", "PORT", "newer.dcm", "CT_small.dcm"],
    ["-R", "-v", "127.0.0.1", "PORT", "cut3000.dcm"],
    ["-R", "-v", "127.0.0.1", "PORT", "cutpixels.dcm"],
    ["-R", "-nh", "127.0.0.1", "PORT", "cutpixels.dcm", "CT_small.dcm"],
    ["-R", "127.0.0.1", "PORT", "spaced.dcm"],
    ["127.0.0.1", "PORT", "missing.dcm"],
    ["-v", "127.0.0.1", "PORT", "CT_small.dcm", "missing.dcm"],
    ["-nh", "-v", "127.0.0.1", "PORT", "CT_small.dcm", "missing.dcm"],
    ["127.0.0.1", "PORT", "dir1"],
    ["-v", "+sd", "127.0.0.1", "PORT", "dir1"],
    ["-R", "127.0.0.1", "PORT", "text.txt"],
    ["-R", "-nh", "127.0.0.1", "PORT", "text.txt"],
    ["-R", "127.0.0.1", "PORT", "unknown.dcm"],
    ["-R", "-nh", "-v", "127.0.0.1", "PORT", "unknown.dcm", "text.txt", "CT_small.dcm"],
    ["-v", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["-xf", "missing.cfg", "Default", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["-xf", "/etc/dcmtk/storescu.cfg", "NoSuchProfile", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["-kt", "missing.bin", "127.0.0.1", "PORT", "CT_small.dcm"],
    ["+cl", "5", "127.0.0.1", "PORT", "CT_small.dcm"],
]


@pytest.mark.parametrize("args", NO_SERVER, ids=" ".join)
def test_messages_without_a_peer(workdir: Path, args: list[str]) -> None:
    _compare_with_dcmtk(args, None, workdir)


WITH_SERVER = [
    (["--refuse"], ["-v", "127.0.0.1", "PORT", "CT_small.dcm"]),
    (["-xf", "verification.cfg", "Ver"], ["-v", "127.0.0.1", "PORT", "CT_small.dcm"]),
    ([], ["-v", "127.0.0.1", "PORT", "seg.dcm", "CT_small.dcm"]),
    ([], ["-v", "-nh", "127.0.0.1", "PORT", "seg.dcm", "unknown.dcm", "CT_small.dcm", "MR_small.dcm"]),
    ([], ["-v", "127.0.0.1", "PORT", "text.txt"]),
    ([], ["-v", "-nh", "--repeat", "2", "127.0.0.1", "PORT", "text.txt", "rtplan.dcm"]),
    # JPEG-lossy.dcm (12-bit): neither tool can decode it for a peer that wants it uncompressed
    (["+xa"], ["-v", "127.0.0.1", "PORT", "CT_small.dcm", "JPEG-lossy.dcm", "MR_small.dcm"]),
    (["+xi"], ["-v", "127.0.0.1", "PORT", "CT_small.dcm", "rtplan.dcm"]),
    ([], ["-v", "-usr", "alice", "-pwd", "secret", "-rsp", "127.0.0.1", "PORT", "CT_small.dcm"]),
    ([], ["-v", "--abort", "127.0.0.1", "PORT", "CT_small.dcm"]),
    ([], ["-q", "127.0.0.1", "PORT", "CT_small.dcm"]),
    ([], ["-v", "127.0.0.1", "PORT", "cut3000.dcm"]),
    ([], ["-v", "127.0.0.1", "PORT", "cutpixels.dcm"]),
    ([], ["-v", "-nh", "127.0.0.1", "PORT", "cut3000.dcm", "cutpixels.dcm", "MR_small.dcm"]),
    ([], ["-nh", "127.0.0.1", "PORT", "binary.bin", "empty.dcm", "MR_small.dcm"]),
    ([], ["+fo", "127.0.0.1", "PORT", "bare.dcm"]),
    ([], ["+fo", "127.0.0.1", "PORT", "empty.dcm"]),
    ([], ["+fo", "127.0.0.1", "PORT", "binary.bin"]),
    ([], ["127.0.0.1", "PORT", "binary.bin"]),
    ([], ["127.0.0.1", "PORT", "spaced.dcm"]),
    ([], ["-up", "127.0.0.1", "PORT", "spaced.dcm"]),
]


@pytest.mark.parametrize(("server", "args"), WITH_SERVER, ids=lambda v: " ".join(v))
def test_messages_with_storescp(workdir: Path, server: list[str], args: list[str]) -> None:
    server = [a if not a.endswith(".cfg") else str(workdir / a) for a in server]
    _compare_with_dcmtk(args, server, workdir)


def test_conversion_target_is_dcmtks(workdir: Path) -> None:
    _compare_with_dcmtk(["-v", "-xb", "127.0.0.1", "PORT", "CT_small.dcm", "rtplan.dcm"], ["+xb"], workdir)


def test_peer_abort_messages(workdir: Path) -> None:
    """DCMTK's exit code after an abort is undefined (it reads an uninitialised
    status); only the messages are compared."""
    files = ["127.0.0.1", "PORT", "CT_small.dcm", "MR_small.dcm"]
    _compare_with_dcmtk(["-v", *files], ["--abort-after"], workdir, exit_code=False)
    _compare_with_dcmtk(["-nh", *files], ["--abort-during"], workdir)


def test_peer_abort_exit_code_is_dcmtks(workdir: Path) -> None:
    """DCMTK exits 10 after the peer aborted the first store (its undefined status, as
    observed every time); never 255."""
    _compare_with_dcmtk(["127.0.0.1", "PORT", "CT_small.dcm"], ["--abort-after"], workdir)


def test_progress_lines_with_a_log_config(workdir: Path) -> None:
    """-lc logger.cfg sets the progress logger to INFO: XMIT lines on stdout."""
    port = free_port()
    args = ["-lc", "/etc/dcmtk/logger.cfg", "127.0.0.1", str(port), "CT_small.dcm", "MR_small.dcm"]
    with dcmtk_server([str(dcmtk("storescp")), "-od", str(workdir), str(port)], port):
        theirs, ours = _both(args, cwd=workdir)
    xmit = [line for line in ours.stdout.splitlines() if line.startswith("XMIT")]  # type: ignore[attr-defined]
    assert xmit == [line for line in theirs.stdout.splitlines() if line.startswith("XMIT")]  # type: ignore[attr-defined]
    assert len(xmit) == 2


def _received_raw(args: list[str], files: list[Path], tmp_path: Path, tool: str) -> dict[str, str]:
    """dcmdump of what ``tool`` sent (storescp +B keeps the bytes as received), by file."""
    out = tmp_path / ("out-ours" if tool == OUR_STORESCU else "out-dcmtk")
    out.mkdir()
    port = free_port()
    with dcmtk_server([str(dcmtk("storescp")), "-od", str(out), "+B", str(port)], port):
        result = run_tool([tool, *args, "127.0.0.1", str(port), *map(str, files)], dcmtk_env=True)
    assert result.code == 0, result.stderr
    dumps = {}
    for path in sorted(out.iterdir()):
        dump = run_tool([str(dcmtk("dcmdump")), "+L", "-M", str(path)]).stdout
        dumps[path.name] = re.sub(r"\(0002,[0-9a-f]{4}\).*\n", "", dump)
    return dumps


def _sequence_file(directory: Path, *, undefined_items: bool) -> Path:
    ds = pydicom.dcmread(MR)
    inner = pydicom.Dataset()
    inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = "X", "DCM", "m"
    item = pydicom.Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = "1.2.3", "1.2.3.4"
    item.PurposeOfReferenceCodeSequence = pydicom.Sequence([inner])
    ds.ReferencedImageSequence = pydicom.Sequence([item, pydicom.Dataset()])
    for element in (ds["ReferencedImageSequence"], item["PurposeOfReferenceCodeSequence"]):
        element.is_undefined_length = not undefined_items
    item.is_undefined_length_sequence_item = inner.is_undefined_length_sequence_item = undefined_items
    ds.DataSetTrailingPadding = bytes(10)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = UID(
        f"{ds.SOPInstanceUID}.{int(undefined_items)}"
    )
    path = directory / f"sequences{int(undefined_items)}.dcm"
    ds.save_as(path)
    return path


@pytest.mark.parametrize("args", [[], ["-xi"]], ids=["as-is", "converted"])
def test_what_is_sent_is_what_dcmtk_sends(workdir: Path, args: list[str]) -> None:
    """Undefined-length sequences and items go out with explicit lengths, trailing padding
    is dropped, a spaced SOP Instance UID is sent without its space (storescp +B, dcmdump)."""
    files = [
        _sequence_file(workdir, undefined_items=False),
        _sequence_file(workdir, undefined_items=True),
        workdir / "spaced.dcm",
        CT,
        RTPLAN,
    ]
    theirs = _received_raw(args, files, workdir, str(dcmtk("storescu")))
    ours = _received_raw(args, files, workdir, OUR_STORESCU)
    assert ours == theirs
    assert len(ours) == len(files)


def test_invented_values_are_dcmtks(workdir: Path) -> None:
    """+IP and -u: DCMTK's invented patient name, and UT as OB padded with a space."""
    ds = pydicom.dcmread(MR)
    ds.add_new(0x0040A160, "UT", "odd")
    ds.save_as(workdir / "text.dcm")
    args = ["+IP", "2", "-u"]
    theirs = _received_raw(args, [workdir / "text.dcm"], workdir, str(dcmtk("storescu")))
    ours = _received_raw(args, [workdir / "text.dcm"], workdir, OUR_STORESCU)
    (dump_theirs,), (dump_ours,) = theirs.values(), ours.values()
    for dump in (dump_theirs, dump_ours):
        assert "(0040,a160) OB 6f\\64\\64\\20" in dump
        assert re.search(r"PN \[OFFIS\^TEST_PN_\d+\]", dump)
