"""Cutting stdin into entries: whatever the chunking of the input, the entries come out exact, as lists of
entries and encoded as read (the bulk append's RawBatch), which are the same batches."""

from __future__ import annotations

import os
import tempfile
import threading
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.ops import entry_input
from ironwal_cli.ops.entry_input import input_batches, read_raw_batches
from ironwal_cli.spec import records
from ironwal_cli.spec.codec import decode_raw_batch

SEP = {"lines": b"\n", "null": b"\0"}


def encode(entries: list[bytes], sep: bytes, terminate_last: bool) -> bytes:
    data = b"".join(e + sep for e in entries)
    return data[:-1] if entries and not terminate_last and entries[-1] else data


def collect(fd: int, mode: str, batch: int) -> list[list[bytes]]:
    return [b for group in input_batches(fd, mode, batch, linger=0.0) for b in group]


@st.composite
def inputs(draw):
    mode = draw(st.sampled_from(["lines", "null"]))
    sep = SEP[mode]
    entries = draw(st.lists(st.binary(max_size=20).map(lambda b: b.replace(sep, b"")), max_size=30))
    terminate_last = draw(st.booleans())
    data = encode(entries, sep, terminate_last)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    return mode, entries, data, cuts, draw(st.integers(1, 7))


@settings(max_examples=60, deadline=None)
@given(inputs())
def test_pipe_in_any_chunks_gives_back_the_entries(case):
    """A separator is removed and nothing else: empty entries, \\r, invalid UTF-8 survive."""
    mode, entries, data, cuts, batch = case
    r, w = os.pipe()

    def feed():
        with os.fdopen(w, "wb", buffering=0) as f:
            for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
                f.write(data[a:b])

    t = threading.Thread(target=feed)
    t.start()
    try:
        batches = collect(r, mode, batch)
    finally:
        t.join()
        os.close(r)
    assert [e for b in batches for e in b] == entries
    assert all(0 < len(b) <= batch for b in batches)


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_whole_is_everything_as_one_entry(data):
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        assert collect(f.fileno(), "whole", 1000) == [[data]]


def test_separator_rules():
    """A final separator ends the last entry (no empty entry after it); a lone separator is an empty entry."""
    for data, want in [(b"", []), (b"\n", [b""]), (b"a", [b"a"]), (b"a\n", [b"a"]), (b"a\n\n", [b"a", b""]),
                       (b"a\r\nb", [b"a\r", b"b"])]:
        with tempfile.TemporaryFile() as f:
            f.write(data)
            f.seek(0)
            assert [e for b in collect(f.fileno(), "lines", 1000) for e in b] == want, data


# ----- the bulk append's path: records encoded as read (spec.records) --------------------------


def collect_raw(fd: int, mode: str, batch: int) -> list[list[bytes]]:
    return [b.entries() for group in read_raw_batches(fd, mode, batch, linger=0.0) for b in group]


@settings(max_examples=60, deadline=None)
@given(inputs(), st.sampled_from([1, 3, 16, 1 << 20]))
def test_encoded_batches_are_the_same_batches(case, chunk):
    """read_raw_batches gives the batches input_batches gives, entry for entry, for any input and
    any read size (records cut across reads, longer than the buffer, a last one unterminated)."""
    mode, entries, data, _cuts, batch = case
    with tempfile.TemporaryFile() as f, mock.patch.object(entry_input, "CHUNK", chunk):
        f.write(data)
        f.seek(0)
        plain = collect(f.fileno(), mode, batch)
        f.seek(0)
        raw = collect_raw(f.fileno(), mode, batch)
    assert raw == plain
    assert [e for b in raw for e in b] == entries


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b.replace(b"x", b"\n")), st.sampled_from([b"\n", b"\0"]),
       st.integers(1, 6), st.integers(1, 6))
def test_c_encode_records_equals_the_python_one(data, sep, first, size):
    """spec.records.encode_records (C where built) gives exactly the Python twin's batches, and each
    batch is the raw-batch encoding of its records."""
    want = records.encode_records_python(data, sep, first, size)
    assert records.encode_records(data, sep, first, size) == want
    assert records.encode_records(memoryview(data), sep, first, size) == want
    batches, consumed = want
    parts = data[:consumed].split(sep)[:-1] if consumed else []
    assert [p for payload, n in batches for p in decode_raw_batch(payload, n)] == parts
    assert all(0 < n <= (first if i == 0 else size) for i, (_, n) in enumerate(batches))


def test_c_encode_records_equals_the_python_one_past_the_record_ends_it_keeps():
    """Batches of more records than the C encoder keeps the ends of (ENCODE_ENDS) find the rest again."""
    data = b"".join(b"r%d\n" % i for i in range(10_000)) + b"unterminated"
    for first, size in ((9000, 9000), (4096, 4097), (1, 10_000), (5000, 3)):
        want = records.encode_records_python(data, b"\n", first, size)
        assert records.encode_records(data, b"\n", first, size) == want


@settings(max_examples=30, deadline=None)
@given(inputs(), st.sampled_from([input_batches, read_raw_batches]))
def test_group_bytes_gathers_what_has_arrived_into_one_group(case, reader):
    """With group_bytes (batch mode's group commit), the input there to read joins the group of the
    first full batch, up to about that many bytes: the same batches, in fewer groups."""
    mode, entries, data, _cuts, batch = case
    with tempfile.TemporaryFile() as f, mock.patch.object(entry_input, "CHUNK", 8):
        f.write(data)
        f.seek(0)
        alone = list(reader(f.fileno(), mode, batch, linger=60.0))
        f.seek(0)
        gathered = list(reader(f.fileno(), mode, batch, linger=60.0, group_bytes=1 << 20))
    assert [b for g in gathered for b in g] == [b for g in alone for b in g]
    # the full batches together, then (maybe) the partial rest at the end: never more groups
    assert len(gathered) <= min(len(alone), 2)
