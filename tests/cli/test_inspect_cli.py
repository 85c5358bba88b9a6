"""``ironwal inspect``: frame tables of segments and decoded checkpoint/index files, damaged or not."""

from __future__ import annotations

import base64
import json

import pytest
from typer.testing import CliRunner
from verify_support import CONFORMANCE, flip_bit, frames, segments, write_stream

from ironwal_cli.cli.main import app

runner = CliRunner()
TORN = CONFORMANCE / "torn-tail" / "root"
SHARDED = CONFORMANCE / "sharded-basic" / "root"


def run(*args: str):
    return runner.invoke(app, ["inspect", *args])


def test_segment_table_marks_the_damaged_frame():
    result = run("-r", str(TORN), "tp/00000000000000000000.wal")  # found under the root
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert lines[0] == ["offset", "start_id", "count", "type", "disk_size", "uncompressed_size", "crc_ok", "problems"]
    assert lines[5] == ["224", "4", "1", "raw", "24", "24", "NO", "bad_crc"]
    assert lines[6][:3] == ["280", "5", "1"] and lines[6][6:] == ["yes", "-"]


def test_segment_json_with_entries(root):
    s = write_stream(root, "s", [[b"a\nb", b"", b"\xff\x00"], [b"z" * 2000]], compress=True)
    result = run(str(segments(s)[0]), "--json", "--entries")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["kind"] == "segment"
    first, second = data["rows"]
    assert (first["start_id"], first["count"], first["type"], first["crc_ok"]) == (0, 3, "raw", True)
    assert [base64.b64decode(e["b64"]) for e in first["entries"]] == [b"a\nb", b"", b"\xff\x00"]
    assert "text" not in first["entries"][2]
    assert second["type"] == "lz4" and second["uncompressed_size"] == 2004 and second["entries"][0]["id"] == 3


def test_entries_in_a_tail_format(root):
    s = write_stream(root, "s", [[b"hi", b"yo"]])
    seg = segments(s)[0]
    flip_bit(seg, frames(seg)[0].offset + 25)  # uncompressed_size: decodable, but reported
    result = runner.invoke(app, ["inspect", str(seg), "--entries", "-F", "hex"])
    assert result.exit_code == 0
    assert result.stdout_bytes.splitlines() == [b"6869", b"796f"]  # entries only; frame lines on stderr
    assert result.stderr.splitlines() == [
        "# offset=0 start_id=0 count=2 type=raw disk_size=12 uncompressed_size=13 crc_ok=yes "
        "problems=size_mismatch"]


def test_damaged_rows_have_no_entries():
    data = json.loads(run(str(TORN / "tp" / "00000000000000000000.wal"), "--json", "--entries").output)
    bad = data["rows"][4]
    assert bad["problems"] == ["bad_crc"] and bad["entries"] is None and bad["crc_ok"] is False


def test_checkpoints_log_head_head_state_and_index():
    rows = json.loads(run(str(SHARDED / "checkpoints.log"), "--json").output)["rows"]
    assert [(r["checkpoint_id"], r["shard_count"], r["crc_ok"]) for r in rows] == [("snap_1", 4, True),
                                                                                  ("snap_2", 4, True)]
    assert rows[1]["offsets"] == [46, 53, 60, 41]
    head = json.loads(run(str(SHARDED / "HEAD"), "--json").output)
    assert head["kind"] == "head" and head["rows"] == [{"checkpoint_id": "snap_2", "checkpoint_id_hex": "736e61705f32",
                                                        "problems": []}]
    big = CONFORMANCE / "oversize-entry" / "root" / "big"
    state = json.loads(run(str(big / "head.state"), "--json").output)["rows"]
    assert state == [{"version": 1, "segment": "00000000000000000005.wal", "problems": []}]
    index = json.loads(run(str(big / "segments.idx"), "--json").output)["rows"]
    assert [(r["offset"], r["id"], r["exists"]) for r in index][:3] == [(0, 0, True), (8, 0, True), (16, 1, True)]


def test_damaged_small_files(tmp_path):
    (tmp_path / "segments.idx").write_bytes(bytes(11))
    rows = json.loads(run(str(tmp_path / "segments.idx"), "--json").output)["rows"]
    assert rows[-1]["offset"] == 8 and rows[-1]["problems"] == ["index_bad_length"]
    (tmp_path / "HEAD").write_bytes(b"\x05\x00ab")
    assert json.loads(run(str(tmp_path / "HEAD"), "--json").output)["rows"][0]["problems"] == ["head_invalid"]
    log = SHARDED.joinpath("checkpoints.log").read_bytes()
    (tmp_path / "checkpoints.log").write_bytes(log[:20] + b"\x00" + log[21:])
    rows = json.loads(run(str(tmp_path / "checkpoints.log"), "--json").output)["rows"]
    assert [(r["offset"], r["problems"], r["crc_ok"]) for r in rows] == [(0, ["checkpoint_bad_crc"], False),
                                                                         (63, [], True)]


@pytest.mark.parametrize("name, code", [("notes.txt", 2), ("missing.wal", 6)])
def test_unknown_file_is_a_usage_error_and_a_missing_one_not_found(tmp_path, name, code):
    if name == "notes.txt":
        (tmp_path / name).write_text("x")
    assert run(str(tmp_path / name)).exit_code == code


def test_segment_rows_show_what_verify_reports_for_each_frame():
    rows = json.loads(run(str(CONFORMANCE / "key-collision" / "root" / "user_123" / "00000000000000000000.wal"),
                          "--json").output)["rows"]
    assert [(r["offset"], r["start_id"], r["problems"]) for r in rows] == [
        (0, 0, []), (52, 1, []), (104, 0, ["ids_backwards"]), (156, 2, []), (208, 0, ["ids_backwards"]),
        (270, 4, ["ids_skip"])]
