"""ops/read_ahead.py: the bulk append's input read in a second thread changes nothing but timing."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.ops.read_ahead import read_ahead


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=30), st.integers(1, 4))
def test_every_item_comes_out_in_order(items, depth):
    assert list(read_ahead(iter(items), depth)) == items


def test_an_error_of_the_input_comes_after_the_items_before_it():
    def groups():
        yield 1
        yield 2
        raise OSError(5, "Input/output error")

    out = []
    with pytest.raises(OSError, match="Input/output"):
        for item in read_ahead(groups()):
            out.append(item)
    assert out == [1, 2]


def test_the_reader_stays_at_most_depth_ahead_and_an_item_comes_out_as_soon_as_it_is_read():
    produced = []
    gate = threading.Event()

    def groups():
        for i in range(10):
            produced.append(i)
            yield i
            if i == 0:
                gate.wait(5)  # a slow input: the first group must not wait for the second

    it = read_ahead(groups(), depth=1)
    assert next(it) == 0
    gate.set()
    time.sleep(0.2)
    assert len(produced) <= 3  # one taken, one waiting, one being read: memory bounded
    assert list(it) == list(range(1, 10))


def test_a_consumer_that_stops_early_ends_the_reader():
    produced = []

    def groups():
        for i in range(1000):
            produced.append(i)
            yield i

    it = read_ahead(groups(), depth=1)
    assert next(it) == 0
    it.close()
    time.sleep(0.2)
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count <= 4
    assert not [t for t in threading.enumerate() if t.name == "ironwal-read-ahead"]
