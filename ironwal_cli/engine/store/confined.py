"""Files of a root reached one component at a time, never through a symbolic link.

``recover --undo`` acts on paths that a manifest names, and a manifest lives outside the
root where anyone may edit it; a symbolic link may also be planted in the root after the
run. So a path is first checked as text (relative, no empty, ``.`` or ``..`` component, no
NUL), then reached by opening each directory relative to the one before it with
``O_NOFOLLOW`` (``openat``), and the last component is read, replaced or removed relative to
that directory. Neither a ``..`` nor a link at any component, planted before or during the
undo, can lead a read or a write outside the root: a link is seen as a link, never followed.

``FileState`` is what undo must put back exactly: a regular file's bytes and mode, or a
link's target.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass

from ...fdio import write_all
from .files import TEMP_SUFFIX, fsync_fd

FILE = "file"
SYMLINK = "symlink"


class OutsideRootError(ValueError):
    """A path that is not plainly inside the root, or that a symbolic link or non-directory interrupts."""


def check_relative(path: object) -> list[str]:
    """The components of ``path``, refused unless it is a plain relative path below the root."""
    if not isinstance(path, str) or not path:
        raise OutsideRootError(f"{path!r}: not a path relative to the root")
    if "\0" in path or path.startswith("/"):
        raise OutsideRootError(f"{path!r}: an absolute path or a NUL byte; only paths inside the root are undone")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise OutsideRootError(f"{path!r}: an empty, '.' or '..' component; only paths inside the root are undone")
    return parts


def check_name(name: object) -> str:
    """A single file name (a blob of the run folder): no separator, not ``.`` or ``..``."""
    parts = check_relative(name)
    if len(parts) != 1:
        raise OutsideRootError(f"{name!r}: not a file name of the run folder")
    return parts[0]


@dataclass(frozen=True)
class FileState:
    """A regular file (``data``, ``mode``) or a symbolic link (``target``), as found or to be made."""

    kind: str
    mode: int | None = None
    data: bytes | None = None
    target: str | None = None

    def record(self) -> dict:
        """The manifest's form: ``{"size", "sha256"}`` of a file, ``{"link": target}`` of a link."""
        if self.kind == SYMLINK:
            return {"link": self.target}
        return {"size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest()}

    def matches(self, recorded: dict | None) -> bool:
        """The same kind and content (bytes, or link target) as ``recorded``; the mode is not compared.

        A recorded link may also carry the size and sha256 of what it led to (recover read
        through it); only its target counts.
        """
        if recorded is None:
            return False
        if self.kind == SYMLINK:
            return recorded.get("link") == self.target
        mine = self.record()
        return "link" not in recorded and all(recorded.get(k) == mine[k] for k in ("size", "sha256"))


class ConfinedRoot:
    """The root directory, held open; every path below it reached with ``openat`` and ``O_NOFOLLOW``."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> ConfinedRoot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _parent(self, path: str) -> tuple[int, str]:
        """(an open fd of the directory holding ``path``'s last component, that component)."""
        parts = check_relative(path)
        return self._open_dir(parts[:-1], path), parts[-1]

    def is_dir(self, path: str) -> bool:
        """``path`` is a directory reached through no link (False: absent); OutsideRootError for a link."""
        try:
            os.close(self._open_dir(check_relative(path), path))
        except FileNotFoundError:
            return False
        return True

    def _open_dir(self, parts: list[str], path: str) -> int:
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as err:
                    if err.errno in (errno.ELOOP, errno.ENOTDIR):
                        where = "/".join(parts[:i + 1])
                        raise OutsideRootError(f"{where}: a symbolic link or not a directory, on the way to {path}") \
                            from None
                    raise
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def state(self, path: str) -> FileState | None:
        """What ``path`` is now (None: absent, also when a directory on the way is absent).

        Raises OutsideRootError for something undo never makes: a directory, a FIFO, a device.
        """
        try:
            dir_fd, name = self._parent(path)
        except FileNotFoundError:
            return None
        try:
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return None
            if stat.S_ISLNK(st.st_mode):
                return FileState(SYMLINK, target=os.readlink(name, dir_fd=dir_fd))
            if not stat.S_ISREG(st.st_mode):
                raise OutsideRootError(f"{path}: not a regular file or a symbolic link")
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise OutsideRootError(f"{path}: not a regular file or a symbolic link")
                with os.fdopen(os.dup(fd), "rb") as f:
                    data = f.read()
            finally:
                os.close(fd)
            return FileState(FILE, mode=stat.S_IMODE(st.st_mode), data=data)
        finally:
            os.close(dir_fd)

    def put(self, path: str, state: FileState) -> None:
        """Make ``path`` exactly ``state``: a temp beside it, fsync, rename over it, fsync of the directory."""
        dir_fd, name = self._parent(path)
        tmp = name + TEMP_SUFFIX
        try:
            _unlink_quietly(tmp, dir_fd)
            if state.kind == SYMLINK:
                os.symlink(state.target, tmp, dir_fd=dir_fd)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
                try:
                    write_all(fd, state.data)
                    os.fchmod(fd, state.mode if state.mode is not None else 0o644)
                    fsync_fd(fd)
                finally:
                    os.close(fd)
            try:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                _unlink_quietly(tmp, dir_fd)
                raise
            fsync_fd(dir_fd)
        finally:
            os.close(dir_fd)

    def remove(self, path: str) -> None:
        """Remove ``path`` (a file or a link, never what a link points to), then fsync its directory."""
        try:
            dir_fd, name = self._parent(path)
        except FileNotFoundError:
            return
        try:
            _unlink_quietly(name, dir_fd)
            fsync_fd(dir_fd)
        finally:
            os.close(dir_fd)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def read_name(directory: str | os.PathLike, name: str) -> bytes | None:
    """A plain file of ``directory`` (a run folder's blob), not through a link; None when absent or not a file."""
    try:
        fd = os.open(os.path.join(directory, check_name(name)), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ELOOP):
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read()
    finally:
        os.close(fd)
