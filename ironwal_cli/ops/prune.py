"""Pruning: deleting whole segments below a safe id, as the crate's ``truncate`` does.

The segment holding ``before`` (the last start id <= it) and everything after it stay; every
older segment goes, never the active one. ``segments.idx`` is rewritten without the deleted
ids BEFORE the files are unlinked (the crate unlinks first): a crash in between then leaves
unindexed files holding old, intact entries, instead of an index naming files that are gone.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.store.files import atomic_write, fsync_dir
from ..engine.store.foreign_writers import refuse_foreign_writers, refuse_index_holders, segment_paths
from ..engine.store.listing import StreamListing
from ..engine.store.locks import DEFAULT_LOCK_TIMEOUT, locked_dir
from ..engine.store.names import INDEX_NAME, segment_name
from ..engine.store.roots import foreign_stream_message, require_root, stream_path
from ..errors import NotFoundError, UsageError
from ..sharded.checkpoints import CheckpointLog, check_id, display_id, log_path
from ..sharded.foreign import refuse_foreign_sharded
from ..sharded.routing import shard_name
from ..spec.codec import encode_index


@dataclass(frozen=True)
class DeletedSegment:
    file: str
    first_id: int
    bytes: int


@dataclass
class StreamPrune:
    stream: str
    before: int
    kept_from: int | None  # start id of the first segment kept
    deleted: list[DeletedSegment] = field(default_factory=list)
    dry_run: bool = False

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.deleted)

    def to_dict(self) -> dict:
        return {"stream": self.stream, "before": self.before, "kept_from": self.kept_from,
                "deleted": [vars(d) for d in self.deleted], "bytes": self.bytes, "dry_run": self.dry_run}


def plan(layout: StreamListing, before: int) -> tuple[int | None, list[int]]:
    """(first segment kept, segments to delete): every start id below the segment holding ``before``.

    Candidates are the indexed ids and the segment files; the active segment is never one.
    """
    starts = sorted(set(layout.index_ids or []) | set(layout.segment_ids))
    i = bisect_right(starts, before)
    if i == 0:  # ``before`` lies below every segment: already pruned past it
        return (starts[0] if starts else None), []
    keep = starts[i - 1]
    active = layout.active_id()
    return keep, [s for s in starts[:i - 1] if s != active]


def prune_dir(path: Path, before: int, *, dry_run: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
              force: bool = False, index_checked: bool = False) -> StreamPrune:
    """Prune the stream in directory ``path``, holding its writer lock.

    Refused (ForeignWriterError) while a process that is not ironwal holds the stream open,
    unless ``force``; ``index_checked``: the caller already looked for holders of segments.idx.
    """
    if before < 0:
        raise UsageError(f"--before {before}: ids start at 0")
    if path.is_symlink() or not path.is_dir():
        require_root(path.parent)  # a missing root is named as such, not as a missing stream
        raise NotFoundError(f"{path}: no such stream")
    check = not dry_run and not force
    if check and not index_checked:
        refuse_index_holders([path / INDEX_NAME], f"prune {path.name!r}")
    with locked_dir(path, lock_timeout):
        if check:
            refuse_foreign_writers(segment_paths(path), f"prune {path.name!r}")
        layout = StreamListing.read(path)
        if layout.foreign:
            raise NotFoundError(foreign_stream_message(path))
        keep, doomed = plan(layout, before)
        result = StreamPrune(path.name, before, keep, dry_run=dry_run)
        for start in doomed:
            seg = layout.segment_path(start)
            size = seg.stat().st_size if seg.exists() else 0
            result.deleted.append(DeletedSegment(seg.name, start, size))
        if dry_run or not doomed:
            return result
        gone = set(doomed)
        base = layout.index_ids if layout.index_ids is not None else layout.segment_ids
        atomic_write(path / INDEX_NAME, encode_index(i for i in base if i not in gone))
        for start in doomed:
            (path / layout.segment_files.get(start, segment_name(start))).unlink(missing_ok=True)
        fsync_dir(path)
    return result


def prune_stream(root: str | os.PathLike, stream: str, before: int, *, dry_run: bool = False,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT, force: bool = False) -> StreamPrune:
    """Delete the segments of ``stream`` whose ids all lie below the segment holding ``before``."""
    return prune_dir(stream_path(root, stream), before, dry_run=dry_run, lock_timeout=lock_timeout,
                     force=force)


def prune_checkpoint(root: str | os.PathLike, checkpoint_id: bytes, *, shards: int | None = None,
                     dry_run: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                     force: bool = False) -> list[StreamPrune]:
    """Prune every shard with an offset > 0 to the checkpoint's offset (shards without a directory are skipped)."""
    root = Path(root)
    if not dry_run and not force:
        refuse_foreign_sharded(root, "prune it", lock_timeout)
    log = CheckpointLog.read(log_path(root))
    record = log.find(check_id(checkpoint_id))
    count = record.checkpoint.shard_count
    if shards is not None and shards != count:
        name = display_id(record.checkpoint_id)
        raise UsageError(f"--shards {shards}, but checkpoint {name!r} records {count} shards; refusing to prune")
    results = []
    for shard, offset in enumerate(record.checkpoint.offsets):
        path = root / shard_name(shard)
        if offset == 0 or not path.is_dir():
            continue
        results.append(prune_dir(path, offset, dry_run=dry_run, lock_timeout=lock_timeout, force=force,
                                 index_checked=True))
    return results
