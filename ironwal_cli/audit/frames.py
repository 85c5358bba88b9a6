"""Checks of one intact frame (magic, bounds and CRC already passed the scanner).

What the CRC does not cover is checked here: the reserved bytes, ``uncompressed_size``,
that an LZ4 payload decodes, and that the batch holds exactly ``entry_count`` entries.
Raw batches are not decoded (no entry is copied): only their length prefixes are walked,
in place, by spec.walk (in C when it was built).
"""

from __future__ import annotations

from ..engine.frames.compression import LengthMismatchError, decompress
from ..spec.codec import (
    FRAME_LZ4,
    FRAME_RAW,
    RESERVED_ZERO,
    FrameHeader,
    batch_error,
)
from ..spec.walk import batch_fits
from .kinds import BAD_BATCH, BAD_FRAME_TYPE, BAD_LZ4, RESERVED_NONZERO, SIZE_MISMATCH


def raw_batch_error(payload, count: int) -> str | None:
    """None when ``payload`` is exactly ``count`` length-prefixed entries, else what is wrong."""
    return None if batch_fits(payload, count) else batch_error(payload, count)


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
