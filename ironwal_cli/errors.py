"""The package's exceptions. Each carries the exit code the CLI maps it to (one table: here)."""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # nothing found, or problems found (verify)
EXIT_USAGE = 2
EXIT_DAMAGED = 3  # damaged data refused
EXIT_LOCK_TIMEOUT = 4  # busy: a lock timeout, or a foreign writer holds the stream open
EXIT_BUSY = EXIT_LOCK_TIMEOUT
EXIT_IO = 5


class IronwalError(Exception):
    """Base of every error the package raises on purpose; ``str()`` is the one-line message."""

    exit_code = EXIT_IO


class UsageError(IronwalError, ValueError):
    """A bad argument: a stream key, an id, an option value."""

    exit_code = EXIT_USAGE


class NotFoundError(IronwalError, LookupError):
    """The entry, stream or checkpoint asked for does not exist."""

    exit_code = EXIT_NOT_FOUND


class FormatError(IronwalError):
    """Damaged or unexpected bytes on disk, located by file and byte offset."""

    exit_code = EXIT_DAMAGED

    def __init__(self, path: str | os.PathLike, offset: int | None, message: str, kind: str = "damaged"):
        self.path = os.fspath(path)
        self.offset = offset
        self.kind = kind
        self.detail = message
        where = self.path if offset is None else f"{self.path} at offset {offset}"
        super().__init__(f"{where}: {message}")


class DamagedTailError(FormatError):
    """The active segment ends in a torn or bad frame: writing after it would bury data."""


class GapError(FormatError):
    """Ids are missing between two frames or segments (a reader never skips them silently)."""

    def __init__(self, path, offset, expected: int, found: int):
        self.expected, self.found = expected, found
        super().__init__(path, offset, f"gap in ids: expected {expected}, next data starts at {found}"
                         f" (ids {expected}..{found - 1} missing)", kind="id_gap")


class LockTimeoutError(IronwalError):
    exit_code = EXIT_LOCK_TIMEOUT


class ForeignWriterError(IronwalError):
    """A process that is not an ironwal writer (a live IronWal application) holds the stream's
    files open: writing behind it would duplicate the ids it keeps in memory (``--force`` overrides)."""

    exit_code = EXIT_BUSY


class StorageError(IronwalError, OSError):
    """An operating-system error (disk full, permission denied, read-only...), with the path."""

    exit_code = EXIT_IO

    @classmethod
    def from_oserror(cls, err: OSError, action: str = "") -> StorageError:
        name = err.filename if err.filename is not None else ""
        where = f"{action} {name}".strip()
        reason = err.strerror or str(err)
        new = cls(f"{where}: {reason}" if where else reason)
        new.errno = err.errno
        return new
