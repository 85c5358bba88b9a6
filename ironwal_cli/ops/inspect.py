"""Looking inside one file of a root, frame by frame or record by record, damaged or not.

``inspect_file`` is the Python API behind ``ironwal inspect``: a segment (``*.wal``) gives one
row per frame or per damaged region, ``checkpoints.log`` one row per record, ``lost.idx`` and
``seals.idx`` (our own files) one row per range or seal record, and ``HEAD``, ``head.state`` and
``segments.idx`` their decoded contents. Every row says what is wrong with it (``problems``,
the kinds ``verify`` reports). Read-only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..audit.kinds import (
    CHECKPOINT_BAD_CRC,
    HEAD_INVALID,
    HEAD_STATE_INVALID,
    INDEX_BAD_LENGTH,
    NOT_A_SEGMENT,
    UNEXPECTED_FILE,
)
from ..audit.report import Recorder, StreamTotals
from ..audit.segments import NOT_A_SEGMENT_MESSAGE, audit_segment
from ..engine.frames.scan import BAD_CRC, LOST_FILLER, TORN_HEADER, Frame, map_file, scan
from ..engine.reader.reader import decode_frame
from ..engine.store.files import TEMP_SUFFIX, open_regular, read_small
from ..engine.store.listing import HEAD_STATE_LIMIT, OVERSIZED_FILE, index_limit, lost_limit
from ..engine.store.lost_ids import LOST_NAME
from ..engine.store.names import HEAD_STATE_NAME, INDEX_NAME, SEGMENT_SUFFIX, parse_segment_name, segment_name
from ..engine.store.seals import SEALS_LIMIT, SEALS_NAME, matching
from ..errors import FormatError, NotFoundError, UsageError
from ..sharded.checkpoints import HEAD_LIMIT, HEAD_NAME, LOG_NAME, display_id
from ..sharded.log_walk import IntactRecord, walk_records
from ..spec.codec import (
    FRAME_LZ4,
    FRAME_RAW,
    HEADER_SIZE,
    INDEX_ID,
    LOST_RANGE,
    LOST_RANGE_FIELDS,
    SEAL_BODY,
    SEAL_RECORD,
    FrameHeader,
    Seal,
    decode_head,
    decode_head_state,
    decode_seals,
)

SEGMENT_COLUMNS = ["offset", "start_id", "count", "type", "disk_size", "uncompressed_size", "crc_ok", "problems"]
CHECKPOINT_COLUMNS = ["offset", "length", "checkpoint_id", "timestamp_ns", "shard_count", "offsets", "crc_ok",
                      "problems"]
LOST_COLUMNS = ["offset", "first", "end", "count", "problems"]
SEAL_COLUMNS = ["offset", "start_id", "end_id", "size", "st_ino", "st_mtime_ns", "st_ctime_ns", "crc_ok",
                "current", "problems"]
KINDS = {LOG_NAME: "checkpoints", HEAD_NAME: "head", HEAD_STATE_NAME: "head_state", INDEX_NAME: "index",
         LOST_NAME: "lost", SEALS_NAME: "seals"}


@dataclass
class Inspection:
    path: str
    kind: str  # segment, checkpoints, head, head_state or index
    columns: list[str]
    # A segment row may carry "entries": list[bytes] | None, and for a damaged frame or region
    # (with ``hex_damage``) "header_hex" (None: no header there) and "payload_hex".
    rows: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "rows": self.rows}


def file_kind(path: Path) -> str:
    name = path.name.removesuffix(TEMP_SUFFIX)  # a stray temp file is shown as what it was to become
    if name.endswith(SEGMENT_SUFFIX):
        return "segment"
    if name in KINDS:
        return KINDS[name]
    raise UsageError(f"{path}: not a file inspect knows (*.wal, {', '.join(KINDS)})")


def _type_name(frame_type: int) -> str:
    return {FRAME_RAW: "raw", FRAME_LZ4: "lz4"}.get(frame_type, f"type {frame_type}")


def _header_row(offset: int, h: FrameHeader | None) -> dict:
    row = dict.fromkeys(SEGMENT_COLUMNS)
    row["offset"] = offset
    if h is not None:
        row.update(start_id=h.start_id, count=h.entry_count, type=_type_name(h.frame_type), disk_size=h.disk_size,
                   uncompressed_size=h.uncompressed_size)
    return row


def _verdicts(path: Path, data) -> dict[int, list[tuple[str, str]]]:
    """What ``verify`` reports for this segment, by frame offset (ids that skip or go back included)."""
    start = parse_segment_name(path.name.removesuffix(TEMP_SUFFIX))
    if start is None:  # a copy under another name: take the first frame's id as the start
        start = next((i.header.start_id for i in scan(data, headers_only=True) if isinstance(i, Frame)), 0)
    rec = Recorder(path.parent, [])
    audit_segment(rec, path, start, StreamTotals())
    found: dict[int, list[tuple[str, str]]] = {}
    for p in rec.problems:
        found.setdefault(p.offset, []).append((p.kind, p.message))
    return found


def is_damaged(row: dict) -> bool:
    """A frame verify reports something about, or a region that is no intact frame at all."""
    return bool(row.get("problems")) or row.get("crc_ok") is not True


def _damage_hex(data, row: dict, item) -> None:
    """The bytes of a damaged frame or region, as hex: its header (when one could be read) and
    what follows it (the payload; up to the next intact frame when the length is not known)."""
    if isinstance(item, Frame):
        end = item.end_offset
        has_header = True
    else:
        end = item.offset + item.length
        has_header = item.header is not None
    start = item.offset + HEADER_SIZE if has_header else item.offset
    row["header_hex"] = bytes(data[item.offset:start]).hex() if has_header else None
    row["payload_hex"] = bytes(data[start:end]).hex()


def _segment_rows(path: Path, with_entries: bool, hex_damage: bool) -> list[dict]:
    data = map_file(path)
    verdicts = _verdicts(path, data)
    if any(kind == NOT_A_SEGMENT for kind, _ in verdicts.get(0, [])):
        raise FormatError(path, None, NOT_A_SEGMENT_MESSAGE, kind=NOT_A_SEGMENT)  # rows would be nonsense
    rows = []
    for item in scan(data):
        found = verdicts.get(item.offset, [])
        if isinstance(item, Frame):
            row = _header_row(item.offset, item.header)
            row["crc_ok"] = True
        else:
            row = _header_row(item.offset, item.header if item.kind != TORN_HEADER else None)
            row.update(crc_ok=False if item.kind == BAD_CRC else None, length=item.length)
        row.update(problems=[k for k, _ in found], messages=[m for _, m in found])
        if not isinstance(item, Frame) and item.kind == LOST_FILLER:  # not damage, but never data: say what it is
            row.update(crc_ok=False, problems=[LOST_FILLER], messages=[item.message])
        if hex_damage and is_damaged(row):
            _damage_hex(data, row, item)
        if with_entries:
            row["entries"] = None
            if isinstance(item, Frame):
                try:
                    row["entries"] = decode_frame(path, item.offset, item.header, item.payload)
                except FormatError:
                    pass
        rows.append(row)
    return rows


def _checkpoint_rows(data: bytes) -> list[dict]:
    rows = []
    for item in walk_records(data):
        row = dict.fromkeys(CHECKPOINT_COLUMNS)
        row.update(offset=item.offset, length=item.length)
        if isinstance(item, IntactRecord):
            cp = item.checkpoint
            row.update(checkpoint_id=display_id(cp.checkpoint_id), checkpoint_id_hex=cp.checkpoint_id.hex(),
                       timestamp_ns=cp.timestamp_ns, shard_count=cp.shard_count, offsets=list(cp.offsets),
                       crc_ok=True, problems=[], messages=[])
        else:
            crc_ok = None if item.crc is None else item.kind != CHECKPOINT_BAD_CRC
            row.update(crc_ok=crc_ok, problems=[item.kind], messages=[item.message])
        rows.append(row)
    return rows


def _index_rows(path: Path, data: bytes) -> list[dict]:
    step = INDEX_ID.size
    whole = len(data) - len(data) % step
    rows = [{"offset": i, "id": v, "segment": segment_name(v), "exists": (path.parent / segment_name(v)).exists(),
             "problems": []} for i, (v,) in zip(range(0, whole, step), INDEX_ID.iter_unpack(data[:whole]), strict=True)]
    if whole != len(data):
        rows.append({"offset": whole, "id": None, "segment": None, "exists": None, "problems": [INDEX_BAD_LENGTH],
                     "messages": [f"{len(data) - whole} bytes left over: not a multiple of {step}"]})
    return rows


def _lost_rows(data: bytes) -> list[dict]:
    """One row per range [first, end); a range that is empty, descending or overlapping the one
    before, or bytes left over, is what makes verify call the file unreadable."""
    step = LOST_RANGE.size
    whole = len(data) - len(data) % step
    rows, prev_end = [], 0
    for offset in range(0, whole, step):
        first, end = LOST_RANGE_FIELDS.unpack_from(data, offset)
        row = {"offset": offset, "first": first, "end": end, "count": max(end - first, 0), "problems": []}
        if first >= end or first < prev_end:
            row.update(problems=[UNEXPECTED_FILE],
                       messages=["unreadable lost.idx: ranges not ascending, disjoint and non-empty"])
        prev_end = max(prev_end, end)
        rows.append(row)
    if whole != len(data):
        rows.append({"offset": whole, "first": None, "end": None, "count": None, "problems": [UNEXPECTED_FILE],
                     "messages": [f"unreadable lost.idx: {len(data) - whole} bytes left over, not a u64 pair"]})
    return rows


def _seal_rows(path: Path, data: bytes) -> list[dict]:
    """One row per seal record; ``current``: the segment's stat still equals the record (so the
    seal still vouches for it). A bad record is ignored by every reader of the cache."""
    size = SEAL_RECORD.size
    whole = len(data) - len(data) % size
    rows = []
    for offset in range(0, whole, size):
        good, _bad = decode_seals(data[offset:offset + size])
        seal = Seal._make(SEAL_BODY.unpack_from(data, offset))
        current = bool(good) and bool(matching([seal], {seal.start_id: segment_name(seal.start_id)}, path.parent))
        row = seal._asdict()
        row.update(offset=offset, crc_ok=bool(good), current=current, problems=[],
                   messages=[] if good else ["CRC mismatch: the record is ignored (recover re-reads the segment)"])
        rows.append(row)
    if whole != len(data):
        rows.append({"offset": whole, "crc_ok": None, "current": None, "problems": [],
                     "messages": [f"{len(data) - whole} bytes of a torn record: ignored"]})
    return rows


def _decoded_row(decode, data: bytes, kind: str) -> dict:
    try:
        return {**decode(data), "problems": []}
    except (ValueError, UnicodeDecodeError) as err:
        return {"problems": [kind], "messages": [str(err)], "bytes_hex": data.hex()}


def _small_file(path: Path, kind: str) -> bytes:
    """The bytes of a HEAD, head.state, segments.idx, lost.idx or seals.idx, at most what such a
    file can sensibly hold (engine.store.listing's bounds): a planted 1 GiB one is refused, not read whole."""
    limit = {"head": HEAD_LIMIT, "head_state": HEAD_STATE_LIMIT, "seals": SEALS_LIMIT}.get(kind)
    if limit is None:  # segments.idx, lost.idx: as many ids as the segment files beside them can need
        files = sum(parse_segment_name(n) is not None for n in os.listdir(path.parent))
        limit = lost_limit(files) if kind == "lost" else index_limit(files)
    found = read_small(path, limit)
    if found.oversized:
        raise FormatError(path, None, found.excess(f"a {path.name}"), kind=OVERSIZED_FILE)
    return found.data


def inspect_file(path: str | os.PathLike, *, entries: bool = False, hex_damage: bool = False) -> Inspection:
    """The rows of one file; ``entries`` also decodes each intact frame's entries, ``hex_damage``
    adds the bytes of each damaged frame or region as hex (segments only)."""
    path = Path(path)
    kind = file_kind(path)
    if not os.path.lexists(path):
        raise NotFoundError(f"{path}: no such file")
    os.close(open_regular(path))  # a FIFO, device, directory or link: NotRegularFileError says which
    if kind == "segment":
        return Inspection(str(path), kind, SEGMENT_COLUMNS, _segment_rows(path, entries, hex_damage))
    data = map_file(path) if kind == "checkpoints" else _small_file(path, kind)  # a log is walked in place
    if kind == "lost":
        return Inspection(str(path), kind, LOST_COLUMNS, _lost_rows(data))
    if kind == "seals":
        return Inspection(str(path), kind, SEAL_COLUMNS, _seal_rows(path, data))
    if kind == "checkpoints":
        return Inspection(str(path), kind, CHECKPOINT_COLUMNS, _checkpoint_rows(data))
    if kind == "index":
        return Inspection(str(path), kind, ["offset", "id", "segment", "exists", "problems"], _index_rows(path, data))
    if kind == "head":
        row = _decoded_row(lambda d: {"checkpoint_id": display_id(decode_head(d)),
                                      "checkpoint_id_hex": decode_head(d).hex()}, data, HEAD_INVALID)
        return Inspection(str(path), kind, ["checkpoint_id", "checkpoint_id_hex", "problems"], [row])
    # decoded first: an empty head.state has no version byte to show (it raised IndexError)
    row = _decoded_row(lambda d: {"segment": decode_head_state(d), "version": d[0]}, data, HEAD_STATE_INVALID)
    return Inspection(str(path), kind, ["version", "segment", "problems"], [row])
