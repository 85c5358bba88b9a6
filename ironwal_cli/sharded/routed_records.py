"""``KEY<SEP>VALUE`` records to their shards, the values already encoded: the routed append's hot loop.

``route_batches`` takes the records as the bulk append reads them (``spec.records.RawBatch``es,
cut from stdin without a Python object per record) and gives each record's shard in input order
and each shard's values as raw batches. Where the C module is built (``spec/_walk.c``, same name,
overriding the Python one below at import; a property test holds them equal) the key is hashed
there too (SipHash-1-3, as ``routing.route``), so no Python object is made per record but its
shard number: no key, no cache, no call back into Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..spec.codec import ENTRY_LENGTH, decode_raw_batch, encode_raw_batch
from ..spec.native import c_twin
from .routing import route

Routed = tuple[list[int], dict[int, list[tuple[bytes, int]]]]


def route_batches(batches: Sequence[tuple[bytes, int]], sep: bytes, shard_count: int, size: int) -> Routed | None:
    """(the shard of each record, {shard: [(payload, count), ...]}) with at most ``size`` values a
    batch, shards in order of first appearance; None when a record holds no ``sep``. ``batches`` are
    (payload, count) raw batches of the records."""
    if size < 1 or not sep or not 1 <= shard_count <= 0xFFFF:
        raise ValueError("route_batches: batch size >= 1, a separator, shard count 1..65535")
    routes: list[int] = []
    per_shard: dict[int, list[bytes]] = {}
    shard_of: dict[bytes, int] = {}  # within one call: a key seen again is not hashed again
    for payload, count in batches:
        for record in decode_raw_batch(payload, count):
            key, found, value = record.partition(sep)
            if not found:
                return None
            shard = shard_of.get(key)
            if shard is None:
                shard = shard_of[key] = route(key, shard_count)
            routes.append(shard)
            per_shard.setdefault(shard, []).append(value)
    return routes, {s: [(encode_raw_batch(v[i:i + size]), len(v[i:i + size])) for i in range(0, len(v), size)]
                    for s, v in per_shard.items()}


route_batches_python = route_batches  # kept by name for the property test (also native.TWINS)
route_batches = c_twin(route_batches, ENTRY_LENGTH.size)  # the spec's prefix size first
