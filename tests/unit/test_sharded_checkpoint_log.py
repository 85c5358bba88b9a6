"""checkpoints.log and HEAD: the fast codec agrees with the construct spec; damage and duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.errors import FormatError, UsageError
from ironwal_cli.sharded.checkpoints import (
    CheckpointLog,
    display_id,
    latest,
    parse_id,
    parse_records,
    read_head,
)
from ironwal_cli.spec import declarations as spec
from ironwal_cli.spec.codec import Checkpoint, encode_checkpoint_record, encode_head

checkpoints = st.builds(Checkpoint, st.binary(min_size=1, max_size=300), st.integers(0, 2**64 - 1),
                        st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40).map(tuple))


@given(checkpoints)
def test_codec_record_equals_construct_record(cp):
    raw = encode_checkpoint_record(cp)
    built = spec.checkpoint_record.build({"body": {"value": {"checkpoint_id": cp.checkpoint_id,
                                                            "timestamp_ns": cp.timestamp_ns,
                                                            "offsets": list(cp.offsets)}}})
    assert raw == built
    parsed = spec.checkpoint_record.parse(raw)
    assert parsed.crc_ok and parsed.body.value.checkpoint_id == cp.checkpoint_id
    [record] = list(parse_records(raw))
    assert record.checkpoint == cp and record.raw == raw


@given(st.binary(min_size=1, max_size=300))
def test_head_codec_equals_construct(cid):
    assert encode_head(cid) == spec.head.build(cid)


@given(st.lists(checkpoints, max_size=5), st.data())
def test_a_torn_tail_keeps_every_record_before_it(cps, data):
    raws = [encode_checkpoint_record(c) for c in cps]
    log = b"".join(raws)
    cut = data.draw(st.integers(0, len(log)))
    items = list(parse_records(log[:cut]))
    whole = 0
    while whole < len(raws) and sum(map(len, raws[:whole + 1])) <= cut:
        whole += 1
    assert [i.checkpoint for i in items[:whole]] == cps[:whole]
    if sum(map(len, raws[:whole])) == cut:
        assert len(items) == whole
    else:
        assert len(items) == whole + 1 and items[-1][0] == sum(map(len, raws[:whole]))


def test_bad_crc_is_located(tmp_path: Path):
    a, b = (encode_checkpoint_record(Checkpoint(n, t, (1,))) for n, t in ((b"a", 1), (b"b", 2)))
    damaged = a + b[:-1] + bytes([b[-1] ^ 1])
    (tmp_path / "checkpoints.log").write_bytes(damaged)
    log = CheckpointLog.read(tmp_path / "checkpoints.log")
    assert [r.checkpoint_id for r in log.records] == [b"a"]
    assert log.damage_offset == len(a) and "CRC" in log.damage
    with pytest.raises(FormatError) as err:
        log.require_intact("append to")
    assert err.value.offset == len(a)


def test_later_record_wins_and_latest_rules(tmp_path: Path):
    recs = [Checkpoint(b"x", 10, (1,)), Checkpoint(b"y", 30, (2,)), Checkpoint(b"x", 20, (3,))]
    (tmp_path / "checkpoints.log").write_bytes(b"".join(map(encode_checkpoint_record, recs)))
    log = CheckpointLog.read(tmp_path / "checkpoints.log")
    assert [(r.checkpoint_id, r.checkpoint.offsets) for r in log.current()] == [(b"x", (3,)), (b"y", (2,))]
    assert log.find(b"x").checkpoint.offsets == (3,)
    assert latest(log, None).checkpoint_id == b"y"  # no HEAD: newest by timestamp
    assert latest(log, b"x").checkpoint.offsets == (3,)  # HEAD wins over timestamps
    assert log.shard_counts() == {1}


def test_damaged_head_is_a_format_error(tmp_path: Path):
    (tmp_path / "HEAD").write_bytes(b"\x05\x00ab")
    with pytest.raises(FormatError):
        read_head(tmp_path)
    (tmp_path / "HEAD").write_bytes(encode_head(b"\xff\x00"))
    assert read_head(tmp_path) == b"\xff\x00"


def test_ids_text_hex_and_display():
    assert parse_id("snap") == b"snap"
    assert parse_id("ff00", hex_id=True) == b"\xff\x00"
    assert display_id(b"\xff\x00") == "ff00"
    assert display_id("ключ".encode()) == "ключ"
    assert display_id(b"a\nb") == "610a62"  # not printable: hex, so a row stays one line
    for bad in ("", "x" * 65536):
        with pytest.raises(UsageError):
            parse_id(bad)
    with pytest.raises(UsageError):
        parse_id("zz", hex_id=True)
