"""The package's exceptions. Each carries the exit code the CLI maps it to (one table: here).

README's "Output formats and exit codes" and ironwal(1) EXIT STATUS print this table, and
tests/cli/test_exit_table.py walks it for every command. "Not found" and "problems found"
are different codes so that ``ironwal recover -n STREAM && echo clean`` (or ``verify``)
never mistakes a misspelt stream for a stream that needs repairs.
"""

from __future__ import annotations

import os

EXIT_OK = 0
EXIT_PROBLEMS = 1  # the check's answer is no: verify found problems, recover -n found repairs to make
EXIT_USAGE = 2
EXIT_DAMAGED = 3  # damaged data refused
EXIT_BUSY = 4  # lock timeout, or a process that is not ironwal has the segment open for writing
EXIT_LOCK_TIMEOUT = EXIT_BUSY  # the older name, kept for callers
EXIT_IO = 5
EXIT_NOT_FOUND = 6  # no such root, stream, entry, checkpoint, file or run (or no IronWal data there)
EXIT_REFUSED = 7  # refused, not damaged: a directory of other files, an undo of a root changed since
EXIT_INTERNAL = 70  # a bug in ironwal (sysexits EX_SOFTWARE); IRONWAL_DEBUG=1 shows the traceback

DEBUG_ENV = "IRONWAL_DEBUG"  # set to 1: an internal error prints its traceback too
# Where the internal-error line sends people (README "Reporting bugs" says what to include).
BUG_REPORT = "the project's issue tracker (README.md, 'Reporting bugs')"


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

    incomplete = False  # the damage is a write cut short at the end (the scanner's Problem.incomplete)


class GapError(FormatError):
    """Ids are missing between two frames or segments (a reader never skips them silently)."""

    def __init__(self, path, offset, expected: int, found: int):
        self.expected, self.found = expected, found
        super().__init__(path, offset, f"gap in ids: expected {expected}, next data starts at {found}"
                         f" (ids {expected}..{found - 1} missing)", kind="id_gap")


class RefusedError(IronwalError):
    """A well-formed request refused because of what is on disk, not because it is damaged:
    writing a stream into a directory that holds other files than an IronWal root's."""

    exit_code = EXIT_REFUSED


class UndoRefusedError(RefusedError, FormatError):
    """``recover --undo`` refused, nothing changed: a file changed since the run, or its saved bytes
    are not what the manifest says. A refusal (exit 7), not damage of the WAL; it stays a
    FormatError (path, kind ``undo_refused``) for callers that caught it as one."""


class UnexpectedIdError(RefusedError):
    """A write that names the id it must get (``append --expect-ids``, ``copy``) found another next id."""

    def __init__(self, path: str | os.PathLike, expected: int, next_id: int):
        self.expected, self.next_id = expected, next_id
        super().__init__(f"{os.fspath(path)}: the next id is {next_id}, not {expected}")


class LockTimeoutError(IronwalError):
    """Busy: another writer held the stream's lock for longer than the lock timeout."""

    exit_code = EXIT_BUSY


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
