"""The shards of a root: which exist, how many there are, and each one's durable next id.

The shard count is stored nowhere but in checkpoint records, and shard directories appear
lazily (a shard no key has reached has none), so the count can never be inferred from the
directories: it comes from ``--shards`` or from the log, and a disagreement is refused,
because a wrong count routes keys to the wrong shards without any error.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..engine.active_segment import measure_active
from ..engine.files import fsync_dir, fsync_fd
from ..engine.layout import StreamLayout
from ..engine.names import INDEX_NAME
from ..errors import UsageError
from .checkpoints import CheckpointLog, log_path
from .routing import check_shard_count, parse_shard_name, shard_name


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
    """``given`` (``--shards``) checked against the log and the directories, else the log's count."""
    log = log if log is not None else CheckpointLog.read(log_path(root))
    logged = sorted(log.shard_counts())
    if len(logged) > 1:
        raise UsageError(f"{log.path}: checkpoint records disagree on the shard count ({logged}); "
                         "refusing to guess how keys are routed")
    if given is None:
        if not logged:
            raise UsageError(f"{root}: no checkpoint records the shard count; pass --shards N "
                             "(or IRONWAL_SHARDS) — it cannot be inferred from the shard directories")
        return logged[0]
    check_shard_count(given)
    if logged and logged[0] != given:
        raise UsageError(f"--shards {given} disagrees with {log.path}, whose checkpoints record "
                         f"{logged[0]} shards; refusing (keys would be routed to the wrong shards)")
    beyond = sorted(n for n in existing_shards(root) if n >= given)
    if beyond:
        raise UsageError(f"--shards {given}, but {Path(root) / shard_name(beyond[0])} exists; "
                         "refusing (keys would be routed to the wrong shards)")
    return given


def durable_next_id(path: Path) -> int:
    """The next id of the stream in ``path``, after making everything below it durable.

    The caller holds the stream's writer lock. Every segment, ``segments.idx`` and the
    directory are synced first (a crate writer in async mode may have left any of them
    unsynced), so the id returned never names data a power cut could take back. A damaged
    tail raises ``DamagedTailError`` rather than guessing.
    """
    layout = StreamLayout.read(path)
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
