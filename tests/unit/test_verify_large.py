"""verify's fast paths at sizes the small tests do not reach: big uniform batches, segments past the page release."""

from __future__ import annotations

import struct

import pytest
from verify_support import flip_bit, found, frames, segments, verify, write_stream

from ironwal_cli.audit.frames import raw_batch_error
from ironwal_cli.engine.frames.scan import MappedPages
from ironwal_cli.spec.codec import HEADER_SIZE, encode_raw_batch
from ironwal_cli.spec.codec import UNIFORM_STRUCT_MAX as _PREFIXES_MAX


@pytest.mark.parametrize("count", [_PREFIXES_MAX, _PREFIXES_MAX + 1, 3 * _PREFIXES_MAX])
@pytest.mark.parametrize("entry", [b"", b"abc"], ids=["empty", "3-byte"])
def test_big_uniform_batch_with_one_odd_length(count, entry):
    """Both ways of checking equal lengths (one Struct, or strided slices past _PREFIXES_MAX)."""
    payload = bytearray(encode_raw_batch([entry] * count))
    assert raw_batch_error(bytes(payload), count) is None
    assert raw_batch_error(memoryview(payload), count) is None
    struct.pack_into("<I", payload, (count // 2) * (len(entry) + 4), len(entry) + 256)
    assert raw_batch_error(memoryview(payload), count) is not None
    assert raw_batch_error(bytes(payload), count) is not None


def test_damage_after_the_released_pages_is_still_found(root):
    """The verifier drops pages it has checked from its map; what lies after them is still read right."""
    write_stream(root, "s", [[f"b{k}-{i:04d}".encode().ljust(1000, b".") for i in range(1000)] for k in range(12)])
    seg = segments(root / "s")[0]
    assert seg.stat().st_size > MappedPages.STEP + 2 * 1_004_000
    damaged = frames(seg)[-2]
    flip_bit(seg, damaged.offset + HEADER_SIZE + 10)
    size = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(b"\x00" * 100)
    expected = [("s/00000000000000000000.wal", damaged.offset, "bad_crc"),
                ("s/00000000000000000000.wal", size, "trailing_bytes")]
    assert found(verify(root, jobs=1)) == expected
    assert found(verify(root, jobs=2)) == expected
