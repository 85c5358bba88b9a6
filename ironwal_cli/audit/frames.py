"""Checks of one intact frame (magic, bounds and CRC already passed the scanner).

What the CRC does not cover is checked here: the reserved bytes, ``uncompressed_size``,
that an LZ4 payload decodes, and that the batch holds exactly ``entry_count`` entries.
Raw batches are not decoded (no entry is copied): only their length prefixes are walked,
and a batch of equal-length entries, the common case, is checked in C (codec.uniform_entry_length).
"""

from __future__ import annotations

import struct
from itertools import repeat

from ..engine.compression import LengthMismatchError, decompress
from ..spec.codec import (
    ENTRY_LENGTH,
    FRAME_LZ4,
    FRAME_RAW,
    RESERVED_ZERO,
    FrameHeader,
    batch_error,
    uniform_entry_length,
)
from .kinds import BAD_BATCH, BAD_FRAME_TYPE, BAD_LZ4, RESERVED_NONZERO, SIZE_MISMATCH

_unpack_len = ENTRY_LENGTH.unpack_from
_PREFIX = ENTRY_LENGTH.size
assert _PREFIX == 4, "_walk spells the prefix size out"


def _walk(payload, count: int) -> int:
    """Offset just past ``count`` length-prefixed entries (struct.error if a prefix runs off the end).

    The hot loop for batches of mixed lengths, unrolled eight times: each step depends on the
    one before, so nothing but fewer loop iterations makes it faster in pure Python.
    """
    u = _unpack_len
    pos = 0
    q, r = divmod(count, 8)
    for _ in repeat(None, q):
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
        pos += u(payload, pos)[0] + 4
    for _ in repeat(None, r):
        pos += u(payload, pos)[0] + 4
    return pos


def raw_batch_error(payload, count: int) -> str | None:
    """None when ``payload`` is exactly ``count`` length-prefixed entries, else what is wrong."""
    size = len(payload)
    if uniform_entry_length(payload, count) is not None:
        return None
    # Walked in place: a copy to bytes (once thought faster) allocates a fresh block per frame, and
    # glibc hands each one back to the kernel, so every copy paid a page fault per 4 KiB (0.25 s/GB).
    try:
        pos = _walk(payload, count)
    except struct.error:
        pos = -1  # a length prefix ran past the end
    return None if pos == size else batch_error(payload, count)


def frame_problems(header: FrameHeader, payload) -> list[tuple[str, str]]:
    """(kind, message) for each defect of an intact frame; empty when it is sound."""
    if (header.frame_type == FRAME_RAW and header.uncompressed_size == header.disk_size
            and header.reserved == RESERVED_ZERO and raw_batch_error(payload, header.entry_count) is None):
        return []  # the sound raw frame: no messages built
    found = []
    if header.reserved != RESERVED_ZERO:
        found.append((RESERVED_NONZERO, f"reserved bytes are {header.reserved.hex()}, expected 000000"))
    ids = f"frame of ids {header.start_id}..{header.end_id - 1}"
    if header.frame_type == FRAME_RAW:
        if header.uncompressed_size != header.disk_size:
            found.append((SIZE_MISMATCH, f"{ids}: raw batch of {header.disk_size} bytes, "
                                         f"uncompressed_size says {header.uncompressed_size}"))
        raw = payload
    elif header.frame_type == FRAME_LZ4:
        try:
            raw = decompress(payload, header.uncompressed_size)
        except LengthMismatchError as err:
            found.append((SIZE_MISMATCH, f"{ids}: {err}"))
            return found
        except ValueError as err:
            found.append((BAD_LZ4, f"{ids}: {err}"))
            return found
    else:
        found.append((BAD_FRAME_TYPE, f"{ids}: unknown frame type {header.frame_type}"))
        return found
    error = raw_batch_error(raw, header.entry_count)
    if error is not None:
        found.append((BAD_BATCH, f"{ids}: {error}"))
    return found
