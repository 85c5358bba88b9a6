"""The one scanner of segment bytes, shared by reader, verifier and repairer.

It yields an intact ``Frame`` or a located ``Problem`` and never raises on bad bytes:
readers stop at the first problem, the verifier records each, the repairer resynchronises
after it (the scanner already did: after a problem it searches for the next header whose
magic, bounds and CRC are all good, so a zeroed page or garbage costs only the bytes it hit).
A header claiming a huge payload is checked against the bytes present, never allocated.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import NamedTuple

from ...spec.codec import (
    FRAME_MAGIC,
    FRAME_MAGIC_BYTES,
    HEADER_SIZE,
    LOST_FILLER_FRAME_SIZE,
    FrameHeader,
    frame_crc,
    lost_filler_range,
    unpack_header,
)
from ...spec.fields import picker
from ...spec.native import c_twin
from ...spec.read_ahead import READ_AHEAD, next_read_size
from ..store.files import open_regular

# Problem kinds found by the scanner (the verifier adds more of its own).
TORN_HEADER = "torn_header"
TORN_PAYLOAD = "torn_payload"
BAD_MAGIC = "bad_magic"
BAD_CRC = "bad_crc"
BAD_LENGTH = "bad_length"
# Not damage: a filler frame ``ironwal recover`` wrote for lost ids (spec ``lost_filler``). Its CRC is
# bad on purpose (so the crate fails there); readers that know it report its ids as lost, the rest
# take it for the damage it stands for.
LOST_FILLER = "lost_filler"
_FILLER_PAYLOAD = LOST_FILLER_FRAME_SIZE - HEADER_SIZE
ID_OVERFLOW = "id_overflow"

ID_LIMIT = 2**64  # ids are u64: a frame may end at most here (its last id 2^64 - 1)


class Frame(NamedTuple):
    offset: int
    header: FrameHeader
    payload: bytes | memoryview | None  # None when scanned with headers_only

    @property
    def end_offset(self) -> int:
        return self.offset + HEADER_SIZE + self.header.disk_size


class Problem(NamedTuple):
    offset: int  # where the damaged frame (or run of garbage) starts
    length: int  # bytes up to the next intact frame, or to the end of the data
    kind: str
    message: str
    header: FrameHeader | None = None  # the header found there, when one could be read
    # The one torn-versus-garbage rule (``incomplete``): a write cut short, not garbage. Follow mode
    # waits on it, the verifier calls it torn (else trailing bytes), the writer cuts it off itself.
    incomplete: bool = False


def incomplete(data, offset: int, end: int, kind: str) -> bool:
    """Whether the problem ``kind`` at ``offset``, running to ``end`` (the end of the data), is a
    write cut short: a torn payload (its header whole, magic good), or a torn header whose bytes
    begin as a header does (a prefix of the magic). Anything else at the end is garbage or damage."""
    if kind == TORN_PAYLOAD:
        return True
    head = bytes(data[offset:min(end, offset + len(FRAME_MAGIC_BYTES))])
    return kind == TORN_HEADER and bool(head) and FRAME_MAGIC_BYTES.startswith(head)


Item = Frame | Problem


def map_file(path: str | os.PathLike) -> memoryview | bytes:
    """The file's bytes, memory-mapped (read-only) so a large segment costs no copy. Opened through
    ``files.open_regular``: a FIFO, device, directory or symbolic link raises NotRegularFileError."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return b""
        return memoryview(mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
    finally:
        os.close(fd)


def map_or_none(path: str | os.PathLike) -> memoryview | bytes | None:
    """``map_file``, or None when the file does not exist."""
    try:
        return map_file(path)
    except FileNotFoundError:
        return None


def _check(data, offset: int, end: int, check_crc: bool, view=None) -> tuple[FrameHeader | None, str | None, str]:
    """(header, problem kind or None, message) for the frame at ``offset``.

    ``view``, a memoryview of the same bytes, lets the CRC run over the payload in place: slicing
    an mmap copies, slicing a memoryview does not (the verifier's speed depends on it).
    """
    if end - offset < HEADER_SIZE:
        return None, TORN_HEADER, f"{end - offset} bytes at the end, a frame header needs {HEADER_SIZE}"
    header = unpack_header(data, offset)
    if header.magic != FRAME_MAGIC:
        return header, BAD_MAGIC, f"bad magic 0x{header.magic:08x}, expected 0x{FRAME_MAGIC:08x}"
    payload_end = offset + HEADER_SIZE + header.disk_size
    if payload_end > end:
        return header, TORN_PAYLOAD, (
            f"frame of ids {header.start_id}..{header.end_id - 1} claims {header.disk_size} payload bytes, "
            f"{end - offset - HEADER_SIZE} present"
        )
    if check_crc:
        src = data if view is None else view
        crc = frame_crc(src[offset:offset + HEADER_SIZE], src[offset + HEADER_SIZE:payload_end])
        if crc != header.crc:
            return header, BAD_CRC, (
                f"CRC mismatch in frame of ids {header.start_id}..{header.end_id - 1}: "
                f"stored 0x{header.crc:08x}, computed 0x{crc:08x}"
            )
    if header.start_id + header.entry_count > ID_LIMIT:
        return header, ID_OVERFLOW, (f"frame of ids {header.start_id}..{header.end_id - 1} runs past the last "
                                     f"possible id {ID_LIMIT - 1} (ids are u64)")
    return header, None, ""


# Resynchronising checks the CRC of every candidate header after damage. Crafted bytes (a header
# every few bytes, each claiming a payload up to the end) would make that quadratic: one scan
# may CRC at most this many bytes per byte of data (plus a floor), then it gives up and reports
# the rest as damaged. Real damage (garbage, zeroed pages, torn writes) never comes close.
RESYNC_WORK_PER_BYTE = 8
RESYNC_WORK_FLOOR = 64 * 1024 * 1024


def resync(data, start: int, end: int, budget: list[int] | None = None) -> int:
    """Offset of the next intact frame (magic, bounds and CRC good) at or after ``start``, else ``end``.

    ``budget`` (a one-item list) caps the bytes CRC-checked; when it runs out the answer is ``end``.
    """
    pos = start
    pages = MappedPages(data, start)
    while True:
        pos = find_in_windows(data, FRAME_MAGIC_BYTES, pos, end, pages)
        if pos < 0:
            return end
        header, kind, _ = _check(data, pos, end, False)
        if kind is None:
            if budget is not None:
                budget[0] -= HEADER_SIZE + header.disk_size
                if budget[0] < 0:
                    return end
            if _check(data, pos, end, True)[1] is None:
                return pos
        pos += 1


def scan(data, start: int = 0, end: int | None = None, *, check_crc: bool = True,
         headers_only: bool = False) -> Iterator[Item]:
    """Walk the frames in ``data[start:end]``."""
    if end is None:
        end = len(data)
    buf = data.obj if isinstance(data, memoryview) and isinstance(data.obj, mmap.mmap) else data
    view = data if isinstance(data, memoryview) else None
    offset = start
    budget = [RESYNC_WORK_PER_BYTE * (end - start) + RESYNC_WORK_FLOOR]
    while offset < end:
        header, kind, message = _check(buf, offset, end, check_crc, view)
        maybe_filler = kind == BAD_CRC or (kind is None and not check_crc and header.disk_size == _FILLER_PAYLOAD)
        if maybe_filler and (lost := lost_filler_range(buf, offset)) is not None:  # never passed off as entries
            yield Problem(offset, LOST_FILLER_FRAME_SIZE, LOST_FILLER,
                          f"ids {lost[0]}..{lost[1] - 1} lost to damage (filler frame written by ironwal recover)",
                          header)
            offset += LOST_FILLER_FRAME_SIZE
            continue
        if kind is None:
            stop = offset + HEADER_SIZE + header.disk_size
            payload = None if headers_only else data[offset + HEADER_SIZE:stop]
            yield Frame(offset, header, payload)
            offset = stop
            continue
        nxt = resync(buf, offset + 1, end, budget)
        if budget[0] < 0:
            message += "; gave up looking for intact frames after it (too many candidate headers)"
        if kind == TORN_PAYLOAD and nxt < end:
            # An intact frame follows, so this was no torn write: the length field is damaged.
            kind, message = BAD_LENGTH, message + f"; an intact frame follows at offset {nxt}"
        yield Problem(offset, nxt - offset, kind, message, header, nxt == end and incomplete(buf, offset, end, kind))
        offset = nxt


PREAD_BLOCK = 8 << 20


def pread_scan(path: str | os.PathLike, start: int = 0, *, fd: int | None = None,
               size: int | None = None) -> Iterator[tuple[Item, int]]:
    """``scan`` of the file at ``path`` from ``start``, read with pread a block at a time instead of
    through a memory map: (item, the file's size) with offsets in the file.

    For a file another process may shorten while it is read (the last segment, under ``tail -f``):
    a memory map faults with SIGBUS, which kills the process, when it touches a page the file no
    longer has; pread just returns fewer bytes, which read as the end of the file. Memory: a
    block (8 MiB), or one frame when a frame is bigger. With ``fd`` (an open descriptor of
    ``path``, left open) that file is read, up to ``size`` when given (the size a caller saw at
    its fstat: a backup copies what was there then, even while a writer appends).
    """
    own = fd is None
    if own:
        fd = open_regular(path)
    try:
        if size is None:
            size = os.fstat(fd).st_size
        pos, block = start, PREAD_BLOCK
        while pos < size:
            data = os.pread(fd, min(block, size - pos), pos)
            if not data:
                return  # shorter than it was: nothing more to read
            n, cut = len(data), None
            for item in scan(data):
                torn = type(item) is Problem and item.kind in (TORN_HEADER, TORN_PAYLOAD)
                if torn and pos + n < size:  # torn by the block's end, not the file's
                    cut = item
                    break
                yield _moved(item, pos), size
            if cut is None:
                pos += n
                continue
            at = pos + cut.offset
            need = HEADER_SIZE + (cut.header.disk_size if cut.kind == TORN_PAYLOAD else 0)
            if at + need > size:  # torn against the file itself: nothing to read again
                head = os.pread(fd, HEADER_SIZE, at)  # the rule judged the block's bytes: judge the file's
                yield cut._replace(offset=at, length=size - at,
                                   incomplete=incomplete(head, 0, len(head), cut.kind)), size
                return
            pos, block = at, max(PREAD_BLOCK, need)
    finally:
        if own:
            os.close(fd)


def _moved(item: Item, by: int) -> Item:
    return item._replace(offset=item.offset + by)


# ----- the quick walk over headers, and memory kept small during long reads -----------------------

# What the walk reads of each header, by name, without building a FrameHeader (the other fields
# are skipped as pad bytes): unpacked as ``magic, start_id, count, size = ...`` in this order.
HEADER_WALK = picker("frame_header", "magic", "start_id", "entry_count", "disk_size")

def headers(data, start: int = 0, end: int | None = None, *,
            fd: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """(offset, start_id, entry_count, disk_size) of each frame whose magic and bounds are good.

    The quick walk for finding an id or the tail: no CRC, no FrameHeader built, and it stops at
    the first frame that is not sound, where ``scan`` (which says what is wrong) takes over.
    With ``fd`` (and ``end``, the file size) headers are read with ``pread`` instead of from
    ``data``: when frames lie far apart, touching each header of a fresh memory map costs a page
    fault apiece, several times the cost of a 32-byte read.
    """
    if end is None:
        end = len(data)
    buf = data.obj if isinstance(data, memoryview) and isinstance(data.obj, mmap.mmap) else data
    unpack = HEADER_WALK.unpack_from
    pread, need = os.pread, HEADER_WALK.size
    block, block_at = b"", 0  # with fd: the last block read (small frames share one read)
    read_size, frames_in_block = READ_AHEAD.first, 0
    offset = start
    while end - offset >= HEADER_SIZE:
        if fd is None:
            magic, start_id, count, size = unpack(buf, offset)
        else:
            at = offset - block_at
            if at + need > len(block):
                read_size = next_read_size(read_size, frames_in_block)  # spec/read_ahead.py: the rule
                block, block_at, at = pread(fd, read_size, offset), offset, 0
                frames_in_block = 0
                if len(block) < need:  # the file shrank under us: let the full scan say what is there
                    return
            frames_in_block += 1
            magic, start_id, count, size = unpack(block, at)
        stop = offset + HEADER_SIZE + size
        if magic != FRAME_MAGIC or stop > end or start_id + count > ID_LIMIT:
            return
        yield offset, start_id, count, size
        offset = stop


CHAIN_MORE, CHAIN_FOUND, CHAIN_GAP, CHAIN_END = 0, 1, 2, 3  # why a chain walk stopped
NO_STOP = 2**64 - 1  # no id lies above it


@c_twin  # in C when the module was built: a few ns a frame instead of ~0.5 us
def chain(data, offset: int, expected: int, stop_id: int, max_frames: int, *,
          fd: int | None = None) -> tuple[int, int, int, int]:
    """Walk the sound frames that continue the ids from ``offset`` (the first must start at
    ``expected``): (offset, expected id, frames walked, why) where it stopped: at the first frame
    that is not sound or lies past the end (CHAIN_END), starts at another id (CHAIN_GAP), ends
    above ``stop_id`` (CHAIN_FOUND), or after ``max_frames`` frames (CHAIN_MORE).

    A segment of one-entry frames holds ~490,000 of them. With ``fd`` (a descriptor of the file
    ``data`` maps) the headers are read with pread, as ``headers`` reads them."""
    frames = 0
    for at, first, count, size in headers(data, offset, fd=fd):
        if first != expected:
            return at, expected, frames, CHAIN_GAP
        if frames == max_frames:
            return at, expected, frames, CHAIN_MORE
        if first + count > stop_id:
            return at, expected, frames, CHAIN_FOUND
        expected = first + count
        offset = at + HEADER_SIZE + size
        frames += 1
    return offset, expected, frames, CHAIN_END


def seek(data, entry_id: int, start: int = 0, *, fd: int | None = None) -> int:
    """Offset of the first frame from ``start`` on that ends above ``entry_id``, or of the first
    frame that is not sound, or the end: where a reader of ``entry_id`` begins (headers only).
    With ``fd``, headers are read from that descriptor of the same file (see ``headers``)."""
    offset = start
    end = len(data)
    for offset, first, count, size in headers(data, start, end, fd=fd):
        if first + count > entry_id:
            return offset
        offset += HEADER_SIZE + size
    return offset


FIND_WINDOW = 4 << 20


def find_in_windows(data, needle: bytes, start: int, end: int, pages: MappedPages | None = None) -> int:
    """``data.find(needle, start, end)`` a few MiB at a time, letting ``pages`` (by default its own)
    drop the mapped pages searched (a planted 1 GiB file of zeros then costs a scan, not 1 GiB of
    resident memory). ``data`` may be bytes, an mmap or a memoryview of one."""
    if pages is None:
        pages = MappedPages(data, start)
    whole_map = isinstance(data, memoryview) and isinstance(data.obj, mmap.mmap) and data.nbytes == len(data.obj)
    buf = data.obj if whole_map else data
    find = getattr(buf, "find", None)  # bytes and maps search in place; a memoryview slice a window at a time
    pos = start
    while pos < end:
        stop = min(end, pos + FIND_WINDOW)
        reach = min(end, stop + len(needle) - 1)
        if find is not None:
            found = find(needle, pos, reach)
        else:
            found = bytes(buf[pos:reach]).find(needle)
            found = found + pos if found >= 0 else -1
        if found >= 0:
            return found
        pos = stop
        pages.release_before(pos)
    return -1


class MappedPages:
    """Keeps a long read of a memory-mapped segment from holding the whole segment in its RSS.

    Pages already read are dropped from this process's map every few MiB (MADV_DONTNEED: for a
    read-only file map they stay in the page cache and would simply be mapped again if touched),
    so reading a 64 MiB segment costs a few MiB of resident memory, not 64.
    """

    STEP = 8 << 20

    def __init__(self, data, start: int = 0):
        obj = data.obj if isinstance(data, memoryview) else data  # a memoryview of a map, or the map
        whole = not isinstance(data, memoryview) or (isinstance(obj, mmap.mmap) and data.nbytes == len(obj))
        usable = whole and isinstance(obj, mmap.mmap) and hasattr(obj, "madvise") and hasattr(mmap, "MADV_DONTNEED")
        self.map = obj if usable else None
        self.done = start - start % mmap.PAGESIZE

    def release_before(self, offset: int) -> None:
        if self.map is not None and offset - self.done >= self.STEP:
            upto = offset - offset % mmap.PAGESIZE
            try:
                self.map.madvise(mmap.MADV_DONTNEED, self.done, upto - self.done)
            except (OSError, ValueError):
                self.map = None
            self.done = upto
