"""``checkpoints.log`` and ``HEAD`` of a sharded root: reading, appending, compaction.

The log is CKPT records back to back (``spec.codec``). Like the crate, a reader keeps every
intact record up to the first damaged one and reports where the damage starts; a later
record with the same id wins; the latest checkpoint is the one HEAD names, else the newest by
timestamp. The log is only ever appended to (fsync) or replaced whole (``atomic_write``);
records that compaction drops are appended to an archive beside the quarantine first.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.frames.scan import map_file
from ..engine.store.files import append_synced, atomic_write, fsync_dir, make_dirs, read_small
from ..engine.store.names import HEAD_NAME, LOG_NAME
from ..engine.store.roots import refuse_foreign_root
from ..errors import FormatError, NotFoundError, UsageError
from ..spec.codec import (
    Checkpoint,
    decode_head,
    encode_checkpoint_record,
    encode_head,
)
from .log_walk import RecordProblem, walk_records
from .routing import parse_shard_name
from .shard_count import COUNT_NAME

ARCHIVE_NAME = "checkpoints-archive.log"
MAX_ID_LEN = 0xFFFF
HEAD_LIMIT = 2 + MAX_ID_LEN  # u16 length, then the id: the most a HEAD can sensibly hold


@dataclass(frozen=True)
class Record:
    """One intact record: the checkpoint, where it sits in its file, and its exact bytes."""

    checkpoint: Checkpoint
    offset: int
    raw: bytes

    @property
    def checkpoint_id(self) -> bytes:
        return self.checkpoint.checkpoint_id


@dataclass
class CheckpointLog:
    """The intact records of a log file, in file order, and the damage that ended the scan (if any)."""

    path: Path
    records: list[Record] = field(default_factory=list)
    damage_offset: int | None = None
    damage: str | None = None
    size: int = 0

    @classmethod
    def read(cls, path: str | os.PathLike) -> CheckpointLog:
        path = Path(path)
        try:
            data = map_file(path)  # a long log is walked in place, never read whole (log_walk)
        except FileNotFoundError:
            data = b""
        log = cls(path, size=len(data))
        for item in parse_records(data):
            if isinstance(item, Record):
                log.records.append(item)
            else:
                log.damage_offset, log.damage = item
        return log

    def require_intact(self, action: str) -> None:
        if self.damage is not None:
            raise FormatError(self.path, self.damage_offset, f"{self.damage}; refusing to {action} a damaged "
                              "checkpoint log (the intact records before this offset are still listed)",
                              kind="bad_checkpoint")

    def current(self) -> list[Record]:
        """One record per id (the later record wins), oldest first by timestamp, ties in file order."""
        latest: dict[bytes, Record] = {}
        for rec in self.records:
            latest.pop(rec.checkpoint_id, None)
            latest[rec.checkpoint_id] = rec
        return sorted(latest.values(), key=lambda r: r.checkpoint.timestamp_ns)

    def find(self, checkpoint_id: bytes) -> Record:
        for rec in reversed(self.records):
            if rec.checkpoint_id == checkpoint_id:
                return rec
        raise NotFoundError(f"{self.path}: no checkpoint {display_id(checkpoint_id)!r}")

    def shard_counts(self) -> set[int]:
        return {rec.checkpoint.shard_count for rec in self.records}


def parse_records(data: bytes, start: int = 0):
    """Yield each intact ``Record`` from ``start`` on, then ``(offset, message)`` at the first damage, if any.

    The walk is ``log_walk.walk_records`` (shared with ``verify``), cut at its first problem.
    """
    for item in walk_records(data, start):
        if isinstance(item, RecordProblem):
            yield item.offset, item.message
            return
        yield Record(item.checkpoint, item.offset, bytes(data[item.offset:item.offset + item.length]))


# ----- ids ---------------------------------------------------------------------------------


def check_id(checkpoint_id: bytes) -> bytes:
    if not 1 <= len(checkpoint_id) <= MAX_ID_LEN:
        raise UsageError(f"checkpoint id of {len(checkpoint_id)} bytes: must be 1..{MAX_ID_LEN} bytes")
    return checkpoint_id


def parse_id(text: str, hex_id: bool = False) -> bytes:
    """An id from the command line: text (UTF-8), or hex digits with ``--hex``."""
    if hex_id:
        try:
            return check_id(bytes.fromhex(text))
        except ValueError:
            raise UsageError(f"{text!r} is not hex (with --hex the id is given as hex digits)") from None
    return check_id(text.encode("utf-8", "surrogateescape"))


def display_id(checkpoint_id: bytes) -> str:
    """Text when the id is printable UTF-8, else its hex digits."""
    try:
        text = checkpoint_id.decode("utf-8")
    except UnicodeDecodeError:
        return checkpoint_id.hex()
    return text if text.isprintable() else checkpoint_id.hex()


# ----- files of a root ----------------------------------------------------------------------


def log_path(root: str | os.PathLike) -> Path:
    return Path(root) / LOG_NAME


def head_path(root: str | os.PathLike) -> Path:
    return Path(root) / HEAD_NAME


def archive_path(root: str | os.PathLike) -> Path:
    """``<root>.quarantine/checkpoints-archive.log``: in the default quarantine of recover, beside the
    root, never inside it (a subdirectory is a stream). The repair room is imported here, when a
    compaction needs it: every command that reads a sharded root imports this module."""
    from ..engine.repair.quarantine import default_quarantine

    return default_quarantine(root) / ARCHIVE_NAME


SHARDED_FILES = (HEAD_NAME, LOG_NAME, COUNT_NAME)  # COUNT_NAME: the count ironwal remembers (shard_count)


def is_sharded_root(root: str | os.PathLike, *, damaged_too: bool = False) -> bool:
    """Whether ``root`` is a sharded root: the one rule. The crate's ShardedWal creates the log on
    open; HEAD comes with checkpoints; ironwal's ``ironwal-shards`` (``shard_count``) with the first
    routed write: one of them there as a file says so.

    ``damaged_too`` (the verifier's question, which must also find a damaged sharded root): one of
    them as a file of any type but a directory (a FIFO or a dangling link there is a damaged sharded
    root), or as a directory beside ``shard_NN`` directories (alone, a directory is a plain stream
    named so). Every root the plain rule calls sharded, this one does too."""
    if not damaged_too:
        return log_path(root).is_file() or head_path(root).is_file() or (Path(root) / COUNT_NAME).is_file()
    kinds = [_lkind(Path(root) / name) for name in SHARDED_FILES]
    return "file" in kinds or ("dir" in kinds and _shard_dirs_present(root))


def _lkind(path: Path) -> str | None:
    try:
        return "dir" if stat.S_ISDIR(os.lstat(path).st_mode) else "file"
    except OSError:
        return None


def _shard_dirs_present(root: str | os.PathLike) -> bool:
    try:
        return any(parse_shard_name(e.name) is not None and e.is_dir(follow_symlinks=False) for e in os.scandir(root))
    except OSError:
        return False


def read_head(root: str | os.PathLike) -> bytes | None:
    """The id HEAD names; None without HEAD; FormatError when HEAD is damaged."""
    path = head_path(root)
    found = read_small(path, HEAD_LIMIT)
    if found is None:
        return None
    if found.oversized:
        raise FormatError(path, None, found.excess("a HEAD"), kind="bad_head")
    raw = found.data
    try:
        return decode_head(raw)
    except ValueError as err:
        raise FormatError(path, 0, str(err), kind="bad_head") from None


def latest(log: CheckpointLog, head: bytes | None) -> Record | None:
    """The checkpoint HEAD names, else the newest by timestamp (the crate's load_latest)."""
    if head is not None:
        return log.find(head)
    current = log.current()
    return current[-1] if current else None


def ensure_log(root: str | os.PathLike) -> None:
    """Create an empty log (as the crate's ShardedWal::new does), marking the root as sharded."""
    path = log_path(root)
    if not path.exists():
        if os.path.lexists(root):  # the log makes a root sharded: never in a folder of other files
            refuse_foreign_root(root)
        make_dirs(root)
        append_synced(path, b"")
        fsync_dir(root)


def append_record(root: str | os.PathLike, checkpoint: Checkpoint) -> Record:
    """Append one record (fsync), then point HEAD at it (temp + rename + fsync of the root)."""
    path = log_path(root)
    created = not path.exists()
    if created:
        refuse_foreign_root(root)
    record = encode_checkpoint_record(checkpoint)
    offset = path.stat().st_size if not created else 0
    append_synced(path, record)
    if created:
        fsync_dir(root)
    atomic_write(head_path(root), encode_head(checkpoint.checkpoint_id))
    return Record(checkpoint, offset, record)


def rewrite_log(root: str | os.PathLike, kept: list[Record], dropped: list[Record]) -> Path | None:
    """Archive ``dropped`` (append + fsync), THEN replace the log with ``kept``: nothing is lost at any point."""
    archive = None
    if dropped:
        archive = archive_path(root)
        make_dirs(archive.parent)
        new = not archive.exists()
        append_synced(archive, b"".join(r.raw for r in dropped))
        if new:
            fsync_dir(archive.parent)
    atomic_write(log_path(root), b"".join(r.raw for r in kept))
    return archive
