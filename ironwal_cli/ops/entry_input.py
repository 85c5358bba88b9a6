"""Cutting an input byte stream into entries: lines, NUL-terminated records, or all of it.

Entries are bytes and nothing but the separator is removed (a ``\\r`` stays, an empty line
is an empty entry). A slow pipe is not held back: entries that have arrived are released
within ``linger`` seconds even when a batch is not full.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator

CHUNK = 1 << 20
SEPARATORS = {"lines": b"\n", "null": b"\0"}


def input_batches(fd: int, mode: str = "lines", batch_size: int = 1000,
                 linger: float = 0.05) -> Iterator[list[list[bytes]]]:
    """Yield groups of batches (each at most ``batch_size`` entries) as input arrives.

    A group is what can be written at once: every full batch available, or a partial one
    whose first entry has waited ``linger`` seconds, or the rest at end of input.
    """
    if mode == "whole":
        chunks = []
        while chunk := os.read(fd, CHUNK):
            chunks.append(chunk)
        yield [[b"".join(chunks)]]
        return
    sep = SEPARATORS[mode]
    pending: list[bytes] = []
    rest = b""
    deadline = None
    selectable = _is_selectable(fd)
    while True:
        if pending and selectable:
            timeout = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                yield [pending]
                pending, deadline = [], None
                continue
        chunk = os.read(fd, CHUNK)
        if not chunk:
            if rest:
                pending.append(rest)
            if pending:
                yield _cut(pending, batch_size)
            return
        parts = (rest + chunk if rest else chunk).split(sep)
        rest = parts.pop()
        if parts:
            if pending:
                pending.extend(parts)
            else:
                pending, deadline = parts, time.monotonic() + linger
        if len(pending) >= batch_size:
            full = len(pending) - len(pending) % batch_size
            yield _cut(pending[:full], batch_size)
            pending = pending[full:]
            deadline = time.monotonic() + linger if pending else None
        elif pending and deadline is not None and time.monotonic() >= deadline:
            yield [pending]
            pending, deadline = [], None


def _cut(entries: list[bytes], size: int) -> list[list[bytes]]:
    if len(entries) <= size:
        return [entries]
    return [entries[i:i + size] for i in range(0, len(entries), size)]


def _is_selectable(fd: int) -> bool:
    """Pipes, terminals and sockets can be waited on; a regular file is always ready."""
    import stat

    mode = os.fstat(fd).st_mode
    return not stat.S_ISREG(mode)
