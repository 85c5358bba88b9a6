"""An independent reader of IronWal 0.6 roots, written from FORMAT-NOTES.md alone.

It shares no code with ``ironwal_cli`` (only ``struct`` and ``zlib``), so a test that reads a
root with both and gets the same answer checks the package against the notes, not against
itself. Raw frames only: LZ4 frames raise (the roots it is pointed at are written raw).
"""

from __future__ import annotations

import os
import struct
import zlib

HEADER = struct.Struct("<IIQIBII3s")  # magic, crc, start_id, entry_count, frame_type, disk_size, uncompressed, reserved
MAGIC = 0x4C57414C
# format/FORMAT.md, "Filler frames": lost ids, a raw frame whose 32-byte payload is this marker, the
# first lost id and the first id after (u64 each), and whose CRC is the true one with every bit flipped.
FILLER_MARKER = b"IRONWAL LOST IDS"


def filler_range(data: bytes, pos: int) -> tuple[int, int] | None:
    """(first, end) of the filler frame at ``pos``, None when it is no filler."""
    if len(data) - pos < 64:
        return None
    magic, crc, start, count, ftype, size, raw_size, reserved = HEADER.unpack_from(data, pos)
    payload = data[pos + 32:pos + 64]
    if (magic, ftype, size, raw_size, reserved) != (MAGIC, 0, 32, 32, b"\0\0\0") or payload[:16] != FILLER_MARKER:
        return None
    first, end = struct.unpack_from("<QQ", payload, 16)
    covered = struct.pack("<QIBI", start, count, ftype, size)
    if (first, end) != (start, start + count) or zlib.crc32(payload, zlib.crc32(covered)) != crc ^ 0xFFFFFFFF:
        return None
    return first, end


def segment_starts(stream_dir: str) -> list[int]:
    names = [n for n in os.listdir(stream_dir) if n.endswith(".wal") and len(n) == 24 and n[:20].isdigit()]
    return sorted(int(n[:20]) for n in names)


def read_index(stream_dir: str) -> list[int]:
    with open(os.path.join(stream_dir, "segments.idx"), "rb") as f:
        data = f.read()
    assert len(data) % 8 == 0, "segments.idx is not a whole number of u64"
    return [v for (v,) in struct.iter_unpack("<Q", data)]


def read_segment(path: str, expected_start: int, lost: list | None = None) -> list[tuple[int, bytes]]:
    """The entries of a segment; the id ranges of its filler frames go to ``lost`` (when given)."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos, expected = [], 0, expected_start
    while pos < len(data):
        filler = filler_range(data, pos)
        if filler is not None:
            assert filler[0] == expected, f"{path}@{pos}: filler starts at {filler[0]}, expected {expected}"
            if lost is not None:
                lost.append(filler)
            expected, pos = filler[1], pos + 64
            continue
        magic, crc, start, count, ftype, size, raw_size, reserved = HEADER.unpack_from(data, pos)
        assert magic == MAGIC, f"{path}@{pos}: bad magic"
        assert reserved == b"\0\0\0", f"{path}@{pos}: reserved bytes not zero"
        payload = data[pos + 32:pos + 32 + size]
        assert len(payload) == size, f"{path}@{pos}: torn frame"
        covered = struct.pack("<QIBI", start, count, ftype, size)
        assert zlib.crc32(payload, zlib.crc32(covered)) == crc, f"{path}@{pos}: CRC mismatch"
        assert ftype == 0, "LZ4 frames are outside this reader"
        assert raw_size == size
        assert start == expected, f"{path}@{pos}: frame starts at {start}, expected {expected}"
        p = 0
        for i in range(count):
            (n,) = struct.unpack_from("<I", payload, p)
            out.append((start + i, payload[p + 4:p + 4 + n]))
            p += 4 + n
        assert p == len(payload), f"{path}@{pos}: batch has bytes left over"
        expected += count
        pos += 32 + size
    return out


def read_stream(stream_dir: str) -> list[tuple[int, bytes]]:
    """Every entry (id, bytes), from the first segment on; ids must be contiguous."""
    entries: list[tuple[int, bytes]] = []
    for start in segment_starts(stream_dir):
        if entries:
            assert start == entries[-1][0] + 1, f"{stream_dir}: segment {start} does not follow id {entries[-1][0]}"
        entries += read_segment(os.path.join(stream_dir, f"{start:020d}.wal"), start)
    return entries


def read_checkpoints(root: str) -> list[dict]:
    """The records of checkpoints.log in file order, each checked (magic, CRC, version, lengths)."""
    with open(os.path.join(root, "checkpoints.log"), "rb") as f:
        data = f.read()
    records, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"CKPT", f"bad record magic at {pos}"
        crc, length = struct.unpack_from("<II", data, pos + 4)
        payload = data[pos + 12:pos + 12 + length]
        assert len(payload) == length and zlib.crc32(payload) == crc, f"bad record at {pos}"
        version, id_len = struct.unpack_from("<BH", payload)
        assert version == 1
        cid = payload[3:3 + id_len]
        timestamp, shard_count = struct.unpack_from("<QH", payload, 3 + id_len)
        offsets = list(struct.unpack_from(f"<{shard_count}Q", payload, 3 + id_len + 10))
        assert 3 + id_len + 10 + 8 * shard_count == length
        records.append({"id": cid, "timestamp": timestamp, "offsets": offsets})
        pos += 12 + length
    return records


def read_head(root: str) -> bytes | None:
    path = os.path.join(root, "HEAD")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<H", data)
    assert len(data) == 2 + n
    return data[2:]


def latest_checkpoint(root: str) -> dict | None:
    """The record HEAD names (the later of equal ids), else the newest by timestamp."""
    records = read_checkpoints(root)
    head = read_head(root)
    if head is not None:
        named = [r for r in records if r["id"] == head]
        return named[-1] if named else None
    return max(records, key=lambda r: r["timestamp"], default=None)


def read_root(root: str) -> dict:
    """Everything a root holds: entries per stream, and for a sharded root its checkpoints and HEAD."""
    streams = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    out = {"streams": {n: read_stream(os.path.join(root, n)) for n in streams}}
    if os.path.exists(os.path.join(root, "checkpoints.log")):
        out["checkpoints"] = read_checkpoints(root)
        out["head"] = read_head(root)
        out["latest"] = latest_checkpoint(root)
    return out
