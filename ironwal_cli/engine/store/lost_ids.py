"""``lost.idx``: the id ranges ``ironwal recover`` found lost to damage in a stream.

Our own addition to a stream directory (the crate reads only ``*.wal``, ``segments.idx`` and
``head.state``, and ignores it). It holds u64 pairs, little-endian as ``segments.idx``: the
first lost id and the first id after the range, ascending and disjoint. Readers still report
such a gap; ``verify`` accepts a gap between segments that this file records (the loss is
known, and its bytes are in quarantine) and flags every other gap.
"""

from __future__ import annotations

from itertools import pairwise

from ...spec.codec import decode_index, encode_index

LOST_NAME = "lost.idx"

Ranges = list[tuple[int, int]]


def decode_lost(data: bytes) -> Ranges:
    """ValueError unless the bytes are ascending, disjoint, non-empty ranges."""
    ids = decode_index(data)
    if len(ids) % 2:
        raise ValueError(f"{len(ids)} ids, not pairs")
    ranges = list(zip(ids[::2], ids[1::2], strict=True))
    if any(a >= b for a, b in ranges) or any(b1 > a2 for (_, b1), (a2, _) in pairwise(ranges)):
        raise ValueError("ranges not ascending, disjoint and non-empty")
    return ranges


def encode_lost(ranges: Ranges) -> bytes:
    return encode_index(i for r in ranges for i in r)


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
