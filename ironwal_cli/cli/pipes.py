"""Bigger pipe buffers for bulk transfers through the shell.

A Linux pipe holds 64 KiB by default, so moving 100 MB through one costs thousands of
wake-ups of writer and reader. Whichever end ironwal holds may ask for 1 MiB (the limit an
unprivileged process gets); where that is not possible nothing changes.
"""

from __future__ import annotations

import os
import stat

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
