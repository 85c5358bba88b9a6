"""Helpers of tests/backup: roots to back up, what a root holds, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ironwal_cli.engine.writer.writer import WriteOptions
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.listing import stream_names
from ironwal_cli.ops.read import read_batches

SMALL = WriteOptions(max_segment_size=4096, sync="async")


def entries(root: Path) -> dict[str, list[tuple[int, bytes]]]:
    """Every stream's (id, entry) pairs, read through the checked reader."""
    out = {}
    for name in stream_names(root):
        out[name] = [(i, e) for first, batch in read_batches(root, name, from_id=0) for i, e in enumerate(batch, first)]
    return out


def fill(root: Path, stream: str = "s", batches: int = 20, size: int = 300, seed: int = 0) -> None:
    """Batches of binary, empty and newline-holding entries, over several small segments."""
    for b in range(batches):
        values = [bytes([(seed + b + i) % 256]) * ((b * 7 + i) % size) + b"\n\x00" for i in range(3)]
        values.append(b"")
        append_values(root, stream, values, SMALL)


def ironwal(*args, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *map(os.fspath, args)], capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
