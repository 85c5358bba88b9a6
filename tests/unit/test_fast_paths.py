"""The speed-ups of the hot paths change no result: checked against the construct spec and plain loops."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.spec import declarations as decl
from ironwal_cli.spec.codec import decode_raw_batch, encode_raw_batch

entries_st = st.lists(st.binary(max_size=40), max_size=30)


def reference_decode(payload: bytes, count: int) -> list[bytes] | None:
    """The spec's reading of a raw batch, or None when it does not hold exactly ``count`` entries."""
    try:
        entries = [bytes(e) for e in decl.raw_batch.parse(payload)]
    except Exception:  # construct's own errors: a batch the spec cannot read
        return None
    if len(entries) != count or decl.raw_batch.build(entries) != payload:
        return None
    return entries


@settings(max_examples=300, deadline=None)
@given(entries_st)
def test_decode_matches_spec_on_random_batches(entries):
    payload = encode_raw_batch(entries)
    assert payload == decl.raw_batch.build(entries)
    assert decode_raw_batch(payload, len(entries)) == entries
    assert decode_raw_batch(memoryview(payload), len(entries)) == entries


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30), st.integers(0, 40))
def test_fixed_size_records_take_the_stride_path_and_agree(length, count):
    entries = [bytes([i % 251]) * length for i in range(count)]
    payload = encode_raw_batch(entries)
    assert decode_raw_batch(payload, count) == entries == (reference_decode(payload, count) or [])


@settings(max_examples=400, deadline=None)
@given(entries_st, st.data())
def test_damaged_batches_fail_exactly_when_the_spec_says_so(entries, data):
    payload = bytearray(encode_raw_batch(entries))
    if payload:
        for _ in range(data.draw(st.integers(1, 3))):
            payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    payload = bytes(payload[:cut])
    count = data.draw(st.sampled_from([len(entries), max(len(entries) - 1, 0), len(entries) + 1]))
    expected = reference_decode(payload, count)
    if expected is None:
        with pytest.raises(ValueError):
            decode_raw_batch(payload, count)
    else:
        assert decode_raw_batch(payload, count) == expected


def test_uniform_lengths_with_one_odd_prefix_are_not_taken_for_fixed_size():
    # Four 4-byte entries (32 bytes) vs. a batch whose 2nd prefix is different but sums to the same size.
    odd = struct.pack("<L", 2) + b"ab" + struct.pack("<L", 6) + b"cdefgh" + encode_raw_batch([b"ijkl"] * 2)
    assert len(odd) == 4 * 8
    assert decode_raw_batch(odd, 4) == [b"ab", b"cdefgh", b"ijkl", b"ijkl"]


@pytest.mark.parametrize("payload,count,message", [
    (b"\x05\x00\x00\x00abc", 1, "entry 0 claims 5 bytes, 3 remain"),
    (b"\x01\x00", 1, "batch ends inside the length of entry 0"),
    (b"\x01\x00\x00\x00ab", 1, "1 bytes left over after 1 entries"),
])
def test_errors_name_the_first_problem(payload, count, message):
    with pytest.raises(ValueError, match=message):
        decode_raw_batch(payload, count)


def test_many_fixed_size_records_in_one_frame():
    entries = [bytes([i % 7]) * 3 for i in range(5000)]  # past the size of the cached structs
    assert decode_raw_batch(encode_raw_batch(entries), len(entries)) == entries


# ----- the quick header walk (scan.headers / scan.seek) agrees with the full scanner ------------

def _segment(sizes: list[int]) -> bytes:
    from ironwal_cli.spec.codec import FRAME_RAW, encode_frame

    out, next_id = [], 0
    for n in sizes:
        raw = encode_raw_batch([b"e" * (k % 5) for k in range(n)])
        out.append(encode_frame(next_id, n, FRAME_RAW, raw, len(raw)))
        next_id += n
    return b"".join(out)


def _sound_frames(data: bytes) -> list[tuple[int, int, int, int]]:
    """What headers() must yield: scan's frames (headers only) up to its first problem."""
    from ironwal_cli.engine.frames.scan import Frame, scan

    frames = []
    for item in scan(data, check_crc=False, headers_only=True):
        if not isinstance(item, Frame):
            break
        frames.append((item.offset, item.header.start_id, item.header.entry_count, item.header.disk_size))
    return frames


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=12), st.data())
def test_headers_and_seek_agree_with_scan(tmp_path_factory, sizes, data):
    import os

    from ironwal_cli.engine.frames.scan import headers, seek

    seg = bytearray(_segment(sizes))
    if seg and data.draw(st.booleans()):  # damage: a flipped byte, then maybe a cut
        seg[data.draw(st.integers(0, len(seg) - 1))] ^= 0xFF
    seg = bytes(seg[:data.draw(st.integers(0, len(seg)))] if data.draw(st.booleans()) else seg)
    expected = _sound_frames(seg)
    path = tmp_path_factory.mktemp("seg") / "s.wal"
    path.write_bytes(seg)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert list(headers(seg)) == expected
        assert list(headers(seg, fd=fd)) == expected
        end_of_sound = expected[-1][0] + 32 + expected[-1][3] if expected else 0
        for target in range(0, sum(sizes) + 2):
            want = next((off for off, first, count, _ in expected if first + count > target), end_of_sound)
            assert seek(seg, target) == want
            assert seek(seg, target, fd=fd) == want
    finally:
        os.close(fd)


# ----- the frame encoder (header written apart from the payload) builds the spec's bytes -------

@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), entries_st, st.sampled_from(["raw", "lz4"]), st.integers(0, 2**32 - 1))
def test_frame_encoding_matches_spec(start_id, entries, frame_type, uncompressed):
    from ironwal_cli.spec.codec import FRAME_LZ4, FRAME_RAW, encode_frame, encode_frame_header

    payload = encode_raw_batch(entries)
    code = FRAME_RAW if frame_type == "raw" else FRAME_LZ4
    built = decl.frame.build({"start_id": start_id, "entry_count": len(entries), "frame_type": frame_type,
                              "uncompressed_size": uncompressed, "payload": payload})
    assert encode_frame(start_id, len(entries), code, payload, uncompressed) == built
    assert encode_frame_header(start_id, len(entries), code, payload, uncompressed) + payload == built


def test_header_walk_by_pread_stops_where_the_file_ends_early(tmp_path):
    import os

    from ironwal_cli.engine.frames.scan import headers

    seg = _segment([3, 2, 4])
    path = tmp_path / "s.wal"
    path.write_bytes(seg[:40])  # the file was cut short after the mapping (``seg``) was taken
    fd = os.open(path, os.O_RDONLY)
    try:  # the first header is still in the file; the second is gone: the walk stops, no error
        assert list(headers(seg, fd=fd)) == _sound_frames(seg)[:1]
    finally:
        os.close(fd)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3000), st.sampled_from([0, 40, 700, 5000])), min_size=1, max_size=4),
       st.data())
def test_header_walk_by_pread_grows_and_shrinks_its_reads(tmp_path_factory, runs, data):
    """Runs of thousands of small frames (the reads grow to 256 KiB) and of big ones (back to
    512 bytes): the pread walk and seek see exactly the frames of the mapped walk."""
    import os

    from ironwal_cli.engine.frames.scan import headers, seek
    from ironwal_cli.spec.codec import FRAME_RAW, encode_frame

    parts, next_id = [], 0
    for count, length in runs:
        payload = encode_raw_batch([b"e" * length])
        parts += [encode_frame(next_id + i, 1, FRAME_RAW, payload, len(payload)) for i in range(count)]
        next_id += count
    seg = b"".join(parts)
    path = tmp_path_factory.mktemp("seg") / "s.wal"
    path.write_bytes(seg)
    expected = list(headers(seg))
    assert len(expected) == next_id
    fd = os.open(path, os.O_RDONLY)
    try:
        assert list(headers(seg, fd=fd)) == expected
        for target in data.draw(st.lists(st.integers(0, next_id), min_size=1, max_size=5)):
            want = expected[target][0] if target < next_id else len(seg)
            assert seek(seg, target, fd=fd) == seek(seg, target) == want
    finally:
        os.close(fd)


@given(st.integers(1, 1 << 20), st.integers(0, 5000))
def test_read_ahead_grows_over_small_frames_and_falls_back_over_big_ones(read_size, frames):
    """spec/read_ahead.py, the one rule both pread walks follow (C is handed READ_AHEAD)."""
    from ironwal_cli.spec.read_ahead import READ_AHEAD as R
    from ironwal_cli.spec.read_ahead import next_read_size

    got = next_read_size(read_size, frames)
    if frames >= R.grow_after:
        assert got == min(read_size * R.grow, R.most)
    elif frames <= R.shrink_after:
        assert got == R.first
    else:
        assert got == read_size


def test_the_c_walk_takes_its_read_ahead_from_the_spec_and_refuses_a_bad_one():
    from ironwal_cli.spec.codec import CHAIN_LAYOUT, ENTRY_LENGTH
    from ironwal_cli.spec.native import NATIVE
    from ironwal_cli.spec.read_ahead import READ_AHEAD

    if NATIVE is None:
        pytest.skip("the C module was not built (no compiler at install)")
    for bad in (READ_AHEAD._replace(first=CHAIN_LAYOUT["header_size"] - 1),
                READ_AHEAD._replace(most=READ_AHEAD.first - 1), READ_AHEAD._replace(grow=0)):
        with pytest.raises(ValueError, match="read-ahead"):
            NATIVE.configure(CHAIN_LAYOUT, ENTRY_LENGTH.format, bad)
    with pytest.raises(TypeError):  # the rule is not optional: C has no numbers of its own
        NATIVE.configure(CHAIN_LAYOUT, ENTRY_LENGTH.format)


@st.composite
def walked_segments(draw):
    """Frames of 0..4 entries, mostly in sequence, sometimes starting at another id (the crate's
    key collisions), then maybe a flipped byte or a cut: what chain() must walk exactly."""
    from ironwal_cli.spec.codec import FRAME_RAW, encode_frame

    parts, next_id = [], draw(st.integers(0, 2**40))
    start = next_id
    for _ in range(draw(st.integers(0, 12))):
        count = draw(st.integers(0, 4))
        first = next_id if draw(st.integers(0, 5)) else draw(st.integers(0, 2**40))
        raw = encode_raw_batch([b"e" * draw(st.integers(0, 9)) for _ in range(count)])
        parts.append(encode_frame(first, count, FRAME_RAW, raw, len(raw)))
        next_id = first + count
    seg = bytearray(b"".join(parts))
    if seg and draw(st.booleans()):
        seg[draw(st.integers(0, len(seg) - 1))] ^= 0xFF
    if draw(st.booleans()):
        del seg[draw(st.integers(0, len(seg))):]
    return bytes(seg), start, next_id


@settings(max_examples=300, deadline=None)
@given(walked_segments(), st.data())
def test_chain_in_c_walks_as_the_python_chain(case, data):
    from ironwal_cli.engine.frames import scan
    from ironwal_cli.spec.native import twin

    chain = twin("ironwal_cli.engine.frames.scan.chain")
    if chain.c is None:
        pytest.skip("the C module was not built (no compiler at install)")
    seg, start, last = case
    offset = data.draw(st.sampled_from([0, 0, len(seg), len(seg) + 40, data.draw(st.integers(0, len(seg)))]))
    expected = data.draw(st.sampled_from([start, last, data.draw(st.integers(0, 2**64 - 1))]))
    stop = data.draw(st.sampled_from([scan.NO_STOP, start, last, data.draw(st.integers(0, 2**64 - 1))]))
    max_frames = data.draw(st.integers(0, 14))
    want = chain.python(seg, offset, expected, stop, max_frames)
    assert chain.c(seg, offset, expected, stop, max_frames) == want
    assert chain.c(memoryview(seg), offset, expected, stop, max_frames) == want


@settings(max_examples=150, deadline=None)
@given(walked_segments(), st.integers(0, 3000), st.data())
def test_chain_by_pread_walks_as_the_python_chain(tmp_path_factory, case, repeat, data):
    """The C walk reading the file with pread (blocks growing over small frames) against the
    Python one reading it the same way; long runs of small frames make the blocks grow."""
    import os

    from ironwal_cli.engine.frames import scan
    from ironwal_cli.spec.codec import FRAME_RAW, encode_frame
    from ironwal_cli.spec.native import twin

    chain = twin("ironwal_cli.engine.frames.scan.chain")
    if chain.c is None:
        pytest.skip("the C module was not built (no compiler at install)")
    seg, start, last = case
    one = encode_raw_batch([b"x"])
    run = b"".join(encode_frame(last + i, 1, FRAME_RAW, one, len(one)) for i in range(repeat))
    seg += run
    path = tmp_path_factory.mktemp("chain") / "s.wal"
    path.write_bytes(seg)
    offset = data.draw(st.sampled_from([0, len(seg), data.draw(st.integers(0, len(seg)))]))
    expected = data.draw(st.sampled_from([start, data.draw(st.integers(0, 2**64 - 1))]))
    stop = data.draw(st.sampled_from([scan.NO_STOP, last + repeat // 2, data.draw(st.integers(0, 2**64 - 1))]))
    max_frames = data.draw(st.sampled_from([0, 5, 256, 100_000]))
    fd = os.open(path, os.O_RDONLY)
    try:
        want = chain.python(seg, offset, expected, stop, max_frames, fd=fd)
        assert chain.python(seg, offset, expected, stop, max_frames) == want
        assert chain.c(seg, offset, expected, stop, max_frames, fd=fd) == want
    finally:
        os.close(fd)
