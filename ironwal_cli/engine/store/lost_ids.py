"""``lost.idx``: the id ranges ``ironwal recover`` found lost to damage in a stream.

Our own addition to a stream directory (the crate reads only ``*.wal``, ``segments.idx`` and
``head.state``, and ignores it). It holds (first, end) pairs of u64, little-endian (``lost_range``
in the declarations): the first lost id and the first id after the range, ascending and disjoint. Readers still report
such a gap; ``verify`` accepts a gap between segments that this file records (the loss is
known, and its bytes are in quarantine) and flags every other gap.
"""

from __future__ import annotations

from itertools import pairwise

from ...spec.codec import LOST_RANGE, LOST_RANGE_FIELDS, pack_lost_range

LOST_NAME = "lost.idx"

Ranges = list[tuple[int, int]]


def decode_lost(data: bytes) -> Ranges:
    """ValueError unless the bytes are ascending, disjoint, non-empty ranges."""
    if len(data) % LOST_RANGE.size:
        raise ValueError(f"length {len(data)} is not a multiple of {LOST_RANGE.size} (whole first, end pairs)")
    ranges = [LOST_RANGE_FIELDS.unpack_from(data, pos) for pos in range(0, len(data), LOST_RANGE.size)]
    if any(a >= b for a, b in ranges) or any(b1 > a2 for (_, b1), (a2, _) in pairwise(ranges)):
        raise ValueError("ranges not ascending, disjoint and non-empty")
    return ranges


def encode_lost(ranges: Ranges) -> bytes:
    return b"".join(pack_lost_range(first=first, end=end) for first, end in ranges)


def merge(ranges: Ranges) -> Ranges:
    """Ascending, with touching or overlapping ranges joined."""
    out: Ranges = []
    for a, b in sorted(r for r in ranges if r[0] < r[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def range_holding(ranges: Ranges, entry_id: int) -> tuple[int, int] | None:
    """The recorded range (first, end) that holds ``entry_id``, joined with its neighbours; else None."""
    return next(((a, b) for a, b in merge(ranges) if a <= entry_id < b), None)


def covers(ranges: Ranges, first: int, end: int) -> bool:
    """Every id of ``first..end-1`` lies in the recorded ranges."""
    return any(a <= first and end <= b for a, b in merge(ranges))
