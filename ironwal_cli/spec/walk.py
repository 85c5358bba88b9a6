"""Where a raw batch's length-prefixed entries end: verify's hot loop.

``batch_end`` is in C (``_walk.c``, built at install when a compiler is there; ``native.c_twin``
puts it in place) and otherwise in Python. The walk is a chain, each length giving the next one's
offset, so Python pays ~0.1 us an entry (as much as the CRC of ~300 bytes); C pays a few ns. Both
give exactly the same answers (a property test compares them), so which one ran never shows.
"""

from __future__ import annotations

import struct
from itertools import repeat

from .codec import ENTRY_LENGTH, batch_error, uniform_entry_length
from .native import c_twin

assert ENTRY_LENGTH.format == "<L" and ENTRY_LENGTH.size == 4, "the walks below read u32 little-endian lengths"
_unpack_len = ENTRY_LENGTH.unpack_from


@c_twin
def batch_end(payload, count: int) -> int:
    """Offset just past ``count`` length-prefixed entries, or -1 when one runs past the end of ``payload``.

    Unrolled eight times: each step depends on the one before, so nothing but fewer loop iterations
    makes it faster in Python. Read in place (a copy costs a fresh block, and page faults, per frame).
    """
    u = _unpack_len
    pos = 0
    q, r = divmod(max(count, 0), 8)
    try:
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
    except struct.error:  # a length prefix lay past the end
        return -1
    # Offsets only grow: once an entry ran past the end, every later step stays past it.
    return pos if pos <= len(payload) else -1


@c_twin
def batch_fits(payload, count: int) -> bool:
    """True when ``payload`` is exactly ``count`` length-prefixed entries.

    In C one walk is quickest for every batch (fixed-size ones too: 0.38 s against 0.44 s of
    CPU to verify 1 GB of 100-byte entries); in Python, equal lengths are first tried by one
    struct call (codec.uniform_entry_length), the common case, before the entry-by-entry walk.
    """
    return uniform_entry_length(payload, count) is not None or batch_end(payload, count) == len(payload)


def entry_at(payload, count: int, index: int) -> bytes:
    """Entry ``index`` of a raw batch of ``count`` entries, copied out alone: a ``get`` needs one entry,
    not a list of all of them. ValueError unless the batch holds exactly ``count`` entries (the
    message ``decode_raw_batch`` gives); IndexError for an index outside ``0..count-1``."""
    if not 0 <= index < count:
        raise IndexError(f"entry {index} of a batch of {count}")
    size = ENTRY_LENGTH.size
    length = uniform_entry_length(payload, count)
    if length is not None:  # fixed-size entries: the place is known
        at = index * (length + size) + size
    elif batch_end(payload, count) == len(payload):  # batch_fits, its fixed-size check already done above
        at = batch_end(payload, index)
        length = _unpack_len(payload, at)[0]
        at += size
    else:
        raise ValueError(batch_error(bytes(payload), count))
    return bytes(payload[at:at + length])
