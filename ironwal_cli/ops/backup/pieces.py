"""Reading a stored file back: its pieces in order, each checked against its sha256, and the frame
walk over them that ``backup verify`` and ``restore`` share (every CRC, ids in sequence)."""

from __future__ import annotations

from collections.abc import Iterator

from ...engine.frames.scan import LOST_FILLER, TORN_HEADER, TORN_PAYLOAD, Frame, scan
from ...errors import FormatError, UsageError
from .destinations import Destination
from .generations import object_key, sha256


def read_piece(dest: Destination, part: list) -> bytes:
    """The bytes of piece ``[sha256, size]``; FormatError when missing or not those bytes."""
    digest, size = part
    key = object_key(digest)
    data = dest.get(key)
    if data is None:
        raise FormatError(dest.where(key), None, "object missing", kind="missing_object")
    if len(data) != size or sha256(data) != digest:
        raise FormatError(dest.where(key), None, f"object damaged: {len(data)} bytes whose sha256 is not its name "
                          f"(the manifest says {size} bytes)", kind="bad_object")
    return data


def read_pieces(dest: Destination, record: dict) -> Iterator[bytes]:
    for part in record["parts"]:
        yield read_piece(dest, part)


class FrameWalk:
    """Fed a segment's bytes piece by piece: checks every frame (CRC, ids from ``start_id`` in
    sequence) and that the segment ends on a frame boundary. ``end_offset`` of a frame ending at
    an id is kept for cuts (``cut_at``)."""

    def __init__(self, where: str, start_id: int, cut_id: int | None = None):
        self.where, self.expected, self.cut_id = where, start_id, cut_id
        self.carry = b""
        self.base = 0  # offset in the segment of ``carry``'s first byte
        self.frames = 0
        self.cut_offset: int | None = 0 if cut_id is not None and cut_id <= start_id else None

    def feed(self, data: bytes, final: bool = False) -> None:
        buf = self.carry + data if self.carry else data
        consumed = 0
        for item in scan(memoryview(buf)):
            if isinstance(item, Frame) or (item.kind == LOST_FILLER and item.header.start_id == self.expected):
                h = item.header
                if h.start_id != self.expected:
                    raise FormatError(self.where, self.base + item.offset, f"frame starts at id {h.start_id}, "
                                      f"expected {self.expected}", kind="id_sequence")
                if self.cut_id is not None and self.cut_offset is None and self.expected < self.cut_id < h.end_id:
                    raise UsageError(f"{self.where}: id {self.cut_id - 1} is inside the batch of ids "
                                     f"{h.start_id}..{h.end_id - 1} (a batch is written whole): restore up to id "
                                     f"{h.start_id - 1} or {h.end_id - 1}")
                self.expected = h.end_id
                self.frames += 1
                consumed = item.offset + item.length if not isinstance(item, Frame) else item.end_offset
                if self.cut_id is not None and self.cut_offset is None and self.expected == self.cut_id:
                    self.cut_offset = self.base + consumed
                continue
            if item.kind in (TORN_HEADER, TORN_PAYLOAD) and not final and item.offset + item.length == len(buf):
                break  # continues in the next piece
            raise FormatError(self.where, self.base + item.offset, item.message, kind=item.kind)
        self.carry = bytes(buf[consumed:])
        self.base += consumed

    def finish(self) -> None:
        if self.carry:
            self.feed(b"", final=True)
