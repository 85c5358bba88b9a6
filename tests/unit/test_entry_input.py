"""Cutting stdin into entries: whatever the chunking of the input, the entries come out exact."""

from __future__ import annotations

import os
import tempfile
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.ops.entry_input import input_batches

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
