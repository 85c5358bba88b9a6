"""ops/read_ahead.py: the bulk append's input read in a second thread changes nothing but timing."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.ops.read_ahead import read_ahead


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=8), min_size=1, max_size=4), max_size=20), st.integers(1, 6))
def test_every_batch_comes_out_in_order_and_groups_join_only_within_the_limit(groups, limit):
    out = list(read_ahead(iter(groups), limit=limit))
    assert [b for g in out for b in g] == [b for g in groups for b in g]
    assert all(out)
    sizes = [len(g) for g in groups]
    assert all(len(g) <= max(limit, max(sizes)) for g in out)


def test_an_error_of_the_input_comes_after_the_batches_before_it():
    def groups():
        yield [1]
        yield [2]
        raise OSError(5, "Input/output error")

    out = []
    with pytest.raises(OSError, match="Input/output"):
        for group in read_ahead(groups()):
            out.extend(group)
    assert out == [1, 2]


def test_a_group_comes_out_as_soon_as_it_is_read_and_the_reader_stays_within_the_limit():
    produced = []
    gate = threading.Event()

    def groups():
        for i in range(10):
            produced.append(i)
            yield [i]
            if i == 0:
                gate.wait(5)  # a slow input: the first group must not wait for the second

    it = read_ahead(groups(), limit=2)
    assert next(it) == [0]
    gate.set()
    time.sleep(0.2)
    assert len(produced) <= 4  # one taken, two waiting, one being read: memory bounded
    rest = list(it)
    assert [b for g in rest for b in g] == list(range(1, 10))
    assert any(len(g) > 1 for g in rest)  # what arrived while the consumer slept came as one


def test_a_consumer_that_stops_early_ends_the_reader():
    produced = []

    def groups():
        for i in range(1000):
            produced.append(i)
            yield [i]

    it = read_ahead(groups(), limit=1)
    assert next(it) == [0]
    it.close()
    time.sleep(0.2)
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count <= 4
    assert not [t for t in threading.enumerate() if t.name == "ironwal-read-ahead"]
