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

from ..fdio import grow_pipe
from ..spec.codec import encode_raw_batch
from ..spec.records import RawBatch, encode_records

CHUNK = 1 << 20
GROUP_BYTES = 8 << 20  # batch mode: input read into one group at most, while more is there without waiting
SEPARATORS = {"lines": b"\n", "null": b"\0"}


def input_batches(fd: int, mode: str = "lines", batch_size: int = 1000,
                  linger: float = 0.05, group_bytes: int = 0) -> Iterator[list[list[bytes]]]:
    """Yield groups of batches (each at most ``batch_size`` entries) as input arrives.

    A group is what can be written at once: every full batch available, or a partial one
    whose first entry has waited ``linger`` seconds, or the rest at end of input. With
    ``group_bytes``, a group with full batches takes in whatever else input has arrived (read
    without waiting), up to about that many bytes or ``linger`` seconds: batch mode's group
    commit, one fdatasync each.
    """
    if mode == "whole":
        chunks = []
        while chunk := os.read(fd, CHUNK):
            chunks.append(chunk)
        yield [[b"".join(chunks)]]
        return
    yield from _groups(fd, _Entries(SEPARATORS[mode], batch_size), linger, group_bytes)


def read_raw_batches(fd: int, mode: str = "lines", batch_size: int = 1000,
                     linger: float = 0.05, group_bytes: int = 0) -> Iterator[list[RawBatch]]:
    """``input_batches`` with each batch already encoded (``spec.records.RawBatch``): the same groups
    of the same entries, cut without a Python object per entry (the bulk append's path)."""
    yield from _groups(fd, _Encoded(SEPARATORS[mode], batch_size), linger, group_bytes)


def _groups(fd: int, batches: _Entries | _Encoded, linger: float, group_bytes: int) -> Iterator[list]:
    """The reading loop of both: whole batches as they fill, a partial one after ``linger``."""
    deadline = None
    selectable = _is_selectable(fd)
    grow_pipe(fd)  # a writer on the other end runs ahead a whole read: 16x fewer reads and wake-ups
    while True:
        if batches.pending and selectable:
            timeout = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                yield batches.flush()
                deadline = None
                continue
        had = batches.pending
        full = batches.read(fd)
        ended = full is None
        if full:  # what else has arrived joins the group (one lock, one fdatasync in batch mode)
            got = batches.got
            until = time.monotonic() + linger if group_bytes else 0.0  # a full batch never waits longer
            while got < group_bytes and (not selectable or _ready(fd)) and time.monotonic() < until:
                more = batches.read(fd)
                if more is None:
                    ended = True
                    break
                full += more
                got += batches.got
            yield full
            deadline = time.monotonic() + linger if batches.pending else None
        if ended:  # end of input: the unterminated rest is an entry too
            if batches.pending:
                yield batches.flush()
            return
        if full:
            continue
        if batches.pending and not had:
            deadline = time.monotonic() + linger
        elif batches.pending and deadline is not None and time.monotonic() >= deadline:
            yield batches.flush()
            deadline = None


def _ready(fd: int) -> bool:
    """Input is there to read without waiting."""
    return bool(select.select([fd], [], [], 0)[0])


class _Entries:
    """Batches as lists of entries (bytes), cut by ``bytes.split``."""

    def __init__(self, sep: bytes, size: int):
        self.sep, self.size = sep, size
        self._pending: list[bytes] = []
        self._rest = b""  # the start of a record whose separator has not come yet
        self.got = 0  # bytes taken by the last read

    @property
    def pending(self) -> int:
        return len(self._pending)

    def read(self, fd: int) -> list[list[bytes]] | None:
        """Read once: the batches the input filled (None at its end)."""
        chunk = os.read(fd, CHUNK)
        self.got = len(chunk)
        if not chunk:
            if self._rest:
                self._pending.append(self._rest)
            return None
        parts = (self._rest + chunk if self._rest else chunk).split(self.sep)
        self._rest = parts.pop()
        if self._pending:
            self._pending.extend(parts)
        else:
            self._pending = parts
        pending, size = self._pending, self.size
        if len(pending) < size:
            return []
        full = len(pending) - len(pending) % size
        self._pending = pending[full:]
        return _cut(pending[:full], size)

    def flush(self) -> list[list[bytes]]:
        out, self._pending = _cut(self._pending, self.size), []
        return out


class _Encoded:
    """Batches encoded as they are cut (``spec.records.encode_records``), one RawBatch each. Input is
    read into one reused buffer (the unterminated rest moved to its front): no allocation per read."""

    def __init__(self, sep: bytes, size: int):
        self.sep, self.size = sep, size
        self._parts: list[bytes] = []  # the payloads of the partial batch, in order
        self.pending = 0  # its entry count
        self._buf = bytearray(2 * CHUNK)
        self._have = 0  # bytes of an unterminated record at the buffer's start
        self.got = 0  # bytes taken by the last read

    def read(self, fd: int) -> list[RawBatch] | None:
        """Read once: the batches the input filled (None at its end)."""
        if len(self._buf) - self._have < CHUNK:  # a record longer than the buffer: it grows with it
            self._buf.extend(bytes(len(self._buf)))
        view = memoryview(self._buf)
        try:
            got = self.got = os.readv(fd, [view[self._have:self._have + CHUNK]])
            if not got:
                if self._have:
                    self._parts.append(encode_raw_batch([view[:self._have].tobytes()]))
                    self.pending += 1
                    self._have = 0
                return None
            end = self._have + got
            encoded, consumed = encode_records(view[:end], self.sep, self.size - self.pending, self.size)
            rest = view[consumed:end].tobytes()
        finally:
            view.release()
        self._buf[:len(rest)] = rest
        self._have = len(rest)
        full = []
        for payload, count in encoded:
            self._parts.append(payload)
            self.pending += count
            if self.pending == self.size:
                full.append(self.flush()[0])
        return full

    def flush(self) -> list[RawBatch]:
        parts = self._parts
        batch = RawBatch(parts[0] if len(parts) == 1 else b"".join(parts), self.pending)
        self._parts, self.pending = [], 0
        return [batch]


def _cut(entries: list[bytes], size: int) -> list[list[bytes]]:
    if len(entries) <= size:
        return [entries]
    return [entries[i:i + size] for i in range(0, len(entries), size)]


def _is_selectable(fd: int) -> bool:
    """Pipes, terminals and sockets can be waited on; a regular file is always ready."""
    import stat

    mode = os.fstat(fd).st_mode
    return not stat.S_ISREG(mode)
