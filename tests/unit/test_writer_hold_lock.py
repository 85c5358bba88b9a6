"""The single-append fast path and ``hold_lock``: the same bytes as the general path, and a lock
that is kept exactly as long as promised and let go on every failure."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wal_invariants import CLI

from ironwal_cli import StreamWriter, WriteOptions
from ironwal_cli.engine import seams
from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.store.locks import locked_dir
from ironwal_cli.engine.store.seals import read_seals
from ironwal_cli.errors import DamagedTailError, LockTimeoutError, StorageError

BIG = 20_000  # above the one-buffer limit: the general frame path


def tree(path: Path) -> dict[str, object]:
    """The stream's files; of seals.idx, what does not depend on the file system (ids, sizes)."""
    files: dict[str, object] = {p.name: p.read_bytes() for p in sorted(path.iterdir())}
    if "seals.idx" in files:
        files["seals.idx"] = [seal[:3] for seal in read_seals(path)[0]]
    return files


def lock_is_free(stream_dir: Path) -> bool:
    """Whether another open of the directory can take the lock now (flock conflicts within a process too)."""
    try:
        with locked_dir(stream_dir, 0):
            return True
    except LockTimeoutError:
        return False


def entries_of(root: Path, key: str) -> list[bytes]:
    return [entry for _, entry in StreamReader(root, key).entries(0)]


@settings(max_examples=60, deadline=None)
@given(entries=st.lists(st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"\n", b"z" * BIG])),
                        min_size=1, max_size=25),
       max_segment_size=st.integers(60, 3000), max_entries=st.one_of(st.none(), st.integers(1, 6)),
       compress=st.booleans(), sync=st.sampled_from(["strict", "async"]))
def test_fast_path_writes_the_bytes_of_the_general_path(entries, max_segment_size, max_entries, compress, sync):
    work = Path(tempfile.mkdtemp(prefix="ironwal-hold-"))
    try:
        ids = {}
        for label, hold, general in (("general", False, True), ("fast", False, False), ("held", True, False)):
            options = WriteOptions(max_segment_size=max_segment_size, max_entries_per_segment=max_entries,
                                   compress=compress, min_compress_size=64, sync=sync, hold_lock=hold)
            with StreamWriter(work / label, "s", options) as writer:
                if general:
                    writer._small_single = -1  # every entry through _write_frame, as before the fast path
                ids[label] = [writer.append(e) for e in entries]
        assert ids["general"] == ids["fast"] == ids["held"] == list(range(len(entries)))
        assert tree(work / "general" / "s") == tree(work / "fast" / "s") == tree(work / "held" / "s")
        assert entries_of(work / "held", "s") == entries
    finally:
        shutil.rmtree(work)


def test_default_writer_lets_go_between_appends(root):
    with StreamWriter(root, "s") as writer:
        writer.append(b"a")
        assert lock_is_free(root / "s")
        writer.append(b"b")
        assert lock_is_free(root / "s")


def test_hold_lock_keeps_the_lock_until_close(root):
    writer = StreamWriter(root, "s", WriteOptions(hold_lock=True))
    writer.append(b"a")
    assert not lock_is_free(root / "s")
    # A real ironwal process gives up with exit 4 and writes nothing.
    other = subprocess.run([*CLI, "append", "s", "x", "-r", root, "--lock-timeout", "0"], capture_output=True)
    assert other.returncode == 4, other.stderr
    assert b"holds the writer lock" in other.stderr
    writer.append(b"b")
    writer.close()
    assert lock_is_free(root / "s")
    assert entries_of(root, "s") == [b"a", b"b"]


@pytest.mark.parametrize("hold", [False, True])
def test_a_refused_tail_lets_go_of_the_lock(root, hold):
    """A writer that finds damage must not keep recover out (it used to, until close())."""
    with StreamWriter(root, "s") as writer:
        writer.append(b"a" * 50)
        writer.append(b"b" * 50)
    segment = root / "s" / "00000000000000000000.wal"
    data = bytearray(segment.read_bytes())
    data[40] ^= 1  # the first frame's payload: a CRC mismatch in the middle of the segment
    segment.write_bytes(bytes(data))
    writer = StreamWriter(root, "s", WriteOptions(hold_lock=hold))
    with pytest.raises(DamagedTailError):
        writer.append(b"c")
    assert lock_is_free(root / "s")
    writer.close()


def test_hold_lock_failed_sync_lets_go_and_checks_the_tail_again(root, monkeypatch):
    writer = StreamWriter(root, "s", WriteOptions(hold_lock=True))
    writer.append(b"a")

    def failing_sync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(seams, "sync_hook", failing_sync)
    with pytest.raises(StorageError, match="Input/output error"):
        writer.append(b"b")  # written, not known durable: its id is taken, the lock let go
    monkeypatch.setattr(seams, "sync_hook", None)
    assert lock_is_free(root / "s")
    with StreamWriter(root, "s") as other:  # another writer appends meanwhile
        assert other.append(b"c") == 2
    assert writer.append(b"d") == 3  # the held writer saw the other's frame: no id handed out twice
    assert not lock_is_free(root / "s")
    writer.close()
    assert entries_of(root, "s") == [b"a", b"b", b"c", b"d"]


def test_hold_lock_failed_write_takes_the_partial_frame_out(root, monkeypatch):
    writer = StreamWriter(root, "s", WriteOptions(hold_lock=True, sync="async"))
    writer.append(b"a")
    size = (root / "s" / "00000000000000000000.wal").stat().st_size
    real_write = os.write

    def half_then_full(fd, data):
        if fd == writer._fd:
            real_write(fd, bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(StorageError, match=r"00000000000000000000\.wal: No space left on device"):
        writer.append(b"b" * 100)
    monkeypatch.setattr(os, "write", real_write)
    assert (root / "s" / "00000000000000000000.wal").stat().st_size == size
    assert lock_is_free(root / "s")
    assert writer.append(b"c") == 1
    writer.close()
    assert entries_of(root, "s") == [b"a", b"c"]


def test_cli_hold_lock_owns_the_stream_until_stdin_ends(root):
    owner = subprocess.Popen([*CLI, "append", "s", "-r", root, "--hold-lock", "--linger", "0"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        owner.stdin.write(b"first\n")
        owner.stdin.flush()
        assert owner.stdout.readline() == b"0\n"  # printed once durable: the lock is taken by now
        other = subprocess.run([*CLI, "append", "s", "x", "-r", root, "--lock-timeout", "0"], capture_output=True)
        assert other.returncode == 4, other.stderr
        owner.stdin.write(b"second\n")
        owner.stdin.close()
        assert owner.stdout.read() == b"1\n"
        assert owner.wait(timeout=30) == 0
    finally:
        owner.kill()
    after = subprocess.run([*CLI, "append", "s", "x", "-r", root, "--lock-timeout", "0"], capture_output=True)
    assert after.returncode == 0 and after.stdout == b"2\n"
    assert entries_of(root, "s") == [b"first", b"second", b"x"]
