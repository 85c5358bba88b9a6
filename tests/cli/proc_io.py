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


def error_line(proc: subprocess.CompletedProcess, code: int) -> str:
    """The one stderr line of a failed command, after checking its exit code and the absence of a traceback."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ironwal: error: "), err
    return lines[0]
