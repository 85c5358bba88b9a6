"""The construct spec and the fast codec agree byte for byte, in both directions.

``spec/declarations.py`` is the single source of truth; ``spec/codec.py`` is derived from it
through the generated ``spec/_layout.py``. These properties are what makes that derivation
trustworthy: random values built by either side give the same bytes, and bytes parsed by
either side give the same values. The CRC's crcmod definition is proven equal to
each fast CRC the process may use (zlib's, ISA-L's).
"""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ironwal_cli.engine.frames.scan import Frame, scan
from ironwal_cli.spec import codec, crc
from ironwal_cli.spec import declarations as decl
from ironwal_cli.spec.crc import reference_crc32
from ironwal_cli.spec.generate import LAYOUT_PATH, build_layout, render

U8, U32, U64 = 2**8 - 1, 2**32 - 1, 2**64 - 1

entries_st = st.lists(st.one_of(st.just(b""), st.binary(max_size=64)), max_size=12)
frame_type_st = st.sampled_from([codec.FRAME_RAW, codec.FRAME_LZ4])


@st.composite
def frames(draw) -> dict:
    """A frame as construct builds it: a raw batch of random entries, or an opaque LZ4 payload."""
    frame_type = draw(frame_type_st)
    if frame_type == codec.FRAME_RAW:
        entries = draw(entries_st)
        payload = codec.encode_raw_batch(entries)
        count, usize = len(entries), len(payload)
    else:
        payload = draw(st.binary(max_size=96))
        count, usize = draw(st.integers(0, U32)), draw(st.integers(0, U32))
    # ids are u64: a frame ends at 2^64 at most (one running past it is damage, id_overflow, for the scanner),
    # and its start_id is a u64 even when it holds no entry
    return {"start_id": draw(st.integers(0, min(U64, U64 + 1 - count))), "entry_count": count, "frame_type": frame_type,
            "uncompressed_size": usize, "payload": payload}


def fast_frame(f: dict) -> bytes:
    return codec.encode_frame(f["start_id"], f["entry_count"], f["frame_type"], f["payload"], f["uncompressed_size"])


def construct_frame(f: dict) -> bytes:
    return decl.frame.build(dict(f, frame_type={0: "raw", 1: "lz4"}[f["frame_type"]]))


def assert_header_equal(parsed, header: codec.FrameHeader) -> None:
    for name in codec.HEADER_FIELDS:
        value = getattr(parsed, name)
        assert (int(value) if name == "frame_type" else value) == getattr(header, name), name


# ----- frames and headers -------------------------------------------------------------------


@settings(deadline=None)
@given(frames())
def test_frame_build_agrees(f):
    fast = fast_frame(f)
    assert construct_frame(f) == fast
    assert len(fast) == codec.HEADER_SIZE + len(f["payload"])


@settings(deadline=None)
@given(st.integers(0, U64 - 1), st.binary(max_size=300))
def test_single_entry_frame_agrees(start_id, entry):
    """The single-append fast path builds the frame the spec builds for a one-entry raw batch."""
    payload = codec.encode_raw_batch([entry])
    f = {"start_id": start_id, "entry_count": 1, "frame_type": codec.FRAME_RAW,
         "uncompressed_size": len(payload), "payload": payload}
    assert codec.encode_single_frame(start_id, entry) == construct_frame(f) == fast_frame(f)


@settings(deadline=None)
@given(frames())
def test_frame_parse_agrees(f):
    data = fast_frame(f)
    parsed = decl.frame.parse(data)
    header = codec.unpack_header(data)
    assert_header_equal(parsed, header)
    assert parsed.payload == data[codec.HEADER_SIZE:] == f["payload"]
    assert parsed.crc_ok and codec.frame_crc(data[:32], data[32:]) == header.crc


@settings(deadline=None)
@given(frames())
def test_header_alone_build_agrees(f):
    """``frame_header`` (what a scanner reads first) builds the same 32 bytes as the codec."""
    fields = dict(f, frame_type={0: "raw", 1: "lz4"}[f["frame_type"]])
    assert decl.frame_header.build(fields) == fast_frame(f)[: codec.HEADER_SIZE]


@settings(deadline=None)
@given(crc=st.integers(0, U32), start=st.integers(0, U64), count=st.integers(0, U32),
       ftype=st.integers(0, U8), disk=st.integers(0, U32), usize=st.integers(0, U32),
       reserved=st.binary(min_size=3, max_size=3))
def test_random_header_parse_agrees(crc, start, count, ftype, disk, usize, reserved):
    """Any 32 bytes with the right magic, even with a wrong CRC, unknown type or dirty reserved bytes."""
    data = codec.FRAME_HEADER.pack(codec.FRAME_MAGIC, crc, start, count, ftype, disk, usize, reserved)
    assert len(data) == 32
    assert_header_equal(decl.frame_header.parse(data), codec.unpack_header(data))


def test_frame_header_layout_is_the_documented_one():
    """magic at 0 (bytes "LAWL"), crc at 4, then the fields the CRC covers, 32 bytes in all."""
    data = codec.encode_frame(0x0102030405060708, 9, codec.FRAME_LZ4, b"xyz", 77)
    assert data[:4] == b"\x4c\x41\x57\x4c"
    assert data[8:16] == bytes.fromhex("0807060504030201")
    assert data[16:20] == (9).to_bytes(4, "little") and data[20] == 1
    assert data[21:25] == (3).to_bytes(4, "little") and data[25:29] == (77).to_bytes(4, "little")
    assert data[29:32] == b"\0\0\0"
    assert int.from_bytes(data[4:8], "little") == zlib.crc32(data[8:25] + b"xyz")


# ----- raw batches and segments ---------------------------------------------------------------


@settings(deadline=None)
@given(entries_st)
def test_raw_batch_agrees(entries):
    fast = codec.encode_raw_batch(entries)
    assert decl.raw_batch.build(entries) == fast
    assert list(decl.raw_batch.parse(fast)) == entries == codec.decode_raw_batch(fast, len(entries))
    assert codec.raw_batch_size(entries) == len(fast)


@settings(deadline=None)
@given(entries_st, st.integers(1, 3), st.binary(min_size=1, max_size=8))
def test_raw_batch_that_does_not_hold_its_count_is_refused(entries, extra, junk):
    """Too few entries for the header's count, or bytes left over after them: ValueError."""
    payload = codec.encode_raw_batch(entries)
    for bad, count in ((payload, len(entries) + extra), (payload + junk, len(entries))):
        try:
            codec.decode_raw_batch(bad, count)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r} as {count} entries")


@settings(max_examples=60, deadline=None)
@given(st.lists(frames(), max_size=6))
def test_segment_agrees(fs):
    """A segment is frames back to back: construct's ``segment`` and the scanner see the same frames."""
    data = b"".join(map(fast_frame, fs))
    assert decl.segment.build([dict(f, frame_type={0: "raw", 1: "lz4"}[f["frame_type"]]) for f in fs]) == data
    parsed = decl.segment.parse(data)
    scanned = list(scan(data))
    assert all(isinstance(item, Frame) for item in scanned)
    assert len(parsed) == len(scanned) == len(fs)
    for p, s in zip(parsed, scanned, strict=True):
        assert_header_equal(p, s.header)
        assert p.payload == bytes(s.payload) and p.crc_ok


# ----- the small files -----------------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(st.integers(0, U64), max_size=20))
def test_segments_idx_agrees(ids):
    fast = codec.encode_index(ids)
    assert decl.segments_idx.build(ids) == fast
    assert list(decl.segments_idx.parse(fast)) == ids == codec.decode_index(fast)


@settings(deadline=None)
@given(st.binary(max_size=40).filter(lambda b: len(b) % 8))
def test_segments_idx_of_a_bad_length_is_refused(data):
    try:
        codec.decode_index(data)
    except ValueError:
        return
    raise AssertionError("accepted an index whose length is not a multiple of 8")


@settings(deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=U8))
def test_head_state_agrees(name):
    fast = codec.encode_head_state(name)
    assert decl.head_state.build({"segment_name": name}) == fast
    assert decl.head_state.parse(fast).segment_name == name == codec.decode_head_state(fast)
    assert fast[0] == 1 and fast[1] == len(name)


checkpoints = st.builds(
    codec.Checkpoint,
    checkpoint_id=st.binary(min_size=1, max_size=300),
    timestamp_ns=st.integers(0, U64),
    offsets=st.lists(st.integers(0, U64), max_size=40).map(tuple),
)


@settings(deadline=None)
@given(checkpoints)
def test_checkpoint_record_agrees(cp):
    fast = codec.encode_checkpoint_record(cp)
    value = {"checkpoint_id": cp.checkpoint_id, "timestamp_ns": cp.timestamp_ns, "offsets": list(cp.offsets)}
    assert decl.checkpoint_record.build({"body": {"value": value}}) == fast
    parsed = decl.checkpoint_record.parse(fast)
    assert parsed.crc_ok and parsed.magic == codec.CHECKPOINT_MAGIC
    body = parsed.body.value
    magic, crc, length = codec.CHECKPOINT_RECORD_PREFIX.unpack_from(fast)
    payload = fast[codec.CHECKPOINT_RECORD_PREFIX.size:]
    assert (magic, crc, length) == (b"CKPT", zlib.crc32(payload), len(payload))
    assert codec.decode_checkpoint_payload(payload) == cp
    assert (body.checkpoint_id, body.timestamp_ns, tuple(body.offsets)) == tuple(cp)
    assert body.shard_count == cp.shard_count


@settings(deadline=None)
@given(st.binary(max_size=2000))
def test_head_agrees(checkpoint_id):
    fast = codec.encode_head(checkpoint_id)
    assert decl.head.build(checkpoint_id) == fast
    assert decl.head.parse(fast) == checkpoint_id == codec.decode_head(fast)


# ----- the CRC -------------------------------------------------------------------------------


# Every CRC implementation the process may run with: zlib's, ISA-L's where the package imports,
# and ``crc.crc32``, the one the package uses (whichever of the two spec/crc.py chose).
CRC_IMPLEMENTATIONS = {"zlib": zlib.crc32, "active": crc.crc32}
try:
    from isal.isal_zlib import crc32 as _isal_crc32
except ImportError:  # the fallback is then the only fast one, and it is tested
    pass
else:
    CRC_IMPLEMENTATIONS["isal"] = _isal_crc32
crc_impl_st = st.sampled_from(sorted(CRC_IMPLEMENTATIONS))


@settings(deadline=None)
@given(crc_impl_st, st.one_of(st.binary(max_size=512), st.binary(min_size=4096, max_size=70000)))
def test_crcmod_definition_equals_each_fast_crc(name, data):
    fast = CRC_IMPLEMENTATIONS[name]
    assert reference_crc32(data) == fast(data) == fast(memoryview(data)) == fast(bytearray(data))


@settings(deadline=None)
@given(crc_impl_st, st.lists(st.binary(max_size=128), min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_crcmod_definition_equals_each_fast_crc_chained(name, parts, seed):
    fast_fn = CRC_IMPLEMENTATIONS[name]
    ref = fast = seed
    for part in parts:
        ref, fast = reference_crc32(part, ref), fast_fn(part, fast)
        assert ref == fast
    assert ref == reference_crc32(b"".join(parts), seed)


def test_crc_check_value():
    """The catalogue check value of CRC-32/ISO-HDLC, by every implementation."""
    assert reference_crc32(b"123456789") == 0xCBF43926
    assert {name: fn(b"123456789") for name, fn in CRC_IMPLEMENTATIONS.items()} == dict.fromkeys(
        CRC_IMPLEMENTATIONS, 0xCBF43926)


def test_isal_is_the_crc_where_it_imports():
    """spec/crc.py picks ISA-L whenever it imports, and says which one it picked."""
    assert crc.CRC_IMPLEMENTATION == ("isal" if "isal" in CRC_IMPLEMENTATIONS else "zlib")
    assert crc.crc32 is CRC_IMPLEMENTATIONS.get("isal", zlib.crc32)


# ----- the generated layout ------------------------------------------------------------------


def test_generated_layout_is_up_to_date():
    """``_layout.py`` is what ``python -m ironwal_cli.spec.generate`` writes from the declarations."""
    assert LAYOUT_PATH.read_text() == render(build_layout())


@given(st.lists(st.tuples(st.integers(0, 2**62), st.integers(1, 2**20)), max_size=20))
def test_lost_idx_spec_and_codec_agree(pairs):
    from ironwal_cli.engine.store.lost_ids import decode_lost, encode_lost, merge

    ranges = merge([(a, a + n) for a, n in pairs])
    data = encode_lost(ranges)
    assert data == decl.lost_idx.build([{"first": a, "end": b} for a, b in ranges])
    assert decode_lost(data) == [(r.first, r.end) for r in decl.lost_idx.parse(data)] == ranges


_u64 = st.integers(0, 2**64 - 1)


@given(st.lists(st.tuples(_u64, _u64, _u64, _u64, _u64, _u64), max_size=8), st.data())
def test_seal_records_spec_and_codec_agree(rows, data):
    """seals.idx: the fast codec writes what the construct spec builds and reads what it parses;
    a record with any byte changed, or cut short, is dropped and counted, never misread."""
    from ironwal_cli.spec.codec import SEAL_RECORD, Seal, decode_seals, encode_seal

    seals = [Seal(*r) for r in rows]
    blob = b"".join(map(encode_seal, seals))
    assert blob == decl.seals_idx.build([s._asdict() for s in seals])
    assert decode_seals(blob) == (seals, 0)
    parsed = decl.seals_idx.parse(blob)
    assert [Seal(*(r[f] for f in Seal._fields)) for r in parsed] == seals and all(r.crc_ok for r in parsed)
    if seals:
        i = data.draw(st.integers(0, len(blob) - 1))
        bad = blob[:i] + bytes([blob[i] ^ data.draw(st.integers(1, 255))]) + blob[i + 1:]
        hit = i // SEAL_RECORD.size
        assert decode_seals(bad) == (seals[:hit] + seals[hit + 1:], 1)
        cut = data.draw(st.integers(1, SEAL_RECORD.size - 1))
        assert decode_seals(blob[:-cut]) == (seals[:-1], 1)
