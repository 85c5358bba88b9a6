"""Walking ``checkpoints.log``: each record, or a located problem, never an exception.

A record is "CKPT", u32 CRC of the payload, u32 payload length, payload. After damage the
walk resumes at the next "CKPT" whose length fits and whose CRC matches (or, for a record with
a bad CRC, that another record or the end follows), so one bad record does not hide the next.
Shared by ``verify`` and ``inspect``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple
from zlib import crc32

from ..spec.codec import CHECKPOINT_MAGIC, CHECKPOINT_RECORD_PREFIX, CHECKPOINT_VERSION, Checkpoint
from ..spec.codec import decode_checkpoint_payload as _decode
from .kinds import (
    CHECKPOINT_BAD_CRC,
    CHECKPOINT_BAD_LENGTH,
    CHECKPOINT_BAD_MAGIC,
    CHECKPOINT_BAD_VERSION,
    CHECKPOINT_TORN,
)

PREFIX = CHECKPOINT_RECORD_PREFIX.size


class Record(NamedTuple):
    offset: int
    length: int  # of the whole record
    checkpoint: Checkpoint


class RecordProblem(NamedTuple):
    offset: int
    length: int  # bytes up to the next intact record, or to the end
    kind: str
    message: str
    crc: int | None = None  # the stored CRC, when the prefix could be read


def _framed(data: bytes, pos: int) -> tuple[int | None, str | None, str, int | None]:
    """(end of the record or None, kind or None, message, stored crc): magic, bounds and CRC."""
    end = len(data)
    if end - pos < PREFIX:
        return None, CHECKPOINT_TORN, f"{end - pos} bytes at the end, a record prefix needs {PREFIX}", None
    magic, crc, n = CHECKPOINT_RECORD_PREFIX.unpack_from(data, pos)
    if magic != CHECKPOINT_MAGIC:
        return None, CHECKPOINT_BAD_MAGIC, f"bad magic {magic!r}, expected {CHECKPOINT_MAGIC!r}", crc
    stop = pos + PREFIX + n
    if stop > end:
        return None, CHECKPOINT_TORN, f"payload of {n} bytes claimed, {end - pos - PREFIX} present", crc
    computed = crc32(data[pos + PREFIX:stop])
    if computed != crc:
        return stop, CHECKPOINT_BAD_CRC, f"CRC mismatch: stored 0x{crc:08x}, computed 0x{computed:08x}", crc
    return stop, None, "", crc


def _resync(data: bytes, start: int) -> int:
    """The next record: "CKPT" with a length that fits, and a good CRC or another record (or the end) after it."""
    pos = start
    while True:
        pos = data.find(CHECKPOINT_MAGIC, pos)
        if pos < 0:
            return len(data)
        stop, kind, _, _ = _framed(data, pos)
        if kind is None or (kind == CHECKPOINT_BAD_CRC and (stop == len(data)
                                                            or data.startswith(CHECKPOINT_MAGIC, stop))):
            return pos
        pos += 1


def walk_records(data: bytes) -> Iterator[Record | RecordProblem]:
    pos, end = 0, len(data)
    while pos < end:
        stop, kind, message, crc = _framed(data, pos)
        if kind is not None:
            nxt = _resync(data, pos + 1)
            if kind == CHECKPOINT_TORN and nxt < end:
                kind, message = CHECKPOINT_BAD_LENGTH, message + f"; an intact record follows at offset {nxt}"
            yield RecordProblem(pos, nxt - pos, kind, message, crc)
            pos = nxt
            continue
        payload = data[pos + PREFIX:stop]
        if not payload or payload[0] != CHECKPOINT_VERSION:
            version = payload[0] if payload else None
            yield RecordProblem(pos, stop - pos, CHECKPOINT_BAD_VERSION,
                                f"version {version}, expected {CHECKPOINT_VERSION}", crc)
        else:
            try:
                yield Record(pos, stop - pos, _decode(payload))
            except ValueError as err:
                yield RecordProblem(pos, stop - pos, CHECKPOINT_BAD_LENGTH, str(err), crc)
        pos = stop
