"""Every structure IronWal 0.6 keeps on disk, declared once with construct.

This module is the single source of truth for the layout. Readers of hot paths use
``ironwal_cli.spec.codec``, whose ``struct`` formats are generated from these declarations
(``python -m ironwal_cli.spec.generate``) and proven equal by the tests. Integers are
little-endian throughout. The facts come from the reference crate (ironwal 0.6.3); see
``format/FORMAT.md`` for the same layout written for people.
"""

from __future__ import annotations

from construct import (
    Array,
    Bytes,
    Computed,
    Const,
    Default,
    Enum,
    GreedyBytes,
    GreedyRange,
    Int8ul,
    Int16ul,
    Int32ul,
    Int64ul,
    PascalString,
    Prefixed,
    RawCopy,
    Rebuild,
    Struct,
    len_,
    this,
)

from .crc import reference_crc32

FRAME_MAGIC = 0x4C57414C  # bytes "LAWL" on disk
CHECKPOINT_MAGIC = b"CKPT"
HEAD_STATE_VERSION = 1
CHECKPOINT_VERSION = 1
LOST_FILLER_MARKER = b"IRONWAL LOST IDS"  # the first payload bytes of a filler frame (ours)
LOST_FILLER_CRC_FLIP = 0xFFFFFFFF  # a filler's stored CRC is the true one XOR this: bad by construction

FrameType = Enum(Int8ul, raw=0, lz4=1)


def _covered_header_bytes(ctx) -> bytes:
    """start_id, entry_count, frame_type, disk_size: the header fields the CRC covers."""
    frame_type = ctx.frame_type if isinstance(ctx.frame_type, int) else FRAME_TYPES[ctx.frame_type]
    return (
        Int64ul.build(ctx.start_id)
        + Int32ul.build(ctx.entry_count)
        + Int8ul.build(frame_type)
        + Int32ul.build(len(ctx.payload) if "payload" in ctx else ctx.disk_size)
    )


def frame_crc(ctx) -> int:
    """CRC-32 over the covered header fields followed by the payload.

    magic, uncompressed_size and the reserved bytes are NOT covered: a verifier checks them itself.
    """
    return reference_crc32(ctx.payload, reference_crc32(_covered_header_bytes(ctx)))


FRAME_TYPES = {"raw": 0, "lz4": 1}

# The 32-byte frame header, field by field, in disk order.
_frame_header_fields = (
    "magic" / Const(FRAME_MAGIC, Int32ul),
    "crc" / Rebuild(Int32ul, frame_crc),
    "start_id" / Int64ul,
    "entry_count" / Int32ul,
    "frame_type" / FrameType,
    "disk_size" / Rebuild(Int32ul, len_(this.payload)),
    "uncompressed_size" / Int32ul,
    "reserved" / Default(Bytes(3), b"\x00\x00\x00"),
)

frame_header = Struct(*_frame_header_fields)
"""The header alone: what a scanner reads before it knows whether a payload follows."""

frame = Struct(
    *_frame_header_fields,
    "payload" / Bytes(this.disk_size),
    "crc_ok" / Computed(lambda ctx: frame_crc(ctx) == ctx.crc),
)
"""A frame: header + payload (a raw batch, or an LZ4 frame-format stream of one)."""

entry = Prefixed(Int32ul, GreedyBytes)
"""One entry in a raw batch: u32 length, then the bytes. Empty entries are legal."""

raw_batch = GreedyRange(entry)
"""The uncompressed payload of a frame: its entries back to back."""

segment = GreedyRange(frame)
"""A segment file (``<20-digit first id>.wal``): frames back to back, no file header."""

segments_idx = GreedyRange(Int64ul)
"""``segments.idx``: the start id of every segment, ascending (empty means segment 0 only)."""

lost_range = Struct("first" / Int64ul, "end" / Int64ul)
lost_idx = GreedyRange(lost_range)
"""``lost.idx`` (ours, not the crate's): id ranges [first, end) that ``ironwal recover`` found lost
to damage, ascending and disjoint. Written only by a repair; the crate ignores the file."""

lost_filler = Struct(
    "marker" / Const(LOST_FILLER_MARKER),
    "first" / Int64ul,
    "end" / Int64ul,
)
"""The payload of a filler frame (ours, not the crate's): ``ironwal recover`` writes one where ids
were lost, so that the crate's iterator fails loudly there instead of stopping silently. The frame
around it is a raw frame (frame_type 0) of start_id = ``first``, entry_count = ``end - first``
(at most 2**32-1: a longer range takes several frames back to back), disk_size =
uncompressed_size = 32, whose stored CRC is the true CRC XOR ``LOST_FILLER_CRC_FLIP``. The crate
then fails on it ("CRC32 Checksum Mismatch") while still counting its ids at open (it sums
entry_count over headers with good magic), so its next id stays right. Our readers recognise it
(all of these fields at once) and report its ids as lost; ``lost.idx`` records the same range."""


def _seal_crc(ctx) -> int:
    """CRC-32 of the record's bytes before the crc field."""
    return reference_crc32(seal_fields.build(ctx))


seal_fields = Struct(
    "start_id" / Int64ul,
    "end_id" / Int64ul,
    "size" / Int64ul,
    "st_ino" / Int64ul,
    "st_mtime_ns" / Int64ul,
    "st_ctime_ns" / Int64ul,
)
"""The fields of a seal record the CRC covers (all but the CRC itself)."""

seal_record = Struct(
    *seal_fields.subcons,
    "crc" / Rebuild(Int32ul, _seal_crc),
    "crc_ok" / Computed(lambda ctx: _seal_crc(ctx) == ctx.crc),
)
seals_idx = GreedyRange(seal_record)
"""``seals.idx`` (ours, not the crate's): one record per segment our writer (or recover) closed and
synced: its ids [start_id, end_id), and its size, inode, mtime and ctime (ns) at that moment. A
cache: recover skips a segment that is not the last one while its stat still equals a record's."""

head_state = Struct(
    "version" / Const(HEAD_STATE_VERSION, Int8ul),
    "segment_name" / PascalString(Int8ul, "ascii"),
)
"""``head.state``: the file name of the active (last) segment, written at rotation."""

checkpoint_payload = Struct(
    "version" / Const(CHECKPOINT_VERSION, Int8ul),
    "checkpoint_id" / Prefixed(Int16ul, GreedyBytes),
    "timestamp_ns" / Int64ul,
    "shard_count" / Rebuild(Int16ul, len_(this.offsets)),
    "offsets" / Array(this.shard_count, Int64ul),
)
"""A checkpoint: per shard, the next id (entries below it are covered)."""


def _checkpoint_body_crc(ctx) -> int:
    return reference_crc32(checkpoint_payload.build(ctx.body["value"]))


checkpoint_record = Struct(
    "magic" / Const(CHECKPOINT_MAGIC),
    "crc" / Rebuild(Int32ul, _checkpoint_body_crc),
    "body" / Prefixed(Int32ul, RawCopy(checkpoint_payload)),
    "crc_ok" / Computed(lambda ctx: reference_crc32(ctx.body.data) == ctx.crc),
)
"""One record of ``checkpoints.log``: magic, CRC of the payload only, payload length, payload."""

checkpoints_log = GreedyRange(checkpoint_record)

head = Prefixed(Int16ul, GreedyBytes)
"""``HEAD`` of a sharded root: the id of the latest checkpoint."""
