"""Durable file operations: atomic replacement and directory fsync.

Every file the tool replaces goes through ``atomic_write``: a temp file beside it, fsync,
rename, fsync of the directory, so a crash leaves either the old or the new content.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import StorageError
from . import crashpoints

TEMP_SUFFIX = ".tmp"

# A test hook: tests of power cuts record every sync through it.
sync_hook = None


def open_for_write(path: str | os.PathLike, flags: int, mode: int = 0o644) -> int:
    """``os.open`` with O_NOFOLLOW: a symbolic link planted in a root never redirects a write."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        raise StorageError(f"{os.fspath(path)}: is a symbolic link; refusing to write through it") from None


def fsync_fd(fd: int, data_only: bool = False) -> None:
    (os.fdatasync if data_only else os.fsync)(fd)
    if sync_hook is not None:
        sync_hook(fd)


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


def write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


SMALL_WRITE = 16 * 1024  # below it, joining the parts costs less than writev's iovec setup


def writev_all(fd: int, parts: list) -> None:
    """Write the buffers of ``parts`` in order, in one syscall when the OS takes them all at once."""
    size = sum(map(len, parts))
    if size <= SMALL_WRITE:
        data = b"".join(parts)
        written = os.write(fd, data)
    else:
        data = None
        written = os.writev(fd, parts)
    if written < size:
        write_all(fd, memoryview(data if data is not None else b"".join(parts))[written:])


def truncate_synced(path: str | os.PathLike, size: int) -> None:
    """Cut ``path`` to ``size`` bytes in place, durably: a file that only loses its tail."""
    fd = open_for_write(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        fsync_fd(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp, fsync, rename, fsync of the directory.

    A failure at any step before the rename is done removes the temp file: a failed
    replacement leaves the old file as it was and nothing beside it (only a crash can leave
    a temp, which the next replacement overwrites and recover removes).
    """
    path = Path(path)
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    fd = open_for_write(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        write_all(fd, data)
        fsync_fd(fd)
    except BaseException as err:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        _name(err, path)
        raise
    os.close(fd)
    if crashpoints.ARMED:
        crashpoints.reached("atomic-before-rename")
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
    """The whole file, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
