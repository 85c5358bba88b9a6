"""engine/writer/rules.py, the crate's rotation and chunking rules as pure functions: tested on
numbers alone, no disk (tests/unit/test_writer_rules.py checks the bytes a writer leaves)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.engine.writer.rules import (
    ENTRY_OVERHEAD,
    batch_cost,
    chunk_end,
    over_limit,
    room,
    single_fits,
)

sizes = st.integers(0, 5000)
limits = st.integers(1, 5000)
entry_limits = st.none() | st.integers(1, 20)
batches = st.lists(st.binary(max_size=300), min_size=1, max_size=40)


def cost(entries) -> int:
    return batch_cost(sum(map(len, entries)), len(entries))


@given(batches, st.data(), st.integers(0, 3000))
def test_a_chunk_is_as_many_entries_as_fit_and_never_empty(entries, data, avail):
    start = data.draw(st.integers(0, len(entries) - 1))
    end = chunk_end(entries, start, avail)
    assert start < end <= len(entries)
    if end - start > 1:  # more than one entry only when they fit
        assert cost(entries[start:end]) <= avail
    if end < len(entries):  # and one more would not have
        assert cost(entries[start:end + 1]) > avail


@given(batches, limits, sizes)
def test_chunking_a_batch_covers_it_in_order_and_fills_each_segment_at_most_to_its_limit(entries, max_size, size):
    """The writer's loop on numbers: chunk, write, rotate when over the limit (then the segment is empty)."""
    i, chunks, used = 0, [], size
    if used > 0 and over_limit(used, 0, max_size, None):
        used = 0
    while i < len(entries):
        j = chunk_end(entries, i, room(used, max_size))
        chunks.append(entries[i:j])
        assert used + cost(entries[i:j]) <= max_size or j - i == 1  # only a lone entry may overflow
        used += cost(entries[i:j])
        i = j
        if i < len(entries) and over_limit(used, 0, max_size, None):
            used = 0
    assert [e for c in chunks for e in c] == entries


@given(sizes, st.integers(0, 30), st.integers(0, 3000), limits, entry_limits)
def test_a_segment_over_a_limit_takes_no_single_entry_unless_empty(size, count, length, max_size, max_entries):
    if size == 0:
        assert single_fits(size, count, length, max_size, max_entries)
    elif over_limit(size, count, max_size, max_entries):
        assert not single_fits(size, count, length, max_size, max_entries)


@given(st.integers(1, 5000), st.integers(0, 30), st.integers(0, 3000), limits, entry_limits)
def test_a_single_entry_that_fits_leaves_the_segment_within_its_limits(size, count, length, max_size, max_entries):
    if single_fits(size, count, length, max_size, max_entries):
        assert size + length + ENTRY_OVERHEAD <= max_size
        assert max_entries is None or count + 1 <= max_entries
        assert length == 0 or single_fits(size, count, length - 1, max_size, max_entries)  # shorter fits too
    else:
        assert (size + length + ENTRY_OVERHEAD > max_size) or (max_entries is not None and count >= max_entries)


@given(sizes, limits)
def test_room_is_what_is_left_below_the_limit(size, max_size):
    assert room(size, max_size) == (max_size - size if size < max_size else 0)
    assert over_limit(size, 0, max_size, None) == (room(size, max_size) == 0)
