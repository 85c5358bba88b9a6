"""The shards of a root: which exist, how many there are, and each one's durable next id.

The crate stores the shard count nowhere but in checkpoint records, and shard directories
appear lazily (a shard no key has reached has none), so the count can never be inferred from
the directories: it comes from ``--shards``, the log, or what ironwal remembered at the first
routed write (``shard_count``), and a disagreement is refused, because a wrong count routes
keys to the wrong shards without any error.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..engine.store.files import fsync_dir, fsync_fd
from ..engine.store.listing import StreamListing
from ..engine.store.names import INDEX_NAME
from ..engine.writer.active_segment import measure_active
from ..errors import UsageError
from .checkpoints import CheckpointLog, is_sharded_root, log_path
from .routing import check_shard_count, parse_shard_name, shard_name
from .shard_count import count_path, read_remembered


def existing_shards(root: str | os.PathLike) -> dict[int, str]:
    """Shard number -> directory name, for the ``shard_NN`` directories present."""
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return {}
    found = {}
    for e in entries:
        number = parse_shard_name(e.name)
        if number is not None and e.is_dir(follow_symlinks=False):
            found[number] = e.name
    return found


def resolve_shard_count(root: str | os.PathLike, given: int | None, log: CheckpointLog | None = None) -> int:
    """The root's shard count: ``given`` (``--shards``) or, when omitted, the one the root shows,
    checked against everything the root shows (``shard_count``): the count remembered in
    ``ironwal-shards``, every checkpoint record, and the shard directories. Any disagreement is
    a UsageError (exit 2): a wrong count routes keys to the wrong shards without any error."""
    log = log if log is not None else CheckpointLog.read(log_path(root))
    logged = sorted(log.shard_counts())
    if len(logged) > 1:
        raise UsageError(f"{log.path}: checkpoint records disagree on the shard count ({logged}); refusing to "
                         "guess how keys are routed (`ironwal recover` quarantines the records that contradict "
                         "the root)")
    remembered = read_remembered(root)
    if given is not None:
        check_shard_count(given)
    shown = [(n, f"{log.path}, whose checkpoints record {n} shards") for n in logged]
    if remembered is not None:
        shown.append((remembered, f"{count_path(root)}, which remembers {remembered} shards"))
    count = given if given is not None else (shown[0][0] if shown else None)
    if count is None:
        raise UsageError(f"{root}: nothing records the shard count yet; pass --shards N (or IRONWAL_SHARDS) "
                         "— it cannot be inferred from the shard directories")
    said = f"--shards {given}" if given is not None else shown[0][1]
    for n, where in shown:
        if n != count:
            raise UsageError(f"{said} disagrees with {where}; refusing (keys would be routed to the wrong shards)")
    beyond = sorted(n for n in existing_shards(root) if n >= count)
    if beyond:
        raise UsageError(f"{said}, but {Path(root) / shard_name(beyond[0])} exists; "
                         "refusing (keys would be routed to the wrong shards)")
    return count


def refuse_plain_stream(root: str | os.PathLike, name: str) -> None:
    """A new plain stream in a sharded root is refused unless it is one of the root's shards: any
    other directory there is a stream the crate's ShardedWal does not know (``verify`` reports
    it for ever), and ``shard_NN`` beyond the count would contradict it (UsageError, exit 2)."""
    if not is_sharded_root(root):
        return
    number = parse_shard_name(name)
    if number is None:
        raise UsageError(f"{root} is a sharded root; refusing to create the plain stream {name!r} in it "
                         "(append with --key KEY, or use a root of its own)")
    log = CheckpointLog.read(log_path(root))
    known = sorted(log.shard_counts() | ({read_remembered(root)} - {None}))
    if known and number >= min(known):
        raise UsageError(f"{root} has {min(known)} shards; refusing to create {name!r} beyond them")


def durable_next_id(path: Path) -> int:
    """The next id of the stream in ``path``, after making everything below it durable.

    The caller holds the stream's writer lock. Every segment, ``segments.idx`` and the
    directory are synced first (a crate writer in async mode may have left any of them
    unsynced), so the id returned never names data a power cut could take back. A damaged
    tail raises ``DamagedTailError`` rather than guessing.
    """
    layout = StreamListing.read(path)
    for start in layout.segment_ids:
        _fsync_path(layout.segment_path(start))
    if (path / INDEX_NAME).exists():
        _fsync_path(path / INDEX_NAME)
    fsync_dir(path)
    active = layout.active_id()
    if active is None:
        return 0
    return measure_active(layout.segment_path(active), active)[2]


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        fsync_fd(fd)
    finally:
        os.close(fd)
