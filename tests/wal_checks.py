"""Checks of a stream directory written by our writer, made from the bytes alone.

They walk frame headers by ``disk_size`` and check CRCs with zlib directly, independent of
the scanner and reader under test, so a bug there cannot hide a bug in what was written.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from ironwal_cli.engine.store.seals import SEALS_NAME
from ironwal_cli.spec.codec import HEADER_SIZE, FrameHeader, decode_head_state, decode_index, unpack_header

SEGMENT_SUFFIX = ".wal"


def walk_headers(data: bytes) -> list[tuple[int, FrameHeader, bool]]:
    """(offset, header, crc_ok) of each frame, walked by disk_size alone."""
    out, pos = [], 0
    while pos + HEADER_SIZE <= len(data):
        h = unpack_header(data, pos)
        payload = data[pos + HEADER_SIZE:pos + HEADER_SIZE + h.disk_size]
        ok = len(payload) == h.disk_size and zlib.crc32(payload, zlib.crc32(data[pos + 8:pos + 25])) == h.crc
        out.append((pos, h, ok))
        pos += HEADER_SIZE + h.disk_size
    return out


def check_seals(stream_dir: Path) -> int:
    """Every seal recover would trust describes its segment as it is: whole frames with good CRCs
    filling the file, ids from its start id up to its end id. Returns how many seals were checked."""
    from ironwal_cli.engine.store.listing import StreamListing
    from ironwal_cli.engine.store.seals import matching, read_seals

    layout = StreamListing.read(stream_dir)
    trusted = matching(read_seals(stream_dir)[0], layout.segment_files, stream_dir)
    for start, seal in trusted.items():
        path = stream_dir / layout.segment_files[start]
        data = path.read_bytes()
        frames = walk_headers(data)
        assert all(ok for _, _, ok in frames), (path, "sealed but damaged")
        end = frames[-1][0] + HEADER_SIZE + frames[-1][1].disk_size if frames else 0
        assert end == len(data) == seal.size, (path, end, len(data), seal)
        expected = start
        for _, h, _ in frames:
            assert h.start_id == expected, (path, h.start_id, expected)
            expected += h.entry_count
        assert expected == seal.end_id, (path, expected, seal)
    return len(trusted)


def root_digests(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``root`` (the form of case.json's root_sha256).

    ``seals.idx`` is left out: our stat cache (inodes and times), never the crate's, and different
    between any two copies of the same root.
    """
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f == SEALS_NAME:
                continue
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def segment_starts(stream_dir: Path) -> list[int]:
    return sorted(int(p.name[:-4]) for p in stream_dir.iterdir() if p.name.endswith(SEGMENT_SUFFIX))


def check_stream(stream_dir: Path, max_segment_size: int | None = None,
                 max_entries: int | None = None) -> dict[int, list[FrameHeader]]:
    """Assert that a stream we wrote is sound and within its limits; returns {segment start: headers}.

    - every frame is whole and its CRC is good; frames fill each file exactly;
    - ids are contiguous across segments, and each file is named by its first frame's id;
    - segments.idx lists exactly the segment files, ascending, without duplicate ids;
      head.state (when present) names the last segment;
    - limits: before each frame is written the segment holds fewer than ``max_entries``
      entries and fewer than ``max_segment_size`` bytes, so a segment is over a limit only
      by its last frame (a batch is never split by the entry limit: the crate's rule).
    """
    starts = segment_starts(stream_dir)
    index = decode_index((stream_dir / "segments.idx").read_bytes())
    assert index == starts, f"{stream_dir}: segments.idx {index} != segment files {starts}"
    assert len(set(index)) == len(index)
    head = stream_dir / "head.state"
    if head.exists():
        assert decode_head_state(head.read_bytes()) == f"{starts[-1]:020d}.wal"
    out = {}
    expected = starts[0] if starts else 0
    for start in starts:
        data = (stream_dir / f"{start:020d}.wal").read_bytes()
        frames = walk_headers(data)
        assert frames, f"segment {start} is empty"
        assert frames[0][1].start_id == start
        size = entries = 0
        for offset, header, crc_ok in frames:
            assert crc_ok, f"segment {start}: bad frame at offset {offset}"
            assert header.start_id == expected, f"segment {start} offset {offset}: id {header.start_id} != {expected}"
            if max_segment_size is not None:
                assert size < max_segment_size, f"segment {start}: frame at {offset} written into a full segment"
            if max_entries is not None:
                assert entries < max_entries, f"segment {start}: frame at {offset} written after {entries} entries"
            expected = header.end_id
            size = offset + HEADER_SIZE + header.disk_size
            entries += header.entry_count
        assert size == len(data)
        out[start] = [h for _, h, _ in frames]
    return out
