"""The crate's rotation and chunking rules (``format/FORMAT.md``, "Rotation"), as pure functions.

No disk, no state: each takes the active segment's size and entry count and the limits, so the
rules are tested on numbers alone (tests/unit/test_rotation_rules.py), and ``writer.py`` calls
them where it writes. Two of our deliberate fixes to the crate (writer.py lists all four) are here: a non-empty segment
already at or over a limit is rotated before it takes more (``over_limit``), and a fresh empty
segment takes any entry or chunk (``single_fits``, ``chunk_end``: never an empty frame).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...spec.codec import HEADER_SIZE

ENTRY_OVERHEAD = HEADER_SIZE  # the crate estimates each entry as len + 32 bytes


def over_limit(size: int, count: int, max_size: int, max_entries: int | None) -> bool:
    """The segment (``size`` bytes, ``count`` entries) is at or over a limit: rotate before it takes more."""
    return size >= max_size or (max_entries is not None and count >= max_entries)


def single_fits(size: int, count: int, length: int, max_size: int, max_entries: int | None) -> bool:
    """The crate's single-append rule: an entry of ``length`` bytes goes into this segment with no
    rotation (always into an empty one)."""
    return size == 0 or (size + length + ENTRY_OVERHEAD <= max_size and (max_entries is None or count < max_entries))


def batch_cost(entry_bytes: int, count: int) -> int:
    """What the crate counts ``count`` entries of ``entry_bytes`` bytes in all as: the room they need."""
    return entry_bytes + ENTRY_OVERHEAD * count


def room(size: int, max_size: int) -> int:
    """The bytes a segment of ``size`` bytes has left for a chunk (0 when at or over the limit)."""
    return max(max_size - size, 0)


def chunk_end(entries: Sequence[bytes], start: int, avail: int) -> int:
    """Where the crate cuts the chunk of ``entries`` that starts at ``start``, with ``avail`` bytes of
    room: past as many entries as fit (``batch_cost``), and always past at least one."""
    n = len(entries)
    rest = entries[start:] if start else entries
    if batch_cost(sum(map(len, rest)), n - start) <= avail:
        return n  # fast path: the rest fits whole
    j, acc = start, 0
    while j < n:
        cost = len(entries[j]) + ENTRY_OVERHEAD
        if j > start and acc + cost > avail:
            break
        acc += cost
        j += 1
    return j
