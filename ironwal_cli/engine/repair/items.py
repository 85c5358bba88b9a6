"""The scanner's items as the repairer sees them: intact frames, damaged ranges, and frames
whose data is intact but whose header fields outside the CRC are wrong.

The CRC covers start_id, entry_count, frame_type, disk_size and the payload, not the magic,
uncompressed_size or the reserved bytes. A frame whose covered bytes check out and whose
payload decodes to its entries is intact data even when those three fields are damaged: the
repairer rewrites its 32-byte header (the old one goes to quarantine) instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ...spec.codec import (
    FRAME_LZ4,
    FRAME_MAGIC,
    FRAME_RAW,
    HEADER_SIZE,
    RESERVED_ZERO,
    decode_raw_batch,
    frame_crc,
    pack_header,
    unpack_header,
)
from ..frames.scan import BAD_MAGIC, Frame, Problem, scan

UNDECODABLE = "bad_batch"  # CRC good, but the payload does not hold the entries it claims


class Patched(NamedTuple):
    """An intact frame at ``offset`` whose header must be replaced by ``header`` (32 bytes)."""

    offset: int
    end_offset: int
    start_id: int
    end_id: int
    header: bytes
    reason: str


def _raw_batch(frame_type: int, payload) -> bytes | None:
    """The raw batch a payload holds, whatever uncompressed_size says; None if it does not decode."""
    if frame_type == FRAME_RAW:
        return bytes(payload)
    if frame_type != FRAME_LZ4:
        return None
    from ..frames.compression import decompress_unsized

    return decompress_unsized(payload)  # bounded: an LZ4 bomb costs at most max_frame_bytes()


def sound_header(data, offset: int, end: int) -> tuple[bytes, list[str]] | None:
    """(the header the frame at ``offset`` should have, what was wrong) when its covered fields,
    CRC and payload are intact; None when they are not (the frame is damaged)."""
    if end - offset < HEADER_SIZE:
        return None
    h = unpack_header(data, offset)
    stop = offset + HEADER_SIZE + h.disk_size
    if stop > end or frame_crc(data[offset:offset + HEADER_SIZE], data[offset + HEADER_SIZE:stop]) != h.crc:
        return None
    raw = _raw_batch(h.frame_type, data[offset + HEADER_SIZE:stop])
    try:
        if raw is None:
            return None
        decode_raw_batch(raw, h.entry_count)
    except ValueError:
        return None
    wrong = [name for name, bad in (("magic", h.magic != FRAME_MAGIC),
                                    ("uncompressed_size", h.uncompressed_size != len(raw)),
                                    ("reserved bytes", h.reserved != RESERVED_ZERO)) if bad]
    header = pack_header(h._replace(magic=FRAME_MAGIC, uncompressed_size=len(raw), reserved=RESERVED_ZERO))
    return header, wrong


def _patched(data, offset: int, end: int) -> Patched | None:
    found = sound_header(data, offset, end)
    if found is None:
        return None
    header, wrong = found
    h = unpack_header(header)
    return Patched(offset, offset + HEADER_SIZE + h.disk_size, h.start_id, h.end_id, header,
                   "header fields outside the CRC repaired: " + ", ".join(wrong)) if wrong else None


def repair_items(data) -> Iterator[Frame | Problem | Patched]:
    """Every item of a segment in file order: intact Frames, Patched frames, and Problems."""
    stack = [scan(data)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        if isinstance(item, Frame):
            found = sound_header(data, item.offset, item.end_offset)
            if found is None:
                item = Problem(item.offset, item.end_offset - item.offset, UNDECODABLE,
                               f"frame of ids {item.header.start_id}..{item.header.end_id - 1}: the payload "
                               "does not decode to its entries", item.header)
            elif found[1]:
                item = _patched(data, item.offset, item.end_offset)
        elif item.kind == BAD_MAGIC:
            fixed = _patched(data, item.offset, item.offset + item.length)
            if fixed is not None:  # the rest of the damaged range may hold more such frames
                stack.append(scan(data, fixed.end_offset, item.offset + item.length))
                item = fixed
        yield item
