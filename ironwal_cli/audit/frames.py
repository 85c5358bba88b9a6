"""Checks of one intact frame (magic, bounds and CRC already passed the scanner).

What the CRC does not cover is checked here: the reserved bytes, ``uncompressed_size``,
that an LZ4 payload decodes, and that the batch holds exactly ``entry_count`` entries.
Raw batches are not decoded (no entry is copied): only their length prefixes are walked,
and a batch of equal-length entries, the common case, is checked with strided slices in C.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from itertools import repeat

from ..engine.compression import LengthMismatchError, decompress
from ..spec.codec import ENTRY_LENGTH, FRAME_LZ4, FRAME_RAW, RESERVED_ZERO, FrameHeader
from .kinds import BAD_BATCH, BAD_FRAME_TYPE, BAD_LZ4, RESERVED_NONZERO, SIZE_MISMATCH

_unpack_len = ENTRY_LENGTH.unpack_from
_PREFIX = ENTRY_LENGTH.size
assert _PREFIX == 4, "_walk spells the prefix size out"


_PREFIXES_MAX = 4096  # batches of more entries use the strided slices (a Struct of them would be large)


@lru_cache(maxsize=64)
def _prefixes_struct(stride: int, count: int) -> struct.Struct:
    """Reads the ``count`` length prefixes of a batch of ``stride``-byte entries, skipping the bytes between."""
    pad = stride - _PREFIX
    return struct.Struct("<" + (f"I{pad}x" if pad else "I") * count)


def _uniform(payload, count: int, size: int) -> bool:
    """True when every entry has the first entry's length (so the batch is well formed)."""
    if size < _PREFIX:
        return False
    stride = _unpack_len(payload, 0)[0] + _PREFIX
    if stride * count != size:
        return False
    if count == 1:
        return True
    if count <= _PREFIXES_MAX:
        # One C call reads every prefix in place (no copy of the payload); the count compares them.
        lengths = _prefixes_struct(stride, count).unpack_from(payload)
        return lengths.count(lengths[0]) == count
    view = memoryview(payload)
    first = bytes(view[:_PREFIX])
    # The k-th byte of every length prefix, gathered at C speed, must equal the first prefix's.
    return all(view[k::stride].tobytes() == first[k:k + 1] * count for k in range(_PREFIX))


def _describe(payload, count: int, size: int) -> str:
    """Where a batch that failed the fast walk goes wrong (the slow, careful walk)."""
    pos = 0
    for i in range(count):
        if pos + _PREFIX > size:
            return f"batch ends inside the length of entry {i} of {count}"
        n = _unpack_len(payload, pos)[0]
        pos += _PREFIX
        if pos + n > size:
            return f"entry {i} of {count} claims {n} bytes, {size - pos} remain"
        pos += n
    return f"{size - pos} bytes left over after {count} entries"


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
    if _uniform(payload, count, size):
        return None
    if not isinstance(payload, bytes):
        # unpack_from is about twice as fast on bytes as on a slice of an mmap: the copy pays for itself.
        payload = bytes(payload)
    try:
        pos = _walk(payload, count)
    except struct.error:
        pos = -1  # a length prefix ran past the end
    return None if pos == size else _describe(payload, count, size)


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
