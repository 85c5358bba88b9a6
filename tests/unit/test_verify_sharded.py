"""verify on sharded roots: checkpoints.log records, HEAD, shard count, offsets, shard directory names."""

from __future__ import annotations

import struct
from zlib import crc32

import pytest
from verify_support import copy_case, flip_bit, found, verify

from ironwal_cli.spec.codec import (
    CHECKPOINT_MAGIC,
    CHECKPOINT_RECORD_PREFIX,
    Checkpoint,
    encode_checkpoint_record,
    encode_head,
    encode_index,
)

LOG = "checkpoints.log"
RECORD = 43  # each record of sharded-prune: c0 at 0, c1 at 43 (HEAD names c1)


@pytest.fixture
def sharded(tmp_path):
    root = copy_case("sharded-prune", tmp_path)
    assert verify(root).ok
    return root


def append_log(root, data: bytes) -> int:
    offset = (root / LOG).stat().st_size
    with open(root / LOG, "ab") as f:
        f.write(data)
    return offset


def raw_record(payload: bytes) -> bytes:
    return CHECKPOINT_RECORD_PREFIX.pack(CHECKPOINT_MAGIC, crc32(payload), len(payload)) + payload


def test_corrupted_checkpoint_record_is_bad_crc(sharded):
    flip_bit(sharded / LOG, 20)  # inside c0's payload
    assert found(verify(sharded)) == [(LOG, 0, "checkpoint_bad_crc")]


def test_checkpoint_record_with_bad_magic(sharded):
    flip_bit(sharded / LOG, 0)
    assert found(verify(sharded)) == [(LOG, 0, "checkpoint_bad_magic")]


def test_checkpoint_record_of_another_version(sharded):
    payload = b"\x02" + (sharded / LOG).read_bytes()[RECORD + 13:2 * RECORD]
    at = append_log(sharded, raw_record(payload))
    assert found(verify(sharded)) == [(LOG, at, "checkpoint_bad_version")]


def test_checkpoint_record_whose_lengths_do_not_add_up(sharded):
    payload = struct.pack("<BH", 1, 2) + b"c9" + struct.pack("<QH", 5, 3) + struct.pack("<QQ", 1, 1)
    at = append_log(sharded, raw_record(payload))
    assert found(verify(sharded)) == [(LOG, at, "checkpoint_bad_length")]


def test_torn_last_record(sharded):
    at = append_log(sharded, encode_checkpoint_record(Checkpoint(b"c2", 7, (1, 1)))[:-5])
    assert found(verify(sharded)) == [(LOG, at, "checkpoint_torn")]


def test_head_naming_an_unknown_checkpoint(sharded):
    (sharded / "HEAD").write_bytes(encode_head(b"no-such-checkpoint"))
    assert found(verify(sharded)) == [("HEAD", None, "head_unknown_checkpoint")]


def test_head_that_does_not_parse(sharded):
    (sharded / "HEAD").write_bytes(b"\x09\x00c1")
    assert found(verify(sharded)) == [("HEAD", None, "head_invalid")]


def test_records_disagreeing_on_the_shard_count(sharded):
    at = append_log(sharded, encode_checkpoint_record(Checkpoint(b"c3", 9, (0, 0, 0))))
    assert found(verify(sharded)) == [(LOG, at, "shard_count_mismatch")]


def test_checkpoint_offset_beyond_the_shards_next_id(sharded):
    at = append_log(sharded, encode_checkpoint_record(Checkpoint(b"c4", 9, (22, 10_000))))
    report = verify(sharded)
    assert found(report) == [(LOG, at, "checkpoint_offset_beyond_end")]
    assert "shard_01" in report.problems[0].message


def test_shard_directories_that_do_not_fit(sharded):
    for name in ("shard_1", "shard_02", "logs"):
        (sharded / name).mkdir()
        (sharded / name / "segments.idx").write_bytes(encode_index([0]))
    assert sorted(found(verify(sharded))) == [("logs", None, "shard_dir_bad_name"),
                                              ("shard_02", None, "shard_dir_out_of_range"),
                                              ("shard_1", None, "shard_dir_bad_name")]


def test_a_damaged_record_does_not_hide_the_next(sharded):
    flip_bit(sharded / LOG, 2)  # c0's magic
    flip_bit(sharded / LOG, RECORD + 30)  # c1's payload
    assert found(verify(sharded)) == [(LOG, 0, "checkpoint_bad_magic"), (LOG, RECORD, "checkpoint_bad_crc"),
                                      ("HEAD", None, "head_unknown_checkpoint")]
