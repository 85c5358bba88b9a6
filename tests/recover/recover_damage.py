"""Building damaged roots for the recover tests, and checking a root the way verify would."""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path

from wal_checks import root_digests

from ironwal_cli.engine.frames.scan import LOST_FILLER, Frame, map_file, scan
from ironwal_cli.engine.reader.reader import StreamReader, decode_frame
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.store.lost_ids import covers
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.listing import stream_names

STREAM = "s"
FRAMES_PER_SEGMENT = 5
ENTRIES_PER_FRAME = 3


def entry(i: int) -> bytes:
    """Compressible entries (so LZ4 frames are smaller), each distinct, some with NUL and newlines."""
    return (b"entry-%d\n\x00" % i) + bytes([65 + i % 26]) * 400


def build_root(root: Path, compress: bool) -> dict[int, bytes]:
    """Stream ``s``: two segments of 5 frames of 3 entries; returns every entry by id."""
    options = WriteOptions(max_entries_per_segment=FRAMES_PER_SEGMENT * ENTRIES_PER_FRAME, compress=compress,
                           min_compress_size=64)
    written = {}
    with StreamWriter(root, STREAM, options) as w:
        for f in range(2 * FRAMES_PER_SEGMENT):
            batch = [entry(f * ENTRIES_PER_FRAME + k) for k in range(ENTRIES_PER_FRAME)]
            ids = w.append_batch(batch)
            written.update(zip(ids, batch, strict=True))
    return written


def frames_of(path: Path) -> list[Frame]:
    return [f for f in scan(map_file(path)) if isinstance(f, Frame)]


@dataclass
class Damage:
    """What a test damaged: the ids of the frames it overlaps in the ORIGINAL file are lost
    (``start``..``end``), and recover must quarantine exactly ``removed`` (a range of the DAMAGED file)."""

    path: Path
    start: int
    end: int  # in the original file; for a cut, the original size
    removed: tuple[int, int]


POSITIONS = {"first": 0, "middle": FRAMES_PER_SEGMENT // 2, "last": FRAMES_PER_SEGMENT - 1}
KINDS = ("torn_header", "torn_payload", "bad_crc", "bad_magic", "bad_reserved", "bad_uncompressed_size",
         "garbage", "zeroed", "inserted")
HEADER_ONLY = ("bad_magic", "bad_reserved", "bad_uncompressed_size")  # fields the CRC does not cover


def damage(seg: Path, kind: str, index: int, seed: int = 1) -> Damage:
    """Damage frame ``index`` of segment ``seg`` in one of the ways of KINDS."""
    data = bytearray(seg.read_bytes())
    frames = frames_of(seg)
    frame = frames[index]
    start, end = frame.offset, frame.end_offset
    rng = random.Random(seed)
    if kind in ("torn_header", "torn_payload"):
        cut = start + 10 if kind == "torn_header" else start + 32 + frame.header.disk_size // 2
        del data[cut:]
        result = Damage(seg, start, len(seg.read_bytes()), (start, cut))
    elif kind in HEADER_ONLY:  # the entries survive: only the 32-byte header is replaced
        data[{"bad_magic": start, "bad_reserved": start + 29, "bad_uncompressed_size": start + 25}[kind]] ^= 0x5A
        result = Damage(seg, start, start, (start, start + 32))
    elif kind in ("bad_crc", "garbage"):
        if kind == "bad_crc":
            data[end - 1] ^= 0x01
        else:
            data[start:end] = bytes(rng.randrange(256) for _ in range(end - start))
        result = Damage(seg, start, end, (start, end))
    elif kind == "zeroed":
        page_start = start - start % 512
        page_end = min(page_start + 512, len(data))
        data[page_start:page_end] = bytes(page_end - page_start)
        hit = [f for f in frames if f.offset < page_end and f.end_offset > page_start]
        result = Damage(seg, page_start, page_end, (hit[0].offset, hit[-1].end_offset))
    elif kind == "inserted":  # garbage between frames: no entry is lost
        data[start:start] = b"\xde\xad" * 20
        result = Damage(seg, start, start, (start, start + 40))
    else:
        raise ValueError(kind)
    seg.write_bytes(bytes(data))
    return result


def intact_ids(root: Path, written: dict[int, bytes], dmg: Damage, frames_by_seg: dict[Path, list[Frame]]):
    """Ids of the entries whose frame the damage did not touch."""
    lost = set()
    for f in frames_by_seg[dmg.path]:
        touches = f.offset < dmg.end and f.end_offset > dmg.start
        if touches:
            lost.update(range(f.header.start_id, f.header.end_id))
    return {i: v for i, v in written.items() if i not in lost}


# sha256 of every file under a root but seals.idx (a stat cache that differs between any two
# copies of a root, and that undo leaves as recover wrote it): the one digest of tests/wal_checks.
snapshot = root_digests


def read_all(root: Path, name: str) -> tuple[dict[int, bytes], list[str]]:
    warnings: list[str] = []
    reader = StreamReader(root, name, allow_gaps=True, on_warning=warnings.append, name_is_dir=True)
    return dict(reader.entries(0)), warnings


def assert_clean(root: Path) -> None:
    """``ironwal verify`` finds nothing, and our own checks agree: every frame intact, readable, files consistent."""
    from ironwal_cli.ops.verify import verify_root

    report = verify_root(root, jobs=1)
    assert report.ok, [str(p) for p in report.problems]
    for name in stream_names(root):
        layout = StreamListing.read(root / name)
        assert not [n for n in layout.other_files if n.endswith(".tmp")], layout.other_files
        segs = layout.segment_ids
        for s in segs:
            path = layout.segment_path(s)
            expected = s
            for item in scan(map_file(path)):
                if not isinstance(item, Frame) and item.kind == LOST_FILLER:  # lost ids, recorded as lost
                    assert item.header.start_id == expected, (path, item.header.start_id, expected)
                    assert covers(layout.lost, item.header.start_id, item.header.end_id), (path, layout.lost)
                    expected = item.header.end_id
                    continue
                assert isinstance(item, Frame), (path, item)
                decode_frame(path, item.offset, item.header, item.payload)
                assert item.header.start_id == expected, (path, item.header.start_id, expected)
                expected = item.header.end_id
            assert segs[-1] == s or expected <= segs[segs.index(s) + 1], (path, "overlaps the next segment")
        if segs:
            ids = layout.index_ids
            assert ids is not None, (name, layout.index_error)
            assert (not ids and segs == [0]) or (layout.index_is_sorted and set(ids) == set(segs)), (name, ids)
            if len(segs) > 1 or segs[-1] != 0:
                assert layout.head_segment == layout.segment_files[segs[-1]], (name, layout.head_segment)
        read_all(root, name)  # raises on any damage


def independent_read(stream_dir: Path) -> dict[int, bytes]:
    """Every entry of a raw stream read segment by segment by ``tests/independent/wal_reader.py``,
    which shares no code with the package; it also holds the index against the segment files."""
    path = Path(__file__).resolve().parents[1] / "independent" / "wal_reader.py"
    spec = importlib.util.spec_from_file_location("recover_independent_wal_reader", path)
    reader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    starts = reader.segment_starts(str(stream_dir))
    assert sorted(set(reader.read_index(str(stream_dir)))) == starts
    entries: dict[int, bytes] = {}
    for start in starts:
        entries.update(reader.read_segment(str(stream_dir / f"{start:020d}.wal"), start))
    return entries
