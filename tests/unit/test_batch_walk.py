"""spec.walk.batch_end and batch_fits: the C twin and the Python function give the same answer for
any bytes (the pairs from spec.native.TWINS), and verify reports the same whichever of them ran."""

from __future__ import annotations

import mmap
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.audit import frames
from ironwal_cli.ops.verify import verify_root
from ironwal_cli.spec.codec import FRAME_RAW, encode_frame, encode_raw_batch
from ironwal_cli.spec.native import twin
from ironwal_cli.spec.walk import batch_fits

END, FITS = twin("ironwal_cli.spec.walk.batch_end"), twin("ironwal_cli.spec.walk.batch_fits")
SPLIT = twin("ironwal_cli.spec.codec.split")
batch_end_python = END.python
needs_c = pytest.mark.skipif(END.c is None, reason="the C walk was not built (no compiler at install)")

entries = st.lists(st.binary(max_size=40), max_size=30)


@st.composite
def batches(draw):
    """A valid batch, then maybe damaged: cut, extended, a length byte changed, or pure noise."""
    items = draw(entries)
    data = bytearray(encode_raw_batch(items)) if items else bytearray()
    count = len(items) + draw(st.sampled_from([0, 0, 0, -1, 1, 2]))
    how = draw(st.sampled_from(["keep", "cut", "extend", "poke", "noise"]))
    if how == "cut" and data:
        del data[draw(st.integers(0, len(data) - 1)):]
    elif how == "extend":
        data += draw(st.binary(min_size=1, max_size=8))
    elif how == "poke" and data:
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif how == "noise":
        data = bytearray(draw(st.binary(max_size=200)))
    return bytes(data), max(count, 0)


def _fits_in_python(data, count) -> bool:
    return FITS.python(data, count)


@given(batches())
def test_batch_fits_exactly_when_the_walk_ends_at_the_end(case):
    """In Python, equal lengths are tried first by one struct call: never a different answer."""
    data, count = case
    fits = batch_end_python(data, count) == len(data)
    assert _fits_in_python(data, count) == fits
    assert batch_fits(data, count) == fits


@pytest.mark.parametrize("count", [1, 2, 4096, 4097])
def test_batches_of_equal_lengths_fit_either_way(count):
    raw = encode_raw_batch([b"e" * 7] * count)
    for data in (raw, memoryview(raw)):
        assert batch_fits(data, count) and _fits_in_python(data, count)
        assert not batch_fits(data, count + 1) and not _fits_in_python(data, count + 1)
        assert not batch_fits(data[:-1], count) and not _fits_in_python(data[:-1], count)


def test_the_python_walk_on_known_batches():
    raw = encode_raw_batch([b"ab", b"", b"cde"])
    assert batch_end_python(raw, 3) == len(raw)
    assert batch_end_python(raw, 2) == 4 + 2 + 4  # bytes left over: stops short of the end
    assert batch_end_python(raw, 4) == -1  # the fourth length would lie past the end
    assert batch_end_python(raw[:-1], 3) == -1  # the last entry runs past the end
    assert batch_end_python(b"", 0) == 0
    assert batch_end_python(struct.pack("<L", 0xFFFFFFFF), 1) == -1


@needs_c
@given(batches())
def test_c_and_python_walks_agree(case):
    data, count = case
    expected = batch_end_python(data, count)
    assert END.c(data, count) == expected
    assert END.c(memoryview(data), count) == expected
    assert END.c(bytearray(data), count) == expected
    if data and expected == len(data):
        assert batch_end_python(data, count + 1) == END.c(data, count + 1) == -1


@needs_c
@given(batches())
def test_c_and_python_batch_fits_agree(case):
    data, count = case
    expected = FITS.python(data, count)
    assert expected == (batch_end_python(data, count) == len(data))
    for buffer in (data, memoryview(data), bytearray(data)):
        assert FITS.c(buffer, count) is expected


@needs_c
def test_the_c_walk_reads_a_slice_of_a_memory_map_in_place(tmp_path):
    raw = encode_raw_batch([b"x" * n for n in range(300)])
    path = tmp_path / "f"
    path.write_bytes(b"pad" + raw + b"tail")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)[3:3 + len(raw)]
        assert END.c(view, 300) == batch_end_python(view, 300) == len(raw)
        assert FITS.c(view, 300) and FITS.python(view, 300)
        view.release()


def _root_of_bad_batches(root):
    """One segment: frames whose CRC is good but whose batch does not hold ``entry_count`` entries."""
    raw = encode_raw_batch([b"alpha", b"", b"gamma-gamma"])
    frames = [encode_frame(0, 3, FRAME_RAW, raw, len(raw)),
              encode_frame(3, 4, FRAME_RAW, raw, len(raw)),  # one entry short
              encode_frame(7, 2, FRAME_RAW, raw, len(raw)),  # bytes left over
              encode_frame(9, 3, FRAME_RAW, raw[:-2], len(raw) - 2),  # the last entry runs past the end
              encode_frame(12, 3, FRAME_RAW, raw, len(raw))]
    stream = root / "s"
    stream.mkdir(parents=True)
    (stream / "00000000000000000000.wal").write_bytes(b"".join(frames))
    (stream / "segments.idx").write_bytes(struct.pack("<Q", 0))
    return [sum(map(len, frames[:k])) for k in range(len(frames))]


def test_verify_reports_the_same_with_either_walk(tmp_path, monkeypatch):
    offsets = _root_of_bad_batches(tmp_path)
    first = verify_root(tmp_path, jobs=1)
    monkeypatch.setattr(frames, "batch_fits", FITS.python)  # what verify calls, in Python
    assert verify_root(tmp_path, jobs=1) == first
    got = [(p.offset, p.kind, p.message.split(": ", 1)[1]) for p in first.problems]
    assert got == [(offsets[1], "bad_batch", "batch ends inside the length of entry 3"),
                   (offsets[2], "bad_batch", "15 bytes left over after 2 entries"),
                   (offsets[3], "bad_batch", "entry 2 claims 11 bytes, 9 remain")]


@needs_c
@given(batches())
def test_c_and_python_splits_agree(case):
    """codec's split of a batch into entries: C's list and None exactly when Python's, in place
    from a memoryview too."""
    data, count = case
    expected = SPLIT.python(data, count) if batch_end_python(data, count) == len(data) else None
    assert SPLIT.python(data, count) == expected
    assert SPLIT.c(data, count) == expected
    assert SPLIT.c(memoryview(data), count) == expected
    assert SPLIT.c(bytearray(data), count) == expected
