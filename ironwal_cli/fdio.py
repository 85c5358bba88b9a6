"""Writing whole buffers to a descriptor, the short writes of the OS retried: the one loop of
``os.write`` for the writer's frames, the durable file helpers (``engine/store/files.py``) and the
CLI's stdout. Below every layer (like ``errors.py``): it knows descriptors, nothing of the format."""

from __future__ import annotations

import os


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
