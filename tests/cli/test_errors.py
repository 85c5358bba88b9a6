"""Errors through the real CLI: one line on stderr, never a traceback, and the documented exit code.

Exit codes (errors.py, man/ironwal.1): 0 ok, 1 problems found, 2 usage, 3 damaged data refused,
4 busy, 5 I/O error, 6 not found, 7 refused, 70 internal error (test_exit_table.py walks them all).
Every case runs ``python -m ironwal_cli`` in a subprocess.
"""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from proc_io import error_line

from ironwal_cli.ops.append import append_values

SEGMENT = "00000000000000000000.wal"


def run(*args: str, cwd: Path, stdin: bytes = b"", preexec_fn=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *args], input=stdin, capture_output=True,
                          cwd=cwd, env=env, timeout=60, preexec_fn=preexec_fn)


@pytest.fixture
def filled(root: Path) -> Path:
    """A root with stream ``s`` holding ids 0..4 (one frame each)."""
    for i in range(5):
        append_values(root, "s", [f"entry {i}".encode()])
    return root


@pytest.mark.parametrize("args", [["tail", "s"], ["ls"], ["get", "s", "0"]])
def test_missing_root_is_not_found_and_named(tmp_path, args):
    missing = tmp_path / "no-such-root"
    line = error_line(run(*args, "-r", str(missing), cwd=tmp_path), 6)
    assert str(missing) in line
    assert not missing.exists()  # reading never creates a root


@pytest.mark.parametrize("args", [["tail", "other"], ["get", "other", "0"]])
def test_unknown_stream_is_not_found(filled, tmp_path, args):
    line = error_line(run(*args, "-r", str(filled), cwd=tmp_path), 6)
    assert str(filled / "other") in line


def test_get_missing_id_is_not_found(filled, tmp_path):
    line = error_line(run("get", "s", "7", "-r", str(filled), cwd=tmp_path), 6)
    assert "7" in line
    ok = run("get", "s", "4", "-r", str(filled), cwd=tmp_path)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, b"entry 4\n", b"")


@pytest.mark.parametrize("args", [["append", "", "x"], ["append", "..", "x"], ["tail", ".."]])
def test_bad_stream_key_is_a_usage_error(root, tmp_path, args):
    line = error_line(run(*args, "-r", str(root), cwd=tmp_path), 2)
    assert "stream key" in line
    assert os.listdir(tmp_path) == []  # nothing written anywhere, not even the root


@pytest.mark.parametrize("value", ["12parsecs", "0"])
def test_bad_max_segment_size_is_a_usage_error(root, tmp_path, value):
    line = error_line(run("append", "s", "x", "--max-segment-size", value, "-r", str(root), cwd=tmp_path), 2)
    assert value in line
    assert not (root / "s").exists()


def test_damaged_segment_stops_tail_with_file_and_offset(filled, tmp_path):
    seg = filled / "s" / SEGMENT
    frame = 32 + 4 + len(b"entry 0")  # every frame of the fixture has this size
    data = bytearray(seg.read_bytes())
    data[3 * frame + 40] ^= 0xFF  # a payload byte of the frame holding id 3: its CRC no longer matches
    seg.write_bytes(bytes(data))
    proc = run("tail", "s", "--from", "0", "-r", str(filled), cwd=tmp_path)
    line = error_line(proc, 3)
    assert f"{seg} at offset {3 * frame}" in line
    assert proc.stdout == b"entry 0\nentry 1\nentry 2\n"  # the intact entries before the damage come first


def test_append_refuses_after_a_damaged_tail(filled, tmp_path):
    # (a torn final frame is not refused: append quarantines it itself; see tests/recover)
    seg = filled / "s" / SEGMENT
    data = bytearray(seg.read_bytes())
    data[-1] ^= 0xFF  # the last frame is complete, its CRC does not match
    seg.write_bytes(bytes(data))
    before = seg.read_bytes()
    line = error_line(run("append", "s", "more", "-r", str(filled), cwd=tmp_path), 3)
    assert str(seg) in line and "ironwal recover" in line
    assert seg.read_bytes() == before  # nothing was written after the garbage


def test_lock_timeout(filled, tmp_path):
    fd = os.open(filled / "s", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = run("append", "s", "late", "--lock-timeout", "0.2", "-r", str(filled), cwd=tmp_path)
    finally:
        os.close(fd)
    line = error_line(proc, 4)
    assert str(filled / "s") in line and "--lock-timeout" in line
    assert proc.stdout == b""  # no id promised
    after = run("append", "s", "late", "--lock-timeout", "0.2", "-r", str(filled), cwd=tmp_path)
    assert (after.returncode, after.stdout) == (0, b"5\n")  # the lock was the only obstacle


def test_root_under_a_file_is_an_io_error(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    bad = tmp_path / "plain" / "root"
    line = error_line(run("append", "s", "x", "-r", str(bad), cwd=tmp_path), 5)
    assert str(bad) in line


def test_file_size_limit_is_an_io_error_and_leaves_the_segment_intact(filled, tmp_path):
    seg = filled / "s" / SEGMENT
    before = seg.read_bytes()

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 100, resource.RLIM_INFINITY))

    proc = run("append", "s", "--whole", "-r", str(filled), cwd=tmp_path, stdin=b"x" * 4096,
               preexec_fn=small_files)
    line = error_line(proc, 5)
    assert str(seg) in line and "too large" in line.lower()
    assert proc.stdout == b""
    assert seg.read_bytes() == before  # the partial frame was taken back out
    assert run("get", "s", "4", "-r", str(filled), cwd=tmp_path).stdout == b"entry 4\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_permission_denied_is_an_io_error(filled, tmp_path):
    (filled / "s").chmod(0o500)
    try:
        line = error_line(run("append", "s", "x", "-r", str(filled), cwd=tmp_path), 5)
    finally:
        (filled / "s").chmod(0o755)
    assert "ermission" in line


def test_closed_stdout_pipe_ends_quietly(root, tmp_path):
    entries = [b"%06d padding to make the output long" % i for i in range(20000)]
    append_values(root, "big", entries)  # ~880 KB of output, far more than a pipe buffer
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    proc = subprocess.Popen([sys.executable, "-m", "ironwal_cli", "tail", "big", "--from", "0", "-r", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert first == entries[0] + b"\n"
    assert err == b""


def test_interrupted_follow_ends_quietly(filled, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    proc = subprocess.Popen([sys.executable, "-m", "ironwal_cli", "tail", "-f", "-n", "1", "s", "-r", str(filled)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    assert proc.stdout.readline() == b"entry 4\n"  # it is following now
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (0, b"", b"")


@pytest.mark.parametrize("args,names", [
    (["append", "s", "x", "--sync", "bogus"], ["--sync", "bogus"]),
    (["tail", "s", "--format", "yaml"], ["--format", "yaml"]),
    (["get", "s"], ["ID"]),
    (["tail", "s", "-n", "lots"], ["-n", "lots"]),
    (["no-such-command"], ["no-such-command"]),
    (["checkpoint", "bogus"], ["bogus"]),
])
def test_click_usage_errors_are_one_line_naming_the_argument(tmp_path, args, names):
    line = error_line(run(*args, "-r", str(tmp_path / "r"), cwd=tmp_path), 2)
    for name in names:
        assert name in line
    assert not (tmp_path / "r").exists()  # nothing was created
