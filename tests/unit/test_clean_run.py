"""audit.clean_run.clean_run: the C walk (where built and given the process's CRC) stops where the
Python definition stops and counts what it counts, over frames sound and damaged in every way the
verifier tells apart; and verify reports the same whichever of them ran."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.audit import clean_run as clean_run_module
from ironwal_cli.spec.codec import FRAME_LZ4, FRAME_RAW, HEADER_SIZE, encode_frame, encode_raw_batch
from ironwal_cli.spec.native import twin

CLEAN = twin("ironwal_cli.audit.clean_run.clean_run")
needs_c = pytest.mark.skipif(CLEAN.c is None, reason="no C walk with the process's CRC (not built, or no isal)")


@st.composite
def frames(draw, first_id: int):
    """One frame at ``first_id`` (or elsewhere), sound or damaged: (bytes, the id after it)."""
    count = draw(st.integers(0, 5))
    same = draw(st.booleans())  # fixed-size entries: the C walk's no-chain path
    length = draw(st.integers(0, 9))
    entries = [b"e" * (length if same else draw(st.integers(0, 9))) for _ in range(count)]
    raw = encode_raw_batch(entries)
    start = first_id if draw(st.integers(0, 6)) else draw(st.sampled_from([0, first_id + 1, 2**64 - 2]))
    kind = draw(st.sampled_from([FRAME_RAW] * 6 + [FRAME_LZ4, 7]))
    uncompressed = len(raw) if draw(st.integers(0, 6)) else len(raw) + 1
    frame = bytearray(encode_frame(start, count + draw(st.sampled_from([0] * 6 + [-1, 1])) if count else count,
                                   kind, raw, uncompressed))
    how = draw(st.sampled_from(["keep"] * 6 + ["poke", "reserved", "magic"]))
    if how == "poke":
        frame[draw(st.integers(0, len(frame) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif how == "reserved":
        frame[HEADER_SIZE - 1] = 1
    elif how == "magic":
        frame[0] ^= 0xFF
    return bytes(frame), min(start + count, 2**64 - 6)  # past an overflowing frame: ids still u64


@st.composite
def segments(draw):
    next_id = draw(st.sampled_from([0, 5, 2**40]))
    start, parts = next_id, []
    for _ in range(draw(st.integers(0, 8))):
        frame, next_id = draw(frames(next_id))
        parts.append(frame)
    seg = b"".join(parts)
    if draw(st.booleans()):
        seg = seg[:draw(st.integers(0, len(seg)))]  # torn
    return seg, start


@needs_c
@settings(max_examples=500, deadline=None)
@given(segments(), st.data())
def test_clean_run_in_c_stops_where_the_python_one_stops(case, data):
    seg, start = case
    offset = data.draw(st.sampled_from([0, 0, len(seg), len(seg) + 9, data.draw(st.integers(0, len(seg)))]))
    expected = data.draw(st.sampled_from([start, start, data.draw(st.integers(0, 2**64 - 1))]))
    stop = data.draw(st.sampled_from([len(seg) + 1, 2**62, data.draw(st.integers(0, len(seg) + 1))]))
    want = CLEAN.python(seg, offset, expected, stop)
    assert CLEAN.c(seg, offset, expected, stop) == want
    assert CLEAN.c(memoryview(seg), offset, expected, stop) == want


@needs_c
@pytest.mark.parametrize("count", [1, 3, 1000])
def test_uniform_and_mixed_batches_of_many_chunks_walk_alike(count):
    """Batches far larger than the C walk's chunk, fixed-size and with one other length at the end."""
    for entries in ([b"x" * 99] * count, [b"x" * 99] * (count - 1) + [b"y" * 5], [b"z" * 30_000] * count):
        raw = encode_raw_batch(entries)
        seg = encode_frame(7, count, FRAME_RAW, raw, len(raw)) * 2
        want = CLEAN.python(seg, 0, 7, len(seg))
        assert CLEAN.c(seg, 0, 7, len(seg)) == want == (len(seg) // 2, 7 + count, 1, count)


def test_the_twin_is_recorded():
    assert CLEAN.python.__module__ == clean_run_module.__name__


@needs_c
def test_configuring_the_layouts_again_keeps_the_crc():
    """A configure without a CRC (the layouts alone, as a test of them does) leaves C's CRC in place."""
    from ironwal_cli.spec.codec import CHAIN_LAYOUT, ENTRY_LENGTH
    from ironwal_cli.spec.native import NATIVE
    from ironwal_cli.spec.read_ahead import READ_AHEAD

    assert NATIVE.configure(CHAIN_LAYOUT, ENTRY_LENGTH.format, READ_AHEAD) is True
    raw = encode_raw_batch([b"a"])
    seg = encode_frame(0, 1, FRAME_RAW, raw, len(raw))
    assert CLEAN.c(seg, 0, 0, len(seg)) == (len(seg), 1, 1, 1)
