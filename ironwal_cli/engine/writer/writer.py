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
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import (
    DamagedTailError,
    FormatError,
    IronwalError,
    RefusedError,
    StorageError,
    UnexpectedIdError,
    UsageError,
)
from ...fdio import SMALL_WRITE, write_all, writev_all
from ...spec.codec import (
    FRAME_LZ4,
    FRAME_RAW,
    HEADER_SIZE,
    INDEX_ID,
    encode_frame_header,
    encode_head_state,
    encode_index,
    encode_raw_batch,
    encode_single_frame,
)
from ...spec.records import RawBatch
from .. import seams as crashpoints  # the writer uses the crash points of the test seams
from ..frames import compression
from ..frames.scan import ID_LIMIT, ID_OVERFLOW
from ..store.files import (
    append_synced,
    atomic_write,
    fsync_dir,
    fsync_fd,
    make_dirs,
    open_for_write,
    start_writeback,
)
from ..store.foreign_writers import lease_conflicts, open_probe, refuse_foreign_writers
from ..store.listing import OVERSIZED_FILE, StreamListing
from ..store.locks import DEFAULT_LOCK_TIMEOUT, acquire
from ..store.names import HEAD_STATE_NAME, INDEX_NAME, segment_name
from ..store.roots import foreign_stream_message, refuse_foreign_root, require_root, stream_path
from ..store.seals import add_seal, matching, read_seals, seal_of, unambiguous_stat
from .active_segment import measure_active
from .rules import batch_cost, chunk_end, over_limit, room, single_fits

MIB = 1024 * 1024
SYNC_MODES = ("strict", "batch", "async")
# Async mode: each time this much more of the active segment is written, the OS is asked to start
# writing it to the disk (files.start_writeback), so the fdatasync of a rotation (fix 4) finds only
# the last few MiB to wait for, not 64 (~40 ms here), while the bulk append goes on writing.
WRITEBACK_STEP = 4 * MIB


@dataclass(frozen=True)
class WriteOptions:
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

    def __post_init__(self):
        if self.sync not in SYNC_MODES:
            raise UsageError(f"sync mode {self.sync!r}: choose strict, batch or async")
        if self.max_segment_size < 1:
            raise UsageError(f"max segment size {self.max_segment_size}: must be at least 1 byte")
        if self.max_entries_per_segment is not None and self.max_entries_per_segment < 1:
            raise UsageError(f"max entries per segment {self.max_entries_per_segment}: must be at least 1")


class StreamWriter:
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
        self._writeback = (0, 0)  # (active segment, bytes of it already handed to start_writeback)
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
            raise _storage_error(err) from None

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

    # ----- locking and the tail state ----------------------------------------------------

    class _Lock:
        def __init__(self, writer: StreamWriter, create: bool, write: bool):
            self.writer, self.create, self.write = writer, create, write

        def __enter__(self) -> bool:
            w = self.writer
            try:
                return w._acquire(self.create, self.write)
            except BaseException as err:
                # A refused tail (damage, I/O error) must not keep the lock: recover needs it.
                w._release(failed=True)
                raise _storage_error(err) from None

        def __exit__(self, exc_type, exc, tb):
            self.writer._release(failed=exc is not None)
            if exc is not None and _storage_error(exc) is not exc:
                raise _storage_error(exc) from None
            return False

    def _release(self, failed: bool) -> None:
        """Unlock after a write; with ``hold_lock`` keep the lock, unless the write failed.

        The segment is closed first: an ironwal writer holds it open for writing only under the
        flock, which is how the next writer tells it from a foreign one (foreign_writers).
        """
        if self._dir_fd is None or (self._held and not failed):
            return
        self._held = False  # the files may be half-changed: look again at the next lock
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        fcntl.flock(self._dir_fd, fcntl.LOCK_UN)

    def _locked(self, create: bool = True, write: bool = True) -> StreamWriter._Lock:
        return self._Lock(self, create, write)

    def _acquire(self, create: bool, write: bool = True) -> bool:
        """Take the flock and bring the tail state up to date; for a write, refuse a foreign writer
        (once per lock: with ``hold_lock``, once, when the lock is first taken)."""
        if self._held:
            return True
        created = opened = False
        if self._dir_fd is None:
            opened = True
            if not self.path.exists():
                if not create:
                    return False
                if not os.path.lexists(self.root):
                    make_dirs(self.root)  # a new root's own name (and its parents') must survive a power cut too
                else:  # a stream among other files would be lost there, and they are not ours
                    refuse_foreign_root(require_root(self.root))
                try:
                    self.path.mkdir()
                    created = True
                except FileExistsError:
                    pass
            if self.path.is_symlink() or not self.path.is_dir():
                raise UsageError(f"{self.path}: not a stream directory")
            self._dir_fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        acquire(self._dir_fd, self.path, self.options.lock_timeout)
        if opened and not created and not self._still_linked():
            return self._acquire_again(create, write)
        check = write and not created and not self.options.force
        if created:
            self._create_index()
        if not self._tail_unchanged():
            self._load_tail(check)
        elif check:
            self._refuse_foreign(self._segment_name(), self._stamp[0])
        self._held = self.options.hold_lock and write
        return True

    def _create_index(self) -> None:
        """The new stream's segments.idx; on failure (disk full) the directory made for it goes again.

        A stream directory without an index would be a phantom stream for ever (``ls`` lists it,
        ``verify`` reports its index missing). A writer of the same new stream waiting for the
        lock sees the directory gone (``_still_linked``) and starts again.
        """
        try:
            atomic_write(self.path / INDEX_NAME, encode_index([0]))
            fsync_dir(self.root)
        except BaseException:
            try:
                os.rmdir(self.path)
                fsync_dir(self.root)
            except OSError:
                pass  # not empty (a stranger's file) or the root unwritable: recover mends it
            fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
            os.close(self._dir_fd)
            self._dir_fd = None
            raise

    def _still_linked(self) -> bool:
        """The locked directory is still the one at ``self.path`` (a failed creation may have removed it)."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(self._dir_fd)
        return (st.st_ino, st.st_dev) == (held.st_ino, held.st_dev)

    def _acquire_again(self, create: bool, write: bool) -> bool:
        fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
        os.close(self._dir_fd)
        self._dir_fd = None
        return self._acquire(create, write)

    def _refuse_foreign(self, name: str, inode: int | None = None) -> None:
        """Refuse when a foreign process holds segment ``name`` open for writing. The read-only
        descriptor the lease is taken on is kept while the segment's inode is ``inode`` (the one
        just seen by name), so the usual check is two fcntl calls."""
        probe = self._probe
        if probe is not None and (inode is None or probe[1:] != (name, inode)):
            os.close(probe[0])
            probe = self._probe = None
        if probe is None:
            fd = open_probe(name, self._dir_fd)
            if fd is not None:
                probe = self._probe = (fd, name, os.fstat(fd).st_ino)
        if probe is not None and lease_conflicts(probe[0]) is False:
            return
        refuse_foreign_writers([self.path / name], f"append to stream {self.name!r}")  # looks again, names who

    def _tail_unchanged(self) -> bool:
        """Whether no one changed the tail since our last write: two stats, checked under every lock."""
        if self._stamp is None:
            return False
        try:  # names looked up in the locked directory itself: cheaper than whole paths
            st = os.stat(self._segment_name(), dir_fd=self._dir_fd)
            index_size = os.stat(INDEX_NAME, dir_fd=self._dir_fd).st_size
        except FileNotFoundError:
            return False
        return st.st_ino == self._stamp[0] and st.st_size == self._stamp[1] and index_size == self._index_size

    def _segment_name(self) -> str:
        """The active segment's file name, formatted once per active segment."""
        cached = self._segment_name_cache
        if cached is None or cached[0] != self._active:
            cached = self._segment_name_cache = (self._active, segment_name(self._active))
        return cached[1]

    def _load_tail(self, check: bool = False) -> None:
        """Find the active segment and the next id from the files, refusing a damaged tail (and,
        with ``check``, a foreign writer, before anything here writes)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._wrote = False
        layout = StreamListing.read(self.path)
        if layout.foreign:  # `append -r . man x`: not one byte into a folder of other files
            raise RefusedError(f"{foreign_stream_message(self.path)}; refusing to write into it")
        if check:
            self._refuse_foreign(segment_name(layout.active_id() or 0))
        index_path = self.path / INDEX_NAME
        if layout.unsound.get(INDEX_NAME, ("",))[0] == OVERSIZED_FILE:
            # Far more than any index of these segments: not ours to drop unquarantined. recover keeps it.
            raise DamagedTailError(index_path, None, f"{layout.unsound[INDEX_NAME][1]}; refusing to append: "
                                   "run `ironwal recover` first", kind=OVERSIZED_FILE)
        if layout.index_ids is None:
            # Missing or unreadable: rebuilt from the segment names, as the crate does.
            atomic_write(index_path, encode_index(layout.segment_ids or [0]))
            layout = StreamListing.read(self.path)
        active = layout.active_id() or 0
        if active not in layout.index_ids and not (active == 0 and not layout.index_ids):
            # A segment created but not yet indexed (crash inside a rotation): index it now.
            append_synced(index_path, INDEX_ID.pack(active))
        seg_path = self.path / segment_name(active)
        known = self._verified_prefix(active, seg_path)
        if known is None:
            known = self._sealed_prefix(active)
            self._synced = known[0] if known is not None else -1  # a seal follows a sync
        self._active = active
        try:
            self._size, self._count, self._next = measure_active(seg_path, active, known)
        except DamagedTailError as err:
            if not err.incomplete:
                raise  # a torn final frame is the only damage the writer repairs itself
            self._cut_torn_tail(seg_path, err)
            self._size, self._count, self._next = measure_active(seg_path, active)
        self._index_size = os.stat(index_path).st_size
        self._index_empty = self._index_size == 0
        self._remember()

    def _cut_torn_tail(self, seg_path: Path, err: DamagedTailError) -> None:
        """Move an unacknowledged partial write to quarantine (undoable, as recover does) and say so."""
        from ..repair.tail import REASON, cut_torn_tail

        message = err.detail.split(";")[0]
        removed = os.path.getsize(seg_path) - err.offset
        run = cut_torn_tail(self.root, self.name, seg_path, err.offset, message)
        self.on_warning(f"{seg_path}: {REASON} ({message}): {removed} bytes from offset {err.offset} "
                        f"moved to {run} (ironwal recover --undo {run.name} puts them back)")

    def _open_active(self) -> int:
        """The active segment's descriptor, creating the file at the first write into it."""
        if self._fd is None:
            path = self.path / segment_name(self._active)
            try:
                self._fd = open_for_write(path, os.O_WRONLY | os.O_APPEND)
            except FileNotFoundError:
                self._fd = open_for_write(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                fsync_dir(self.path)  # a synced entry in a file whose name was never synced is no promise
            self._remember()
            self._wrote = True
        return self._fd

    def _reopen_active(self) -> int:
        """The active segment again, after a lock whose tail check just saw it unchanged."""
        try:
            self._fd = os.open(self._segment_name(), os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC,
                               dir_fd=self._dir_fd)
        except OSError:
            return self._open_active()  # names the file in its errors
        self._wrote = True
        return self._fd

    def _remember(self) -> None:
        try:
            st = os.fstat(self._fd) if self._fd is not None else os.stat(self.path / segment_name(self._active))
            self._stamp = (st.st_ino, st.st_size)
        except FileNotFoundError:
            self._stamp = None

    def _verified_prefix(self, active: int, path: Path) -> tuple[int, int, int] | None:
        """(size, entries, next id) already checked in ``active`` when only appends happened since.

        Same segment, same inode, not shorter: another writer appended, so only its frames
        need checking (the lock makes appends the only change a writer can make under us).
        """
        if self._stamp is None or active != self._active:
            return None
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        if st.st_ino != self._stamp[0] or st.st_size < self._size:
            return None
        return self._size, self._count, self._next

    def _sealed_prefix(self, active: int) -> tuple[int, int, int] | None:
        """(size, entries, next id) of the active segment from its seal, when its stat still matches:
        it was checked whole and synced when sealed, and nothing has written to it since."""
        records, _bad = read_seals(self.path)
        seal = matching(records, {active: segment_name(active)}, self.path).get(active)
        if seal is None:
            return None
        return seal.size, seal.end_id - seal.start_id, seal.end_id

    # ----- writing ----------------------------------------------------------------------

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

    def _write_failed(self, fd: int, err: OSError) -> None:
        """Disk full or similar: take a partial frame back out, leave the file as it was."""
        try:
            os.ftruncate(fd, self._size)
        except OSError:
            pass
        self._stamp = None
        if err.filename is None:  # os.write names no file: name the segment for the user
            err.filename = os.fspath(self.path / segment_name(self._active))

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
        if isinstance(entries, RawBatch):  # encoded as read (bulk append): one frame when it fits whole
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

    def _write_frame(self, entries: Sequence[bytes]) -> None:
        self._write_raw(encode_raw_batch(entries), len(entries))

    def _write_raw(self, raw: bytes, count: int) -> None:
        """One frame of ``count`` entries whose raw batch is ``raw`` (LZ4 when that is smaller)."""
        frame_type, payload = FRAME_RAW, raw
        if self.options.compress and len(raw) >= self.options.min_compress_size:
            packed = compression.compress(raw)
            if len(packed) < len(raw):
                frame_type, payload = FRAME_LZ4, packed
        header = encode_frame_header(self._next, count, frame_type, payload, len(raw))
        self._write_parts([header, payload], count)  # no copy of the payload into a frame

    def _write_parts(self, parts: list, count: int) -> None:
        """Write one frame given as buffers (header first) holding ``count`` entries, in one syscall."""
        fd = self._open_active()
        try:
            if crashpoints.ARMED:  # test-only torn writes (see crashpoints)
                frame = b"".join(parts)
                crashpoints.reached("frame-header", lambda: write_all(fd, frame[:HEADER_SIZE]))
                crashpoints.reached("frame-half", lambda: write_all(
                    fd, frame[:HEADER_SIZE + (len(frame) - HEADER_SIZE) // 2]))
            writev_all(fd, parts)
        except OSError as err:
            self._write_failed(fd, err)
            raise
        self._size += sum(map(len, parts))
        self._count += count
        self._next += count
        self._stamp = (self._stamp[0], self._size) if self._stamp else None
        if self._async:
            self._start_writeback(fd)

    def _start_writeback(self, fd: int) -> None:
        """Every WRITEBACK_STEP bytes of the active segment, start their writeback (a hint, no sync)."""
        active, done = self._writeback
        if active != self._active or done > self._size:  # another segment, or another writer's doing
            done = 0
        if self._size - done >= WRITEBACK_STEP:
            start_writeback(fd, done, self._size - done)
            done = self._size
        self._writeback = (self._active, done)

    def _rotate(self) -> None:
        """Start a new segment at the next id: sync the old one, index the new one, point head.state at it."""
        old = self._open_active()
        fsync_fd(old, data_only=True)  # fix 4: the segment left behind is synced
        if crashpoints.ARMED:
            crashpoints.reached("rotate-before-seal")
        self._seal(old)
        new = self._next
        new_path = self.path / segment_name(new)
        fd = open_for_write(new_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            fsync_dir(self.path)
            if crashpoints.ARMED:
                crashpoints.reached("rotate-before-index")
            index_add = INDEX_ID.pack(new)
            if self._index_empty:  # an empty index means "segment 0 only": keep that segment listed
                index_add = encode_index([self._active, new])
            append_synced(self.path / INDEX_NAME, index_add)
            if crashpoints.ARMED:
                crashpoints.reached("rotate-before-head")
            atomic_write(self.path / HEAD_STATE_NAME, encode_head_state(segment_name(new)))
        except BaseException:
            os.close(fd)  # never left open for writing: that would look like a foreign writer
            raise
        os.close(self._fd)
        self._fd = fd
        self._wrote = True
        self._active, self._size, self._count = new, 0, 0
        self._synced = -1
        self._index_size = os.stat(self.path / INDEX_NAME).st_size
        self._index_empty = False
        self._remember()
        self.rotations += 1

    def _seal(self, fd: int) -> None:
        """Record the active segment in seals.idx (one small append) so recover need not re-read it.

        Only after its fdatasync: a seal never describes data that was not durable. An error here
        (disk full) fails the append like any other write error, before the rotation goes on; the
        next attempt seals again (a duplicate record is harmless).
        """
        st = unambiguous_stat(fd)
        if st is not None:
            add_seal(self.path, seal_of(self._active, self._next, st))

    def _seal_active(self) -> None:
        """Seal the active segment, through our descriptor or, between locks, a read-only one."""
        if self._fd is not None:
            self._seal(self._fd)
            return
        fd = os.open(self._segment_name(), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=self._dir_fd)
        try:
            self._seal(fd)
        finally:
            os.close(fd)

    def _seal_on_close(self) -> None:
        """Seal the synced active segment, under the lock and only if no one appended since our
        last write; never waits for the lock and never fails the close (a seal is a cache)."""
        try:
            if not self._held:
                fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                if self._tail_unchanged():
                    self._seal_active()
            finally:
                if not self._held:
                    fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
        except OSError:
            pass


def _storage_error(err: BaseException) -> BaseException:
    """An OSError as the StorageError users see (one line naming the file); anything else as is."""
    if isinstance(err, OSError) and not isinstance(err, IronwalError):  # NotRegularFileError keeps its kind
        return StorageError.from_oserror(err)
    return err
