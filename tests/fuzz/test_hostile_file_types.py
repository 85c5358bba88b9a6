"""A FIFO, directory, socket or symbolic link where a WAL file should be never hangs a reader, is
never followed, and is reported as what it is (issue 17 items 4, 13, 18; issue 14 item 7).

Every command runs in a subprocess with a timeout: before the fix a FIFO blocked ``open`` for
ever, so these tests failed by timing out.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from hostile_run import assert_orderly, bounded

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.engine.writer.writer import StreamWriter
from ironwal_cli.errors import FormatError
from ironwal_cli.ops.verify import verify_root

SEGMENT = "00000000000000000000.wal"
STREAM_FILES = [SEGMENT, "segments.idx", "head.state", "lost.idx", "seals.idx"]
READERS = [["ls"], ["tail", "s"], ["get", "s", "1"], ["verify"], ["recover", "-n"], ["recover"]]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("src") / "wal"
    with StreamWriter(root, "s") as w:
        w.append_batch([b"a", b"b", b"c"])
    return root


def plant(path: Path, what: str, outside: Path) -> None:
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if what == "fifo":
        os.mkfifo(path)
    elif what == "dir":
        path.mkdir()
    elif what == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.fspath(path))
        s.close()
    else:  # a link to a regular file outside the root
        path.symlink_to(outside)


def _copy(source: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "wal"
    shutil.copytree(source, root)
    outside = tmp_path / "outside.wal"
    shutil.copyfile(source / "s" / SEGMENT, outside)
    return root, outside


@pytest.mark.parametrize("name", STREAM_FILES)
def test_a_fifo_in_a_stream_never_hangs_a_reader(source, tmp_path, name):
    root, outside = _copy(source, tmp_path)
    plant(root / "s" / name, "fifo", outside)
    for args in READERS:
        run = bounded(*args, "-r", root, timeout=30)
        segment = name == SEGMENT
        if args == ["verify"] and name == "seals.idx":  # our cache, which verify never reads (FORMAT.md)
            assert_orderly(run, {0})
        elif args == ["verify"]:
            assert_orderly(run, {1})
            assert f"s/{name}: not_regular_file: is a FIFO".encode() in run.stdout, run.stdout
        elif args[0] == "recover":
            # recover never opens it: it refuses (exit 3) naming the file, or has nothing to do there
            assert_orderly(run, {0, 1, 3})
            if run.returncode == 3:
                assert b"is a FIFO (named pipe), not a regular file" in run.stderr
        else:  # the segment itself is refused as damage; a small file is read around
            assert_orderly(run, {3} if segment else {0})
            if segment:
                assert f"{name}: is a FIFO".encode() in run.stderr
            elif args[0] == "tail":
                assert run.stdout == b"a\nb\nc\n"
        # never opened nor removed; seals.idx, a cache, may be replaced by a rename (nothing in it to keep)
        assert stat_is_fifo(root / "s" / name) or (name == "seals.idx" and args[0] == "recover")


def stat_is_fifo(path: Path) -> bool:
    import stat

    return stat.S_ISFIFO(os.lstat(path).st_mode)


@pytest.mark.parametrize("what", ["dir", "socket", "link"])
@pytest.mark.parametrize("name", [SEGMENT, "segments.idx", "head.state"])
def test_other_non_regular_files_are_reported_as_what_they_are(source, tmp_path, name, what):
    root, outside = _copy(source, tmp_path)
    before = outside.read_bytes()
    plant(root / "s" / name, what, outside)
    report = verify_root(root)
    found = [(p.path, p.kind) for p in report.problems]
    assert (f"s/{name}", "not_regular_file") in found, found
    word = {"dir": b"a directory", "socket": b"a socket", "link": b"a symbolic link"}[what]
    run = bounded("verify", "-r", root, "--json", timeout=30)
    assert_orderly(run, {1})
    assert any(p["kind"] == "not_regular_file" and word.decode() in p["message"]
               for p in json.loads(run.stdout)["problems"])
    if name == SEGMENT:
        with pytest.raises(FormatError, match=word.decode()):
            list(StreamReader(root, "s").entries())
        for args in (["tail", "s"], ["recover"], ["append", "s", "x"]):
            run = bounded(*args, "-r", root, timeout=30)
            assert_orderly(run, {3})
            assert word in run.stderr
    assert outside.read_bytes() == before  # never followed, never changed


def test_a_symlinked_segment_is_not_followed_nor_adopted(tmp_path):
    """The link points at a file outside the root holding other, intact entries: no reader shows
    them, verify reports the link, and recover refuses rather than adopt it as the active segment."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s", ) as w:
        w.append_batch([b"mine-0", b"mine-1"])
    other = tmp_path / "other"
    with StreamWriter(other, "s") as w:
        w.append_batch([b"theirs-0", b"theirs-1", b"theirs-2"])
    outside = other / "s" / SEGMENT
    before = outside.read_bytes()
    seg = root / "s" / "00000000000000000002.wal"
    seg.symlink_to(outside)
    tail = bounded("tail", "s", "-r", root, timeout=30)
    assert b"theirs" not in tail.stdout and tail.returncode == 3
    assert b"is a symbolic link" in tail.stderr
    assert_orderly(tail, {3})
    found = [(p.path, p.kind) for p in verify_root(root).problems]
    assert ("s/00000000000000000002.wal", "not_regular_file") in found
    for args in (["recover"], ["append", "s", "x"]):
        run = bounded(*args, "-r", root, timeout=30)
        assert_orderly(run, {3})
    assert seg.is_symlink() and outside.read_bytes() == before


@pytest.mark.parametrize("what", ["fifo", "dir"])
@pytest.mark.parametrize("name", ["HEAD", "checkpoints.log"])
def test_sharded_root_files_that_are_not_regular(tmp_path, name, what):
    """verify exited 5 (a traceback's code) when HEAD or checkpoints.log was a directory: now a
    problem, exit 1; a FIFO there hung every reader."""
    root = tmp_path / "wal"
    assert bounded("append", "-r", root, "--shards", "2", "--key", "k", "v").returncode == 0
    assert bounded("checkpoint", "create", "-r", root, "c1", "--shards", "2").returncode == 0
    plant(root / name, what, tmp_path / "none")
    run = bounded("verify", "-r", root, timeout=30)
    assert_orderly(run, {1})
    assert f"{name}: not_regular_file".encode() in run.stdout, run.stdout
    assert b"shard_dir_bad_name" not in run.stdout  # a HEAD directory is not taken for a shard
    for args in (["checkpoint", "list"], ["recover", "-n"], ["ls"]):
        assert_orderly(bounded(*args, "-r", root, timeout=30), {0, 1, 3})


def test_inspect_says_what_a_fifo_is(tmp_path):
    path = tmp_path / SEGMENT
    os.mkfifo(path)
    run = bounded("inspect", path, timeout=30)
    assert_orderly(run, {3})
    assert b"is a FIFO" in run.stderr and b"no such file" not in run.stderr


def test_recover_copies_a_hard_linked_segment_before_cutting_it(tmp_path):
    """A torn tail is cut in place with ftruncate, which would change the file under its other
    names too (here: outside the root): recover replaces this name by a copy of the prefix instead."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append_batch([b"one", b"two"])
    seg = root / "s" / SEGMENT
    with open(seg, "ab") as f:
        f.write(b"LWAL" + b"\x01" * 10)  # a torn header at the end
    outside = tmp_path / "backup.wal"
    os.link(seg, outside)
    before = outside.read_bytes()
    run = bounded("recover", "-r", root, timeout=30)
    assert_orderly(run, {0})
    assert outside.read_bytes() == before
    assert os.stat(seg).st_nlink == 1 and os.stat(outside).st_nlink == 1
    assert [e for _, e in StreamReader(root, "s").entries()] == [b"one", b"two"]
    assert verify_root(root).ok
