"""The writer's hold on a stream: its flock, the directory it made, and who else may be writing.

A ``StreamWriter`` takes the stream's flock for each write (or once, with ``hold_lock``) and
brings the tail state up to date under it (``tail_state.py``). This room owns what happens around
that: opening (and for a new stream making) the stream directory, removing it again when its
first ``segments.idx`` could not be written (a stream without an index would be a phantom for
ever), noticing that the directory we locked was removed under us, and refusing a foreign writer
(``engine/store/foreign_writers.py``) with a read-only probe kept open across locks, so the usual
check is two fcntl calls. A mixin of ``StreamWriter``: it owns ``_dir_fd``, ``_held`` and
``_probe``, and reads ``path``, ``root``, ``name`` and ``options``.
"""

from __future__ import annotations

import fcntl
import os

from ...errors import IronwalError, StorageError, UsageError
from ...spec.codec import encode_index
from ..store.files import atomic_write, fsync_dir, make_dirs
from ..store.foreign_writers import lease_conflicts, open_probe, refuse_foreign_writers
from ..store.locks import acquire
from ..store.names import INDEX_NAME
from ..store.roots import refuse_foreign_root, require_root


def storage_error(err: BaseException) -> BaseException:
    """An OSError as the StorageError users see (one line naming the file); anything else as is."""
    if isinstance(err, OSError) and not isinstance(err, IronwalError):  # NotRegularFileError keeps its kind
        return StorageError.from_oserror(err)
    return err


class LockSession:
    """Taking and giving back the stream's flock, for ``StreamWriter``."""

    _dir_fd: int | None  # the stream directory, opened once; its flock is the writer lock
    _held: bool  # hold_lock: the lock is ours and the tail state is current
    _probe: tuple[int, str, int] | None  # (read-only fd, name, inode) of the segment leases are taken on

    class _Lock:
        def __init__(self, writer: LockSession, create: bool, write: bool):
            self.writer, self.create, self.write = writer, create, write

        def __enter__(self) -> bool:
            w = self.writer
            try:
                return w._acquire(self.create, self.write)
            except BaseException as err:
                # A refused tail (damage, I/O error) must not keep the lock: recover needs it.
                w._release(failed=True)
                raise storage_error(err) from None

        def __exit__(self, exc_type, exc, tb):
            self.writer._release(failed=exc is not None)
            if exc is not None and storage_error(exc) is not exc:
                raise storage_error(exc) from None
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

    def _locked(self, create: bool = True, write: bool = True) -> LockSession._Lock:
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

