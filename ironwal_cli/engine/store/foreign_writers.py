"""Refusing to write behind a process that is not an ironwal writer: a live IronWal application.

The crate takes no lock and keeps each stream's next id in memory, so anything written behind a
running application ends in duplicate ids. What it holds open, seen with the real crate
(``tests/interop/test_crate_as_foreign_writer.py``): a ``Wal`` keeps the active segment of every stream it
has appended to open for writing (O_WRONLY|O_APPEND), and after opening an existing root it
keeps every stream's ``segments.idx`` open for reading; a ``ShardedWal`` keeps
``checkpoints.log`` open for writing for as long as it lives.

**Telling an ironwal writer from a foreign one.** An ironwal process holds a stream's files open
for writing only while it holds the stream's flock (``engine/store/locks.py``): the writer closes its
segment before it lets the lock go, recover and prune open files only under it. So, once the
caller holds the flock, any other process holding the segment open for writing is foreign,
whoever it is; ironwal writers never meet here, they wait for each other at the flock.

**How it is seen, cheaply.** A read lease (``F_SETLEASE, F_RDLCK`` on a read-only descriptor) is
refused with EAGAIN while any process holds the file open for writing, and granted otherwise:
three fcntl calls and an open, no walk of other processes. It is released at once, so a
process that opens the file meanwhile waits only microseconds (the kernel holds its open until
the lease goes). The lease's break signal is set to SIGURG, ignored by default: the default,
SIGIO, would kill this process if someone opened the file inside that window. Only when the
lease is refused are ``/proc/PID/fd`` and ``fdinfo`` read, to name who holds the file; where
leases are not available (EINVAL on file systems without them or with them disabled, EACCES on
a file this user does not own) that walk decides alone. With neither (not Linux) nothing is
checked: a gap README and ironwal(1) state.

**What is not seen by a lease.** The ``segments.idx`` a crate ``Wal`` holds for reading: a read
lease cannot see readers, and a write lease would make every reader's non-blocking open fail
while it is held. ``index_holders`` finds them by the /proc walk (a few ms), which recover,
prune and checkpoint afford once per command and a single append does not.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ...errors import ForeignWriterError

_SETLEASE = getattr(fcntl, "F_SETLEASE", None)
_SETSIG = getattr(fcntl, "F_SETSIG", None)
_BREAK_SIGNAL = int(getattr(signal, "SIGURG", 0))
_NO_LEASE = frozenset({errno.EINVAL, errno.EACCES, errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP})
PROC = "/proc"
CONFIRM_DELAY = 0.005  # seconds between two looks before a holder counts (a file opened for a moment)
COMMAND_WIDTH = 80


class Holder(NamedTuple):
    """A process holding a file open: who, for the error message."""

    pid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.command})"


def open_probe(path: str | os.PathLike, dir_fd: int | None = None) -> int | None:
    """A read-only descriptor of ``path`` to take leases on (break signal: SIGURG), or None when
    it cannot be opened (missing, a symbolic link, unreadable: ``lease_says_open_for_writing``
    then tells which)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    if _SETSIG is not None:
        try:
            fcntl.fcntl(fd, _SETSIG, _BREAK_SIGNAL)
        except OSError:
            pass
    return fd


def lease_conflicts(fd: int) -> bool | None:
    """True: some process holds the file of ``fd`` (from ``open_probe``) open for writing; False:
    none does; None: this file system or OS grants no leases."""
    if _SETLEASE is None:
        return None
    try:
        fcntl.fcntl(fd, _SETLEASE, fcntl.F_RDLCK)
    except OSError as err:
        if err.errno == errno.EAGAIN:
            return True
        if err.errno in _NO_LEASE:
            return None
        raise
    fcntl.fcntl(fd, _SETLEASE, fcntl.F_UNLCK)  # at once: an open for writing meanwhile waits for this
    return False


def lease_says_open_for_writing(path: str | os.PathLike) -> bool | None:
    """True: some process holds ``path`` open for writing; False: none does (or there is no such
    file); None: no lease to be had here, ask ``holders`` instead."""
    fd = open_probe(path)
    if fd is None:
        try:
            os.lstat(path)
        except FileNotFoundError:
            return False
        except OSError:
            pass
        return None  # a symbolic link, unreadable, someone else's lease...: the /proc walk decides
    try:
        return lease_conflicts(fd)
    finally:
        os.close(fd)


def holders(paths: Iterable[str | os.PathLike], writing: bool) -> dict[str, list[Holder]] | None:
    """Per path, the other processes holding it open (``writing``: open for writing only), from
    ``/proc/PID/fd`` and ``fdinfo``; None where there is no /proc to read.

    Processes this user may not look into are not listed (their fd directories are unreadable).
    """
    targets: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        targets[(st.st_dev, st.st_ino)] = os.fspath(path)
    found: dict[str, list[Holder]] = {}
    if not targets:
        return found
    names = {os.path.basename(p) for p in targets.values()}
    try:
        pids = [e.name for e in os.scandir(PROC) if e.name.isdigit()]
    except OSError:
        return None
    me = str(os.getpid())
    for pid in pids:
        if pid == me:
            continue
        for path, fd in _matching_fds(pid, targets, names):
            if writing and not _open_for_writing(pid, fd):
                continue
            holder = Holder(int(pid), _command(pid))
            if holder not in found.setdefault(path, []):
                found[path].append(holder)
    return found


def _matching_fds(pid: str, targets: dict[tuple[int, int], str], names: set[str]) -> list[tuple[str, str]]:
    """(path, fd) for each descriptor of ``pid`` open on one of ``targets``: the link text is
    compared first (cheap), the inode then decides."""
    try:
        dfd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    matches = []
    try:
        for fd in os.listdir(dfd):
            try:
                link = os.readlink(fd, dir_fd=dfd)
                if os.path.basename(link.removesuffix(" (deleted)")) not in names:
                    continue
                st = os.stat(fd, dir_fd=dfd)
            except OSError:
                continue
            path = targets.get((st.st_dev, st.st_ino))
            if path is not None:
                matches.append((path, fd))
    except OSError:
        pass
    finally:
        os.close(dfd)
    return matches


def _open_for_writing(pid: str, fd: str) -> bool:
    try:
        with open(f"{PROC}/{pid}/fdinfo/{fd}", "rb") as f:
            info = f.read(4096)
    except OSError:
        return False
    for line in info.splitlines():
        if line.startswith(b"flags:"):
            return int(line.split()[1], 8) & os.O_ACCMODE != os.O_RDONLY
    return False


def _command(pid: str) -> str:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read(4096)
        if not raw:
            with open(f"{PROC}/{pid}/comm", "rb") as f:
                raw = f.read(256).strip()
    except OSError:
        return "?"
    text = raw.rstrip(b"\0").decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())  # one line, whatever it holds
    return text if len(text) <= COMMAND_WIDTH else text[:COMMAND_WIDTH - 3] + "..."


def refuse_foreign_writers(paths: Iterable[str | os.PathLike], action: str) -> None:
    """Raise ForeignWriterError when another process holds one of ``paths`` open for writing.

    The caller holds the stream's flock, and has none of ``paths`` open for writing itself.
    ``action`` says what was refused ("append to", "prune"...).
    """
    for path in paths:
        verdict = lease_says_open_for_writing(path)
        if verdict is False:
            continue
        if verdict:  # held for writing: by something long-lived, or by a process passing by?
            time.sleep(CONFIRM_DELAY)
            if lease_says_open_for_writing(path) is False:
                continue
        found = holders([path], writing=True)
        who = (found or {}).get(os.fspath(path), [])
        if verdict is None and not who:
            continue  # no lease here: the walk is the whole check, and it saw no one
        if not who and _self_writes(path):
            raise ForeignWriterError(f"{os.fspath(path)} is open for writing in this very process (pid "
                                     f"{os.getpid()}), outside its ironwal writers (a descriptor left open?); "
                                     f"refusing to {action}. Close it, or pass --force (dangerous)")
        raise ForeignWriterError(_message(path, "open for writing", who, action))


def _self_writes(path: str | os.PathLike) -> bool:
    """Whether this process itself holds ``path`` open for writing (the walk leaves it out)."""
    try:
        target = os.stat(path)
        fds = os.listdir(f"{PROC}/self/fd")
    except OSError:
        return False
    me = str(os.getpid())
    for fd in fds:
        try:
            st = os.stat(f"{PROC}/self/fd/{fd}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino) and _open_for_writing(me, fd):
            return True
    return False


def refuse_index_holders(paths: Iterable[str | os.PathLike], action: str) -> None:
    """Raise ForeignWriterError when another process keeps one of ``paths`` (``segments.idx``
    files) open: a crate ``Wal`` that opened the root holds every stream's index for as long as
    it lives, even before its first append. Two looks a moment apart, so an ironwal reader
    reading the file just then is not taken for one."""
    paths = [os.fspath(p) for p in paths]
    first = holders(paths, writing=False)
    if not first:
        return
    time.sleep(CONFIRM_DELAY)
    second = holders(list(first), writing=False) or {}
    for path, who in first.items():
        still = [h for h in second.get(path, []) if h in who]
        if still:
            raise ForeignWriterError(_message(path, "held open", still, action))


def _message(path: str | os.PathLike, how: str, who: list[Holder], action: str) -> str:
    by = ", ".join(map(str, who)) if who else "a process this user cannot see"
    return (f"{os.fspath(path)} is {how} by {by}, not an ironwal writer (a running IronWal application?); "
            f"refusing to {action}: it keeps its next ids in memory, so ids would be given twice. "
            "Stop it first, or pass --force (dangerous)")


def segment_paths(directory: str | os.PathLike) -> list[Path]:
    """Every segment file of a stream directory (what recover and prune may change)."""
    from .names import parse_segment_name

    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [Path(directory) / n for n in sorted(names) if parse_segment_name(n) is not None]
