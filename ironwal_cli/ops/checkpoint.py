"""Checkpoints of a sharded root: create, list, show, compact. Plain functions, data out."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..engine.reader.reader import StreamReader
from ..engine.store.foreign_writers import refuse_foreign_writers, refuse_index_holders, segment_paths
from ..engine.store.locks import DEFAULT_LOCK_TIMEOUT, locked_dir
from ..engine.store.names import INDEX_NAME
from ..engine.store.roots import refuse_foreign_root, require_root, require_wal_root
from ..errors import FormatError, NotFoundError, UsageError
from ..sharded.checkpoints import (
    CheckpointLog,
    Record,
    append_record,
    archive_path,
    check_id,
    display_id,
    latest,
    log_path,
    read_head,
    rewrite_log,
)
from ..sharded.foreign import refuse_log_writer
from ..sharded.routing import shard_name
from ..sharded.shard_count import remember
from ..sharded.shards import durable_next_id, existing_shards, resolve_shard_count
from ..spec.codec import Checkpoint


def iso_time(timestamp_ns: int) -> str:
    """ISO-8601 UTC with all nine digits of the nanoseconds: ``2026-11-25T12:00:00.123456789Z``."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    try:
        base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return f"@{timestamp_ns}ns"
    return f"{base}.{nanos:09d}Z"


@dataclass(frozen=True)
class CheckpointInfo:
    checkpoint_id: bytes
    timestamp_ns: int
    offsets: tuple[int, ...]
    is_latest: bool = False

    @classmethod
    def of(cls, record: Record, latest_record: Record | None = None) -> CheckpointInfo:
        cp = record.checkpoint
        return cls(cp.checkpoint_id, cp.timestamp_ns, cp.offsets,
                   latest_record is not None and latest_record.raw == record.raw)

    @property
    def shard_count(self) -> int:
        return len(self.offsets)

    @property
    def display_id(self) -> str:
        return display_id(self.checkpoint_id)

    @property
    def time(self) -> str:
        return iso_time(self.timestamp_ns)

    def to_dict(self) -> dict:
        return {"id": self.display_id, "id_hex": self.checkpoint_id.hex(), "timestamp_ns": self.timestamp_ns,
                "time": self.time, "shard_count": self.shard_count, "offsets": list(self.offsets),
                "latest": self.is_latest}


@dataclass(frozen=True)
class ShardPosition:
    shard: int
    stream: str
    offset: int
    next_id: int  # the shard's next id now (0 when it has no directory)

    @property
    def past(self) -> int:
        """Entries the shard holds at or above the checkpoint's offset."""
        return max(self.next_id - self.offset, 0)

    def to_dict(self) -> dict:
        return {"shard": self.shard, "stream": self.stream, "offset": self.offset, "next": self.next_id,
                "past": self.past}


def _read_log(root: str | os.PathLike, archive: bool = False) -> CheckpointLog:
    path = archive_path(root) if archive else log_path(root)
    if not archive:
        require_wal_root(root)
    return CheckpointLog.read(path)


@contextmanager
def _locked_log(root: Path, lock_timeout: float, action: str, force: bool) -> Iterator[CheckpointLog]:
    """The root's lock (one writer of checkpoints.log at a time) and the log, refused if damaged,
    or (unless ``force``) while a running ShardedWal holds it open; a folder of other files is
    refused (exit 7) before anything is written into it."""
    require_root(root)
    if not log_path(root).exists():
        refuse_foreign_root(root)
    with locked_dir(root, lock_timeout):
        if not force:
            refuse_log_writer(root, f"{action} {log_path(root).name}")
        log = CheckpointLog.read(log_path(root))
        log.require_intact(action)
        yield log


def create_checkpoint(root: str | os.PathLike, checkpoint_id: bytes, *, shards: int | None = None,
                      lock_timeout: float = DEFAULT_LOCK_TIMEOUT, force: bool = False) -> CheckpointInfo:
    """Record every shard's durable next id under ``checkpoint_id`` and point HEAD at it.

    The root's lock serialises checkpoint writers and compaction; every existing shard's
    writer lock is held while the cut is taken, so no append lands between two shards' reads.
    Refused (ForeignWriterError) while a process that is not ironwal holds the log or a shard
    open (a running IronWal application: its next ids would move past the cut), unless ``force``.
    """
    check_id(checkpoint_id)
    root = Path(root)
    if not force and root.is_dir():
        refuse_index_holders([root / n / INDEX_NAME for n in existing_shards(root).values()],
                             "create a checkpoint")
    with _locked_log(root, lock_timeout, "append to", force) as log:
        count = resolve_shard_count(root, shards, log)
        remember(root, count)
        offsets = []
        with ExitStack() as locks:
            for shard in range(count):
                path = root / shard_name(shard)
                if not path.is_dir():
                    offsets.append(0)
                    continue
                locks.enter_context(locked_dir(path, lock_timeout))
                if not force:  # durable_next_id syncs every segment: looking at each costs as little
                    refuse_foreign_writers(segment_paths(path), "create a checkpoint")
                offsets.append(durable_next_id(path))
        # Never older than a record already there, so "newest by timestamp" stays this one.
        newest = max((r.checkpoint.timestamp_ns for r in log.records), default=0)
        stamp = max(time.time_ns(), newest + 1)
        record = append_record(root, Checkpoint(checkpoint_id, stamp, tuple(offsets)))
    return CheckpointInfo.of(record, record)


def list_checkpoints(root: str | os.PathLike, *, archive: bool = False,
                     on_warning=None) -> list[CheckpointInfo]:
    """One per id (a later record wins), oldest first; ``archive`` lists what compaction moved away."""
    log = _read_log(root, archive)
    _warn_damage(log, on_warning)
    if archive:
        return [CheckpointInfo.of(r) for r in log.records]
    head = read_head(root)
    current = log.current()
    try:
        top = latest(log, head)
    except NotFoundError:
        top = None
    return [CheckpointInfo.of(r, top) for r in current]


def show_checkpoint(root: str | os.PathLike, checkpoint_id: bytes | None = None,
                    on_warning=None) -> tuple[CheckpointInfo, list[ShardPosition]]:
    """A checkpoint (default the latest) and, per shard, its offset and the entries past it."""
    log = _read_log(root)
    _warn_damage(log, on_warning)
    head = read_head(root)
    try:
        top = latest(log, head)
    except NotFoundError:
        if checkpoint_id is None:
            raise NotFoundError(f"{root}: HEAD names checkpoint {display_id(head)!r}, which is not in "
                                f"{log.path}") from None
        top = None
    if checkpoint_id is None:
        if top is None:
            raise NotFoundError(f"{root}: no checkpoints")
        record = top
    else:
        record = log.find(check_id(checkpoint_id))
    positions = []
    for shard, offset in enumerate(record.checkpoint.offsets):
        name = shard_name(shard)
        try:
            nxt = StreamReader(root, name, name_is_dir=True).next_id()
        except NotFoundError:
            nxt = 0
        positions.append(ShardPosition(shard, name, offset, nxt))
    return CheckpointInfo.of(record, top), positions


@dataclass(frozen=True)
class CompactResult:
    before: int  # records in the log before
    kept: list[CheckpointInfo]
    dropped: list[CheckpointInfo]
    bytes_reclaimed: int
    archive: Path | None
    head_dropped: bool  # HEAD names a checkpoint that is no longer in the log

    def to_dict(self) -> dict:
        return {"records_before": self.before, "kept": [c.to_dict() for c in self.kept],
                "dropped": [c.to_dict() for c in self.dropped], "bytes_reclaimed": self.bytes_reclaimed,
                "archive": str(self.archive) if self.archive else None, "head_dropped": self.head_dropped}


def compact_checkpoints(root: str | os.PathLike, keep: int, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                        force: bool = False) -> CompactResult:
    """Keep the ``keep`` newest checkpoints (by timestamp), like the crate; HEAD is left as it was.

    Every dropped record (older ones and superseded duplicates) is first appended, byte for
    byte, to ``<root>.quarantine/checkpoints-archive.log`` and synced; only then is the log
    replaced (temp + rename). Refused while a running ShardedWal holds the log open (it would go
    on appending to the file replaced), unless ``force``.
    """
    if keep < 1:
        raise UsageError(f"--keep {keep}: must be at least 1")
    root = Path(root)
    with _locked_log(root, lock_timeout, "compact", force) as log:
        kept = log.current()[-keep:]
        kept_offsets = {r.offset for r in kept}
        dropped = [r for r in log.records if r.offset not in kept_offsets]
        archive = rewrite_log(root, kept, dropped) if dropped else None
        head = read_head(root)
    new_size = sum(len(r.raw) for r in kept)
    return CompactResult(
        before=len(log.records),
        kept=[CheckpointInfo.of(r) for r in kept],
        dropped=[CheckpointInfo.of(r) for r in dropped],
        bytes_reclaimed=log.size - new_size if dropped else 0,
        archive=archive,
        head_dropped=head is not None and all(r.checkpoint_id != head for r in kept),
    )


@dataclass(frozen=True)
class CheckpointSummary:
    count: int
    latest: CheckpointInfo | None
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"count": self.count, "latest": self.latest.to_dict() if self.latest else None,
                "problem": self.problem}


def checkpoint_summary(root: str | os.PathLike) -> CheckpointSummary:
    """How many checkpoints a sharded root has and which is the latest (for ``ls``); never raises on damage."""
    log = _read_log(root)
    problem = f"{log.path} damaged at offset {log.damage_offset}: {log.damage}" if log.damage else None
    current = log.current()
    try:
        top = latest(log, read_head(root))
    except (NotFoundError, FormatError) as err:  # HEAD damaged or naming a missing record
        top, problem = None, problem or str(err)
    return CheckpointSummary(len(current), CheckpointInfo.of(top, top) if top else None, problem)


def _warn_damage(log: CheckpointLog, on_warning) -> None:
    if log.damage is not None and on_warning is not None:
        on_warning(f"{log.path} at offset {log.damage_offset}: {log.damage}; "
                   f"listing the {len(log.records)} intact records before it")
