"""``next_id``, ``tail -n``, ``get`` and ``ls`` answer exactly as a plain walk from the start does,
on segments whose frames leave sequence (the crate's key-collision frames going back to id 0,
ids skipped inside a segment, duplicated frames, straddling frames) and with a torn tail.

The walk here is written out plainly, from the crate's reading rule (FORMAT-NOTES, "Reading in
the reference"): a frame wholly below the expected id is skipped, a frame starting above it is
a gap (the expected id jumps), a frame straddling it yields its entries from the expected id on;
each segment starts at its own start id at the latest. It is not the reader's code: the reader
takes shortcuts (marks, seeks from the nearest frame, ``next_id`` from the last segment only).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ironwal_cli.cli.main import app
from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.names import segment_name
from ironwal_cli.errors import FormatError, NotFoundError
from ironwal_cli.ops.listing import list_streams
from ironwal_cli.ops.read import get_entry, read_batches
from ironwal_cli.spec.codec import FRAME_RAW, decode_raw_batch, encode_frame, encode_index, encode_raw_batch

KEY_COLLISION = Path(__file__).resolve().parents[2] / "format/samples/conformance/key-collision/root"


def plain_walk(stream: Path) -> tuple[list[tuple[int, bytes]], int, bool]:
    """(entries in order, the id expected next, whether damage stopped the walk)."""
    starts = sorted(int(p.name[:-4]) for p in stream.glob("*.wal"))
    out: list[tuple[int, bytes]] = []
    expected = 0
    for start in starts:
        expected = max(expected, start)
        data = bytes(map_file(stream / segment_name(start)))
        for item in scan(data):
            if not isinstance(item, Frame):
                return out, expected, True
            h = item.header
            if h.end_id <= expected:
                continue
            expected = max(expected, h.start_id)
            entries = decode_raw_batch(bytes(item.payload), h.entry_count)
            out.extend((i, entries[i - h.start_id]) for i in range(expected, h.end_id))
            expected = h.end_id
    return out, expected, False


@st.composite
def streams(draw):
    """Segments with non-overlapping id ranges; inside each, frames in sequence mixed with frames
    that go back, skip ahead, repeat or straddle; maybe a torn last frame."""
    n_segments = draw(st.integers(1, 3))
    starts = sorted(draw(st.sets(st.integers(0, 30), min_size=n_segments, max_size=n_segments)))
    if draw(st.booleans()):
        starts[0] = 0
    segments = []
    for k, start in enumerate(starts):
        limit = starts[k + 1] if k + 1 < len(starts) else start + 40
        frames: list[tuple[int, int]] = []
        nxt = start
        for _ in range(draw(st.integers(0, 8))):
            how = draw(st.sampled_from(["next", "next", "back", "skip", "repeat"]))
            if how == "back":
                first = draw(st.integers(max(start - 3, 0), max(nxt - 1, start)))
            elif how == "skip":
                first = nxt + draw(st.integers(1, 3))
            elif how == "repeat" and frames:
                first = frames[-1][0]
            else:
                first = nxt
            count = draw(st.integers(1, 3))
            if first + count > limit:
                continue
            frames.append((first, count))
            nxt = max(nxt, first + count)
        segments.append((start, frames))
    torn = draw(st.integers(0, 20)) if draw(st.integers(0, 4)) == 0 else 0
    return segments, torn


def write_stream(stream: Path, segments, torn: int) -> None:
    stream.mkdir(parents=True)
    (stream / "segments.idx").write_bytes(encode_index([s for s, _ in segments]))
    for k, (start, frames) in enumerate(segments):
        out = []
        for f, (first, count) in enumerate(frames):
            raw = encode_raw_batch([f"s{k}f{f}e{i}".encode() for i in range(count)])
            out.append(encode_frame(first, count, FRAME_RAW, raw, len(raw)))
        data = b"".join(out)
        if k == len(segments) - 1 and torn and data:
            data = data[:max(len(data) - torn, 0)]
        (stream / segment_name(start)).write_bytes(data)


def read_until_damage(batches) -> tuple[list[tuple[int, bytes]], bool]:
    out: list[tuple[int, bytes]] = []
    try:
        for first, entries in batches:
            out.extend(enumerate(entries, first))
    except FormatError:
        return out, True
    return out, False


@settings(max_examples=150, deadline=None)
@given(streams(), st.integers(0, 12))
def test_reads_answer_as_a_walk_from_the_start(case, n):
    segments, torn = case
    top = Path(tempfile.mkdtemp(prefix="ironwal-walk-"))
    try:
        stream = top / "s"
        write_stream(stream, segments, torn)
        walked, expected, damaged = plain_walk(stream)
        reader = StreamReader(top, "s", allow_gaps=True)
        assert reader.next_id() == expected
        assert list_streams(top)[0].next_id == expected
        assert read_until_damage(reader.batches(0)) == (walked, damaged)
        # tail -n N: the last N entries of the walk (up to damage, which then raises)
        got, hit = read_until_damage(read_batches(top, "s", last=n, allow_gaps=True))
        assert got == (walked[max(len(walked) - n, 0):] if n else [])
        if n:
            assert hit == damaged
        # get: the entry the walk yields for that id, else "no entry"
        held = dict(walked)
        fresh = StreamReader(top, "s", allow_gaps=True)
        for entry_id in range(expected + 2):
            for r in (reader, fresh):
                try:
                    value = r.get(entry_id)
                except NotFoundError:
                    value = None
                except FormatError:
                    value = "damage"
                assert value == held.get(entry_id, value if value == "damage" and damaged else None), entry_id
    finally:
        shutil.rmtree(top)


def test_key_collision_sample_next_id_tail_and_get():
    """The crate's own key-collision root (ids 0, 1, 2, 4 present): next is 5, the last entry is
    id 4, and id 3 does not exist, through the CLI as through the API."""
    runner = CliRunner()
    listing = runner.invoke(app, ["ls", "-r", str(KEY_COLLISION), "--json"])
    assert listing.exit_code == 0, listing.output
    assert '"next_id": 5' in listing.output
    tail = runner.invoke(app, ["tail", "-r", str(KEY_COLLISION), "user_123", "-n", "1", "--allow-gaps"])
    assert tail.exit_code == 0
    assert tail.stdout == "from user_123 after reopen\n"
    tail2 = runner.invoke(app, ["tail", "-r", str(KEY_COLLISION), "user_123", "-n", "2", "--allow-gaps"])
    assert tail2.stdout == "from user/123 #2\nfrom user_123 after reopen\n"
    assert get_entry(KEY_COLLISION, "user_123", 4) == b"from user_123 after reopen"
    assert get_entry(KEY_COLLISION, "user_123", 2) == b"from user/123 #2"
    try:
        get_entry(KEY_COLLISION, "user_123", 3)
    except NotFoundError:
        pass
    else:
        raise AssertionError("id 3 is missing in the key-collision sample")
