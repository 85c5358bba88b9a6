"""verify on damaged frames: each damage is reported with its exact kind and the offset of its frame."""

from __future__ import annotations

import os

import pytest
from verify_support import flip_bit, found, frames, patch, segments, verify, write_stream

from ironwal_cli.engine.frames.compression import compress
from ironwal_cli.spec.codec import FRAME_LZ4, FRAME_RAW, HEADER_SIZE, encode_frame, encode_raw_batch

SEG = "s/00000000000000000000.wal"
# Header field offsets (FORMAT-NOTES): magic 0, crc 4, start_id 8, entry_count 16, frame_type 20,
# disk_size 21, uncompressed_size 25, reserved 29..31.
UNCOMPRESSED_SIZE, RESERVED = 25, 29


def entries(n: int, size: int = 40, tag: str = "e") -> list[bytes]:
    return [f"{tag}{i:05d}".encode().ljust(size, b".") for i in range(n)]


@pytest.fixture
def stream(root):
    """One segment of 6 raw frames (ids 0..17) and one LZ4 frame (ids 18..67)."""
    write_stream(root, "s", [entries(3, tag=f"b{k}-") for k in range(6)])
    write_stream(root, "s", [entries(50, 60)], compress=True)
    return root / "s"


def test_clean_stream_verifies_with_totals(root, stream):
    report = verify(root)
    assert report.ok and found(report) == []
    totals = report.streams["s"]
    assert (totals.segments, totals.frames, totals.entries) == (1, 7, 68)
    assert totals.bytes == os.path.getsize(segments(stream)[0])
    assert totals.lz4_frames == 1 and totals.lz4_ratio > 1


def test_bit_flip_in_payload_is_bad_crc_at_its_frame(root, stream):
    f = frames(segments(stream)[0])[2]
    flip_bit(segments(stream)[0], f.offset + HEADER_SIZE + 10)
    assert found(verify(root)) == [(SEG, f.offset, "bad_crc")]


@pytest.mark.parametrize("field_offset", [4, 8, 16, 20, 21], ids=["crc", "start_id", "entry_count", "frame_type",
                                                                   "disk_size"])
def test_bit_flip_in_a_crc_covered_header_field_is_bad_crc(root, stream, field_offset):
    f = frames(segments(stream)[0])[3]
    flip_bit(segments(stream)[0], f.offset + field_offset)
    assert found(verify(root)) == [(SEG, f.offset, "bad_crc")]


def test_bit_flip_in_magic_is_bad_magic(root, stream):
    f = frames(segments(stream)[0])[1]
    flip_bit(segments(stream)[0], f.offset + 1, 3)
    assert found(verify(root)) == [(SEG, f.offset, "bad_magic")]


@pytest.mark.parametrize("which", [1, 6], ids=["raw", "lz4"])
@pytest.mark.parametrize("bit", [0, 9])
def test_bit_flip_in_uncompressed_size_is_size_mismatch(root, stream, which, bit):
    """The CRC does not cover uncompressed_size: the raw length check or the LZ4 decode length catches it."""
    f = frames(segments(stream)[0])[which]
    assert f.header.frame_type == (FRAME_LZ4 if which == 6 else FRAME_RAW)
    flip_bit(segments(stream)[0], f.offset + UNCOMPRESSED_SIZE + bit // 8, bit % 8)
    assert found(verify(root)) == [(SEG, f.offset, "size_mismatch")]


@pytest.mark.parametrize("byte", [0, 1, 2])
def test_bit_flip_in_reserved_bytes_is_reserved_nonzero(root, stream, byte):
    f = frames(segments(stream)[0])[4]
    flip_bit(segments(stream)[0], f.offset + RESERVED + byte, 5)
    assert found(verify(root)) == [(SEG, f.offset, "reserved_nonzero")]


def _segment_of(path, *frames_bytes: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(frames_bytes))
    (path.parent / "segments.idx").write_bytes(bytes(8))


def test_crafted_frames_with_good_crc(root):
    """Damage the CRC cannot see: a made-up frame type, an LZ4 payload that does not decode, a bad batch."""
    raw = encode_raw_batch([b"a", b"bb"])
    good = encode_frame(0, 2, FRAME_RAW, raw, len(raw))
    bad_type = encode_frame(2, 2, 2, raw, len(raw))
    bad_lz4 = encode_frame(4, 2, FRAME_LZ4, b"\x04\x22\x4d\x18garbage", len(raw))
    short = encode_frame(6, 3, FRAME_RAW, raw, len(raw))  # claims 3 entries, holds 2
    extra = encode_frame(9, 1, FRAME_RAW, raw, len(raw))  # 1 entry, bytes left over
    lz4_short = encode_frame(10, 3, FRAME_LZ4, compress(raw * 100), len(raw) * 100)
    parts = [good, bad_type, bad_lz4, short, extra, lz4_short]
    _segment_of(root / "s" / "00000000000000000000.wal", *parts)
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    assert found(verify(root)) == [(SEG, offsets[1], "bad_frame_type"), (SEG, offsets[2], "bad_lz4"),
                                   (SEG, offsets[3], "bad_batch"), (SEG, offsets[4], "bad_batch"),
                                   (SEG, offsets[5], "bad_batch")]


def test_ids_skip_backwards_and_start_mismatch(root):
    raw = encode_raw_batch([b"x"])
    parts = [encode_frame(i, 1, FRAME_RAW, raw, len(raw)) for i in (5, 6, 8, 7, 9)]
    _segment_of(root / "s" / "00000000000000000004.wal", *parts)
    (root / "s" / "segments.idx").write_bytes((4).to_bytes(8, "little"))
    size = len(parts[0])
    seg = "s/00000000000000000004.wal"
    assert found(verify(root)) == [(seg, 0, "segment_start_mismatch"), (seg, 2 * size, "ids_skip"),
                                   (seg, 3 * size, "ids_backwards")]


def test_truncation_at_every_byte_inside_the_last_frame(root, tmp_path):
    stream = write_stream(root, "s", [entries(2), entries(1, 50)])
    seg = segments(stream)[0]
    last = frames(seg)[-1]
    whole = seg.read_bytes()
    assert len(whole) == last.end_offset
    seen = {}
    for cut in range(last.offset + 1, last.end_offset):
        seg.write_bytes(whole[:cut])
        kind = "torn_header" if cut - last.offset < HEADER_SIZE else "torn_payload"
        assert found(verify(root, seg)) == [(SEG, last.offset, kind)], cut
        seen[kind] = seen.get(kind, 0) + 1
    assert seen == {"torn_header": HEADER_SIZE - 1, "torn_payload": last.header.disk_size}
    seg.write_bytes(whole[:last.offset])  # cut exactly between frames: nothing is torn
    assert verify(root, seg).ok


@pytest.mark.parametrize("garbage", [b"\x00" * 100, os.urandom(7) + b"not a frame" * 9, b"\xff" * 5],
                         ids=["zeros", "random", "short"])
def test_garbage_appended_is_trailing_bytes(root, stream, garbage):
    seg = segments(stream)[0]
    size = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(garbage)
    assert found(verify(root)) == [(SEG, size, "trailing_bytes")]


def test_zeroed_page_in_the_middle_costs_only_the_frames_it_hit(root):
    stream = write_stream(root, "s", [entries(3, 300, f"p{k}-") for k in range(40)])
    seg = segments(stream)[0]
    all_frames = frames(seg)
    page = 8192
    hit = [f for f in all_frames if f.offset < page + 4096 and f.end_offset > page]
    first = hit[0]
    later = [f for f in all_frames if f.offset >= page + 4096]
    assert len(later) > 10
    patch(seg, page, bytes(4096))
    flip_bit(seg, later[5].offset + HEADER_SIZE + 1)  # damage after the page must still be found
    kind = "bad_magic" if page - first.offset < 4 else "bad_crc"
    report = verify(root)
    assert found(report) == [(SEG, first.offset, kind), (SEG, later[5].offset, "bad_crc")]
    assert report.streams["s"].frames == len(all_frames) - len(hit) - 1


def test_jobs_do_not_change_the_report(root):
    stream = write_stream(root, "s", [entries(5, 30, f"j{k}-") for k in range(30)], max_segment_size=1000)
    segs = segments(stream)
    assert len(segs) > 5
    flip_bit(segs[1], 40)
    os.remove(segs[3])
    with open(segs[-1], "ab") as f:
        f.write(b"junk")
    serial = verify(root, jobs=1)
    assert not serial.ok
    assert verify(root, jobs=3) == serial


def test_disk_size_running_past_the_end_before_intact_frames_is_bad_length(root, stream):
    f = frames(segments(stream)[0])[2]
    flip_bit(segments(stream)[0], f.offset + 24, 7)  # the top byte of disk_size
    assert found(verify(root)) == [(SEG, f.offset, "bad_length")]
