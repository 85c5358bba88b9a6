"""Running real ``ironwal`` processes joined by real pipes, as a shell pipeline would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ironwal_cli.ops.read import read_batches


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ironwal_cli", *args]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), input=stdin, capture_output=True, timeout=120)


def pipe(left: list[str], right: list[str]) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``ironwal LEFT | ironwal RIGHT``: both results (stdout of the left one is the pipe)."""
    first = subprocess.Popen(cli(*left), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen(cli(*right), stdin=first.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first.stdout.close()
    out2, err2 = second.communicate(timeout=120)
    err1 = first.stderr.read()
    first.wait(timeout=120)
    return (subprocess.CompletedProcess(left, first.returncode, b"", err1),
            subprocess.CompletedProcess(right, second.returncode, out2, err2))


def entries(root: Path, stream: str) -> list[bytes]:
    """Every entry of ``stream`` from id 0, through the library's checked reader."""
    return [e for _first, batch in read_batches(root, stream, from_id=0) for e in batch]


def read_line_within(proc: subprocess.Popen, timeout: float) -> bytes:
    """One line of the child's stdout, a byte at a time, or AssertionError after ``timeout`` s."""
    import select

    fd, data = proc.stdout.fileno(), b""
    while not data.endswith(b"\n"):
        if not select.select([fd], [], [], timeout)[0]:
            raise AssertionError(f"no output within {timeout} s (got {data!r})")
        byte = os.read(fd, 1)
        if not byte:
            raise AssertionError(f"output ended (got {data!r})")
        data += byte
    return data
