"""A process that is not an ironwal writer holding a file open, as a running IronWal application
holds its segment (tests/interop/ does the same with the real crate)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD = r"""
import os, sys
fd = os.open(sys.argv[1], {"write": os.O_WRONLY | os.O_APPEND, "read": os.O_RDONLY}[sys.argv[2]])
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.read()  # until the test closes our stdin
"""


@contextmanager
def holding(path: Path, mode: str = "write") -> Iterator[subprocess.Popen]:
    """A child process holding ``path`` open (``mode`` write or read) for the ``with`` block."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, os.fspath(path), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
