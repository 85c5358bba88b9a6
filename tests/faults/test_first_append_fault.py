"""A first append that fails leaves no stream directory behind (issue 17 item 11).

It used to leave an empty one: ``ls`` listed a phantom stream, ``verify`` reported
``index_missing`` for ever and ``recover`` said there was nothing to repair; the disk-full
message named no file. Now the writer removes the directory it made, the error line names
the file it could not write, and ``recover`` mends an empty stream directory that a killed
first append leaves (it writes the index of an empty stream), so verify and ls agree.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from wal_invariants import cli

from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import EXIT_IO, StorageError
from ironwal_cli.ops.recover import recover, undo_recover
from ironwal_cli.ops.verify import verify_root


def _streams(root: Path) -> list[str]:
    out = cli("ls", "-r", root).stdout.decode().splitlines()[1:]
    return sorted(line.split()[0] for line in out)


def test_a_failed_rename_of_the_first_index_leaves_no_directory(tmp_path, monkeypatch):
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"kept")
    real = os.replace

    def failing(src, dst, *a, **kw):
        if os.fspath(dst).endswith("new/segments.idx"):
            raise OSError(28, "No space left on device")
        return real(src, dst, *a, **kw)
    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(StorageError, match="No space left on device"), StreamWriter(root, "new") as w:
        w.append(b"x")
    monkeypatch.undo()
    assert sorted(os.listdir(root)) == ["s"]
    with StreamWriter(root, "new") as w:  # with room, the stream starts at id 0
        assert w.append(b"first") == 0


@pytest.fixture
def full_disk(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        root = mnt / "wal"
        assert cli("append", "s", "-r", root, "kept").returncode == 0
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
        try:  # fill the disk
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mnt, root
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def test_a_first_append_on_a_full_disk(full_disk):
    mnt, root = full_disk
    result = cli("append", "new", "-r", root, "hello")
    assert result.returncode == EXIT_IO
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ironwal: error: ") and "No space left on device" in lines[0]
    assert str(root / "new") in lines[0], lines[0]  # names the file it could not write
    assert not (root / "new").exists()
    assert _streams(root) == ["s"]
    assert cli("verify", "-r", root).returncode == 0
    (mnt / "filler").unlink()
    result = cli("append", "new", "-r", root, "hello")
    assert result.returncode == 0 and result.stdout == b"0\n"


def test_recover_mends_an_empty_stream_directory(tmp_path):
    """What a first append killed between its mkdir and its index leaves."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append(b"kept")
    (root / "new").mkdir()
    assert not verify_root(root).ok
    report = recover(root)
    assert [(a.path, a.action) for a in report.actions if a.path.startswith("new/")] == \
        [("new/segments.idx", "rewrite-metadata")]
    assert verify_root(root).ok
    assert cli("verify", "-r", root).returncode == 0 and _streams(root) == ["new", "s"]
    with StreamWriter(root, "new") as w:
        assert w.append(b"first") == 0
    undo_recover(root, report.run, dry_run=True)


def test_a_writer_waiting_on_a_failed_creation_starts_again(tmp_path, monkeypatch):
    """B opens the new stream's directory while A, which made it, holds its lock; A's index write
    fails and A removes the directory. B must not write into the removed directory (its entries
    would be lost with it): it sees the directory gone and creates the stream afresh."""
    import threading

    from ironwal_cli.engine.writer import lock_session

    root = tmp_path / "wal"
    root.mkdir()
    real = lock_session.atomic_write
    results: dict[str, object] = {}
    opened = threading.Event()
    real_open = os.open

    def watching_open(path, flags, *args, **kw):  # B's open of the stream directory
        fd = real_open(path, flags, *args, **kw)
        if threading.current_thread().name == "B" and os.fspath(path).endswith("/new"):
            opened.set()
        return fd

    def b() -> None:
        try:
            with StreamWriter(root, "new") as w:
                results["b"] = w.append(b"from B")
        except Exception as err:  # (the old way: its writes go to the removed directory and fail)
            results["b"] = err

    def fail_once(path, data):
        if not results.get("failed"):
            results["failed"] = True
            monkeypatch.setattr(os, "open", watching_open)
            thread = threading.Thread(target=b, name="B")
            results["thread"] = thread
            thread.start()
            assert opened.wait(5)  # B holds an fd of the directory and waits for the lock
            raise OSError(28, "No space left on device")
        return real(path, data)
    monkeypatch.setattr(lock_session, "atomic_write", fail_once)
    with pytest.raises(StorageError), StreamWriter(root, "new") as w:
        w.append(b"from A")
    results["thread"].join(10)
    assert results["b"] == 0
    with StreamWriter(root, "new") as w:
        assert w.append(b"next") == 1
    from ironwal_cli.ops.read import read_batches

    assert [e for _, batch in read_batches(root, "new", from_id=0) for e in batch] == [b"from B", b"next"]
