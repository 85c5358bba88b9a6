"""What the active segment of a stream holds, checked before anyone appends to it.

A writer must not add to a segment that is damaged anywhere: the first time it takes a stream
it checks every CRC of the active segment (~35 ms per 64 MiB), and later only what was appended
since (``known``). A segment still matching its seal (``seals.idx``) is not read at all.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DamagedTailError
from ..frames.scan import LOST_FILLER, Frame, map_file, scan


def measure_active(path: Path, start_id: int, known: tuple[int, int, int] | None = None) -> tuple[int, int, int]:
    """(size, entries, next id) of the active segment ``path``; DamagedTailError on any damage in it.

    ``known`` is a prefix already checked (size, entries, next id): scanning resumes after it.
    For callers holding the stream's lock (the writer, a checkpoint reading every shard's cut).
    """
    try:
        data = map_file(path)
    except FileNotFoundError:
        return 0, 0, start_id
    offset, count, expected = known or (0, 0, start_id)
    for item in scan(data, offset, check_crc=True, headers_only=True):
        if not isinstance(item, Frame) and item.kind == LOST_FILLER and item.header.start_id == expected:
            item = Frame(item.offset, item.header, None)  # lost ids recover filled: taken, never reused
        if not isinstance(item, Frame):
            err = DamagedTailError(path, item.offset, f"{item.message}; refusing to append after "
                                   "damaged data: run `ironwal recover` first", kind=item.kind)
            err.incomplete = item.incomplete
            raise err
        h = item.header
        if h.start_id != expected:
            raise DamagedTailError(path, item.offset, f"frame starts at id {h.start_id}, expected "
                                   f"{expected}; refusing to append: run `ironwal recover` first",
                                   kind="id_sequence")
        expected += h.entry_count
        count += h.entry_count
    return len(data), count, expected
