"""Where frames start, remembered by a reader from the header walks it already made.

The format has no frame index: finding an id means walking a segment's headers from its
start, and a segment of one-entry frames (what strict single appends leave) holds ~490,000
of them (the walk itself is ``scan.chain``, in C when built: a few ms for all of them). A
reader keeps every ``EVERY``-th frame start it walked past, so a later lookup in
the same segment (``tail -n`` walks the last segment for its end, then for the frame before
it; a reader kept open serves many ``get``s) starts next to its target.

A mark is kept only while the walk from the segment's start has found each frame starting
at the id the one before it ended with: then every frame before a mark ends at or below the
mark's id, and a lookup of any id from there finds the same frame a walk from the start
would. Marks belong to one inode: a segment replaced (``recover``) starts over.

Where the frames leave sequence (the crate's key-collision damage, ids skipped inside a
segment) the marks stop, but ``next_id`` does not: a walk from the start goes on past such a
frame (it skips frames below the ids already read, and jumps over a gap), so the next id is one
past the highest id of any sound frame, and ``advance`` keeps walking headers to find it.
"""

from __future__ import annotations

from bisect import bisect_right

from ...spec.codec import HEADER_SIZE
from ..frames.scan import CHAIN_GAP, CHAIN_MORE, NO_STOP, chain, headers

EVERY = 256


class SegmentMarks:
    """(first id, offset) of every EVERY-th frame of one segment file, in file order."""

    def __init__(self, start_id: int, inode: int):
        self.inode = inode
        self.ids = [start_id]
        self.offsets = [0]
        self.contiguous = True  # the walk from the start found no frame out of sequence so far
        self.walked_to = (0, start_id)  # (offset, id) the furthest contiguous walk reached
        # Past the first frame out of sequence: (offset, highest end id) the header walk reached.
        self.loose_to: tuple[int, int] | None = None

    def nearest(self, entry_id: int) -> tuple[int, int]:
        """(offset, id) of the last mark at or below ``entry_id``."""
        i = max(bisect_right(self.ids, entry_id) - 1, 0)
        return self.offsets[i], self.ids[i]

    @property
    def reached(self) -> int:
        """The furthest offset any walk of this reader went in the file (marks inside it only)."""
        return max(self.walked_to[0], self.loose_to[0] if self.loose_to else 0)

    def advance(self, data, *, fd: int | None) -> int:
        """Walk on from where the walks went; the id a walk from the start would expect next
        (``next_id``): one past the highest id of the sound frames, whatever their order."""
        if self.contiguous:
            self.follow(data, *self.walked_to, NO_STOP, fd=fd)
        if self.contiguous:
            return self.walked_to[1]
        offset, top = self.loose_to or self.walked_to
        for at, first, count, size in headers(data, offset, fd=fd):
            top = max(top, first + count)
            offset = at + HEADER_SIZE + size
        self.loose_to = (offset, top)
        return top

    def follow(self, data, offset: int, expected: int, stop_id: int, *, fd: int | None) -> tuple[int, int]:
        """``scan.chain`` from a mark, EVERY frames at a time, marking where each stretch ends:
        (offset, why) where it stopped (see ``scan.chain``)."""
        while True:
            offset, expected, _frames, why = chain(data, offset, expected, stop_id, EVERY, fd=fd)
            if offset > self.walked_to[0]:
                self.walked_to = (offset, expected)
            if why == CHAIN_GAP:
                self.contiguous = False
            if why != CHAIN_MORE:
                return offset, why
            if expected > self.ids[-1]:  # a frame in sequence starts here
                self.ids.append(expected)
                self.offsets.append(offset)
