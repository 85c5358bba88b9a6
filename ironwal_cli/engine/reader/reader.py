"""Reading a stream from any id, across segments, checking every CRC.

Damage is never skipped silently: a bad frame raises ``FormatError`` naming the file and
offset, after everything intact before it was delivered. Missing ids raise ``GapError``
(or, with ``allow_gaps``, are reported through ``on_warning``). Frames whose ids lie wholly
below what was already read (the crate's own key-collision damage) are skipped as the
crate skips them, with a warning.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path

from ...errors import FormatError, GapError, NotFoundError, UsageError
from ...spec.codec import FRAME_LZ4, FRAME_RAW, FrameHeader, decode_raw_batch
from ...spec.walk import entry_at
from ..frames.scan import (
    BAD_CRC,
    CHAIN_GAP,
    LOST_FILLER,
    Frame,
    MappedPages,
    map_file,
    pread_scan,
    scan,
    seek,
)
from ..store.files import open_regular
from ..store.listing import StreamListing
from ..store.lost_ids import covers, range_holding
from ..store.roots import foreign_stream_message, require_root, stream_path
from .marks import SegmentMarks

Warn = Callable[[str], None]


def decode_frame(path: Path, offset: int, header: FrameHeader, payload) -> list[bytes]:
    """The entries of an intact frame; FormatError if its payload does not hold them."""
    return _decoded(path, offset, header, payload, decode_raw_batch)


def decode_entry(path: Path, offset: int, header: FrameHeader, payload, entry_id: int) -> bytes:
    """Entry ``entry_id`` (an id the frame holds) of an intact frame, alone; FormatError as ``decode_frame``."""
    return _decoded(path, offset, header, payload, lambda raw, count: entry_at(raw, count, entry_id - header.start_id))


def _decoded(path: Path, offset: int, header: FrameHeader, payload, decode: Callable):
    """``decode(raw batch, entry count)`` of the frame's payload (LZ4 decoded first)."""
    try:
        if header.frame_type == FRAME_RAW:
            raw = payload
        elif header.frame_type == FRAME_LZ4:
            from ..frames.compression import decompress

            raw = decompress(payload, header.uncompressed_size)
        else:
            raise FormatError(path, offset, f"unknown frame type {header.frame_type}", kind="bad_frame_type")
        return decode(raw, header.entry_count)
    except ValueError as err:
        raise FormatError(path, offset, f"frame of ids {header.start_id}..{header.end_id - 1}: {err}",
                          kind="bad_batch") from None


def _pread_fd(path: Path, data) -> int | None:
    """A descriptor to walk the headers of a big segment with pread (see ``scan.headers``), else None."""
    return open_regular(path) if len(data) >= (1 << 20) else None


class StreamReader:
    """A read-only view of one stream, from any id, every CRC checked (see the module docstring).

    ``key`` is a stream key, sanitized as the crate does (``name_is_dir``: already a directory
    name). Opening raises NotFoundError for a missing root or stream, or a directory of other
    files. ``get(id)`` is one entry; ``batches(from_id, follow=...)`` yields (first id, entries);
    ``next_id()`` is one past the last intact entry. It takes no lock and writes nothing; a
    reader kept open sees later appends (``refresh()`` re-reads the directory).
    """

    def __init__(self, root: str | os.PathLike, key: str, *, allow_gaps: bool = False,
                 on_warning: Warn | None = None, name_is_dir: bool = False):
        self.path = stream_path(root, key, name_is_dir=name_is_dir)
        self.name = self.path.name
        if not self.path.is_dir():
            require_root(root)  # a missing root is named as such, not as a missing stream
            raise NotFoundError(f"{self.path}: no such stream")
        self.allow_gaps = allow_gaps
        self.warn: Warn = on_warning or (lambda message: None)
        self._marks: dict[int, SegmentMarks] = {}  # segment start id -> frame starts walked past
        self.refresh()
        if self.layout.foreign:  # `tail -r /etc apt`: a folder of other files is no empty stream
            raise NotFoundError(foreign_stream_message(self.path))

    def refresh(self) -> None:
        self.layout = StreamListing.read(self.path)
        self._segments = self.layout.segment_ids

    # ----- bounds ------------------------------------------------------------------------

    @property
    def first_id(self) -> int:
        return self._segments[0] if self._segments else 0

    def next_id(self) -> int:
        """The id after the last entry a walk from the start yields (one past the highest id of the
        last segment's sound frames, or its start id): walks the last segment's headers from
        where this reader last walked them to."""
        if not self._segments:
            return 0
        start = self._segments[-1]
        path = self._seg_path(start)
        data = map_file(path)
        marks = self._marks_for(start, path, len(data))
        fd = _pread_fd(path, data)
        try:
            return marks.advance(data, fd=fd)
        finally:
            if fd is not None:
                os.close(fd)

    def _marks_for(self, start: int, path: Path, size: int) -> SegmentMarks:
        """This reader's marks of segment ``start``, new when the file was replaced or cut shorter
        than the walks went (so every mark lies inside the file)."""
        inode = os.stat(path).st_ino
        marks = self._marks.get(start)
        if marks is None or marks.inode != inode or marks.reached > size:
            marks = self._marks[start] = SegmentMarks(start, inode)
        return marks

    def _seg_path(self, start: int) -> Path:
        return self.layout.segment_path(start)

    # ----- iteration ---------------------------------------------------------------------

    def _locate(self, start: int, path: Path, data, from_id: int) -> int:
        """Offset of the frame holding ``from_id`` (headers only, no CRC), or of the damage before it:
        what ``scan.seek`` finds from the segment's start, found from the nearest mark.

        The headers are read with pread (see ``scan.headers``): a lookup then costs well under a
        microsecond per frame skipped instead of a page fault per frame.
        """
        marks = self._marks_for(start, path, len(data))
        offset, mark_id = marks.nearest(from_id)
        fd = _pread_fd(path, data)
        try:
            at, why = marks.follow(data, offset, mark_id, from_id, fd=fd)
            if why == CHAIN_GAP:  # frames out of sequence (the crate's key collisions): walk on plainly
                return seek(data, from_id, at, fd=fd)
            return at  # the frame holding from_id, or the first that is not sound, or the end
        finally:
            if fd is not None:
                os.close(fd)

    def batches(self, from_id: int = 0, *, follow: bool = False, poll: float = 0.1,
                stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, list[bytes]]]:
        """Yield (id of the first entry, entries) in id order, starting at ``from_id``.

        With ``follow``, waits for new entries (across rotations) until ``stop()`` says so.
        """
        if from_id < 0:
            raise UsageError(f"id {from_id}: ids start at 0")
        expected = max(from_id, self.first_id)
        resume: tuple[int, int] | None = None  # (segment, offset) to continue from
        while True:
            for first, entries, position in self._read_available(expected, resume, follow):
                yield first, entries
                expected = first + len(entries)
                resume = position
            if not follow or (stop is not None and stop()):
                return
            time.sleep(poll)
            self.refresh()

    def _read_available(self, expected: int, resume, follow: bool):
        segments = self._segments
        if not segments:
            return
        i = max(bisect_right(segments, expected) - 1, 0)
        for k in range(i, len(segments)):
            seg = segments[k]
            path = self._seg_path(seg)
            if seg > expected:
                self._gap(expected, seg, path, None)
                expected = seg
            try:
                data = map_file(path)
            except FileNotFoundError:
                continue
            if resume is not None and resume[0] == seg:
                offset = resume[1]
            elif expected > seg:
                offset = self._locate(seg, path, data, expected)
            else:
                offset = 0
            prev_end = None
            last = k == len(segments) - 1
            for item, size in self._items(path, data, offset, pread=follow and last):
                if not isinstance(item, Frame) and item.kind == LOST_FILLER:  # ids recover found lost
                    if item.header.end_id > expected:
                        self._gap(expected, item.header.end_id, path, item.offset)
                        expected = item.header.end_id
                    prev_end = expected if prev_end is None else max(prev_end, expected)
                    continue
                if not isinstance(item, Frame):
                    if (follow and last and item.offset + item.length == size
                            and (item.incomplete or item.kind == BAD_CRC)):
                        return  # a writer is probably mid-write: look again on the next poll
                    raise FormatError(path, item.offset, item.message, kind=item.kind)
                h = item.header
                if prev_end is not None and h.start_id < prev_end:
                    self.warn(f"{path} at offset {item.offset}: frame of ids {h.start_id}..{h.end_id - 1} "
                              "goes back over ids already read; skipped (run `ironwal verify`)")
                elif h.start_id > expected:
                    self._gap(expected, h.start_id, path, item.offset)
                    expected = h.start_id
                prev_end = h.end_id if prev_end is None else max(prev_end, h.end_id)
                if h.end_id <= expected:
                    continue
                entries = decode_frame(path, item.offset, h, item.payload)
                if expected > h.start_id:
                    entries = entries[expected - h.start_id:]
                yield expected, entries, (seg, item.end_offset)
                expected = h.end_id

    @staticmethod
    def _items(path: Path, data, offset: int, pread: bool):
        """(item, file size) of the segment from ``offset``: from its memory map, or, for the segment
        a follower waits on (which an ``append`` cutting a torn tail, or any other process, may
        shorten under it), by pread (``scan.pread_scan``): a map would die of SIGBUS there."""
        if pread:
            yield from pread_scan(path, offset)
            return
        pages = MappedPages(data, offset)
        size = len(data)
        for item in scan(data, offset):
            pages.release_before(item.offset)
            yield item, size

    def _gap(self, expected: int, found: int, path: Path, offset: int | None) -> None:
        """Missing ids: an error, or with ``allow_gaps`` a warning naming the range."""
        if not self.allow_gaps:
            raise GapError(path, offset, expected, found)
        known = " (lost to damage: recorded in lost.idx by ironwal recover)" if covers(
            self.layout.lost, expected, found) else ""
        self.warn(f"{path}: ids {expected}..{found - 1} are missing (gap){known}; continuing at {found}")

    def entries(self, from_id: int = 0, **kw) -> Iterator[tuple[int, bytes]]:
        for first, batch in self.batches(from_id, **kw):
            yield from enumerate(batch, first)

    def get(self, entry_id: int) -> bytes:
        if entry_id < 0:
            raise UsageError(f"id {entry_id}: ids start at 0")
        segments = self._segments
        i = bisect_right(segments, entry_id)
        if not i:
            raise self._no_entry(entry_id, f" (first id is {self.first_id})")
        path = self._seg_path(segments[i - 1])
        data = map_file(path)
        offset = self._locate(segments[i - 1], path, data, entry_id)
        for item in scan(data, offset):
            if not isinstance(item, Frame) and item.kind == LOST_FILLER and item.header.start_id <= entry_id:
                raise self._no_entry(entry_id, f": {item.message}")
            if not isinstance(item, Frame):
                raise FormatError(path, item.offset, item.message, kind=item.kind)
            h = item.header
            if h.start_id <= entry_id < h.end_id:
                return decode_entry(path, item.offset, h, item.payload, entry_id)
            break
        raise self._no_entry(entry_id)

    def _no_entry(self, entry_id: int, detail: str = "") -> NotFoundError:
        """"No entry", or, for an id recover recorded lost, which range was lost and where it went."""
        lost = range_holding(self.layout.lost, entry_id)
        if lost is None:
            return NotFoundError(f"stream {self.name}: no entry {entry_id}{detail}")
        return NotFoundError(f"stream {self.name}: entry {entry_id} was lost to damage: ids {lost[0]}..{lost[1] - 1} "
                             "are recorded lost in lost.idx by ironwal recover (the damaged bytes are in the "
                             "quarantine)")

