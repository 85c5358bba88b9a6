"""The frames of a segment the verifier has nothing to say about, walked in one call: verify's hot loop.

A healthy segment is all such frames. ``clean_run`` walks them and gives only where it stopped and
what it counted, so the per-frame Python of ``audit_segment`` (the scanner's items, the checks of
``frames.frame_problems``) is left to the first frame that is not one, and what follows it. In C
(``spec/_walk.c``: the CRC by the function ``spec/crc.py`` chose, the length prefixes walked in the
same pass, the GIL released so that verify's threads check segments side by side) where the module
was built and calls that CRC itself; the Python twin below is its definition, and a property test
holds the two equal.
"""

from __future__ import annotations

from ..engine.frames.scan import Frame, scan
from ..spec.codec import FRAME_RAW
from ..spec.native import c_twin
from .frames import frame_problems


def clean_run(data, offset: int, expected: int, stop: int) -> tuple[int, int, int, int]:
    """(offset, expected id, frames, entries) after walking, from ``offset``, the frames starting
    before ``stop`` that are intact (the scanner's checks: magic, bounds, CRC, ids within u64),
    raw (LZ4 frames are left to the full check), start at ``expected`` (then at the id the frame
    before ended with) and have no defect ``frame_problems`` reports. The offset is that of the
    first frame that is not such a frame, or the end."""
    frames = entries = 0
    for item in scan(data, offset):
        if item.offset >= stop or type(item) is not Frame:
            return item.offset, expected, frames, entries
        h = item.header
        if h.start_id != expected or h.frame_type != FRAME_RAW or frame_problems(h, item.payload):
            return item.offset, expected, frames, entries
        expected = h.end_id
        frames += 1
        entries += h.entry_count
    return max(offset, len(data)), expected, frames, entries


clean_run = c_twin(clean_run, crc=True)  # C only where it calls the process's own CRC function
