"""The LZ4 frames our writer leaves carry lz4_flex's BD byte for their size (proven against the
crate in tests/interop/test_lz4_headers.py): 0x40 up to 64 KiB, 0x50 up to 256 KiB, 0x70 above,
never liblz4's 0x60 for 256 KiB..1 MiB."""

from __future__ import annotations

import pytest

from ironwal_cli.engine.frames.scan import map_file, scan
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.spec.codec import FRAME_LZ4

KIB = 1024


@pytest.mark.parametrize("length,bd", [(1000, 0x40), (64 * KIB, 0x50), (256 * KIB - 4, 0x50), (300 * KIB, 0x70),
                                       (1024 * KIB - 4, 0x70), (1024 * KIB, 0x70), (2048 * KIB, 0x70)])
def test_writer_block_size_byte(tmp_path, length, bd):
    with StreamWriter(tmp_path, "s", WriteOptions(compress=True, min_compress_size=0)) as w:
        w.append(b"x" * length)
    (frame,) = scan(map_file(tmp_path / "s" / "00000000000000000000.wal"))
    assert frame.header.frame_type == FRAME_LZ4 and frame.header.uncompressed_size == length + 4
    assert bytes(frame.payload[4:6]) == bytes([0x60, bd])
