"""Appending to a stream: frames, rotation and batch chunking exactly as the crate decides.

The rules (``format/FORMAT.md``, "Rotation") are the crate's, as pure functions in ``rules.py``
(this module calls them where it writes), so raw frames come out byte-identical, with four
deliberate fixes: entries are counted from the file, not per process; a non-empty segment already
at or over a limit is rotated before it takes more; a fresh empty segment takes any entry or chunk
(no duplicate index id); every segment left behind is synced. Each write holds the stream's flock
and re-reads the tail first, so several processes can append to one stream without interleaving;
the segment is open for writing only while the flock is held, so a process that holds it open for
writing while we hold the flock is not an ironwal writer, and is refused
(``engine/store/foreign_writers.py``).

``StreamWriter`` is the composition of the writer's rooms, and keeps only the public API and the
append paths (the single-entry fast path among them) that decide, by ``rules.py``, what goes where:
``lock_session.py`` (the flock, the stream directory, foreign writers), ``tail_state.py`` (the
tail loaded and re-checked under each lock) and ``frames_out.py`` (frames written, rotation,
seals).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from ...errors import FormatError, UnexpectedIdError, UsageError
from ...fdio import SMALL_WRITE, write_all
from ...spec.codec import HEADER_SIZE, encode_raw_batch, encode_single_frame
from ...spec.records import RawBatch
from .. import seams as crashpoints  # the writer uses the crash points of the test seams
from ..frames.scan import ID_LIMIT, ID_OVERFLOW
from ..store.files import fsync_fd
from ..store.locks import DEFAULT_LOCK_TIMEOUT
from ..store.names import segment_name
from ..store.roots import stream_path
from .frames_out import FramesOut
from .lock_session import LockSession, storage_error
from .rules import batch_cost, chunk_end, over_limit, room, single_fits
from .tail_state import TailState

MIB = 1024 * 1024
SYNC_MODES = ("strict", "batch", "async")


class _WriteOptionFields(NamedTuple):
    max_segment_size: int = 64 * MIB
    max_entries_per_segment: int | None = None  # None: unlimited
    sync: str = "strict"  # strict | batch | async, with the crate's meaning
    compress: bool = False
    min_compress_size: int = 1024
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # Hold the writer lock from the first write until close(): no other ironwal process can
    # append meanwhile, and each append skips the lock and the tail re-check (4 syscalls).
    hold_lock: bool = False
    # Write even while a process that is not an ironwal writer (a live IronWal application)
    # holds the active segment open for writing. Dangerous: it keeps its next id in memory.
    force: bool = False


class WriteOptions(_WriteOptionFields):
    """How a writer writes: immutable, checked when made (``_replace`` makes a changed copy).

    A NamedTuple rather than a dataclass: ``dataclasses`` imports ``inspect`` (with ``ast``,
    ``dis`` and ``tokenize``), ~8 ms of every start of a command that writes, reads or lists.
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        if self.sync not in SYNC_MODES:
            raise UsageError(f"sync mode {self.sync!r}: choose strict, batch or async")
        if self.max_segment_size < 1:
            raise UsageError(f"max segment size {self.max_segment_size}: must be at least 1 byte")
        if self.max_entries_per_segment is not None and self.max_entries_per_segment < 1:
            raise UsageError(f"max entries per segment {self.max_entries_per_segment}: must be at least 1")
        return self

    def _replace(self, **changes) -> WriteOptions:
        """A copy with ``changes``, checked like any new one (NamedTuple's own skips ``__new__``)."""
        return type(self)(**{**self._asdict(), **changes})


class StreamWriter(LockSession, TailState, FramesOut):
    """Appends to one stream. Use as a context manager, or call ``close()``."""

    def __init__(self, root: str | os.PathLike, key: str, options: WriteOptions | None = None,
                 on_warning: Callable[[str], None] | None = None):
        self.options = options or WriteOptions()
        self.on_warning = on_warning or (lambda message: None)  # told when a torn tail is quarantined
        self.root = Path(root)
        self.path = stream_path(root, key)
        self.name = self.path.name
        self._dir_fd: int | None = None
        self._fd: int | None = None
        self._active = 0  # start id of the active segment
        self._size = 0  # its size in bytes
        self._count = 0  # entries in it (from the file: fix 1)
        self._next = 0
        self._index_size = -1
        self._index_empty = False
        self._stamp: tuple[int, int] | None = None  # (inode, size) of the active segment when last seen
        self._segment_name_cache: tuple[int, str] | None = None
        self._held = False  # hold_lock: the lock is ours and the tail state is current
        self._wrote = False  # something was written into the active segment since the tail was read
        self._probe: tuple[int, str, int] | None = None  # (read-only fd, name, inode) to take leases on
        self._synced = -1  # size of the active segment at its last fdatasync (-1: not known)
        self._strict = self.options.sync == "strict"
        self._async = self.options.sync == "async"
        self._writeback = (0, 0)
        # Single entries up to this size go out as one built frame: one small copy costs less
        # than a second buffer. Never one that compression would take.
        small = SMALL_WRITE - 2 * HEADER_SIZE
        self._small_single = min(small, self.options.min_compress_size - 5) if self.options.compress else small
        self.rotations = 0

    # ----- public API -------------------------------------------------------------------

    @property
    def next_id(self) -> int:
        """The id the next append gets, as the files say now.

        A read, so it writes nothing: no root, stream directory or ``segments.idx`` is created,
        and a torn tail is left for the next append to cut (its ids are not counted, as that
        append will not count them). Only with ``hold_lock`` is the writer's own state current.
        """
        if self._held:
            return self._next
        if not self.path.is_dir():
            return 0
        from ..reader.reader import StreamReader

        reader = StreamReader(self.root, self.name, name_is_dir=True)
        return max(reader.next_id(), reader.layout.active_id() or 0)

    def create(self) -> None:
        """Make the stream, if it is not there yet, as the first append would: its directory and a
        durable ``segments.idx``, under its lock; no entry is written and the lock is given back.

        For callers that open several streams at once (a routed append's new shards): each
        creation waits on fsyncs, which run in parallel when the creations do.
        """
        with self._locked(write=False):
            pass

    def append(self, entry: bytes) -> int:
        """One entry, with the crate's single-append rotation rule. Synced in strict mode."""
        entry = bytes(entry)
        if not self._held:
            with self._locked():
                return self._append_one(entry)
        try:  # hold_lock: the lock is ours and the tail state current
            return self._append_one(entry)
        except BaseException as err:
            self._release(failed=True)
            raise storage_error(err) from None

    def append_batch(self, entries: Sequence[bytes]) -> range:
        """One batch: one frame when it fits, else chunked as the crate chunks. Synced unless async.
        ``entries`` may be a ``spec.records.RawBatch`` (already encoded): written the same way."""
        return self.append_batches([entries])[0]

    def append_batches(self, batches: Sequence[Sequence[bytes]], expect_first: int | None = None) -> list[range]:
        """Several batches under one lock: each is written as ``append_batch`` would write it.

        In batch mode the group shares one fdatasync (group commit); strict syncs each batch.
        Every returned id is durable when this returns, except in async mode. On an error, its
        ``completed`` attribute holds the ranges written whole before it (synced in strict mode;
        none in batch mode, where the group's sync did not happen). With
        ``expect_first``, the group is written only if that is the stream's next id, checked
        under the lock (a resumed copy can then never write an entry twice or skip one).
        """
        if not any(batches):
            with self._locked(create=False) as ready:
                nxt = self._next if ready else 0
            return [range(nxt, nxt) for _ in batches]
        results = []
        try:
            with self._locked():
                if expect_first is not None and self._next != expect_first:
                    raise UnexpectedIdError(self.path, expect_first, self._next)
                for entries in batches:
                    ids = self._append_batch(entries)
                    if self.options.sync == "strict" and entries:
                        self.sync()
                    results.append(ids)
                if self.options.sync == "batch":
                    self.sync()
        except Exception as err:
            # The batches written whole before the failure (synced, in strict mode) are the caller's to
            # acknowledge; in batch mode none is, their group's fdatasync never came.
            err.completed = results if self.options.sync != "batch" else []  # type: ignore[attr-defined]
            raise
        return results

    def sync(self) -> None:
        """Make everything written so far durable (fdatasync of the active segment)."""
        if self._fd is not None:
            if crashpoints.ARMED:
                crashpoints.reached("before-sync")
            fsync_fd(self._fd, data_only=True)
            self._synced = self._size
        elif self._wrote and self._synced != self._size and self._dir_fd is not None:
            # Between locks the segment is closed (see _release); fdatasync acts on the file.
            fd = os.open(self._segment_name(), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=self._dir_fd)
            try:
                fsync_fd(fd, data_only=True)
            finally:
                os.close(fd)
            self._synced = self._size

    def close(self) -> None:
        """Close the files; this also releases a lock kept with ``hold_lock``.

        When everything written is synced, the active segment is sealed first (seals.idx), so
        the next writer, or recover, need not check it again: an ``ironwal append`` in a shell
        loop then costs the same on a full 64 MiB segment as on an empty one.
        """
        try:
            if self._wrote and self._dir_fd is not None and self._synced == self._size:
                self._seal_on_close()
        finally:  # whatever the seal met: a descriptor left open for writing looks like a foreign writer
            probe = self._probe[0] if self._probe is not None else None
            for fd in (self._fd, probe, self._dir_fd):  # the segment first: closing the directory lets the lock go
                if fd is not None:
                    os.close(fd)
            self._fd = self._dir_fd = self._probe = None
            self._stamp = None
            self._held = False

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- what goes where: the append paths --------------------------------------------

    def _over_limit(self) -> bool:
        return over_limit(self._size, self._count, self.options.max_segment_size, self.options.max_entries_per_segment)

    def _fits_without_rotation(self, length: int) -> bool:
        """The crate's single-append rule says no rotation (rules.single_fits)."""
        return single_fits(self._size, self._count, length, self.options.max_segment_size,
                           self.options.max_entries_per_segment)

    def _append_one(self, entry: bytes) -> int:
        """One entry under the lock, synced in strict mode.

        A small entry that needs no rotation is one frame built in one buffer, one write and
        one fdatasync, and nothing else: after a fast fdatasync even a few microseconds of
        cold Python show in the latency (README, "Benchmarks").
        """
        if self._next >= ID_LIMIT:
            self._ids_exhausted(1)
        fd = self._fd
        if fd is None and self._size:  # closed between locks (see _release); the file is there
            fd = self._reopen_active()
        options = self.options
        if (fd is None or crashpoints.ARMED or len(entry) > self._small_single
                or not single_fits(self._size, self._count, len(entry), options.max_segment_size,
                                   options.max_entries_per_segment)):
            first = self._append_single(entry)
            if self._strict:
                self.sync()
            return first
        first = self._next
        frame = encode_single_frame(first, entry)
        try:
            written = os.write(fd, frame)
            if written != len(frame):  # the rest raises the real reason (disk full, file too large)
                write_all(fd, memoryview(frame)[written:])
        except OSError as err:
            self._write_failed(fd, err)
            raise
        self._size += len(frame)
        self._count += 1
        self._next = first + 1
        self._stamp = (self._stamp[0], self._size) if self._stamp else None
        if self._strict:
            fsync_fd(fd, data_only=True)
            self._synced = self._size
        return first

    def _ids_exhausted(self, count: int) -> None:
        """Ids are u64: a segment named near 2^64 (planted, never written by a writer) leaves no room."""
        raise FormatError(self.path / segment_name(self._active), None,
                          f"ids exhausted: {count} more entries after id {self._next - 1} would pass the last "
                          f"possible id {ID_LIMIT - 1} (ids are u64); refusing to append", kind=ID_OVERFLOW)

    def _append_single(self, entry: bytes) -> int:
        if not self._fits_without_rotation(len(entry)):
            self._rotate()
        first = self._next
        if len(entry) <= self._small_single:
            self._write_parts([encode_single_frame(first, entry)], 1)
        else:
            self._write_frame([entry])
        return first

    def _append_batch(self, entries: Sequence[bytes]) -> range:
        first = self._next
        n = len(entries)
        if not n:
            return range(first, first)
        if first + n > ID_LIMIT:
            self._ids_exhausted(n)
        if self._size > 0 and self._over_limit():  # fix 2: no more into a full segment
            self._rotate()
        max_size = self.options.max_segment_size
        if n > 1 and not isinstance(entries, RawBatch):  # encoded once (C): no walk over the lengths first
            entries = RawBatch(encode_raw_batch(entries), n)
        if isinstance(entries, RawBatch):  # encoded (as read, by the bulk append): one frame when it fits whole
            if batch_cost(entries.entry_bytes, n) <= room(self._size, max_size):
                self._write_raw(entries.payload, n)
                return range(first, self._next)
            entries = entries.entries()  # the crate's cut below needs each entry's length
        i = 0
        while i < n:
            j = chunk_end(entries, i, room(self._size, max_size))
            self._write_frame(entries[i:j] if (i or j < n) else entries)
            i = j
            if i < n and self._over_limit():
                self._rotate()
        return range(first, self._next)

