"""The package's exceptions. Each carries the exit code the CLI maps it to (one table: here)."""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # nothing found, or problems found (verify)
EXIT_USAGE = 2
EXIT_DAMAGED = 3  # damaged data refused
EXIT_LOCK_TIMEOUT = 4
EXIT_IO = 5
EXIT_REFUSED = 7  # refused, not damaged (the table h6-cli brings; the same code)


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


class RefusedError(IronwalError):
    """A well-formed request refused because of what is on disk, not because it is damaged."""

    exit_code = EXIT_REFUSED


class UnexpectedIdError(RefusedError):
    """A write that names the id it must get (``append --expect-ids``, ``copy``) found another next id."""

    def __init__(self, path: str | os.PathLike, expected: int, next_id: int):
        self.expected, self.next_id = expected, next_id
        super().__init__(f"{os.fspath(path)}: the next id is {next_id}, not {expected}")


class LockTimeoutError(IronwalError):
    exit_code = EXIT_LOCK_TIMEOUT


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
