"""LZ4 frames carry the same frame descriptor (FLG, BD and its checksum byte) as the crate's
lz4_flex writes, for raw batches of every size around each block-size boundary: the crate
writes them, ironwal compresses the same raw batches, and the first 7 payload bytes match."""

from __future__ import annotations

from crate_oracle import write

from ironwal_cli.engine.frames.compression import compress, decompress
from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.spec.codec import FRAME_LZ4

KIB = 1024
# Entry lengths; the raw batch of one entry is 4 bytes longer (its length prefix).
LENGTHS = [1000, 64 * KIB - 4, 64 * KIB - 3, 200 * KIB, 256 * KIB - 4, 256 * KIB - 3, 300 * KIB,
           700 * KIB, 1024 * KIB - 4, 1024 * KIB - 3, 3 * 1024 * KIB, 4 * 1024 * KIB - 3]
DESCRIPTOR = slice(0, 7)  # magic, FLG, BD, header checksum


def crate_frames(root) -> list[Frame]:
    ops = [{"op": "append", "stream": "s", "value": {"text": f"{n} ", "repeat": n // len(f"{n} ") + 1}}
           for n in LENGTHS]
    write(root, {"options": {"compression": True, "min_compression_size": 0, "max_segment_size": 1 << 30},
                 "ops": ops})
    return [item for item in scan(map_file(root / "s" / "00000000000000000000.wal"))]


def test_frame_descriptors_equal_the_crates(tmp_path):
    frames = crate_frames(tmp_path / "crate")
    assert len(frames) == len(LENGTHS) and all(isinstance(f, Frame) for f in frames)
    for frame in frames:
        assert frame.header.frame_type == FRAME_LZ4
        raw = decompress(frame.payload, frame.header.uncompressed_size)
        ours = compress(raw)
        assert bytes(ours[DESCRIPTOR]) == bytes(frame.payload[DESCRIPTOR]), (len(raw), bytes(ours[:7]).hex())
        assert decompress(ours, len(raw)) == raw
