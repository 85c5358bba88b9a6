"""Exclusive advisory locks between ironwal processes (the crate takes none).

The lock is an ``flock`` on the stream directory itself, so no lock file is added to the
layout the crate reads; it is released when the process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ...errors import LockTimeoutError, UsageError

DEFAULT_LOCK_TIMEOUT = 10.0
WAIT_NOTE_AFTER = 1.0  # seconds of waiting before ``on_wait`` is told
# Told once per wait that lasts WAIT_NOTE_AFTER seconds, with one line saying what is awaited:
# the CLI prints it on stderr, so a command blocked behind another writer does not look hung.
on_wait: Callable[[str], None] | None = None


@contextmanager
def locked_dir(path: str | os.PathLike, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[int]:
    """Hold an exclusive flock on directory ``path`` for the ``with`` block."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        acquire(fd, path, timeout)
        yield fd
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def check_timeout(timeout: float) -> float:
    """``timeout``, refused (UsageError) when nan, inf or below 0: those would wait for ever."""
    if not 0 <= timeout < float("inf"):
        raise UsageError(f"lock timeout {timeout}: give a finite number of seconds, 0 or more")
    return timeout


def acquire(fd: int, path, timeout: float) -> None:
    try:  # the usual case, a free lock, without a clock read
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    check_timeout(timeout)  # only once the lock is busy: the free-lock path costs nothing more
    start = time.monotonic()
    deadline = start + max(timeout, 0.0)
    delay = 0.0005
    noted = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            now = time.monotonic()
            if not noted and on_wait is not None and now - start >= WAIT_NOTE_AFTER and now < deadline:
                noted = True
                on_wait(f"{os.fspath(path)}: waiting for another ironwal process's writer lock "
                        f"(up to {timeout:g} s, see --lock-timeout)")
            if now >= deadline:
                raise LockTimeoutError(
                    f"{os.fspath(path)}: another ironwal process holds the writer lock; "
                    f"gave up after {timeout:g} s (see --lock-timeout)"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
