"""``KEY<SEP>VALUE`` records to their shards, the values already encoded: the routed append's hot loop.

``route_records`` gives each record's shard in input order and each shard's values as raw batches
(``spec.records.RawBatch`` payloads). Where the C module is built (``spec/_walk.c``, same name,
overriding the Python one below at import; a property test holds them equal) no Python object
is made per record but its key (for the shard cache).
"""

from __future__ import annotations

from collections.abc import Callable

from ..spec.codec import ENTRY_LENGTH, encode_raw_batch
from ..spec.native import c_twin

CACHE_KEYS = 100_000  # the key -> shard cache is emptied when it holds this many keys


def route_records(records: list[bytes], sep: bytes, shard_of: dict[bytes, int], route: Callable[[bytes], int],
                  size: int) -> tuple[list[int], dict[int, list[tuple[bytes, int]]]] | None:
    """(the shard of each record, {shard: [(payload, count), ...]}) with at most ``size`` values a
    batch, or None when a record holds no ``sep``. ``shard_of`` caches ``route(key)``."""
    if size < 1:
        raise ValueError("route_records: batch size >= 1")
    routes: list[int] = []
    per_shard: dict[int, list[bytes]] = {}
    append_route, cached, grouped = routes.append, shard_of.get, per_shard.get
    for record in records:
        key, found, value = record.partition(sep)
        if not found:
            return None
        shard = cached(key)
        if shard is None:
            if len(shard_of) >= CACHE_KEYS:
                shard_of.clear()
            shard = shard_of[key] = route(key)
        append_route(shard)
        values = grouped(shard)
        if values is None:
            per_shard[shard] = [value]
        else:
            values.append(value)
    return routes, {s: [(encode_raw_batch(v[i:i + size]), len(v[i:i + size])) for i in range(0, len(v), size)]
                    for s, v in per_shard.items()}


route_records_python = route_records  # kept by name for the property test (also native.TWINS)
_route_records = c_twin(route_records, ENTRY_LENGTH.size, CACHE_KEYS)  # the spec's prefix size first
if _route_records is not route_records_python:

    def route_records(records, sep, shard_of, route, size):  # noqa: F811 (the C override)
        if len(sep) != 1:  # the C walk takes a one-byte separator (the usual TAB, '=', ...)
            return route_records_python(records, sep, shard_of, route, size)
        return _route_records(records, sep, shard_of, route, size)
