"""Writers refuse to write behind a process that is not an ironwal writer (issue 11 item 5), and
never refuse each other. The foreign process here is a plain Python child holding the segment
open; tests/interop/test_crate_as_foreign_writer.py does the same with the real crate."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from foreign_holder import holding
from wal_invariants import CLI, cli

from ironwal_cli import StreamWriter, WriteOptions
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store import foreign_writers
from ironwal_cli.engine.store.foreign_writers import holders, lease_says_open_for_writing, open_probe
from ironwal_cli.errors import ForeignWriterError
from ironwal_cli.ops.append import append_values

SEGMENT = "00000000000000000000.wal"


def entries(root: Path, key: str = "s") -> list[bytes]:
    return [entry for _, entry in StreamReader(root, key).entries(0)]


def test_a_writer_refuses_a_foreign_writer_names_it_and_writes_nothing(root):
    append_values(root, "s", [b"a"])
    seg = root / "s" / SEGMENT
    before = seg.read_bytes()
    with holding(seg) as proc:
        with pytest.raises(ForeignWriterError) as caught:
            append_values(root, "s", [b"b"])
        assert seg.read_bytes() == before
    message = str(caught.value)
    assert f"pid {proc.pid} (" in message and "foreign_holder" not in message
    assert str(seg) in message and "--force" in message and "\n" not in message
    assert caught.value.exit_code == 4
    append_values(root, "s", [b"b"])  # the holder is gone
    assert entries(root) == [b"a", b"b"]


def test_force_writes_anyway(root):
    append_values(root, "s", [b"a"])
    with holding(root / "s" / SEGMENT):
        assert append_values(root, "s", [b"b", b""], WriteOptions(force=True)) == range(1, 3)
    assert entries(root) == [b"a", b"b", b""]


def test_a_reader_holding_the_segment_is_no_reason_to_refuse(root):
    append_values(root, "s", [b"a"])
    with holding(root / "s" / SEGMENT, "read"):
        append_values(root, "s", [b"b"])
    assert entries(root) == [b"a", b"b"]


def test_ironwal_writers_in_one_process_do_not_take_each_other_for_foreign(root):
    """Each writer closes its segment before it lets the lock go: a second writer, taking the lock
    between two appends of the first, finds the segment open for writing by no one."""
    with StreamWriter(root, "s") as first, StreamWriter(root, "s") as second:
        assert first.append(b"a") == 0
        assert second.append(b"b") == 1
        assert first.append_batch([b"c", b"d"]) == range(2, 4)
        assert second.append(b"e") == 4
    assert entries(root) == [b"a", b"b", b"c", b"d", b"e"]


def test_a_foreign_writer_that_starts_later_is_seen_at_the_next_lock(root):
    with StreamWriter(root, "s") as writer:
        writer.append(b"a")
        with holding(root / "s" / SEGMENT):
            with pytest.raises(ForeignWriterError):
                writer.append(b"b")
        assert writer.append(b"b") == 1
    assert entries(root) == [b"a", b"b"]


def test_hold_lock_checks_once_when_the_lock_is_taken(root):
    append_values(root, "s", [b"a"])
    seg = root / "s" / SEGMENT
    with holding(seg):
        with StreamWriter(root, "s", WriteOptions(hold_lock=True)) as held, pytest.raises(ForeignWriterError):
            held.append(b"b")
    with StreamWriter(root, "s", WriteOptions(hold_lock=True)) as held:
        held.append(b"b")
        with holding(seg):  # started after the check: the documented gap of --hold-lock
            held.append(b"c")
    assert entries(root) == [b"a", b"b", b"c"]


def test_batch_mode_sync_outside_the_lock_still_syncs(root, monkeypatch):
    """The segment is closed between locks; ``sync()`` then syncs the file through a new descriptor."""
    synced = []
    monkeypatch.setattr("ironwal_cli.engine.seams.sync_hook", synced.append)
    with StreamWriter(root, "s", WriteOptions(sync="batch")) as writer:
        writer.append(b"a")
        synced.clear()
        writer.sync()
        assert len(synced) == 1
        writer.sync()  # nothing new: no second sync
        assert len(synced) == 1


def test_without_leases_the_proc_walk_decides(root, monkeypatch):
    append_values(root, "s", [b"a"])
    seg = root / "s" / SEGMENT
    monkeypatch.setattr(foreign_writers, "_SETLEASE", None)
    assert lease_says_open_for_writing(seg) is None
    with holding(seg) as proc:
        assert holders([seg], writing=True) == {str(seg): [foreign_writers.Holder(proc.pid, holders([seg], True)[
            str(seg)][0].command)]}
        with pytest.raises(ForeignWriterError, match=f"pid {proc.pid} "):
            append_values(root, "s", [b"b"])
    with holding(seg, "read"):
        assert holders([seg], writing=True) == {}
        append_values(root, "s", [b"b"])
    assert entries(root) == [b"a", b"b"]


def test_the_walk_names_readers_only_when_asked(root):
    append_values(root, "s", [b"a"])
    index = root / "s" / "segments.idx"
    with holding(index, "read") as proc:
        found = holders([index], writing=False)[str(index)]
        assert [h.pid for h in found] == [proc.pid] and sys.executable.split("/")[-1] in found[0].command
        assert holders([index], writing=True) == {}


def test_the_lease_break_signal_does_not_kill_the_prober(tmp_path):
    """Another process opening the file for writing while the lease is held breaks it; the
    kernel then signals the holder. SIGIO, the default, would kill an ironwal process."""
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = open_probe(path)
    try:
        assert fcntl.fcntl(fd, fcntl.F_GETSIG) == signal.SIGURG
    finally:
        os.close(fd)
    code = ("import fcntl, sys, time\n"
            "from ironwal_cli.engine.store.foreign_writers import open_probe\n"
            "fd = open_probe(sys.argv[1])\n"
            "fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)\n"
            "print('leased', flush=True)\n"
            "time.sleep(0.5)\n"
            "fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)\n"
            "print('released', flush=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"leased\n"
    os.close(os.open(path, os.O_WRONLY))  # waits until the lease is let go
    assert proc.stdout.readline() == b"released\n"
    assert proc.wait(timeout=30) == 0
    proc.stdout.close()


# ----- the CLI: one line, exit 4, --force; ironwal writers wait for each other -------------------


def test_append_cli_refuses_with_exit_4_and_force_overrides(root):
    assert cli("append", "s", "a", "-r", root).returncode == 0
    with holding(root / "s" / SEGMENT) as proc:
        r = cli("append", "s", "b", "-r", root)
        assert r.returncode == 4 and r.stdout == b""
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ironwal: error: ") and f"pid {proc.pid}" in lines[0]
        r = cli("append", "s", "b", "-r", root, "--force")
        assert (r.returncode, r.stdout) == (0, b"1\n")


def test_append_cli_while_an_idle_ironwal_appender_holds_stdin_open(root):
    """A long stdin append keeps its writer between batches: another append goes in at once."""
    first = subprocess.Popen([*CLI, "append", "s", "-r", str(root), "--linger", "0"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first.stdin.write(b"a\n")
        first.stdin.flush()
        assert first.stdout.readline() == b"0\n"
        r = cli("append", "s", "b", "-r", root, "--lock-timeout", "5")
        assert (r.returncode, r.stdout, r.stderr) == (0, b"1\n", b"")
        first.stdin.write(b"c\n")
        first.stdin.flush()
        assert first.stdout.readline() == b"2\n"
    finally:
        first.stdin.close()
        assert first.wait(timeout=30) == 0
        first.stdout.close()
        first.stderr.close()
    assert entries(root) == [b"a", b"b", b"c"]


def test_append_cli_waits_for_a_hold_lock_appender_instead_of_refusing(root):
    first = subprocess.Popen([*CLI, "append", "s", "-r", str(root), "--hold-lock", "--linger", "0"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first.stdin.write(b"a\n")
        first.stdin.flush()
        assert first.stdout.readline() == b"0\n"
        r = cli("append", "s", "b", "-r", root, "--lock-timeout", "0.3")
        assert r.returncode == 4 and b"writer lock" in r.stderr and b"not an ironwal writer" not in r.stderr
        late = subprocess.Popen([*CLI, "append", "s", "b", "-r", str(root), "--lock-timeout", "20"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
    finally:
        first.stdin.close()
        assert first.wait(timeout=30) == 0
        first.stdout.close()
        first.stderr.close()
    out, err = late.communicate(timeout=30)
    assert (late.returncode, out, err) == (0, b"1\n", b"")
    assert entries(root) == [b"a", b"b"]


def test_a_descriptor_this_process_left_open_is_named_as_such(root):
    append_values(root, "s", [b"a"])
    fd = os.open(root / "s" / SEGMENT, os.O_WRONLY | os.O_APPEND)
    try:
        with pytest.raises(ForeignWriterError, match=f"in this very process \\(pid {os.getpid()}\\)"):
            append_values(root, "s", [b"b"])
    finally:
        os.close(fd)


def test_a_failed_rotation_leaves_no_segment_open_for_writing(root, monkeypatch):
    """The new segment's descriptor is closed when the rotation fails after opening it; else
    every later writer of this process would take it for a foreign writer."""
    from ironwal_cli.engine.writer import frames_out

    options = WriteOptions(max_entries_per_segment=1)
    append_values(root, "s", [b"a"], options)
    real = frames_out.append_synced

    def failing(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(frames_out, "append_synced", failing)
    with pytest.raises(OSError):
        append_values(root, "s", [b"b"], options)
    monkeypatch.setattr(frames_out, "append_synced", real)
    assert append_values(root, "s", [b"b"], options) == range(1, 2)
    assert entries(root) == [b"a", b"b"]
