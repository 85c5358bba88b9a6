"""sharded.routed_records.route_records: the C walk (where built) gives exactly what the Python one
gives (shards in input order, each shard's values as raw batches, the same key cache), and the
batches hold each shard's values in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.sharded import routed_records
from ironwal_cli.sharded.routing import route
from ironwal_cli.spec.codec import decode_raw_batch

record_st = st.lists(st.sampled_from([b"a", b"b", b"=", b"\t", b"\0", b"k1", b"\xff"]), max_size=8).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(record_st, max_size=30), st.sampled_from([b"=", b"\t", b"=="]), st.integers(1, 5),
       st.integers(1, 9), st.dictionaries(st.sampled_from([b"", b"a", b"k1"]), st.integers(0, 8), max_size=2))
def test_c_route_records_equals_the_python_one(records, sep, size, shards, cached):
    def shard_for(key: bytes) -> int:
        return cached.get(key, route(key, shards))  # a cache may hold what an earlier group routed

    c_cache, py_cache = dict(cached), dict(cached)
    got = routed_records.route_records(records, sep, c_cache, shard_for, size)
    want = routed_records.route_records_python(records, sep, py_cache, shard_for, size)
    assert got == want and c_cache == py_cache
    if any(sep not in r for r in records):
        assert want is None
        return
    routes, per_shard = want
    assert len(routes) == len(records)
    for shard, batches in per_shard.items():
        values = [r.partition(sep)[2] for r, s in zip(records, routes, strict=True) if s == shard]
        assert [v for payload, n in batches for v in decode_raw_batch(payload, n)] == values
        assert all(0 < n <= size for _, n in batches)


def test_the_key_cache_is_emptied_at_its_limit():
    """Both empty the cache before adding a key when it holds CACHE_KEYS keys."""
    full = {b"%d" % i: 0 for i in range(routed_records.CACHE_KEYS)}
    for fn in (routed_records.route_records, routed_records.route_records_python):
        cache = dict(full)
        assert fn([b"new=v", b"0=w"], b"=", cache, lambda key: 3, 10) == ([3, 3], {3: [(b"\x01\0\0\0v\x01\0\0\0w", 2)]})
        assert cache == {b"new": 3, b"0": 3}
