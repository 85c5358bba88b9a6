"""The header walk's read-ahead rule: how much the next ``pread`` of a walk over frame headers asks for.

One home for the rule, read by both walks that pread headers: ``engine/frames/scan.py`` ``headers``
(and through it the Python ``chain``) and the C ``chain`` with a descriptor (``_walk.c`` chain_walk),
which ``spec/native.py`` hands ``READ_AHEAD`` once, with the layouts, before any walk runs.

A read starts at ``first`` bytes (a few small frames; little more than a header when frames are
big). When the last block held at least ``grow_after`` frames (small frames) the next read is
``grow`` times larger, up to ``most`` (~2000 one-entry frames); when it held at most
``shrink_after`` (big frames) it falls back to ``first``; otherwise it stays. A syscall costs ~1 us,
touching a header of a fresh memory map a page fault: fewer, larger reads over small frames, a
header's worth over big ones.
"""

from __future__ import annotations

from typing import NamedTuple


class ReadAhead(NamedTuple):
    first: int
    most: int
    grow: int
    grow_after: int
    shrink_after: int


READ_AHEAD = ReadAhead(first=512, most=256 * 1024, grow=4, grow_after=4, shrink_after=1)


def next_read_size(read_size: int, frames_in_block: int, rule: ReadAhead = READ_AHEAD) -> int:
    """The size of the read after one of ``read_size`` bytes whose block held ``frames_in_block`` frames."""
    if frames_in_block >= rule.grow_after:
        return min(read_size * rule.grow, rule.most)
    if frames_in_block <= rule.shrink_after:
        return rule.first
    return read_size
