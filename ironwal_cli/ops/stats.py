"""``ironwal stats``: what a root holds, per stream and per segment, from frame headers alone.

An operator sizing a log wants counts, bytes, compression and fill without paying for a full
read, so every figure but the entry-size distribution comes from the 32-byte frame headers
(``scan`` with ``headers_only`` and no CRC: the payloads are never touched). The entry sizes
need the entries, so they are read (CRCs checked, as every read) only when asked for.
Damage does not stop the header walk: it is counted (``problems``, ``damaged_bytes``) and the
walk goes on at the next intact frame, as the scanner resynchronises. ``verify`` is the
command that says what is wrong.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.frames.scan import Frame, headers, map_file, scan
from ..engine.store.listing import StreamListing
from ..engine.store.roots import stream_path
from ..errors import NotFoundError
from ..spec.codec import FRAME_LZ4, HEADER_SIZE, LOST_FILLER_FRAME_SIZE, FrameHeader, unpack_header
from .listing import stream_names

LENGTH_PREFIX = 4  # bytes before each entry in a raw batch (u32 length)
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024  # the writer's default --max-segment-size: fill is against it


@dataclass
class SegmentStats:
    segment: str
    start_id: int
    frames: int = 0
    entries: int = 0
    first_id: int | None = None
    last_id: int | None = None
    disk_bytes: int = 0  # the file's size
    raw_bytes: int = 0  # the frames' raw batches (uncompressed), length prefixes included
    entry_bytes: int = 0  # the entries alone: raw bytes less a 4-byte length prefix per entry
    lz4_frames: int = 0
    lz4_disk_bytes: int = 0  # payload bytes of the LZ4 frames on disk
    lz4_raw_bytes: int = 0  # the raw batches they hold
    min_ids_per_frame: int | None = None
    max_ids_per_frame: int | None = None
    problems: int = 0  # damaged frames or regions the header walk passed over
    damaged_bytes: int = 0
    fill: float = 0.0  # disk_bytes / the segment size the stats were asked against

    def add(self, h: FrameHeader) -> None:
        count = h.entry_count
        self.frames += 1
        self.entries += count
        if count:
            self.first_id = h.start_id if self.first_id is None else self.first_id
            self.last_id = h.start_id + count - 1
        self.raw_bytes += h.uncompressed_size
        self.entry_bytes += h.uncompressed_size - LENGTH_PREFIX * count
        if h.frame_type == FRAME_LZ4:
            self.lz4_frames += 1
            self.lz4_disk_bytes += h.disk_size
            self.lz4_raw_bytes += h.uncompressed_size
        self.min_ids_per_frame = count if self.min_ids_per_frame is None else min(self.min_ids_per_frame, count)
        self.max_ids_per_frame = count if self.max_ids_per_frame is None else max(self.max_ids_per_frame, count)

    def to_dict(self) -> dict:
        out = dict(vars(self))
        out["compression_ratio"] = _ratio(self.lz4_raw_bytes, self.lz4_disk_bytes)
        return out


@dataclass
class StreamStats:
    stream: str
    segments: list[SegmentStats] = field(default_factory=list)
    entry_sizes: Counter | None = None  # size -> how many entries have it (when asked for)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.segments)

    @property
    def first_id(self) -> int | None:
        return next((s.first_id for s in self.segments if s.first_id is not None), None)

    @property
    def last_id(self) -> int | None:
        return next((s.last_id for s in reversed(self.segments) if s.last_id is not None), None)

    def size_distribution(self) -> dict | None:
        """{min, median, p99, max, mean} of entry sizes in bytes (nearest rank), None when not read."""
        if self.entry_sizes is None:
            return None
        total = sum(self.entry_sizes.values())
        if not total:
            return {"min": None, "median": None, "p99": None, "max": None, "mean": None}
        sizes = sorted(self.entry_sizes)
        return {"min": sizes[0], "median": _rank(self.entry_sizes, sizes, total, 0.5),
                "p99": _rank(self.entry_sizes, sizes, total, 0.99), "max": sizes[-1],
                "mean": sum(size * n for size, n in self.entry_sizes.items()) / total}

    def to_dict(self) -> dict:
        frames = self.total("frames")
        per_frame = [s for s in self.segments if s.frames]
        return {
            "stream": self.stream,
            "segments": len(self.segments),
            "frames": frames,
            "entries": self.total("entries"),
            "first_id": self.first_id,
            "last_id": self.last_id,
            "disk_bytes": self.total("disk_bytes"),
            "raw_bytes": self.total("raw_bytes"),
            "entry_bytes": self.total("entry_bytes"),
            "lz4_frames": self.total("lz4_frames"),
            "compression_ratio": _ratio(self.total("lz4_raw_bytes"), self.total("lz4_disk_bytes")),
            "ids_per_frame": {
                "min": min((s.min_ids_per_frame for s in per_frame), default=None),
                "mean": self.total("entries") / frames if frames else None,
                "max": max((s.max_ids_per_frame for s in per_frame), default=None),
            },
            "entry_size": self.size_distribution(),
            "problems": self.total("problems"),
            "damaged_bytes": self.total("damaged_bytes"),
            "segment_stats": [s.to_dict() for s in self.segments],
        }


def _ratio(raw: int, disk: int) -> float | None:
    """raw / disk of the LZ4 frames (how many times smaller compression made them); None without any."""
    return round(raw / disk, 3) if disk else None


def _rank(counts: Counter, sizes: list[int], total: int, q: float) -> int:
    """The nearest-rank ``q`` quantile of the sizes counted in ``counts``."""
    import math

    want, seen = max(1, math.ceil(q * total)), 0
    for size in sizes:
        seen += counts[size]
        if seen >= want:
            return size
    return sizes[-1]


def segment_stats(path: Path, start_id: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> SegmentStats:
    """The header walk of one segment file.

    Sound frames come from ``scan.headers`` (``pread`` of each header: a fresh map would fault
    in a page per header of frames ~100 KB apart), each header read whole once more for its
    type and raw size. A frame of a filler's size, and everything from the first frame that is
    not sound, go through ``scan`` itself, which tells filler frames and damage apart and
    resynchronises after damage: its rules stay in one place.
    """
    stats = SegmentStats(path.name, start_id)
    data = map_file(path)
    size = stats.disk_bytes = len(data)
    stats.fill = round(size / segment_size, 4)
    offset = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        for at, _start, _count, disk in headers(data, end=size, fd=fd):
            if HEADER_SIZE + disk == LOST_FILLER_FRAME_SIZE:
                _count_items(stats, scan(data, at, at + HEADER_SIZE + disk, check_crc=False, headers_only=True))
            else:
                stats.add(unpack_header(os.pread(fd, HEADER_SIZE, at)))
            offset = at + HEADER_SIZE + disk
    finally:
        os.close(fd)
    if offset < size:
        _count_items(stats, scan(data, offset, check_crc=False, headers_only=True))
    return stats


def _count_items(stats: SegmentStats, items) -> None:
    for item in items:
        if isinstance(item, Frame):
            stats.add(item.header)
        else:
            stats.problems += 1
            stats.damaged_bytes += item.length


def stream_stats(root: str | os.PathLike, stream: str, *, segment_size: int = DEFAULT_SEGMENT_SIZE,
                 entry_sizes: bool = False, name_is_dir: bool = False) -> StreamStats:
    """Per-segment stats of ``stream``; with ``entry_sizes`` its entries are read (CRC checked) too."""
    path = stream_path(root, stream, name_is_dir=name_is_dir)
    name = path.name
    if not path.is_dir():
        raise NotFoundError(f"{path}: no such stream")
    layout = StreamListing.read(path)
    result = StreamStats(name)
    for start in layout.segment_ids:
        seg = layout.segment_path(start)
        try:
            result.segments.append(segment_stats(seg, start, segment_size))
        except FileNotFoundError:  # pruned (or recovered) between the listing and the walk
            continue
    if entry_sizes:
        from .read import read_batches

        counts: Counter = Counter()
        for _first, entries in read_batches(root, name, from_id=0):
            counts.update(map(len, entries))
        result.entry_sizes = counts
    return result


@dataclass
class RootStats:
    root: str
    sharded: bool
    streams: list[StreamStats]

    def skew(self) -> float | None:
        """Entries of the fullest shard over the mean per shard (1.0: even); None unless sharded."""
        if not self.sharded or not self.streams:
            return None
        counts = [s.total("entries") for s in self.streams]
        mean = sum(counts) / len(counts)
        return round(max(counts) / mean, 3) if mean else None

    def to_dict(self) -> dict:
        return {"root": self.root, "sharded": self.sharded, "skew": self.skew(),
                "streams": [s.to_dict() for s in self.streams]}


def root_stats(root: str | os.PathLike, streams: list[str] | None = None, *,
               segment_size: int = DEFAULT_SEGMENT_SIZE, entry_sizes: bool = False) -> RootStats:
    """Stats of the named streams, or of every stream of the root (a sharded root: its shards)."""
    from ..sharded.checkpoints import is_sharded_root

    if streams:
        found = [stream_stats(root, s, segment_size=segment_size, entry_sizes=entry_sizes) for s in streams]
    else:
        found = [stream_stats(root, s, segment_size=segment_size, entry_sizes=entry_sizes, name_is_dir=True)
                 for s in stream_names(root)]
    return RootStats(os.fspath(root), is_sharded_root(root), found)
