"""spec.walk.entry_at: one entry of a raw batch is the entry decode_raw_batch gives at that index, and a
batch that does not hold its count is refused with decode_raw_batch's own message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.spec.codec import decode_raw_batch, encode_raw_batch
from ironwal_cli.spec.walk import entry_at

entries = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


@given(entries, st.booleans(), st.data())
def test_entry_at_is_the_decoded_entry(items, same, data):
    if same:  # fixed-size entries: the place is computed, not walked
        items = [items[0]] * len(items)
    raw = encode_raw_batch(items)
    i = data.draw(st.integers(0, len(items) - 1))
    assert entry_at(raw, len(items), i) == decode_raw_batch(raw, len(items))[i] == items[i]
    assert entry_at(memoryview(raw), len(items), i) == items[i]


@given(entries, st.sampled_from(["cut", "extend", "count"]), st.data())
def test_a_bad_batch_is_refused_as_decode_refuses_it(items, how, data):
    raw, count = encode_raw_batch(items), len(items)
    if how == "cut":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif how == "extend":
        raw += b"\x01"
    else:
        count += 1
    with pytest.raises(ValueError) as want:
        decode_raw_batch(raw, count)
    with pytest.raises(ValueError) as got:
        entry_at(raw, count, data.draw(st.integers(0, count - 1)))
    assert str(got.value) == str(want.value)


def test_an_index_outside_the_batch_is_an_index_error():
    with pytest.raises(IndexError):
        entry_at(encode_raw_batch([b"a"]), 1, 1)
