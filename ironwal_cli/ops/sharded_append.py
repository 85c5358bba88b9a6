"""Routed appends to a sharded root: one key's values, or ``KEY<SEP>VALUE`` records from a stream.

Each shard is an ordinary stream (``shard_NN``) written by ``StreamWriter``; the shard count is
resolved (and checked) once, before anything is written. Records read together are grouped
per shard, so each shard gets one batch per group and the values of one key keep their order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path

from ..engine.store.files import make_dirs
from ..engine.store.locks import locked_dir
from ..engine.store.roots import refuse_foreign_root
from ..engine.writer.writer import StreamWriter, WriteOptions
from ..errors import UsageError
from ..sharded.checkpoints import ensure_log, log_path
from ..sharded.foreign import refuse_log_writer
from ..sharded.routed_records import route_batches
from ..sharded.routing import parse_shard_name, route, shard_name
from ..sharded.shard_count import remember
from ..sharded.shards import resolve_shard_count
from ..spec.records import RawBatch
from .append import Warn, append_from, append_values, payload_bytes
from .entry_input import read_raw_batches
from .read_ahead import read_ahead

Placed = tuple[int, int]  # (shard, id)


def open_sharded(root: str | os.PathLike, shards: int | None, options: WriteOptions | None = None) -> int:
    """The root's shard count, checked against all the root shows, and remembered (``shard_count``).

    Under the root's lock: refuses a root holding streams that are not shards (exit 2), and,
    unless ``options.force``, a running ShardedWal holding checkpoints.log open (exit 4); creates
    the root durably and, as the crate does, the empty log.
    """
    options = options or WriteOptions()
    root = Path(root)
    if os.path.lexists(root) and not log_path(root).exists():
        refuse_foreign_root(root)  # a folder of other files (exit 7) before anything is judged a stream
    refuse_plain_streams(root)
    make_dirs(root)
    with locked_dir(root, options.lock_timeout):
        if not options.force:
            refuse_log_writer(root, "append to it")
        count = resolve_shard_count(root, shards)
        ensure_log(root)
        remember(root, count)
    return count


def refuse_plain_streams(root: Path) -> None:
    """A keyed append would make a root of plain streams a broken sharded root: refuse it."""
    plain = sorted(name for name in _stream_dirs(root) if parse_shard_name(name) is None)
    if plain:
        raise UsageError(f"{root} holds streams that are not shards ({', '.join(map(repr, plain[:3]))}"
                         f"{', ...' if len(plain) > 3 else ''}); refusing a keyed append, which would make it "
                         "a sharded root (use a root of its own)")


def _stream_dirs(root: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def append_keyed(root: str | os.PathLike, key: bytes, values: Sequence[bytes], *, shards: int | None = None,
                 options: WriteOptions | None = None, on_warning: Warn | None = None) -> tuple[int, range]:
    """Append ``values`` (one batch) to the shard of ``key``; returns (shard, ids)."""
    shard = route(key, open_sharded(root, shards, options))
    return shard, append_values(root, shard_name(shard), values, options, on_warning)


def append_keyed_from(root: str | os.PathLike, key: bytes, fd: int, *, shards: int | None = None,
                      mode: str = "lines", batch_size: int = 1000, linger: float = 0.05,
                      options: WriteOptions | None = None,
                      on_warning: Warn | None = None) -> tuple[int, Iterator[range]]:
    """Entries from ``fd`` all go to the shard of ``key``; returns (shard, the ids of each batch as written)."""
    shard = route(key, open_sharded(root, shards, options))
    return shard, append_from(root, shard_name(shard), fd, mode=mode, batch_size=batch_size, linger=linger,
                              options=options, on_warning=on_warning)


def create_together(writers: Sequence[StreamWriter]) -> None:
    """Make the streams of ``writers`` at once, each in a thread (``StreamWriter.create``).

    A new stream costs a few fsyncs (its segments.idx, the directories); one after the other they
    were most of a routed append's start on a new root, side by side they overlap. Each stream is
    made exactly as its first append would make it, before anything is written to any of them;
    the first error (in shard order) is raised once all are done.
    """
    if len(writers) < 2:
        return  # the one new stream, if any, is made by its first append
    errors: list[BaseException | None] = [None] * len(writers)

    def make(i: int) -> None:
        try:
            writers[i].create()
        except BaseException as err:  # raised in the caller's thread below
            errors[i] = err

    threads = [threading.Thread(target=make, args=(i,), name="ironwal-create", daemon=True)
               for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for err in errors:
        if err is not None:
            raise err


def split_record(record: bytes, sep: bytes, number: int) -> tuple[bytes, bytes]:
    key, found, value = record.partition(sep)
    if not found:
        raise UsageError(f"record {number} has no key separator {sep!r}: {record[:60]!r}")
    return key, value


def append_routed_from(root: str | os.PathLike, fd: int, sep: bytes, *, shards: int | None = None,
                       mode: str = "lines", batch_size: int = 1000, linger: float = 0.05,
                       options: WriteOptions | None = None, on_warning: Warn | None = None,
                       placements: bool = True) -> Iterator[list[Placed]] | Iterator[int]:
    """Read ``KEY<SEP>VALUE`` records from ``fd`` and route each value by its key.

    Yields, per group of records read together, the (shard, id) of each record in input order,
    once the group is durable (strict and batch modes); with ``placements=False`` only how many
    records the group held (nothing is built per record: ``append -K -q``). A record without
    ``sep`` stops the run with a UsageError; the groups before it are written.
    """
    if not sep:
        raise UsageError("the key separator must not be empty")
    if mode not in ("lines", "null"):
        raise UsageError("routed records are lines or NUL-terminated, not --whole")
    count = open_sharded(root, shards, options)
    writers: dict[int, StreamWriter] = {}
    number = 0
    try:
        # records cut from the input as the bulk append cuts them (no Python object per record), in a
        # thread while this one routes and writes (read_ahead, as the plain bulk append reads)
        for group in read_ahead(read_raw_batches(fd, mode, batch_size, linger), weight=payload_bytes):
            routed = route_batches(group, sep, count, batch_size)
            if routed is None:  # a record without the separator: name it (nothing of the group is written)
                records = chain.from_iterable(batch.entries() for batch in group)
                for i, record in enumerate(records):
                    split_record(record, sep, number + i + 1)
            routes, per_shard = routed
            number += len(routes)
            new = [StreamWriter(root, shard_name(shard), options, on_warning) for shard in per_shard
                   if shard not in writers]
            writers.update((parse_shard_name(writer.name), writer) for writer in new)
            create_together(new)
            cursors = {}
            for shard, batches in per_shard.items():
                ranges = writers[shard].append_batches([RawBatch(payload, n) for payload, n in batches])
                cursors[shard] = chain.from_iterable(ranges)
            if not placements:
                yield len(routes)
                continue
            # each record's (shard, id) in input order, by C-level iteration over the ids written
            yield list(zip(routes, map(next, map(cursors.__getitem__, routes)), strict=True))
    finally:
        for writer in writers.values():
            writer.close()
