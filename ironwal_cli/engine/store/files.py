"""Durable file operations: atomic replacement and directory fsync.

Every file the tool replaces goes through ``atomic_write``: a temp file beside it, fsync,
rename, fsync of the directory, so a crash leaves either the old or the new content.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ...errors import FormatError, StorageError
from ...fdio import write_all
from ...spec.native import c_twin
from .. import seams

TEMP_SUFFIX = ".tmp"

NOT_REGULAR_FILE = "not_regular_file"  # the problem kind verify reports for such a file


class NotRegularFileError(FormatError, OSError):
    """A FIFO, socket, device, directory or symbolic link where a WAL file should be.

    Never opened for reading (a FIFO would block the reader for ever, a device could be
    endless), and reported as what it is. An ``OSError`` too, so code that treats an
    unreadable file as "nothing there" (seals.idx, a cache) still does.
    """

    def __init__(self, path: str | os.PathLike, what: str):
        super().__init__(path, None, f"is {what}, not a regular file (ironwal reads only regular files "
                         "and follows no symbolic link inside a root)", kind=NOT_REGULAR_FILE)
        self.what = what


_TYPE_NAMES = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def file_type_name(mode: int) -> str:
    """'a FIFO (named pipe)', 'a directory'...: what a file that is not regular is."""
    return next((name for test, name in _TYPE_NAMES if test(mode)), "not a regular file")


_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def open_regular(path: str | os.PathLike, *, follow_links: bool = False) -> int:
    """A read-only descriptor of ``path``, which must be a regular file: the one way every reader opens
    a file of a root. FileNotFoundError when it is absent; NotRegularFileError (nothing opened, so a
    FIFO cannot block and a device cannot be touched) when it is a FIFO, socket, device, directory or,
    unless ``follow_links``, a symbolic link. The type is checked by ``lstat`` before the open and by
    ``fstat`` after it (O_NONBLOCK, O_NOFOLLOW), so a file swapped in between is caught too."""
    st = os.stat(path) if follow_links else os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(path, file_type_name(st.st_mode))
    try:
        fd = os.open(path, _READ_FLAGS | (0 if follow_links else os.O_NOFOLLOW))
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):  # swapped for a link, socket, directory
            raise NotRegularFileError(path, file_type_name(os.lstat(path).st_mode)) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFileError(path, file_type_name(mode))
    return fd


def open_for_write(path: str | os.PathLike, flags: int, mode: int = 0o644) -> int:
    """``os.open`` with O_NOFOLLOW: a symbolic link planted in a root never redirects a write, and
    (O_NONBLOCK, then fstat) a FIFO or device planted there is refused instead of blocking or written."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, mode)
    except OSError as err:
        if err.errno == errno.ENXIO:  # a FIFO without a reader, or a socket
            raise StorageError(f"{os.fspath(path)}: is {file_type_name(os.lstat(path).st_mode)}, not a regular "
                               "file; refusing to write to it") from None
        if err.errno != errno.ELOOP:
            raise
        raise StorageError(f"{os.fspath(path)}: is a symbolic link; refusing to write through it") from None
    st_mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(st_mode):
        os.close(fd)
        raise StorageError(f"{os.fspath(path)}: is {file_type_name(st_mode)}, not a regular file; refusing to "
                           "write to it")
    return fd


def fsync_fd(fd: int, data_only: bool = False) -> None:
    (os.fdatasync if data_only else os.fsync)(fd)
    seams.synced(fd)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the OS to start writing ``length`` bytes of ``fd`` from ``offset`` back to the disk, and
    not wait: the fdatasync that follows (an async writer's rotation) then has little left to wait
    for. A hint that makes nothing durable and never fails: the C twin (``_walk.c``) calls
    ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which Python's ``os`` lacks; this one does nothing."""


start_writeback_python = start_writeback  # kept by name for the property test (also native.TWINS)
start_writeback = c_twin(start_writeback)


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsync_fd(fd)
    finally:
        os.close(fd)


def make_dirs(path: str | os.PathLike) -> bool:
    """Create directory ``path`` and every missing parent, each durably: the parent of every
    directory made here is fsync'd right after, so no new name (root, stream, shard, quarantine
    run) can vanish in a power cut after the ids written below it were acknowledged. True when
    ``path`` did not exist."""
    path = Path(path)
    missing = []
    while not os.path.lexists(path):  # stop at anything there: a file in the way fails the mkdir below it
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            if not directory.is_dir():
                raise
        fsync_dir(directory.parent)  # also when another process made it: its fsync may not have run yet
    return bool(missing)


def truncate_synced(path: str | os.PathLike, size: int) -> None:
    """Cut ``path`` to its first ``size`` bytes, durably, never in place: the prefix is copied to
    ``<name>.tmp`` (a few MiB at a time) and renamed over it, as ``atomic_write`` replaces a file.

    Why not ``ftruncate``: readers memory-map segments, and a process whose map reaches past a new
    end dies of SIGBUS when it touches it (``tail -f`` did, when ``append`` cut a torn tail); a
    replaced file leaves every open map valid on the old inode. And a file with other hard links
    keeps every byte under its other names (maybe outside the root). Repairs are rare; the copy
    of at most one segment is their price.
    """
    src = open_regular(path)
    try:
        _replace(path, lambda dst: _copy_prefix(src, dst, size, path))
    finally:
        os.close(src)


def _copy_prefix(src: int, dst: int, size: int, path) -> None:
    copied = 0
    while copied < size:
        part = os.pread(src, min(size - copied, 8 << 20), copied)
        if not part:
            raise StorageError(f"{os.fspath(path)}: shrank to {copied} bytes while being cut to {size}")
        write_all(dst, part)
        copied += len(part)


def _read_prefix(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes from the start of ``fd`` (fewer when the file shrinks meanwhile)."""
    parts, got = [], 0
    while got < size:
        part = os.pread(fd, size - got, got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp, fsync, rename, fsync of the directory.

    A failure at any step before the rename is done removes the temp file: a failed
    replacement leaves the old file as it was and nothing beside it (only a crash can leave
    a temp, which the next replacement overwrites and recover removes).
    """
    _replace(path, lambda fd: write_all(fd, data))


def _replace(path: str | os.PathLike, fill: Callable[[int], None]) -> None:
    """``fill`` a temp file beside ``path``, fsync it, rename it over ``path``, fsync the directory."""
    path = Path(path)
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    fd = open_for_write(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        fill(fd)
        fsync_fd(fd)
    except BaseException as err:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        _name(err, path)
        raise
    os.close(fd)
    if seams.ARMED:
        seams.reached("atomic-before-rename")
    try:
        os.replace(tmp, path)
    except BaseException:  # a directory where the file should be, a read-only dir...: no temp left behind
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_synced(path: str | os.PathLike, data: bytes) -> None:
    """Append ``data`` to ``path`` (created if absent) and fsync it."""
    fd = open_for_write(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        try:
            write_all(fd, data)
        except OSError as err:
            os.ftruncate(fd, size)  # disk full midway: leave no half-written record behind
            _name(err, path)
            raise
        fsync_fd(fd)
    finally:
        os.close(fd)


def _name(err: BaseException, path: str | os.PathLike) -> None:
    """os.write and fsync name no file: name the one being written, so the user's error line does."""
    if isinstance(err, OSError) and err.filename is None:
        err.filename = os.fspath(path)


def read_file(path: str | os.PathLike) -> bytes | None:
    """The whole file, or None when it does not exist (a symbolic link is followed: for files of
    ironwal's own, such as a quarantine's blobs; the small files of a root go through ``read_small``).
    NotRegularFileError for a FIFO, device or directory."""
    try:
        fd = open_regular(path, follow_links=True)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read()


class SmallFile(NamedTuple):
    """The first bytes of a small file, and its whole size: ``size > len(data)`` when it held more
    than it sensibly can (the rest is never read)."""

    data: bytes
    size: int

    @property
    def oversized(self) -> bool:
        return self.size > len(self.data)

    def excess(self, what: str) -> str:
        return (f"{self.size} bytes, more than the {len(self.data)} {what} can sensibly hold; "
                "only those were read")


def read_small(path: str | os.PathLike, limit: int) -> SmallFile | None:
    """At most ``limit`` bytes of the regular file ``path`` (never a link), or None when it does not
    exist: a planted 1 GiB (sparse) index or head.state costs ``limit`` bytes, not 1 GiB.
    NotRegularFileError for a FIFO, socket, device, directory or symbolic link."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        data = _read_prefix(fd, min(size, limit))
        return SmallFile(data, max(size, len(data)))
    finally:
        os.close(fd)
