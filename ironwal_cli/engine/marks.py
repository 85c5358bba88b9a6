"""Where frames start, remembered by a reader from the header walks it already made.

The format has no frame index: finding an id means walking a segment's headers from its
start, and a segment of one-entry frames (what strict single appends leave) holds ~490,000
of them. A reader keeps every ``EVERY``-th frame start it walked past, so a later lookup in
the same segment (``tail -n`` walks the last segment for its end, then for the frame before
it; a reader kept open serves many ``get``s) starts next to its target.

A mark is kept only while the walk from the segment's start has found each frame starting
at the id the one before it ended with: then every frame before a mark ends at or below the
mark's id, and a lookup of any id from there finds the same frame a walk from the start
would. Marks belong to one inode: a segment replaced (``recover``) starts over.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from .scan import HEADER_SIZE, headers

EVERY = 256


class SegmentMarks:
    """(first id, offset) of every EVERY-th frame of one segment file, in file order."""

    def __init__(self, start_id: int, inode: int):
        self.inode = inode
        self.ids = [start_id]
        self.offsets = [0]
        self.contiguous = True  # the walk from the start found no frame out of sequence so far
        self.walked_to = (0, start_id)  # (offset, id) the furthest contiguous walk reached

    def nearest(self, entry_id: int) -> tuple[int, int]:
        """(offset, id) of the last mark at or below ``entry_id``."""
        i = max(bisect_right(self.ids, entry_id) - 1, 0)
        return self.offsets[i], self.ids[i]

    def advance(self, data, *, fd: int | None) -> int:
        """Walk on from where the walks went, while frames stay in sequence; the id past the last
        one (``next_id``). The loop of ``walk`` without its yield: this one passes every frame of
        the last segment, ~490,000 of them in a segment of one-entry frames."""
        offset, expected = self.walked_to
        if not self.contiguous:
            return expected
        ids, offsets, n = self.ids, self.offsets, 0
        for at, first, count, size in headers(data, offset, fd=fd):
            if first != expected:
                self.contiguous = False
                break
            if n % EVERY == 0 and first > ids[-1]:
                ids.append(first)
                offsets.append(at)
            n += 1
            expected = first + count
            offset = at + HEADER_SIZE + size
        self.walked_to = (offset, expected)
        return expected

    def walk(self, data, offset: int, expected: int, *, fd: int | None) -> Iterator[tuple[int, int, int, int]]:
        """``scan.headers`` from a mark, adding marks while the frames stay in sequence."""
        n = 0
        for frame in headers(data, offset, fd=fd):
            at, first, count, size = frame
            if first != expected:
                self.contiguous = False
            if self.contiguous:
                if n % EVERY == 0 and first > self.ids[-1]:
                    self.ids.append(first)
                    self.offsets.append(at)
                expected = first + count
                if at + HEADER_SIZE + size > self.walked_to[0]:
                    self.walked_to = (at + HEADER_SIZE + size, expected)
            n += 1
            yield frame
