"""``ironwal inspect``: parseable output (``--entries -F jsonl`` is JSON lines that jq reads,
``-F raw`` the entry bytes alone), the bytes of a damaged frame (``--hex``), and our own files
``lost.idx`` and ``seals.idx``; README's "look at the damaged frame" command really shows it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner
from verify_support import CONFORMANCE, flip_bit, frames, segments, write_stream

from ironwal_cli.cli.main import app
from ironwal_cli.engine.store.lost_ids import encode_lost
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.inspect import inspect_file
from ironwal_cli.spec.codec import HEADER_SIZE, SEAL_RECORD

runner = CliRunner()
TORN = CONFORMANCE / "torn-tail" / "root" / "tp" / "00000000000000000000.wal"
README = Path(__file__).resolve().parents[2] / "README.md"
ENTRIES = [[b"a\nb", b"", b"\xff\x00"], [b"# offset=1 not a frame line"], [b"z" * 50]]


def damaged_segment(root: Path) -> tuple[Path, int]:
    """A segment of three frames whose middle one has a payload bit flipped: (path, its offset)."""
    seg = segments(write_stream(root, "s", ENTRIES))[0]
    middle = frames(seg)[1]
    flip_bit(seg, middle.offset + HEADER_SIZE + 6)
    return seg, middle.offset


def test_jsonl_is_json_lines_one_per_frame(root):
    seg, bad = damaged_segment(root)
    result = runner.invoke(app, ["inspect", str(seg), "--entries", "-F", "jsonl"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert [r["offset"] for r in rows] == [f.offset for f in frames_or_damage(seg)]
    first, middle, last = rows
    assert [e["b64"] for e in first["entries"]] == ["YQpi", "", "/wA="]
    assert middle["offset"] == bad and middle["problems"] == ["bad_crc"] and middle["entries"] is None
    assert last["entries"][0]["text"] == "z" * 50 and last["entries"][0]["id"] == 4
    assert "payload_hex" not in middle  # only with --hex
    assert result.stderr == ""


def frames_or_damage(seg: Path):
    from ironwal_cli.engine.frames.scan import map_file, scan

    return list(scan(map_file(seg)))


def test_raw_is_the_entry_bytes_and_nothing_else(root):
    seg, _ = damaged_segment(root)
    result = runner.invoke(app, ["inspect", str(seg), "--entries", "-F", "raw"])
    assert result.exit_code == 0
    assert result.stdout_bytes == b"a\nb" + b"" + b"\xff\x00" + b"z" * 50  # the damaged frame holds none
    assert result.stderr.count("# offset=") == 3 and "problems=bad_crc" in result.stderr


def test_hex_shows_the_damaged_frame_bytes(root):
    seg, bad = damaged_segment(root)
    data = seg.read_bytes()
    size = frames_or_damage(seg)[1].header.disk_size
    body = bad + HEADER_SIZE
    want_header, want_payload = data[bad:body].hex(), data[body:body + size].hex()
    rows = json.loads(runner.invoke(app, ["inspect", str(seg), "--json", "--hex"]).stdout)["rows"]
    assert (rows[1]["header_hex"], rows[1]["payload_hex"]) == (want_header, want_payload)
    assert "payload_hex" not in rows[0] and "payload_hex" not in rows[2]  # intact frames: no hex
    table = runner.invoke(app, ["inspect", str(seg), "--hex"]).stdout.splitlines()
    assert table[0].split("\t")[-2:] == ["header_hex", "payload_hex"]
    assert table[2].split("\t")[-2:] == [want_header, want_payload]
    lines = runner.invoke(app, ["inspect", str(seg), "--entries", "--hex", "-F", "raw"]).stderr.splitlines()
    assert f"# header_hex={want_header} payload_hex={want_payload}" in lines


def test_hex_of_a_region_without_a_header(root):
    seg = segments(write_stream(root, "s", [[b"one"]]))[0]
    with open(seg, "ab") as f:
        f.write(b"\x00garbage")  # a torn header: no header to read
    rows = json.loads(runner.invoke(app, ["inspect", str(seg), "--json", "--hex"]).stdout)["rows"]
    assert rows[-1]["header_hex"] is None and rows[-1]["payload_hex"] == b"\x00garbage".hex()


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("sh") is None, reason="needs jq and sh")
def test_readme_damaged_frame_example_shows_it(tmp_path):
    """The README line itself, run by a shell in a root holding the torn-tail sample's stream."""
    line = next(x for x in README.read_text().splitlines() if "# the damaged frame" in x)
    command = line.split("   #")[0].strip()
    root = tmp_path / "wal_data"
    shutil.copytree(TORN.parent, root / "s")
    env = {**os.environ, "IRONWAL_ROOT": str(root), "PATH": os.path.dirname(sys.executable) + os.pathsep
           + os.environ.get("PATH", "")}
    proc = subprocess.run(["sh", "-c", command], capture_output=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (row,) = [json.loads(x) for x in proc.stdout.splitlines()]
    data = TORN.read_bytes()
    assert row["offset"] == 224 and row["problems"] == ["bad_crc"]
    assert row["payload_hex"] == data[224 + HEADER_SIZE:224 + HEADER_SIZE + 24].hex()


def test_lost_idx_rows(tmp_path):
    lost = tmp_path / "lost.idx"
    lost.write_bytes(encode_lost([(3, 5), (9, 20)]))
    rows = json.loads(runner.invoke(app, ["inspect", str(lost), "--json"]).stdout)["rows"]
    assert [(r["first"], r["end"], r["count"], r["problems"]) for r in rows] == [(3, 5, 2, []), (9, 20, 11, [])]
    lost.write_bytes(encode_lost([(3, 5), (4, 6)]) + b"\x01")
    result = runner.invoke(app, ["inspect", str(lost)])
    assert result.exit_code == 0
    rows = json.loads(runner.invoke(app, ["inspect", str(lost), "--json"]).stdout)["rows"]
    assert [r["problems"] for r in rows] == [[], ["unexpected_file"], ["unexpected_file"]]
    assert rows[2]["offset"] == 32


def test_seals_idx_rows(tmp_path):
    with StreamWriter(tmp_path, "s", WriteOptions(max_entries_per_segment=2)) as w:
        for i in range(5):
            w.append(b"%d" % i)
    seals = tmp_path / "s" / "seals.idx"
    rows = json.loads(runner.invoke(app, ["inspect", "-r", str(tmp_path), "s/seals.idx", "--json"]).stdout)["rows"]
    assert rows and all(r["crc_ok"] and r["current"] for r in rows)
    assert [(r["start_id"], r["end_id"]) for r in rows][:2] == [(0, 2), (2, 4)]
    assert rows[0]["size"] == (tmp_path / "s" / "00000000000000000000.wal").stat().st_size
    flip_bit(seals, 3)  # the first record's start_id: its CRC fails
    with open(tmp_path / "s" / "00000000000000000002.wal", "ab"):
        os.utime(tmp_path / "s" / "00000000000000000002.wal", ns=(1, 1))  # no longer as sealed
    rows = json.loads(runner.invoke(app, ["inspect", str(seals), "--json"]).stdout)["rows"]
    assert rows[0]["crc_ok"] is False and rows[0]["current"] is False
    assert rows[1]["crc_ok"] is True and rows[1]["current"] is False
    assert runner.invoke(app, ["inspect", str(seals)]).exit_code == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), name=st.sampled_from(["lost.idx", "seals.idx"]))
def test_any_bytes_in_our_files_give_rows_not_errors(tmp_path, data, name):
    """Every record of the file is a row (a last row for left-over bytes); nothing raises."""
    path = tmp_path / name
    path.write_bytes(data)
    rows = inspect_file(path).rows
    record = 16 if name == "lost.idx" else SEAL_RECORD.size
    assert len(rows) == len(data) // record + (len(data) % record != 0)
    assert [r["offset"] for r in rows] == list(range(0, len(data), record))
