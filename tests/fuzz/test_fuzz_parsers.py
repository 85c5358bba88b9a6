"""Hostile bytes for every parser: random and mutated segments, index, head.state, HEAD and
checkpoint payloads, whole roots read by the library and by ``ironwal tail``.

Each must answer with a value or the package's own exception (never another traceback),
without hanging (linear work on crafted input; a per-example deadline in the long run), without
allocating what a header merely claims.
"""

from __future__ import annotations

import os
import random
import resource
import struct
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_targets import decode_as_small_files, decode_every_frame
from typer.testing import CliRunner
from wal_invariants import CLI, FUZZ_DEADLINE, FUZZ_EXAMPLES

from ironwal_cli.cli.main import app
from ironwal_cli.engine.frames.scan import Frame, Problem, scan
from ironwal_cli.engine.reader.reader import StreamReader, decode_frame
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import FormatError, IronwalError
from ironwal_cli.ops.listing import list_streams
from ironwal_cli.spec.codec import (
    FRAME_LZ4,
    FRAME_RAW,
    HEADER_SIZE,
    Checkpoint,
    decode_checkpoint_payload,
    encode_checkpoint_payload,
    encode_frame,
    encode_raw_batch,
    frame_crc,
    unpack_header,
)

EXAMPLES = FUZZ_EXAMPLES
FUZZ = settings(max_examples=EXAMPLES, deadline=FUZZ_DEADLINE, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
GB4 = 0xFFFFFFFF


def _count(record_property, n: int = 1) -> None:
    record_property("count:fuzz examples", n)


def _valid_segment(rng: random.Random, start: int = 0, frames: int = 4, lz4: bool = False) -> bytes:
    out, nxt = [], start
    for _ in range(frames):
        entries = [os.urandom(rng.randrange(0, 40)) for _ in range(rng.randrange(1, 6))]
        raw = encode_raw_batch(entries)
        if lz4:
            from ironwal_cli.engine.frames.compression import compress

            out.append(encode_frame(nxt, len(entries), FRAME_LZ4, compress(raw), len(raw)))
        else:
            out.append(encode_frame(nxt, len(entries), FRAME_RAW, raw, len(raw)))
        nxt += len(entries)
    return b"".join(out)


@st.composite
def mutated_segments(draw) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    data = bytearray(_valid_segment(rng, frames=draw(st.integers(1, 6)), lz4=draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "zero", "cut", "insert", "field"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "zero":
            data[pos:pos + draw(st.integers(1, 64))] = bytes(len(data[pos:pos + 64]))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=40))
        elif op == "field" and len(data) >= HEADER_SIZE:  # a huge length, count or size in the first header
            field = draw(st.sampled_from([(16, "<L"), (21, "<L"), (25, "<L"), (8, "<Q")]))
            value = draw(st.sampled_from([GB4, 2**31, GB4 // 2, 2**63 + 5]))
            struct.pack_into(field[1], data, field[0], value & (GB4 if field[1] == "<L" else 2**64 - 1))
    return bytes(data)


def _check_scan(data: bytes) -> None:
    """The scanner's items tile the data exactly, and every Frame it calls intact is intact."""
    pos = 0
    for item in scan(data):
        assert item.offset == pos
        if isinstance(item, Frame):
            assert frame_crc(data[pos:pos + HEADER_SIZE], item.payload) == item.header.crc
            pos = item.end_offset
        else:
            assert isinstance(item, Problem) and item.length > 0
            pos += item.length
    assert pos == len(data)


@FUZZ
@given(st.one_of(st.binary(max_size=600), mutated_segments()))
def test_scan_any_bytes(record_property, data):
    _count(record_property)
    _check_scan(data)
    decode_every_frame(data)


@FUZZ
@given(st.binary(max_size=300))
def test_small_file_decoders(record_property, data):
    _count(record_property)
    decode_as_small_files(data)


@FUZZ
@given(st.binary(max_size=40), st.integers(0, 3), st.lists(st.integers(0, 2**64 - 1), max_size=6),
       st.integers(0, 2**64 - 1))
def test_checkpoint_payload_mutations(record_property, cid, cut, offsets, ts):
    _count(record_property)
    payload = encode_checkpoint_payload(Checkpoint(cid, ts, tuple(offsets)))
    assert decode_checkpoint_payload(payload) == Checkpoint(cid, ts, tuple(offsets))
    for bad in (payload[:-cut or None] if cut else payload + b"\0", payload[:1] + b"\xff\xff" + payload[3:]):
        try:
            decode_checkpoint_payload(bad)
        except ValueError:
            pass


@FUZZ
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=20), st.lists(st.integers(0, 2**64 - 1), max_size=4)),
                max_size=4), st.integers(0, 2**32))
def test_checkpoint_log_mutations(record_property, records, seed):
    """checkpoints.log: intact records up to the first damage, then one located problem; nothing raises."""
    from ironwal_cli.sharded.checkpoints import Record, parse_records
    from ironwal_cli.spec.codec import encode_checkpoint_record

    _count(record_property)
    rng = random.Random(seed)
    data = bytearray(b"".join(encode_checkpoint_record(Checkpoint(c, 1, tuple(o))) for c, o in records))
    if data and rng.random() < 0.8:
        at = rng.randrange(len(data))
        op = rng.choice(["flip", "cut", "insert", "length"])
        if op == "flip":
            data[at] ^= 1 << rng.randrange(8)
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = os.urandom(rng.randrange(1, 20))
        else:
            struct.pack_into("<L", data, 8, GB4)  # the first record claims a 4 GB payload
    items = list(parse_records(bytes(data)))
    pos = 0
    for k, item in enumerate(items):
        if isinstance(item, Record):
            assert item.offset == pos
            pos += len(item.raw)
        else:
            assert k == len(items) - 1 and isinstance(item, tuple)


def test_claimed_sizes_are_not_allocated(record_property):
    """Headers claiming 4 GB payloads, 4 GB LZ4 output or 4 billion entries cost only the bytes present."""
    from ironwal_cli.engine.frames.compression import compress

    raw = encode_raw_batch([b"\0" * 60000])
    cases = [
        encode_frame(0, 1, FRAME_RAW, raw, len(raw))[:HEADER_SIZE - 15] + struct.pack("<L", GB4) + b"\0" * 11,
        encode_frame(0, 1, FRAME_LZ4, compress(raw), GB4),  # lz4 payload, header claims 4 GB uncompressed
        encode_frame(0, GB4, FRAME_RAW, raw, len(raw)),  # 4 billion entries in 60 kB
        encode_frame(0, 1, FRAME_LZ4, b"\x04\x22\x4d\x18\x60\x40\x82" + b"\xff" * 5000, GB4),
    ]
    tracemalloc.start()
    try:
        for data in cases:
            for item in scan(data):
                if isinstance(item, Frame):
                    with pytest.raises(FormatError):
                        decode_frame(Path("seg"), 0, item.header, item.payload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
    _count(record_property, len(cases))


def test_cli_memory_bounded_on_huge_claims(tmp_path, record_property):
    """The real CLI on a stream whose frames claim 4 GB, under a 1 GiB address-space limit: a clean
    exit 3, where allocating the claim would die with MemoryError."""
    from ironwal_cli.engine.frames.compression import compress

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    raw = encode_raw_batch([b"a" * 1000] * 200)
    for k, frame in enumerate([encode_frame(0, 200, FRAME_LZ4, compress(raw), GB4),
                               encode_frame(0, GB4, FRAME_RAW, raw, len(raw)),
                               encode_frame(0, 1, FRAME_RAW, raw, len(raw))[:21] + struct.pack("<L", GB4) + raw]):
        stream = tmp_path / "wal" / f"s{k}"
        stream.mkdir(parents=True)
        (stream / "00000000000000000000.wal").write_bytes(frame)
        (stream / "segments.idx").write_bytes(b"\0" * 8)
        for args in (["tail", f"s{k}", "--from", "0"], ["get", f"s{k}", "0"]):
            result = subprocess.run([*CLI, *args, "-r", tmp_path / "wal"], capture_output=True, timeout=60,
                                    preexec_fn=limit_memory)
            err = result.stderr
            assert result.returncode == 3 and err.startswith(b"ironwal: error: ") and b"Traceback" not in err, err
            _count(record_property)


def test_crafted_candidates_cost_linear_work(monkeypatch, record_property):
    """A header every 32 bytes, each claiming a payload to the end: resync must not CRC them all
    (it did: 256 KiB cost 1 GiB of CRC, a 64 MiB segment hours)."""
    from ironwal_cli.engine.frames import scan as scan_module
    from ironwal_cli.spec.codec import FRAME_MAGIC

    n = 256 * 1024
    data = bytearray(n)
    for off in range(0, n - HEADER_SIZE, HEADER_SIZE):
        struct.pack_into("<LLQLBLL3s", data, off, FRAME_MAGIC, 0, 0, 1, 0, n - off - HEADER_SIZE, 0, b"")
    crc_bytes = [0]
    real_crc = scan_module.frame_crc

    def counting_crc(header, payload):
        crc_bytes[0] += len(payload)
        return real_crc(header, payload)

    monkeypatch.setattr(scan_module, "frame_crc", counting_crc)
    items = list(scan(bytes(data)))
    assert [type(i) for i in items] == [Problem] and items[0].length == n
    assert crc_bytes[0] < 100 * 1024 * 1024, f"{crc_bytes[0]} bytes CRC-checked for {n} bytes of data"
    _count(record_property)


def _mutate_root(rng: random.Random, stream: Path) -> None:
    victims = sorted(stream.iterdir())
    path = rng.choice(victims)
    data = bytearray(path.read_bytes())
    op = rng.choice(["flip", "zero", "truncate", "garbage", "delete", "empty"])
    if op == "delete":
        path.unlink()
        return
    if op == "empty":
        data = bytearray()
    elif data and op == "flip":
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif data and op == "zero":
        at = rng.randrange(len(data))
        data[at:at + 512] = bytes(len(data[at:at + 512]))
    elif op == "truncate":
        del data[rng.randrange(len(data) + 1):]
    else:
        at = rng.randrange(len(data) + 1)
        data[at:at] = os.urandom(rng.randrange(1, 100))
    path.write_bytes(bytes(data))


def _build_root(root: Path, rng: random.Random) -> None:
    with StreamWriter(root, "s", WriteOptions(max_segment_size=600, compress=rng.random() < 0.5,
                                              min_compress_size=64)) as w:
        for _ in range(rng.randrange(2, 8)):
            w.append_batch([bytes([65 + rng.randrange(3)]) * rng.randrange(0, 150) for _ in range(rng.randrange(1, 8))])


@FUZZ
@given(st.integers(0, 2**32))
def test_reader_and_cli_on_mutated_roots(record_property, seed):
    _count(record_property)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None) as tmp:
        root = Path(tmp) / "wal"
        _build_root(root, rng)
        for _ in range(rng.randrange(1, 3)):
            _mutate_root(rng, root / "s")
        got = []
        try:
            reader = StreamReader(root, "s")
            for entry_id, entry in reader.entries(0):
                assert entry_id == len(got) + reader.first_id
                got.append(entry)
            reader.next_id()
            reader.get(rng.randrange(0, 40))
        except IronwalError:
            pass
        try:
            list_streams(root)
        except IronwalError:
            pass
        result = CliRunner().invoke(app, ["tail", "s", "-r", str(root), "--from", "0", "-F", "hex"])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 1, 3), (result.exit_code, result.output)


def test_unpack_header_fields_roundtrip():
    """A sanity anchor for the fuzzers: a good frame scans as one intact Frame with its fields."""
    frame = encode_frame(7, 2, FRAME_RAW, encode_raw_batch([b"a", b""]), 9)
    header = unpack_header(frame)
    assert (header.start_id, header.entry_count, header.disk_size) == (7, 2, 9)
    assert [type(i) for i in scan(frame)] == [Frame]
