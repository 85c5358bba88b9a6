"""The writer's rotation and chunking rules, one rule per test (FORMAT-NOTES, "Rotation").

Layouts are read back from the bytes (``wal_checks``), never from the writer's own state.
A layout is written as {segment start id: [(frame start id, entry count), ...]}.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wal_checks import check_stream, walk_headers

from ironwal_cli.engine import seams
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import DamagedTailError
from ironwal_cli.spec.codec import decode_head_state, decode_index


def opts(max_size: int = 64 * 1024 * 1024, max_entries: int | None = None, sync: str = "async") -> WriteOptions:
    return WriteOptions(max_segment_size=max_size, max_entries_per_segment=max_entries, sync=sync)


def layout(stream_dir: Path, max_size=None, max_entries=None) -> dict[int, list[tuple[int, int]]]:
    segments = check_stream(stream_dir, max_size, max_entries)
    return {start: [(h.start_id, h.entry_count) for h in hs] for start, hs in segments.items()}


def sizes(stream_dir: Path) -> dict[int, int]:
    return {int(p.name[:-4]): p.stat().st_size for p in stream_dir.glob("*.wal")}


def entry(n: int, tag: int = 0) -> bytes:
    return bytes([65 + tag % 26]) * n


# ----- single appends ------------------------------------------------------------------------


def test_single_append_rotates_when_size_plus_len_plus_32_exceeds_max(root):
    """== max stays (the frame is 36 + len, so the segment ends 4 bytes over); == max + 1 rotates."""
    with StreamWriter(root, "s", opts(256)) as w:
        ids = [w.append(entry(n)) for n in (92, 96, 0, 187, 0, 189)]
    assert ids == list(range(6))
    # 128 + 96 + 32 == 256: no rotation; 260 + 0 + 32 > 256: rotation; 36 + 189 + 32 == 257: rotation.
    assert layout(root / "s", 256) == {0: [(0, 1), (1, 1)], 2: [(2, 1), (3, 1)], 4: [(4, 1)], 5: [(5, 1)]}
    assert sizes(root / "s") == {0: 260, 2: 259, 4: 36, 5: 225}


@pytest.mark.parametrize("over, rotates", [(0, False), (1, True)])
def test_single_append_boundary(root, over, rotates):
    max_size = 200
    first = 50  # a frame of 86 bytes
    second = max_size - (36 + first) - 32 + over
    with StreamWriter(root, "s", opts(max_size)) as w:
        w.append(entry(first))
        w.append(entry(second))
    assert list(layout(root / "s")) == ([0, 1] if rotates else [0])


def test_single_append_rotates_at_the_entry_limit(root):
    with StreamWriter(root, "s", opts(max_entries=3)) as w:
        for i in range(7):
            w.append(entry(5, i))
    assert layout(root / "s", None, 3) == {0: [(0, 1), (1, 1), (2, 1)], 3: [(3, 1), (4, 1), (5, 1)], 6: [(6, 1)]}


# ----- batches -------------------------------------------------------------------------------


def test_batch_fitting_a_segment_is_one_frame(root):
    with StreamWriter(root, "s", opts(10_000)) as w:
        assert w.append_batch([entry(10, i) for i in range(50)]) == range(0, 50)
    assert layout(root / "s") == {0: [(0, 50)]}


def test_batch_is_chunked_by_len_plus_32_against_the_room_left(root):
    """Each entry counts len + 32 against max - size; the first entry of every chunk is always taken."""
    with StreamWriter(root, "s", opts(300)) as w:
        w.append(entry(30))  # 66 bytes
        w.append(entry(30))  # 132
        # room 168: two 40-byte entries (2 x 72 = 144); the frame is 32 + 2 x 44 = 120 -> 252 < 300, so
        # no rotation; room 48 < 72 but a chunk takes its first entry anyway -> 328 >= 300: rotate.
        assert w.append_batch([entry(40, i) for i in range(20)]) == range(2, 22)
    got = layout(root / "s", 300)
    assert got[0] == [(0, 1), (1, 1), (2, 2), (4, 1)]
    assert got[5] == [(5, 4), (9, 1), (10, 1)]  # several frames of one batch in one segment
    assert sizes(root / "s")[0] == 328


def test_chunk_takes_entries_while_the_estimate_fits_exactly(root):
    """4 entries of 43 bytes cost exactly 4 x 75 = 300 = max: all four go in the first chunk."""
    with StreamWriter(root, "s", opts(300)) as w:
        w.append_batch([entry(43, i) for i in range(6)])
    # frame 32 + 4 x 47 = 220; room 80 takes one more (75), not two; 299 < 300 keeps the segment open,
    # and the last chunk's first entry always goes in: 378.
    assert layout(root / "s", 300) == {0: [(0, 4), (4, 1), (5, 1)]}


def test_first_chunk_goes_into_the_current_segment_even_when_too_big(root):
    """The crate's rule, kept: a 500-byte entry joins a segment of 284 bytes (max 300) as its own chunk."""
    with StreamWriter(root, "s", opts(300)) as w:
        w.append_batch([entry(40, i) for i in range(5)])  # chunks of 4 (208 bytes) and 1 (76): 284
    assert sizes(root / "s") == {0: 284}
    with StreamWriter(root, "s", opts(300)) as w:
        assert w.append_batch([entry(500), entry(10), entry(10, 1)]) == range(5, 8)
    assert layout(root / "s", 300) == {0: [(0, 4), (4, 1), (5, 1)], 6: [(6, 2)]}
    assert sizes(root / "s") == {0: 284 + 536, 6: 60}


def test_entry_limit_rotates_between_chunks_but_never_splits_a_chunk(root):
    """Limit 3, chunks of 7 by size: a rotation after each chunk, every chunk whole."""
    with StreamWriter(root, "s", opts(1000, 3)) as w:
        assert w.append_batch([entry(100, i) for i in range(30)]) == range(0, 30)
    # 7 x 132 = 924 <= 1000 < 8 x 132: chunks of 7 entries (frames of 760 bytes).
    assert layout(root / "s", 1000, 3) == {s: [(s, 7 if s < 28 else 2)] for s in (0, 7, 14, 21, 28)}


# ----- the four fixes ------------------------------------------------------------------------


def test_fix_1_entries_are_counted_from_the_file(root):
    """The crate's count restarts at 0 in a new process; ours reads 3 entries from the file."""
    with StreamWriter(root, "s", opts(max_entries=4)) as w:
        for i in range(3):
            w.append(entry(5, i))
    with StreamWriter(root, "s", opts(max_entries=4)) as w:
        assert w.append(entry(5, 3)) == 3  # fourth entry: segment 0 is now full
        assert w.append(entry(5, 4)) == 4  # rotates
    assert layout(root / "s", None, 4) == {0: [(0, 1), (1, 1), (2, 1), (3, 1)], 4: [(4, 1)]}


def test_fix_2_a_full_segment_is_rotated_before_a_batch(root):
    """By entries: a batch of 3 (limit 2) is not split, but the next batch starts a new segment."""
    with StreamWriter(root, "s", opts(max_entries=2)) as w:
        assert w.append_batch([entry(5, i) for i in range(3)]) == range(0, 3)
        assert w.append_batch([entry(5, 3)]) == range(3, 4)
        assert w.append_batch([entry(5, 4)]) == range(4, 5)
    assert layout(root / "s", None, 2) == {0: [(0, 3)], 3: [(3, 1), (4, 1)]}


def test_fix_2_by_size(root):
    with StreamWriter(root, "s", opts(100)) as w:
        w.append_batch([entry(90)])  # 126 bytes >= 100
        w.append_batch([entry(1)])
    assert layout(root / "s", 100) == {0: [(0, 1)], 1: [(1, 1)]}


def test_fix_3_a_fresh_segment_takes_an_oversize_entry_without_a_duplicate_id(root):
    with StreamWriter(root, "s", opts(64)) as w:
        assert [w.append(entry(100)), w.append(entry(100, 1))] == [0, 1]
        assert w.append_batch([entry(200), entry(10)]) == range(2, 4)
    assert layout(root / "s", 64) == {0: [(0, 1)], 1: [(1, 1)], 2: [(2, 1)], 3: [(3, 1)]}
    assert decode_index((root / "s" / "segments.idx").read_bytes()) == [0, 1, 2, 3]


def test_fix_4_every_segment_left_behind_is_synced(root, monkeypatch):
    """Even in async mode, where appends are never synced, rotation syncs the segment it leaves."""
    synced: list[str] = []
    monkeypatch.setattr(seams, "sync_hook", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")))
    with StreamWriter(root, "s", opts(100, sync="async")) as w:
        w.append(entry(70))
        assert not any(p.endswith(".wal") for p in synced)  # async: the append itself is not synced
        w.append(entry(70))  # rotates: segment 1
        w.append_batch([entry(70), entry(70)])  # rotates before it (fix 2): segment 2, then between
        # its two chunks: segment 3
    seg = str(root.resolve() / "s")
    assert layout(root / "s") == {0: [(0, 1)], 1: [(1, 1)], 2: [(2, 1)], 3: [(3, 1)]}
    assert f"{seg}/00000000000000000000.wal" in synced  # left by a single append
    assert f"{seg}/00000000000000000001.wal" in synced  # left before a batch
    assert f"{seg}/00000000000000000002.wal" in synced  # left between two chunks of one batch (the crate's gap)
    assert f"{seg}/00000000000000000003.wal" not in synced  # the active one: async, never synced


# ----- directories and the small files -------------------------------------------------------


def test_empty_batch_writes_nothing_and_creates_no_directory(root):
    with StreamWriter(root, "s", opts()) as w:
        assert w.append_batch([]) == range(0, 0)
        assert w.append_batches([[], []]) == [range(0, 0)] * 2
    assert not root.exists()


def test_empty_batch_on_an_existing_stream_changes_nothing(root):
    with StreamWriter(root, "s", opts()) as w:
        w.append(b"x")
    before = {p.name: p.read_bytes() for p in (root / "s").iterdir()}
    with StreamWriter(root, "s", opts()) as w:
        assert w.append_batch([]) == range(1, 1)
    assert {p.name: p.read_bytes() for p in (root / "s").iterdir()} == before


def test_new_stream_directory_gets_index_of_id_0(root):
    with StreamWriter(root, "user/1", opts()) as w:
        w.append(b"x")
    d = root / "user_1"
    assert (d / "segments.idx").read_bytes() == bytes(8)
    assert sorted(p.name for p in d.iterdir()) == ["00000000000000000000.wal", "segments.idx"]  # no head.state


def test_rotation_appends_to_the_index_and_rewrites_head_state(root):
    with StreamWriter(root, "s", opts(100)) as w:
        w.append(entry(20))  # 56 bytes
        w.append(entry(10))  # 56 + 10 + 32 <= 100: same segment, now 102 bytes
        assert not (root / "s" / "head.state").exists()  # written at rotation only, as the crate does
        w.append(entry(70))  # rotation to segment 2
        assert decode_index((root / "s" / "segments.idx").read_bytes()) == [0, 2]
        assert decode_head_state((root / "s" / "head.state").read_bytes()) == "00000000000000000002.wal"
        w.append(entry(70))
    assert decode_index((root / "s" / "segments.idx").read_bytes()) == [0, 2, 3]
    assert decode_head_state((root / "s" / "head.state").read_bytes()) == "00000000000000000003.wal"
    assert not [p for p in (root / "s").iterdir() if p.name.endswith(".tmp")]


# ----- damage --------------------------------------------------------------------------------


def _damage(data: bytearray, frames, how: str) -> int:
    """Damage the bytes; return the offset of the frame a writer must name."""
    off2 = frames[1][0]
    last = frames[-1][0]
    if how == "bad crc last frame":
        data[-1] ^= 0xFF
        return last
    if how == "bad crc middle frame":
        data[off2 + 33] ^= 0xFF
        return off2
    if how == "bad magic middle frame":
        data[off2] ^= 0xFF
        return off2
    if how == "garbage after the last frame":
        data += b"\x01\x02\x03"
        return len(data) - 3
    raise AssertionError(how)


# (a torn final frame alone is not refused: the writer quarantines it and appends, tests/recover)
@pytest.mark.parametrize("how", ["bad crc last frame", "bad crc middle frame", "bad magic middle frame",
                                 "garbage after the last frame"])
def test_writer_refuses_to_append_after_damage_anywhere_in_the_active_segment(root, how):
    with StreamWriter(root, "s", opts()) as w:
        for i in range(4):
            w.append(entry(20, i))
    path = root / "s" / "00000000000000000000.wal"
    data = bytearray(path.read_bytes())
    offset = _damage(data, walk_headers(bytes(data)), how)
    path.write_bytes(bytes(data))
    for call in (lambda w: w.append(b"new"), lambda w: w.append_batch([b"a", b"b"])):
        with StreamWriter(root, "s", opts()) as w, pytest.raises(DamagedTailError) as err:
            call(w)
        assert (Path(err.value.path), err.value.offset) == (path, offset)
        assert "ironwal recover" in str(err.value)
    assert path.read_bytes() == bytes(data)  # not a byte written


# ----- several writers -----------------------------------------------------------------------


def test_a_second_writer_continues_at_the_right_id(root):
    """Each write takes the lock and re-reads the tail, so interleaved writers never reuse an id."""
    a = StreamWriter(root, "s", opts(200))
    b = StreamWriter(root, "s", opts(200))
    try:
        assert [a.append(entry(30, i)) for i in range(3)] == [0, 1, 2]
        # b's batch: its first chunk still goes into segment 0 (198 -> 264 bytes), then b rotates: segment 4.
        assert b.append_batch([entry(30, 3), entry(30, 4)]) == range(3, 5)
        assert a.append(entry(30, 5)) == 5  # a sees b's frames and b's new segment
        assert b.append(entry(30, 6)) == 6
        c = StreamWriter(root, "s", opts(200))
        assert c.append(entry(30, 7)) == 7
        c.close()
    finally:
        a.close()
        b.close()
    got = StreamReader(root, "s").entries(0)
    assert [e for _, e in got] == [entry(30, i) for i in range(8)]
    assert layout(root / "s", 200) == {0: [(0, 1), (1, 1), (2, 1), (3, 1)], 4: [(4, 1), (5, 1), (6, 1)], 7: [(7, 1)]}


# ----- every rule at once --------------------------------------------------------------------

ops_st = st.lists(
    st.tuples(st.sampled_from(["append", "batch", "reopen"]),
              st.lists(st.integers(0, 120), min_size=0, max_size=12)),
    min_size=1, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops_st, max_size=st.integers(40, 600), max_entries=st.one_of(st.none(), st.integers(1, 6)))
def test_any_sequence_of_writes_stays_within_the_limits(tmp_path_factory, ops, max_size, max_entries):
    """Whatever the calls: ids contiguous, entries read back in order, and a segment is over a
    limit only by its last frame (which for the entry limit can be a whole batch chunk)."""
    root = tmp_path_factory.mktemp("prop")
    o = opts(max_size, max_entries)
    written: list[bytes] = []
    w = StreamWriter(root, "s", o)
    try:
        for i, (kind, lengths) in enumerate(ops):
            if kind == "reopen":
                w.close()
                w = StreamWriter(root, "s", o)
            elif kind == "append":
                e = entry(lengths[0] if lengths else 0, i)
                assert w.append(e) == len(written)
                written.append(e)
            else:
                batch = [entry(n, i + j) for j, n in enumerate(lengths)]
                assert w.append_batch(batch) == range(len(written), len(written) + len(batch))
                written.extend(batch)
    finally:
        w.close()
    if not written:
        assert not (root / "s").exists() or not list((root / "s").glob("*.wal"))
        return
    check_stream(root / "s", max_size, max_entries)
    assert [e for _, e in StreamReader(root, "s").entries(0)] == written


def test_a_writer_checks_frames_another_writer_added(root):
    """A long-lived writer re-reads only what others appended since, and refuses if that is damaged."""
    a = StreamWriter(root, "s", opts())
    try:
        a.append(b"from a")
        with StreamWriter(root, "s", opts()) as b:
            b.append_batch([b"from b", b"also b"])
        path = root / "s" / "00000000000000000000.wal"
        data = bytearray(path.read_bytes())
        frames = walk_headers(bytes(data))
        data[frames[1][0] + 40] ^= 0x01  # one bit of b's payload
        path.write_bytes(bytes(data))
        with pytest.raises(DamagedTailError) as err:
            a.append(b"after damage")
        assert err.value.offset == frames[1][0]
        assert path.read_bytes() == bytes(data)
    finally:
        a.close()
