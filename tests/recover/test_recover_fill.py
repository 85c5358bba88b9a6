"""Lost ids are filled, never left as a silent gap (issue 11 items 1-3, issue 14 item 10 first point).

A frame cut cleanly out of a segment is repaired like any other loss; filler frames are recognised by
every reader and writer of ours and never taken for data; recover and verify say which ids are lost,
where a crate replay fails, and where to resume.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recover_damage import assert_clean, frames_of, independent_read
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.frames.scan import LOST_FILLER, Frame, scan
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.seals import matching, read_seals
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import EXIT_NOT_FOUND, GapError, NotFoundError
from ironwal_cli.ops.recover import recover
from ironwal_cli.spec.codec import MAX_FRAME_ENTRIES, encode_frame, encode_lost_fillers, encode_raw_batch

runner = CliRunner()
OLD_SPLIT = Path(__file__).resolve().parents[2] / "format" / "samples" / "split-by-8eda8bd" / "root"


@pytest.fixture
def root(tmp_path) -> Path:
    """Stream s: segments 0 (ids 0..9) and 10 (ids 10..19), frames of 2 entries."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s", WriteOptions(max_entries_per_segment=10)) as w:
        for f in range(10):
            w.append_batch([b"e%d" % (2 * f), b"e%d\n" % (2 * f + 1)])
    return root


def _cut_frame(seg: Path, index: int) -> None:
    f = frames_of(seg)[index]
    data = seg.read_bytes()
    seg.write_bytes(data[:f.offset] + data[f.end_offset:])


def ironwal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args], capture_output=True, text=True, check=False)


def test_a_frame_cut_cleanly_out_is_repaired_and_the_hint_names_plain_recover(root):
    """Issue 11 item 2: no damaged byte, only ids 4..5 skipped inside segment 0. Before, recover said
    "nothing to repair", verify's hint sent the user to `recover --full`, and the segment was sealed
    with an end id although ids inside it were missing."""
    seg = root / "s" / f"{0:020d}.wal"
    _cut_frame(seg, 2)
    verified = ironwal("verify", "-r", str(root))
    assert verified.returncode == 1 and "ids_skip" in verified.stdout
    assert "`ironwal recover` repairs this" in verified.stderr and "--full" not in verified.stderr
    assert recover(root, dry_run=True).repairs_needed
    report = recover(root)
    assert [m for _, m in report.notes] == [
        "ids 4..5 are lost; the crate's iterator fails at id 4, readers report them lost; replay resumes at id 6"]
    assert report.replay == {"s": {"lost": [[4, 6]], "fails_at": 4, "resume_at": 6}}
    layout = StreamListing.read(root / "s")
    assert layout.lost == [(4, 6)] and layout.segment_ids == [0, 10]
    assert [s.end_id for s in matching(read_seals(root / "s")[0], layout.segment_files, root / "s").values()] == [
        10, 20]  # sealed with what the segment holds: the filler's ids are lost ids, not entries
    assert_clean(root)
    assert sorted(independent_read(root / "s")) == [i for i in range(20) if i not in (4, 5)]
    assert not recover(root, dry_run=True).repairs_needed


def test_readers_report_filled_ids_as_lost_never_as_data(root):
    _cut_frame(root / "s" / f"{0:020d}.wal", 2)
    recover(root)
    with pytest.raises(GapError, match=r"ids 4\.\.5 missing"):
        list(StreamReader(root, "s").entries(0))
    warnings: list[str] = []
    entries = dict(StreamReader(root, "s", allow_gaps=True, on_warning=warnings.append).entries(0))
    assert sorted(entries) == [i for i in range(20) if i not in (4, 5)]
    assert warnings == [f"{root / 's' / (f'{0:020d}.wal')}: ids 4..5 are missing (gap) (lost to damage: recorded in "
                        "lost.idx by ironwal recover); continuing at 6"]
    assert dict(StreamReader(root, "s", allow_gaps=True).entries(5)) == {i: entries[i] for i in entries if i >= 6}
    with pytest.raises(NotFoundError, match=r"entry 5 was lost to damage: ids 4\.\.5 are recorded lost in lost\.idx"):
        StreamReader(root, "s").get(5)
    assert StreamReader(root, "s").get(6) == b"e6"
    got = ironwal("get", "-r", str(root), "s", "4")
    assert got.returncode == EXIT_NOT_FOUND and "lost" in got.stderr and got.stdout == ""


def test_a_filler_in_the_active_segment_is_counted_by_our_writer(root):
    """A reserved bad-CRC last frame becomes a filler in the active segment: the next append is past it."""
    seg = root / "s" / f"{10:020d}.wal"
    data = bytearray(seg.read_bytes())
    data[-1] ^= 1  # the last frame (ids 18..19): complete, CRC mismatch
    seg.write_bytes(bytes(data))
    recover(root)
    assert StreamListing.read(root / "s").lost == [(18, 20)]
    with StreamWriter(root, "s") as w:
        assert w.append(b"next") == 20
    assert_clean(root)


def test_recover_names_the_ids_of_a_torn_tail(root):
    """Issue 14 item 10: a torn tail is reported by its ids, not only in bytes."""
    seg = root / "s" / f"{10:020d}.wal"
    last = frames_of(seg)[-1]
    seg.write_bytes(seg.read_bytes()[:last.offset + 36])
    result = ironwal("recover", "-r", str(root))
    assert result.returncode == 0, result.stderr
    assert "torn tail cut (36 bytes): ids 18..19, never acknowledged; the next append takes id 18 again" in \
        result.stderr


def test_recover_and_verify_print_what_a_crate_replay_sees(tmp_path):
    """The root 8eda8bd's recover split: verify says the crate's replay stops silently at 5 and where to
    resume; recover fills it and says the replay now fails at 5 and resumes at 10."""
    root = tmp_path / "wal"
    shutil.copytree(OLD_SPLIT, root)
    verified = runner.invoke(app, ["verify", "-r", str(root)])
    assert verified.exit_code == 1
    assert "replay s: crate replay stops silently at id 5 (ids 5..9 missing between segments); resume with " \
           "iter_from(10); lost ids 5..9" in verified.stdout
    as_json = json.loads(runner.invoke(app, ["verify", "-r", str(root), "--json"]).stdout)
    assert as_json["replay"]["s"]["stop"] == {"at_id": 5, "how": "stops_silently",
                                              "why": "ids 5..9 missing between segments", "resume_id": 10}
    repaired = runner.invoke(app, ["recover", "-r", str(root)])
    assert repaired.exit_code == 0, repaired.output
    assert ("replay s: after the repair the crate's iter(0) fails at id 5 (lost ids 5..9); resume with "
            "iter_from(10)") in repaired.stdout
    assert (root / "s" / f"{5:020d}.wal").read_bytes() == encode_lost_fillers(5, 10)
    assert StreamListing.read(root / "s").index_ids == [0, 5, 10, 15]
    assert_clean(root)
    after = json.loads(runner.invoke(app, ["verify", "-r", str(root), "--json"]).stdout)
    assert after["ok"] and after["replay"]["s"]["stop"]["how"] == "fails"


# ----- the filler frame itself ------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(first=st.integers(0, 2**63), length=st.integers(1, 3 * MAX_FRAME_ENTRIES))
def test_fillers_cover_exactly_their_range(first, length):
    data = encode_lost_fillers(first, first + length)
    items = list(scan(data))
    assert all(not isinstance(i, Frame) and i.kind == LOST_FILLER for i in items)
    assert [i.kind for i in scan(data, check_crc=False)] == [LOST_FILLER] * len(items)  # never passed off as data
    assert items[0].header.start_id == first and items[-1].header.end_id == first + length
    assert all(a.header.end_id == b.header.start_id for a, b in zip(items, items[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(st.binary(max_size=40), min_size=1, max_size=4), start=st.integers(0, 2**40),
       bit=st.integers(0, 10**6))
def test_a_damaged_real_frame_is_never_taken_for_a_filler(entries, start, bit):
    """A real frame with one bit flipped anywhere is damage (or still intact), never a filler."""
    payload = encode_raw_batch(entries)
    frame = bytearray(encode_frame(start, len(entries), 0, payload, len(payload)))
    frame[bit // 8 % len(frame)] ^= 1 << bit % 8
    assert all(isinstance(i, Frame) or i.kind != LOST_FILLER for i in scan(bytes(frame)))


def test_the_declared_layout_reads_a_filler_as_the_codec_writes_it():
    """spec/declarations.py is the single source of truth: its ``frame`` and ``lost_filler`` parse what
    the codec writes, and the frame's CRC is bad by construction."""
    from ironwal_cli.spec import declarations as decl

    frame = decl.frame.parse(encode_lost_fillers(7, 9))
    assert (frame.start_id, frame.entry_count, frame.frame_type, frame.crc_ok) == (7, 2, "raw", False)
    payload = decl.lost_filler.parse(frame.payload)
    assert (payload.marker, payload.first, payload.end) == (decl.LOST_FILLER_MARKER, 7, 9)
    assert frame.crc ^ decl.LOST_FILLER_CRC_FLIP == decl.frame_crc(frame)


def test_a_filler_with_any_field_changed_is_damage():
    filler = encode_lost_fillers(7, 9)
    for byte in range(len(filler)):
        changed = bytearray(filler)
        changed[byte] ^= 0x01
        assert all(isinstance(i, Frame) or i.kind != LOST_FILLER for i in scan(bytes(changed))), byte
    assert struct.unpack_from("<Q", filler, 8)[0] == 7


def test_inspect_shows_a_filler_as_lost_ids(tmp_path):
    root = tmp_path / "wal"
    shutil.copytree(OLD_SPLIT, root)
    recover(root)
    shown = runner.invoke(app, ["inspect", "-r", str(root), f"s/{5:020d}.wal", "--json"])
    assert shown.exit_code == 0, shown.output
    row = json.loads(shown.stdout)["rows"][0]
    assert (row["start_id"], row["count"], row["crc_ok"], row["problems"]) == (5, 5, False, ["lost_filler"])


def test_a_gap_no_stream_could_hold_is_refused_not_filled(root):
    """A segment named 2^50 after segment 10: 2^50 - 20 ids in between would take 262,144 filler
    frames for a number one file name claims (issue 17: bounds follow the data). recover refuses
    the stream (exit 3) naming the file, and changes nothing; a claim of segments.idx alone that
    large is only a note (tests/fuzz corpus: ids-past-2^64)."""
    far = 1 << 50
    payload = encode_raw_batch([b"x"])
    (root / "s" / f"{far:020d}.wal").write_bytes(encode_frame(far, 1, 0, payload, len(payload)))
    before = {p.name: p.read_bytes() for p in (root / "s").iterdir()}
    result = ironwal("recover", "-r", str(root))
    assert result.returncode == 3, result.stderr
    assert f"{far:020d}.wal" in result.stderr and "more than any stream holds" in result.stderr
    assert {p.name: p.read_bytes() for p in (root / "s").iterdir()} == before
