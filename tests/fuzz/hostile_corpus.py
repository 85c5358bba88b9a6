"""The corpus of hostile files: bytes (and special files) a user can plant in a root.

Each case is small to describe and cheap to build, so CI runs all of them every time
(tests/fuzz/test_hostile_corpus.py plants each in a root and runs every reader on it, bounded in
time and memory; test_fuzz_parsers.py feeds their bytes to the parsers, and so does the atheris
harness as its seeds). Big files are sparse (``os.truncate``) or LZ4 bombs: a few MB on disk
that claim or decode to GiB.

A case is ``Case(name, where, build, kind)``: ``where`` is the file's path in a stream directory
(or in the root, for a sharded root's files), ``build(path)`` writes it there, and ``kind`` is
the problem ``verify`` must report for it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ironwal_cli.spec.codec import (
    CHECKPOINT_MAGIC,
    FRAME_LZ4,
    FRAME_RAW,
    Checkpoint,
    encode_checkpoint_record,
    encode_frame,
    encode_raw_batch,
)

U32 = 0xFFFFFFFF
GIB = 1 << 30
SCANNED = 320 << 20  # a planted sparse file: more than the RSS bound (300 MB), were it read whole
SEGMENT0 = "00000000000000000000.wal"


def raw_frame(start_id: int, entries: list[bytes]) -> bytes:
    return encode_frame(start_id, len(entries), FRAME_RAW, encode_raw_batch(entries), len(encode_raw_batch(entries)))


def lz4_frame(start_id: int, count: int, payload: bytes, claimed_size: int) -> bytes:
    """A CRC-valid LZ4 frame whose header claims ``count`` entries and ``claimed_size`` decoded bytes."""
    return encode_frame(start_id, count, FRAME_LZ4, payload, claimed_size)


def lz4_of_zeros(size: int) -> bytes:
    """A standard LZ4 frame that decodes to ``size`` zero bytes, built a block at a time (1 GiB of
    zeros is about 4 MB of payload; nothing of 1 GiB is ever held in memory here)."""
    import lz4.frame as lz4f

    comp = lz4f.LZ4FrameCompressor(block_size=lz4f.BLOCKSIZE_MAX4MB, block_linked=False, content_checksum=False)
    parts = [comp.begin()]
    zeros = bytes(4 << 20)
    left = size
    while left:
        n = min(left, len(zeros))
        parts.append(comp.compress(zeros[:n]))
        left -= n
    parts.append(comp.flush())
    return b"".join(parts)


_BOMB_CACHE: dict[int, bytes] = {}


def bomb(size: int = GIB) -> bytes:
    if size not in _BOMB_CACHE:
        _BOMB_CACHE[size] = lz4_of_zeros(size)
    return _BOMB_CACHE[size]


def lz4_with_trailer() -> bytes:
    import lz4.frame as lz4f

    raw = encode_raw_batch([b"x" * 2000])
    return lz4_frame(0, 1, lz4f.compress(raw, store_size=False) + b"after the end mark", len(raw))


def checkpoint(cid: bytes = b"c1", shards: int = 2) -> bytes:
    return encode_checkpoint_record(Checkpoint(cid, 1, (0,) * shards))


def _bytes(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data() if callable(data) else data)


def _sparse(size: int, head: bytes = b"") -> Callable[[Path], None]:
    def build(path: Path) -> None:
        path.write_bytes(head)
        os.truncate(path, size)
    return build


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


class Case(NamedTuple):
    name: str
    where: str  # a stream file ("s/..."), or a sharded root's own file ("HEAD", "checkpoints.log")
    build: Callable[[Path], None]
    kind: str | None  # what verify reports for that file (None: nothing, the file is our cache)
    sharded: bool = False

    @property
    def file_name(self) -> str:
        return self.where.rsplit("/", 1)[-1]


def _index_garbage(size: int) -> bytes:
    """Pseudo-random ids (a repeatable stream of u64s), as a garbage segments.idx holds."""
    import random

    return random.Random(size).randbytes(size)


CASES: list[Case] = [
    # LZ4 bombs and lies (issue 17 item 6, item 15)
    Case("lz4-bomb-1gib-claimed", f"s/{SEGMENT0}", _bytes(lambda: lz4_frame(0, 1, bomb(), GIB)), "bad_lz4"),
    Case("lz4-bomb-lying-size", f"s/{SEGMENT0}", _bytes(lambda: lz4_frame(0, 1, bomb(), 1000)), "size_mismatch"),
    Case("lz4-claims-4gib-entries", f"s/{SEGMENT0}", _bytes(lambda: lz4_frame(0, U32, bomb(), U32)), "bad_lz4"),
    Case("lz4-small-claims-4gib", f"s/{SEGMENT0}", _bytes(lambda: lz4_frame(0, U32, bomb(1 << 20), U32)), "bad_lz4"),
    Case("lz4-bytes-after-end-mark", f"s/{SEGMENT0}", _bytes(lz4_with_trailer), "bad_lz4"),
    Case("raw-claims-4gib-entries", f"s/{SEGMENT0}", _bytes(
        encode_frame(0, U32, FRAME_RAW, b"\0" * 64, 64)), "bad_batch"),
    # ids beyond u64 (issue 17 items 9, 15)
    Case("ids-past-2^64", "s/18446744073709551613.wal",
         _bytes(raw_frame(2**64 - 3, [b"a", b"b", b"c", b"d", b"e"])), "id_overflow"),
    Case("name-past-2^64", "s/99999999999999999999.wal", _bytes(raw_frame(0, [b"a"])), "id_overflow"),
    # files that are no WAL files (issue 14 item 7)
    Case("passwd-as-segment", f"s/{SEGMENT0}", _bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 20), "not_a_segment"),
    Case("junk-segment", f"s/{SEGMENT0}", _bytes(bytes(range(256)) * 4), "not_a_segment"),
    # small files too big, or empty (issue 17 items 7, 8, 9)
    Case("head-state-empty", "s/head.state", _bytes(b""), "head_state_invalid"),
    Case("head-state-big", "s/head.state", _sparse(SCANNED, b"\x01\x18\x00"), "oversized_file"),
    Case("index-big", "s/segments.idx", _sparse(SCANNED), "oversized_file"),
    Case("index-8mib-garbage", "s/segments.idx", _bytes(lambda: _index_garbage(8 << 20)), "oversized_file"),
    Case("lost-big", "s/lost.idx", _sparse(SCANNED), "oversized_file"),
    Case("seals-big", "s/seals.idx", _sparse(SCANNED), None),
    Case("segment-320mib-zeros", f"s/{SEGMENT0}", _sparse(SCANNED), "trailing_bytes"),
    Case("segment-frame-then-320mib-zeros", f"s/{SEGMENT0}", _sparse(SCANNED, raw_frame(0, [b"kept"])),
         "trailing_bytes"),
    Case("checkpoints-320mib", "checkpoints.log", _sparse(SCANNED, checkpoint()), "checkpoint_bad_magic",
         sharded=True),
    Case("checkpoints-garbage-record", "checkpoints.log", _bytes(
        CHECKPOINT_MAGIC[:2] + b"XY" + struct.pack("<II", 0, 3) + b"abc"), "checkpoint_bad_magic", sharded=True),
    Case("checkpoints-claims-4gib", "checkpoints.log", _bytes(
        CHECKPOINT_MAGIC + struct.pack("<II", 0, U32) + b"\0" * 64), "checkpoint_bad_length", sharded=True),
    Case("head-big", "HEAD", _sparse(SCANNED, b"\x02\x00c1"), "oversized_file", sharded=True),
    # special files (issue 17 items 4, 13)
    *[Case(f"fifo-{n}", f"s/{n}", _fifo, "not_regular_file") for n in (SEGMENT0, "segments.idx", "head.state",
                                                                       "lost.idx")],
    Case("fifo-seals", "s/seals.idx", _fifo, None),
    Case("fifo-HEAD", "HEAD", _fifo, "not_regular_file", sharded=True),
    Case("fifo-checkpoints", "checkpoints.log", _fifo, "not_regular_file", sharded=True),
    Case("dir-HEAD", "HEAD", _directory, "not_regular_file", sharded=True),
    Case("dir-checkpoints", "checkpoints.log", _directory, "not_regular_file", sharded=True),
    Case("dir-segment", f"s/{SEGMENT0}", _directory, "not_regular_file"),
    # garbage within the bounds: every id listed is unknown, summarised past 20 (issue 17 item 8)
    Case("index-garbage-in-bounds", "s/segments.idx", _bytes(lambda: _index_garbage(520)), "index_unknown_id"),
]


def small_seeds() -> list[bytes]:
    """The bytes of the cases that are small regular files: seeds for the parsers' fuzzers."""
    import tempfile

    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if case.build in (_fifo, _directory) or any(w in case.name for w in ("big", "mib", "bomb", "4gib-entries")):
                continue
            path = Path(tmp, case.name)
            case.build(path)
            if path.stat().st_size <= 1 << 20:
                seeds.append(path.read_bytes())
    return seeds
