"""Walking ``checkpoints.log``: each record, or a located problem, never an exception.

A record is "CKPT", u32 CRC of the payload, u32 payload length, payload. After damage the
walk resumes at the next "CKPT" whose length fits and whose CRC matches (or, for a record with
a bad CRC, that another record or the end follows), so one bad record does not hide the next.

The one walk of the log, linear in its size: verify (``audit/sharded.py``) and inspect report
from it, the checkpoint commands read through it (``checkpoints.parse_records``, cut at the first
problem) and recover plans from it (``repair.scan_log``, problems back to back joined).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ..engine.frames.scan import MappedPages, find_in_windows
from ..spec.codec import (
    CHECKPOINT_ID_PREFIX,
    CHECKPOINT_MAGIC,
    CHECKPOINT_OFFSET,
    CHECKPOINT_RECORD_FIELDS,
    CHECKPOINT_RECORD_PREFIX,
    CHECKPOINT_TAIL,
    CHECKPOINT_VERSION,
    Checkpoint,
)
from ..spec.codec import decode_checkpoint_payload as _decode
from ..spec.crc import crc32

PREFIX = CHECKPOINT_RECORD_PREFIX.size

# The problem kinds of the walk (verify reports them by these names: ``audit/kinds.py``).
CHECKPOINT_TORN = "checkpoint_torn"
CHECKPOINT_BAD_MAGIC = "checkpoint_bad_magic"
CHECKPOINT_BAD_CRC = "checkpoint_bad_crc"
CHECKPOINT_BAD_VERSION = "checkpoint_bad_version"
CHECKPOINT_BAD_LENGTH = "checkpoint_bad_length"


class IntactRecord(NamedTuple):
    offset: int
    length: int  # of the whole record
    checkpoint: Checkpoint


class RecordProblem(NamedTuple):
    offset: int
    length: int  # bytes up to the next intact record, or to the end
    kind: str
    message: str
    crc: int | None = None  # the stored CRC, when the prefix could be read


# The biggest payload a record can hold: version, a 65535-byte id, timestamp, 65535 shard offsets.
# A prefix claiming more is damage, found without reading (or CRC-ing) a byte of what it claims.
MAX_PAYLOAD = (CHECKPOINT_ID_PREFIX.size + 0xFFFF + CHECKPOINT_TAIL.size
               + 0xFFFF * CHECKPOINT_OFFSET.size)


def _framed(data, pos: int) -> tuple[int | None, str | None, str, int | None]:
    """(end of the record or None, kind or None, message, stored crc when it was checked): magic,
    bounds and CRC. The crc is None when the CRC was never compared (no magic, torn, too long), so
    nobody can show "crc ok" beside a record that is not one."""
    end = len(data)
    if end - pos < PREFIX:
        return None, CHECKPOINT_TORN, f"{end - pos} bytes at the end, a record prefix needs {PREFIX}", None
    magic, crc, n = CHECKPOINT_RECORD_FIELDS.unpack_from(data, pos)
    if magic != CHECKPOINT_MAGIC:
        return None, CHECKPOINT_BAD_MAGIC, f"bad magic {bytes(magic)!r}, expected {CHECKPOINT_MAGIC!r}", None
    if n > MAX_PAYLOAD:
        return None, CHECKPOINT_BAD_LENGTH, f"payload of {n} bytes claimed, a record holds at most {MAX_PAYLOAD}", None
    stop = pos + PREFIX + n
    if stop > end:
        return None, CHECKPOINT_TORN, f"payload of {n} bytes claimed, {end - pos - PREFIX} present", None
    computed = crc32(data[pos + PREFIX:stop])
    if computed != crc:
        return stop, CHECKPOINT_BAD_CRC, f"CRC mismatch: stored 0x{crc:08x}, computed 0x{computed:08x}", crc
    return stop, None, "", crc


def _resync(data, start: int) -> int:
    """The next record: "CKPT" with a length that fits, and a good CRC or another record (or the end) after it.

    Searched a window at a time, dropping the pages behind from the map: a planted 1 GiB log of
    zeros costs a scan of it, never 1 GiB of memory.
    """
    pos, end = start, len(data)
    pages = MappedPages(data, start)
    while True:
        pos = find_in_windows(data, CHECKPOINT_MAGIC, pos, end, pages)
        if pos < 0:
            return end
        stop, kind, _, _ = _framed(data, pos)
        if kind is None or (kind == CHECKPOINT_BAD_CRC and (
                stop == end or data[stop:stop + len(CHECKPOINT_MAGIC)] == CHECKPOINT_MAGIC)):
            return pos
        pos += 1


def walk_records(data, start: int = 0) -> Iterator[IntactRecord | RecordProblem]:
    """Every record or problem of a log's bytes (``bytes``, or a map from ``scan.map_file``: then
    from ``start`` on, not a slice, so that the pages walked can be dropped), offsets in ``data``."""
    pos, end = start, len(data)
    pages = MappedPages(data, start)
    while pos < end:
        pages.release_before(pos)
        stop, kind, message, crc = _framed(data, pos)
        if kind is not None:
            nxt = _resync(data, pos + 1)
            if kind == CHECKPOINT_TORN and nxt < end:
                kind, message = CHECKPOINT_BAD_LENGTH, message + f"; an intact record follows at offset {nxt}"
            yield RecordProblem(pos, nxt - pos, kind, message, crc)
            pos = nxt
            continue
        payload = bytes(data[pos + PREFIX:stop])
        if not payload or payload[0] != CHECKPOINT_VERSION:
            version = payload[0] if payload else None
            yield RecordProblem(pos, stop - pos, CHECKPOINT_BAD_VERSION,
                                f"version {version}, expected {CHECKPOINT_VERSION}", crc)
        else:
            try:
                yield IntactRecord(pos, stop - pos, _decode(payload))
            except ValueError as err:
                yield RecordProblem(pos, stop - pos, CHECKPOINT_BAD_LENGTH, str(err), crc)
        pos = stop
