"""Exclusive advisory locks between ironwal processes (the crate takes none).

The lock is an ``flock`` on the stream directory itself, so no lock file is added to the
layout the crate reads; it is released when the process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import LockTimeoutError

DEFAULT_LOCK_TIMEOUT = 10.0


@contextmanager
def locked_dir(path: str | os.PathLike, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[int]:
    """Hold an exclusive flock on directory ``path`` for the ``with`` block."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        acquire(fd, path, timeout)
        yield fd
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def acquire(fd: int, path, timeout: float) -> None:
    try:  # the usual case, a free lock, without a clock read
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"{os.fspath(path)}: another ironwal process holds the writer lock; "
                    f"gave up after {timeout:g} s (see --lock-timeout)"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
