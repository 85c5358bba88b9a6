"""``ironwal append``: the slow pipe, output modes, batching, sync modes and size options."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from proc_io import read_line_within
from typer.testing import CliRunner
from wal_checks import check_stream, walk_headers

from ironwal_cli.cli.main import app
from ironwal_cli.engine.reader.reader import StreamReader

runner = CliRunner()

LIVENESS_TIMEOUT = 5.0  # generous: this checks that an id comes at all, not how fast


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ironwal_cli", *args]


def run(*args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args), input=stdin, capture_output=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_slow_pipe_is_written_without_waiting_for_a_full_batch(tmp_path):
    """``tail -f app.log | ironwal append logs``: one line, then silence; its id still comes out."""
    root = tmp_path / "wal"
    proc = subprocess.Popen(cli("append", "logs", "-r", str(root), "--batch", "1000"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i, line in enumerate([b"first line", b"second line"]):
            proc.stdin.write(line + b"\n")
            proc.stdin.flush()  # ... and the writer pauses, the pipe stays open
            assert read_line_within(proc, LIVENESS_TIMEOUT) == f"{i}\n".encode()
            # Printed means written (and in strict mode synced): a reader sees it while the pipe is open.
            assert [e for _, e in StreamReader(root, "logs").entries(i)] == [line]
        assert proc.poll() is None  # still waiting for more input
    finally:
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
    assert (proc.wait(timeout=30), out, err) == (0, b"", b"")


def test_json_output(tmp_path):
    root = str(tmp_path / "wal")
    r = run("append", "user/1", "a", "b", "c", "-r", root, "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {"stream": "user/1", "first": 0, "count": 3, "next": 3}
    assert r.stdout.count(b"\n") == 1
    r = run("append", "user/1", "-r", root, "--json", "--batch", "2", stdin=b"d\ne\nf\n")
    assert json.loads(r.stdout) == {"stream": "user/1", "first": 3, "count": 3, "next": 6}


def test_json_output_of_nothing_appended(tmp_path):
    r = run("append", "s", "-r", str(tmp_path / "wal"), "--json", stdin=b"")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {"stream": "s", "first": None, "count": 0, "next": None}
    assert not (tmp_path / "wal" / "s").exists()  # nothing to write creates nothing


def test_quiet_prints_nothing_but_writes(tmp_path):
    root = tmp_path / "wal"
    r = run("append", "s", "-r", str(root), "-q", stdin=b"x\ny\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert [e for _, e in StreamReader(root, "s").entries(0)] == [b"x", b"y"]
    r = run("append", "s", "z", "-r", str(root), "--quiet", "--json")  # a conflict, refused: nothing written
    assert (r.returncode, r.stdout) == (2, b"")
    assert [e for _, e in StreamReader(root, "s").entries(0)] == [b"x", b"y"]


def test_default_output_is_one_id_per_entry(tmp_path):
    r = run("append", "s", "-r", str(tmp_path / "wal"), stdin=b"a\nb\nc\n")
    assert r.stdout == b"0\n1\n2\n"


def test_batch_option_sets_entries_per_frame(tmp_path):
    root = tmp_path / "wal"
    r = run("append", "s", "-r", str(root), "--batch", "10", stdin=b"".join(b"%d\n" % i for i in range(25)))
    assert r.returncode == 0 and r.stdout.split() == [str(i).encode() for i in range(25)]
    frames = walk_headers((root / "s" / "00000000000000000000.wal").read_bytes())
    assert [h.entry_count for _, h, _ in frames] == [10, 10, 5]
    r = run("append", "s", "-r", str(root), "--batch", "0", stdin=b"x\n")
    assert r.returncode == 2


def test_values_are_one_frame(tmp_path):
    root = tmp_path / "wal"
    assert run("append", "s", "a", "b", "c", "-r", str(root)).stdout == b"0\n1\n2\n"
    frames = walk_headers((root / "s" / "00000000000000000000.wal").read_bytes())
    assert [(h.start_id, h.entry_count) for _, h, _ in frames] == [(0, 3)]


@pytest.mark.parametrize("mode", ["strict", "batch", "async"])
def test_sync_modes_are_accepted(tmp_path, mode):
    root = tmp_path / "wal"
    r = runner.invoke(app, ["append", "s", "v1", "-r", str(root), "--sync", mode])
    assert (r.exit_code, r.stdout) == (0, "0\n")
    r = runner.invoke(app, ["append", "s", "v2", "v3", "-r", str(root)], env={"IRONWAL_SYNC": mode})
    assert (r.exit_code, r.stdout) == (0, "1\n2\n")
    assert [e for _, e in StreamReader(root, "s").entries(0)] == [b"v1", b"v2", b"v3"]


def test_unknown_sync_mode_is_a_usage_error(tmp_path):
    r = runner.invoke(app, ["append", "s", "v", "-r", str(tmp_path / "wal"), "--sync", "sometimes"])
    assert r.exit_code == 2 and "sometimes" in r.stderr
    assert not (tmp_path / "wal").exists()


@pytest.mark.parametrize("how", [["--max-segment-size", "4k"], ["--max-segment-size", "4KiB"],
                                 ["--max-segment-size", "4096"], "env"], ids=["4k", "4KiB", "4096", "env-4k"])
def test_size_suffixes_are_binary_units(tmp_path, how):
    """Single appends of 99 bytes (frames of 135): after 30 frames (4050), 4050 + 99 + 32 > 4096 rotates,
    so segment 2 starts at id 30; a limit of 4000 would have rotated at id 29."""
    root = tmp_path / "wal"
    env = {"IRONWAL_MAX_SEGMENT_SIZE": "4k"} if how == "env" else {}
    for i in range(32):
        r = runner.invoke(app, ["append", "s", f"{i:099d}", "-r", str(root), "--sync", "async",
                                *(how if how != "env" else [])], env=env)
        assert (r.exit_code, r.stdout) == (0, f"{i}\n"), r.stderr
    assert sorted(int(p.name[:-4]) for p in (root / "s").glob("*.wal")) == [0, 30]
    check_stream(root / "s", 4096)


def test_large_size_suffixes_are_accepted(tmp_path):
    r = runner.invoke(app, ["append", "s", "v", "-r", str(tmp_path / "wal"), "--max-segment-size", "64MiB",
                            "--min-compress-size", "1k", "--max-entries-per-segment", "unlimited"])
    assert (r.exit_code, r.stdout) == (0, "0\n")


@pytest.mark.parametrize("option, value", [
    ("--max-segment-size", "4x"), ("--max-segment-size", "1.5k"), ("--max-segment-size", "-1"),
    ("--max-segment-size", "0"), ("--max-segment-size", "lots"), ("--min-compress-size", "1 parsec"),
    ("--max-entries-per-segment", "0"), ("--max-entries-per-segment", "many"),
])
def test_bad_sizes_exit_2_with_one_line(tmp_path, option, value):
    r = runner.invoke(app, ["append", "s", "v", "-r", str(tmp_path / "wal"), option, value])
    assert (r.exit_code, r.stdout) == (2, "")
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ironwal: error: "), r.stderr
    assert option in lines[0] or value in lines[0]
    assert not (tmp_path / "wal").exists()


def test_bad_size_in_a_real_process(tmp_path):
    r = run("append", "s", "v", "-r", str(tmp_path / "wal"), "--max-segment-size", "4x")
    assert (r.returncode, r.stdout) == (2, b"")
    assert r.stderr == b"ironwal: error: --max-segment-size '4x': not a size (examples: 4096, 4k, 64MiB, 1G)\n"


def test_compress_writes_lz4_frames_only_when_they_pay(tmp_path):
    """--compress: LZ4 for a compressible batch at or over --min-compress-size, raw otherwise."""
    root = tmp_path / "wal"
    base = ["append", "s", "-r", str(root), "--compress", "--min-compress-size", "64"]
    assert runner.invoke(app, [*base, *["x" * 100] * 5]).exit_code == 0  # compressible, 520 raw bytes
    assert runner.invoke(app, [*base, "y" * 50]).exit_code == 0  # 54 raw bytes: under the minimum
    assert runner.invoke(app, [*base[:-3], *["z" * 100] * 5]).exit_code == 0  # compression off
    frames = walk_headers((root / "s" / "00000000000000000000.wal").read_bytes())
    assert [(h.frame_type, h.uncompressed_size) for _, h, _ in frames] == [(1, 520), (0, 54), (0, 520)]
    assert frames[0][1].disk_size < 520
    payload_start = frames[0][0] + 32
    lz4_header = (root / "s" / "00000000000000000000.wal").read_bytes()[payload_start:payload_start + 6]
    assert lz4_header == bytes.fromhex("04224d18") + bytes([0x60, 0x40])  # LZ4 frame, FLG 0x60, BD 64 KiB
    assert [e for _, e in StreamReader(root, "s").entries(0)] == [b"x" * 100] * 5 + [b"y" * 50] + [b"z" * 100] * 5


def test_lock_timeout_exits_4_with_one_line(tmp_path):
    """Another process holds the stream's writer lock: give up after --lock-timeout, write nothing."""
    root = tmp_path / "wal"
    assert runner.invoke(app, ["append", "s", "v0", "-r", str(root)]).exit_code == 0
    before = (root / "s" / "00000000000000000000.wal").read_bytes()
    fd = os.open(root / "s", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = run("append", "s", "v1", "-r", str(root), "--lock-timeout", "0.2")
    finally:
        os.close(fd)
    assert (r.returncode, r.stdout) == (4, b"")
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ironwal: error: ") and "lock" in lines[0]
    assert (root / "s" / "00000000000000000000.wal").read_bytes() == before


def test_append_after_damage_is_refused_with_exit_3(tmp_path):
    """The crate's own torn-tail root: its repair padded tp's torn frame with zeros (CRC now bad)."""
    root = tmp_path / "wal"
    shutil.copytree(Path(__file__).resolve().parents[2] / "format/samples/conformance/torn-tail/root", root)
    segment = root / "tp" / "00000000000000000000.wal"
    before = segment.read_bytes()
    r = run("append", "tp", "more", "-r", str(root))
    assert (r.returncode, r.stdout) == (3, b"")
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ironwal: error: {segment} at offset 224: ")
    assert "ironwal recover" in lines[0]
    assert segment.read_bytes() == before
