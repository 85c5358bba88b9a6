"""sharded.routed_records.route_batches: the C walk (where built: its own SipHash-1-3) gives exactly
what the Python one gives (shards in input order, routed as ``routing.route`` routes, each shard's
values as raw batches), and the batches hold each shard's values in order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.sharded import routed_records
from ironwal_cli.sharded.routing import route
from ironwal_cli.spec.codec import decode_raw_batch, encode_raw_batch
from ironwal_cli.spec.native import twin

record_st = st.lists(st.sampled_from([b"a", b"b", b"=", b"\t", b"\0", b"k1", b"\xff", b"longer-key-part"]),
                     max_size=8).map(b"".join)
BOTH = [f for f in twin("ironwal_cli.sharded.routed_records.route_batches") if f is not None]


def _batches(records: list[bytes], cut: int) -> list[tuple[bytes, int]]:
    parts = [records[i:i + cut] for i in range(0, len(records), cut)]
    return [(encode_raw_batch(p), len(p)) for p in parts]


@settings(max_examples=300, deadline=None)
@given(st.lists(record_st, max_size=30), st.sampled_from([b"=", b"\t", b"=="]), st.integers(1, 5),
       st.sampled_from([1, 2, 3, 8, 9, 100, 65535]), st.integers(1, 7))
def test_c_route_batches_equals_the_python_one(records, sep, size, shards, cut):
    batches = _batches(records, cut)
    got = routed_records.route_batches(batches, sep, shards, size)
    want = routed_records.route_batches_python(batches, sep, shards, size)
    assert got == want
    if any(sep not in r for r in records):
        assert want is None
        return
    routes, per_shard = want
    assert routes == [route(r.partition(sep)[0], shards) for r in records]
    assert list(per_shard) == list(dict.fromkeys(routes))  # shards in order of first appearance
    for shard, out in per_shard.items():
        values = [r.partition(sep)[2] for r, s in zip(records, routes, strict=True) if s == shard]
        assert [v for payload, n in out for v in decode_raw_batch(payload, n)] == values
        assert all(0 < n <= size for _, n in out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda k: k.replace(b"\t", b"")), min_size=1, max_size=20),
       st.integers(1, 65535))
def test_c_routing_is_the_crates(keys, shards):
    """Keys of every length across the SipHash word boundaries: C's shard is routing.route's."""
    batches = [(encode_raw_batch([k + b"\t" + b"v" for k in keys]), len(keys))]
    assert routed_records.route_batches(batches, b"\t", shards, 1000)[0] == [route(k, shards) for k in keys]


@pytest.mark.parametrize("fn", BOTH)
def test_a_short_batch_is_refused(fn):
    with pytest.raises(ValueError):
        fn([(encode_raw_batch([b"k=v"]), 2)], b"=", 8, 10)
    assert fn([(encode_raw_batch([b"k=v", b"j=w"]), 2)], b"=", 1, 10) == ([0, 0], {0: [(b"\x01\0\0\0v\x01\0\0\0w", 2)]})


@pytest.mark.parametrize("fn", BOTH)
def test_a_malformed_batch_is_met_where_the_python_walk_meets_it(fn):
    """The C walk reads every batch's bytes before its hash pass (without the GIL): a malformed
    batch still counts only after the records before it, as in the Python one."""
    good, no_sep = (encode_raw_batch([b"k=v"]), 1), (encode_raw_batch([b"kv"]), 1)
    assert fn([no_sep, ("not a pair",)], b"=", 8, 10) is None
    with pytest.raises((TypeError, ValueError)):  # C: TypeError; Python: its unpacking's ValueError
        fn([good, ("not a pair",), no_sep], b"=", 8, 10)
    with pytest.raises(ValueError):  # a short batch before the malformed one
        fn([(encode_raw_batch([b"k=v"]), 2), ("not a pair",)], b"=", 8, 10)
    assert fn([no_sep, (encode_raw_batch([b"k=v"]), 2)], b"=", 8, 10) is None
