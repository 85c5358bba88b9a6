"""``ironwal append`` as scripts and people expect it (issue 14.11), through real processes:
``-`` is stdin, a wait for a lock is said out loud, an I/O error says how much was committed,
and ``-q --json`` is a conflict."""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proc_io import error_line

from ironwal_cli.errors import EXIT_IO, EXIT_USAGE
from ironwal_cli.ops.read import read_batches


def ironwal(*args, stdin: bytes = b"", **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    return subprocess.run([sys.executable, "-m", "ironwal_cli", *map(str, args)], input=stdin, capture_output=True,
                          env=env, timeout=60, **kw)


def entries(root: Path, stream: str) -> list[bytes]:
    return [e for _, batch in read_batches(root, stream) for e in batch]


def test_dash_value_reads_stdin_and_is_never_a_stream_name(tmp_path):
    root = tmp_path / "w"
    assert ironwal("append", "s", "-", "-r", root, stdin=b"a\nb\n").stdout == b"0\n1\n"
    assert entries(root, "s") == [b"a", b"b"]
    line = error_line(ironwal("append", "-", "-r", root, stdin=b"hi\n"), EXIT_USAGE)
    assert "'-' is not a stream name" in line
    assert not (root / "-").exists()
    error_line(ironwal("append", "s", "x", "-", "-r", root), EXIT_USAGE)
    assert ironwal("append", "s", "-r", root, stdin=b"-\n").stdout == b"2\n"  # a literal '-' comes from stdin
    assert entries(root, "s")[-1] == b"-"


def test_quiet_and_json_together_are_refused(tmp_path):
    root = tmp_path / "w"
    assert "choose one of -q/--quiet and --json" in error_line(ironwal("append", "s", "x", "-q", "--json", "-r", root),
                                                               EXIT_USAGE)
    assert not root.exists()
    assert ironwal("append", "s", "x", "--json", "-r", root).stdout.startswith(b'{"stream": "s"')


def test_a_wait_for_the_lock_is_said_on_stderr_after_a_second(tmp_path):
    root = tmp_path / "w"
    assert ironwal("append", "s", "a", "-r", root).returncode == 0
    fd = os.open(root / "s", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    proc = subprocess.Popen([sys.executable, "-m", "ironwal_cli", "append", "s", "b", "-r", str(root),
                             "--lock-timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(2.0)
        os.close(fd)  # let it go: the append then goes through
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out == b"1\n"
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "waiting for another ironwal process's writer lock" in lines[0], lines
    assert str(root / "s") in lines[0]


def test_an_append_that_is_not_kept_waiting_prints_no_note(tmp_path):
    assert ironwal("append", "s", "a", "-r", tmp_path / "w").stderr == b""


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write returns EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("sync", ["strict", "async"])
def test_an_io_error_says_how_many_entries_were_committed(tmp_path, sync):
    root = tmp_path / "w"
    feed = b"".join(b"%06d %s\n" % (i, b"x" * 90) for i in range(5000))
    proc = ironwal("append", "s", "-r", root, "--batch", "50", "--sync", sync, stdin=feed,
                   preexec_fn=_limit_file_size(100_000))
    line = error_line(proc, EXIT_IO)
    printed = proc.stdout.split()
    assert printed and "File too large" in line
    assert f"; {len(printed)} entries acknowledged before it (ids 0..{int(printed[-1])}, printed)" in line
    stored = entries(root, "s")  # frames written whole before the failing one stay, acknowledged or not
    assert len(stored) >= len(printed)
    assert f"the stream now holds ids up to {len(stored) - 1}, the next append goes on after" in line


def test_an_io_error_before_any_entry_says_none_was_committed(tmp_path):
    bad = tmp_path / "file"
    bad.write_text("x")
    line = error_line(ironwal("append", "s", "x", "-r", bad / "sub"), EXIT_IO)
    assert "0 entries acknowledged before it (none)" in line
