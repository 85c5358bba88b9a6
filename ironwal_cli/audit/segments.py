"""Checks of one segment file: every frame (through the shared scanner), and their ids.

The scanner locates damage and resynchronises after it, so the frames behind a zeroed page
are still checked. What ends a file is told apart here: a torn header or payload is a write
cut short; bytes that are no frame at all (garbage, zeros) after the last frame are
``trailing_bytes``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.frames.scan import BAD_MAGIC, LOST_FILLER, TORN_HEADER, TORN_PAYLOAD, Frame, MappedPages, map_file, scan
from ..engine.store.files import NOT_REGULAR_FILE, NotRegularFileError
from ..spec.codec import FRAME_LZ4, HEADER_SIZE, frame_crc
from .clean_run import clean_run
from .frames import frame_problems
from .kinds import IDS_BACKWARDS, IDS_SKIP, NOT_A_SEGMENT, SEGMENT_START_MISMATCH, TRAILING_BYTES, UNREADABLE
from .replay import FAILS, ReplayEvent
from .report import Recorder, StreamTotals

NOT_A_SEGMENT_MESSAGE = "not an IronWal segment (bad magic at offset 0, and no frame anywhere in it)"
ZEROS = bytes(4)  # a file that starts with zeros is a segment never written (trailing_bytes), not another file


@dataclass
class SegmentEnd:
    next_id: int  # one past the highest id of an intact frame (the start id when none)
    certain: bool  # False when damage at the end hides where the segment's ids stop
    fillers: list[tuple[int, int]] = field(default_factory=list)  # lost id ranges recover filled here
    events: list[ReplayEvent] = field(default_factory=list)  # where the crate's iterator fails, in id order
    vanished: bool = False  # gone between the listing and the read (a prune, if the index agrees)


def _tail_kind(data, problem) -> str:
    """The kind of damage that runs to the end of the file, with no intact frame after it."""
    rest = bytes(data[problem.offset:problem.offset + HEADER_SIZE])
    if problem.kind == TORN_HEADER and not problem.incomplete:  # the scanner's torn-or-garbage rule
        return TRAILING_BYTES
    if problem.kind == BAD_MAGIC:
        h = problem.header
        whole = problem.offset + HEADER_SIZE + h.disk_size == len(data)
        if not (whole and frame_crc(rest, data[problem.offset + HEADER_SIZE:]) == h.crc):
            return TRAILING_BYTES  # no frame whose magic alone was hit: just bytes
    return problem.kind


def _grew(path: Path, size: int) -> bool:
    try:
        return os.stat(path).st_size > size
    except OSError:
        return False


def audit_segment(rec: Recorder, path: Path, start_id: int, totals: StreamTotals,
                  on_bytes: Callable[[int], None] | None = None, active: bool = False) -> SegmentEnd:
    """Record every problem of the segment at ``path`` (named for ``start_id``); count what is intact.

    For the ``active`` (last) segment, a torn frame at the end is dropped when the file has grown
    since it was mapped: a writer was in the middle of that frame, and the root is verified up
    to the tail it had when the verifier looked.
    """
    try:
        data = map_file(path)
    except NotRegularFileError as err:
        rec.add(path, None, NOT_REGULAR_FILE, err.detail)
        return SegmentEnd(start_id, False)
    except OSError as err:
        rec.add(path, None, UNREADABLE, f"cannot read: {err.strerror or err}")
        return SegmentEnd(start_id, False, vanished=isinstance(err, FileNotFoundError))
    size = len(data)
    totals.segments += 1
    totals.bytes += size
    expected = start_id
    first = True
    clean = True  # no damage between the previous intact frame and this one
    frames = entries = 0
    add = rec.add
    torn = False
    fillers: list[tuple[int, int]] = []
    events: list[ReplayEvent] = []
    damaged_at: int | None = None  # the id the crate fails at, after damage not yet followed by a frame
    release = MappedPages(data).release_before  # keeps the RSS to a few MiB per segment, not its size
    offset = 0
    while offset < size:  # the sound frames in one call each few MiB; the loop below takes the rest
        stop = offset + MappedPages.STEP
        offset, expected, n, k = clean_run(data, offset, expected, stop)
        frames, entries, first = frames + n, entries + k, first and not n
        release(offset)
        if offset < stop:
            break  # a frame clean_run leaves to the checks below, or the end
    for item in scan(data, offset):
        release(item.offset)
        if type(item) is not Frame and item.kind == LOST_FILLER:  # not damage: lost ids, made loud
            h = item.header
            fillers.append((h.start_id, h.end_id))
            events.append(ReplayEvent(max(expected, h.start_id), FAILS, f"ids {h.start_id}..{h.end_id - 1} lost "
                                      "(filler frame: CRC mismatch)", h.end_id))
            expected = max(expected, h.end_id)
            first = False
            continue
        if type(item) is not Frame:
            torn = item.offset + item.length == size
            kind = _tail_kind(data, item) if torn else item.kind
            if first and item.offset == 0 and torn and kind == TRAILING_BYTES and bytes(data[:4]) != ZEROS:
                add(path, 0, NOT_A_SEGMENT, NOT_A_SEGMENT_MESSAGE)  # not one frame: some other file
                clean, torn = False, False
                continue
            torn = torn and kind in (TORN_HEADER, TORN_PAYLOAD)
            add(path, item.offset, kind, item.message if kind == item.kind else
                f"{size - item.offset} bytes after the last frame are not a frame")
            clean = False
            if damaged_at is None:
                damaged_at = expected
            continue
        h = item.header
        if damaged_at is not None:
            events.append(ReplayEvent(damaged_at, FAILS, "damaged bytes", h.start_id))
            damaged_at = None
        elif h.start_id > expected and not first:
            events.append(ReplayEvent(expected, FAILS, f"ids {expected}..{h.start_id - 1} missing inside the segment "
                                      "(Gap in sequence IDs)", h.start_id))
        if h.start_id != expected:
            if first and clean:
                add(path, item.offset, SEGMENT_START_MISMATCH,
                    f"first frame starts at id {h.start_id}, the file name says {start_id}")
            elif h.start_id < expected:
                add(path, item.offset, IDS_BACKWARDS,
                    f"frame of ids {h.start_id}..{h.end_id - 1} goes back below id {expected}")
            elif clean:
                add(path, item.offset, IDS_SKIP,
                    f"frame starts at id {h.start_id}, expected {expected}: ids {expected}..{h.start_id - 1} missing")
        if first or h.end_id > expected:
            expected = h.end_id
        first = False
        clean = True
        frames += 1
        entries += h.entry_count
        if h.frame_type == FRAME_LZ4:
            totals.lz4_frames += 1
            totals.lz4_disk += h.disk_size
            totals.lz4_raw += h.uncompressed_size
        for kind, message in frame_problems(h, item.payload):
            add(path, item.offset, kind, message)
    totals.frames += frames
    totals.entries += entries
    if torn and active and _grew(path, size):
        rec.drop_last((TORN_HEADER, TORN_PAYLOAD))
    if on_bytes is not None:
        on_bytes(size)
    if damaged_at is not None and not torn:
        events.append(ReplayEvent(damaged_at, FAILS, "damaged bytes at the end of the segment", None))
    return SegmentEnd(expected, clean, fillers, events)
