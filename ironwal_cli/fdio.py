"""Descriptors: whole buffers written, the short writes of the OS retried (the one loop of
``os.write`` for the writer's frames, the durable file helpers (``engine/store/files.py``) and the
CLI's stdout), and bigger pipe buffers for bulk transfers (stdin of ``append``, stdout of
``tail``). Below every layer (like ``errors.py``): it knows descriptors, nothing of the format."""

from __future__ import annotations

import os
import stat

# A Linux pipe holds 64 KiB by default, so moving 100 MB through one costs thousands of wake-ups
# of writer and reader. Whichever end ironwal holds may ask for 1 MiB (the limit an unprivileged
# process gets); where that is not possible nothing changes.
PIPE_SIZE = 1 << 20


def grow_pipe(fd: int, size: int = PIPE_SIZE) -> None:
    """Ask for a ``size``-byte buffer if ``fd`` is a pipe; silently keep the old one otherwise."""
    import fcntl

    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, setpipe, size)
    except OSError:
        pass


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
