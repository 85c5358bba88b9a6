"""spec/fields.py: packers and pickers generated from the declared field names agree with the
declared layout whatever order their callers name the fields in."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ironwal_cli.spec._layout import LAYOUT
from ironwal_cli.spec.codec import CHAIN_LAYOUT, ENTRY_LENGTH, FRAME_HEADER, FrameHeader, pack_header, unpack_header
from ironwal_cli.spec.fields import packer, param_name, picker, runs
from ironwal_cli.spec.native import NATIVE
from ironwal_cli.spec.read_ahead import READ_AHEAD

HEADER_FIELDS = FrameHeader._fields


def _value(draw, fmt: str):
    if fmt.endswith("s"):
        return draw(st.binary(min_size=int(fmt[:-1]), max_size=int(fmt[:-1])))
    return draw(st.integers(0, 2 ** (8 * struct.calcsize("<" + fmt)) - 1))


@st.composite
def headers(draw):
    return {name: _value(draw, fmt) for name, fmt, _ in LAYOUT["frame_header"]}


@given(headers())
def test_the_header_packer_takes_the_declared_names_and_packs_in_disk_order(values):
    assert packer("frame_header")(**values) == FRAME_HEADER.pack(*(values[f] for f in HEADER_FIELDS))
    assert unpack_header(pack_header(FrameHeader(**values)))._asdict() == values


@given(headers(), st.permutations(HEADER_FIELDS), st.integers(1, len(HEADER_FIELDS)))
def test_a_picker_gives_the_named_fields_in_the_order_named(values, order, n):
    fields = tuple(order[:n])
    pick = picker("frame_header", *fields)
    data = b"\xee" * 3 + packer("frame_header")(**values)
    assert pick.unpack_from(data, 3) == tuple(values[f] for f in fields)
    assert pick.fields == fields and pick.size <= FRAME_HEADER.size


def test_a_subset_packer_packs_consecutive_fields_only():
    covered = packer("frame_header", "entry_count", "start_id")  # any order named, disk order packed
    assert covered(start_id=1, entry_count=2) == struct.pack("<QL", 1, 2)
    with pytest.raises(ValueError, match="follow each other"):
        packer("frame_header", "magic", "start_id")
    with pytest.raises(TypeError):
        covered(1, 2)  # keywords only: no call site packs by position


def test_runs_end_after_variable_parts_and_pickers_stay_in_one():
    assert [[f.name for f in run] for run in runs("checkpoint_payload")] == [
        ["version", "checkpoint_id"], ["timestamp_ns", "shard_count", "offsets"]]
    assert param_name(runs("checkpoint_record")[0][2]) == "body_length"
    with pytest.raises(ValueError, match="not in the run"):
        picker("checkpoint_payload", "version", "timestamp_ns")
    tail = picker("checkpoint_payload", "shard_count", "timestamp_ns")
    assert tail.unpack_from(struct.pack("<QH", 7, 3)) == (3, 7)


def test_the_c_walk_takes_the_header_fields_by_name_and_checks_their_formats():
    if NATIVE is None:
        pytest.skip("the C module was not built (no compiler at install)")
    fields = dict(CHAIN_LAYOUT["fields"])
    moved = {**CHAIN_LAYOUT, "fields": {**fields, "start_id": (fields["start_id"][0], "L")}}
    with pytest.raises(ValueError, match="start_id"):
        NATIVE.configure(moved, ENTRY_LENGTH.format, READ_AHEAD)
    del fields["disk_size"]
    with pytest.raises(ValueError, match="disk_size"):
        NATIVE.configure({**CHAIN_LAYOUT, "fields": fields}, ENTRY_LENGTH.format, READ_AHEAD)
    NATIVE.configure(CHAIN_LAYOUT, ENTRY_LENGTH.format, READ_AHEAD)  # and the real one again
