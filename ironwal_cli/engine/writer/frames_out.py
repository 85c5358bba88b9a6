"""The writer's output: frames into the active segment, rotation to the next, seals of the old.

A frame is written as buffers (header, payload) in one syscall; a write that fails (disk full)
is taken back out with ftruncate, so the file is as it was. Rotation syncs the segment left behind
(fix 4 of ``writer.py``), seals it (``seals.idx``), then creates, indexes and points
``head.state`` at the next one, in the crate's order (the crash points name each step). A seal
only ever follows an fdatasync. A mixin of ``StreamWriter``: it opens and closes ``_fd``, and moves
the tail state (``tail_state.py``) past what it wrote.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence

from ...fdio import write_all, writev_all
from ...spec.codec import (
    FRAME_LZ4,
    FRAME_RAW,
    HEADER_SIZE,
    INDEX_ID,
    encode_frame_header,
    encode_head_state,
    encode_index,
    encode_raw_batch,
)
from .. import seams as crashpoints  # the writer uses the crash points of the test seams
from ..frames import compression
from ..store.files import append_synced, atomic_write, fsync_dir, fsync_fd, open_for_write, start_writeback
from ..store.names import HEAD_STATE_NAME, INDEX_NAME, segment_name
from ..store.seals import add_seal, seal_of, unambiguous_stat

# Async mode: each time this much more of the active segment is written, the OS is asked to start
# writing it to the disk (files.start_writeback), so the fdatasync of a rotation (fix 4) finds only
# the last few MiB to wait for, not 64 (~40 ms here), while the bulk append goes on writing.
WRITEBACK_STEP = 4 * 1024 * 1024


class FramesOut:
    """Writing frames, rotating and sealing, for ``StreamWriter``."""

    _fd: int | None  # the active segment, open for writing only under the lock
    _wrote: bool  # something was written into the active segment since the tail was read
    rotations: int  # segments started by this writer
    _async: bool  # async mode: writeback of the active segment started every WRITEBACK_STEP
    _writeback: tuple[int, int]  # (active segment, bytes of it already handed to start_writeback)

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


    def _write_failed(self, fd: int, err: OSError) -> None:
        """Disk full or similar: take a partial frame back out, leave the file as it was."""
        try:
            os.ftruncate(fd, self._size)
        except OSError:
            pass
        self._stamp = None
        if err.filename is None:  # os.write names no file: name the segment for the user
            err.filename = os.fspath(self.path / segment_name(self._active))


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
        """Write one frame given as buffers (header first) holding ``count`` entries, in one syscall.

        Between locks the active segment is closed; when the lock's tail check saw it unchanged (a
        stamp) it is opened again by name in the locked directory, as a single append does (a
        whole path and an fstat cost more than an LZ4 batch's compression)."""
        fd = self._fd
        if fd is None:
            checked = self._size and self._stamp and self._dir_fd is not None
            fd = self._reopen_active() if checked else self._open_active()
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
