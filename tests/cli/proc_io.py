"""Reading a child process's output without hanging the test run when the child is stuck."""

from __future__ import annotations

import os
import selectors
import subprocess


def read_line_within(proc: subprocess.Popen, timeout: float) -> bytes:
    """One line from the child's stdout, read a byte at a time (nothing left in a Python buffer),
    or AssertionError after ``timeout`` seconds without output."""
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    data = b""
    try:
        while not data.endswith(b"\n"):
            if not sel.select(timeout):
                raise AssertionError(f"no output within {timeout} s (got {data!r}): entries held back")
            chunk = os.read(fd, 1)
            assert chunk, f"stdout closed early (got {data!r})"
            data += chunk
    finally:
        sel.close()
    return data
