"""Resource faults: disk full, file size limit, read-only root, permission denied, too few file
descriptors. Each must give one clear error line and exit 5, leave nothing half-written (the
stream reads clean, every acknowledged entry is there), and a later run with room must
continue at the right id.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest
from wal_invariants import CLI, check_stream, cli, read_until_damage

from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.errors import EXIT_IO, StorageError

ENTRIES = [f"entry-{i:05d}-".encode() + b"z" * (i % 200) for i in range(3000)]


def feed(start: int = 0, stop: int = len(ENTRIES)) -> bytes:
    return b"".join(e + b"\n" for e in ENTRIES[start:stop])


FEED = feed()


def _acked(stdout: bytes) -> int:
    ids = [int(x) for x in stdout.split()]
    assert ids == list(range(len(ids)))
    return len(ids)


def _one_clear_line(stderr: bytes, *words: bytes) -> None:
    assert stderr.startswith(b"ironwal: error: ") and stderr.count(b"\n") == 1, stderr
    assert b"Traceback" not in stderr and all(w in stderr for w in words), stderr


def _index_whole(stream_dir: Path) -> None:
    """segments.idx and head.state are whole (a stream whose creation failed may have no index yet)."""
    layout = StreamListing.read(stream_dir)
    assert layout.head_error is None, layout.head_error
    assert layout.index_error is None or (layout.index_error == "missing" and not layout.segment_files), \
        layout.index_error


def _resume(root: Path, have: int, **kw) -> None:
    """A later run with room appends the rest, continuing at id ``have``."""
    result = cli("append", "s", "-r", root, "--batch", "50", **kw, input=feed(have))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == str(have).encode()
    check_stream(root, "s", ENTRIES, len(ENTRIES), damage_ok=False)


# ----- a fault at every write and every sync, in process ---------------------------------------

def _workload(writer: StreamWriter, done: list[int]) -> None:
    for k in range(0, 120, 6):
        ids = writer.append_batch(ENTRIES[k:k + 6]) if k % 12 else range(writer.append(ENTRIES[k]), 0)
        done[0] = max(done[0], ids.stop if len(ids) else k + 1)
        if not k % 12:
            writer.append_batch(ENTRIES[k + 1:k + 6])
            done[0] = k + 6


@pytest.mark.parametrize("call", ["write", "fsync"])
def test_a_fault_at_every_write_and_sync(fast_tmp, monkeypatch, record_property, call):
    """Fail the k-th os.write/os.writev (after writing half its bytes: disk full) or fsync (EIO), for every k."""
    real = {"write": os.write, "writev": os.writev, "fsync": os.fsync, "fdatasync": os.fdatasync}
    cases = 0
    for k in range(1, 400):
        root = fast_tmp / f"k{k}"
        calls = [0]

        def failing_write(fd, data, k=k, calls=calls):
            calls[0] += 1
            if calls[0] == k:
                real["write"](fd, bytes(memoryview(data)[:len(data) // 2]))
                raise OSError(errno.ENOSPC, "No space left on device")
            return real["write"](fd, data)

        def failing_writev(fd, parts, k=k, calls=calls):
            if calls[0] + 1 == k:
                return failing_write(fd, b"".join(parts))
            calls[0] += 1
            return real["writev"](fd, parts)

        def failing_sync(fd, name="fsync", k=k, calls=calls):
            calls[0] += 1
            if calls[0] == k:
                raise OSError(errno.EIO, "Input/output error")
            return real[name](fd)

        if call == "write":
            monkeypatch.setattr(os, "write", failing_write)
            monkeypatch.setattr(os, "writev", failing_writev)
        else:
            monkeypatch.setattr(os, "fsync", failing_sync)
            monkeypatch.setattr(os, "fdatasync", lambda fd, f=failing_sync: f(fd, "fdatasync"))
        done = [0]
        try:
            with StreamWriter(root, "s", WriteOptions(max_segment_size=700)) as writer:
                _workload(writer, done)
            failed = None
        except StorageError as err:
            failed = err
        monkeypatch.undo()
        if failed is None:
            break  # k is past the last call of the workload
        cases += 1
        assert failed.exit_code == EXIT_IO and ("No space" in str(failed) or "Input/output" in str(failed))
        entries = check_stream(root, "s", ENTRIES, done[0], damage_ok=False) if (root / "s").exists() else []
        if (root / "s").exists():
            _index_whole(root / "s")
        with StreamWriter(root, "s", WriteOptions(max_segment_size=700)) as writer:
            assert writer.append(b"next") == len(entries)
    assert cases > 30
    record_property("count:fault cases", cases)


# ----- real limits, through the CLI ----------------------------------------------------------

@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


@pytest.mark.parametrize("segment", ["64MiB", "8k"])
def test_disk_full(tmp_path, record_property, segment):
    with tmpfs(tmp_path / "mnt", "100k") as mnt:  # 96k + a page for seals.idx
        root = mnt / "wal"
        result = cli("append", "s", "-r", root, "--batch", "50", "--max-segment-size", segment, input=FEED)
        assert result.returncode == EXIT_IO, result.stderr
        _one_clear_line(result.stderr, b"No space left on device")
        have = _acked(result.stdout)
        assert 0 < have < len(ENTRIES)
        entries = check_stream(root, "s", ENTRIES, have, damage_ok=False)  # no partial frame left
        _index_whole(root / "s")
        subprocess.run(["mount", "-o", "remount,size=4m", mnt], check=True)
        _resume(root, len(entries))
    record_property("count:fault cases", 1)


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write returns EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_file_size_limit(tmp_path, record_property):
    """RLIMIT_FSIZE cuts a frame's write midway: the writer must take the partial frame back out."""
    root = tmp_path / "wal"
    result = subprocess.run([*CLI, "append", "s", "-r", root, "--batch", "50"], input=FEED, capture_output=True,
                            preexec_fn=_limit_file_size(100_000))
    assert result.returncode == EXIT_IO, result.stderr
    _one_clear_line(result.stderr, b"File too large")
    have = _acked(result.stdout)
    size = (root / "s" / "00000000000000000000.wal").stat().st_size
    assert size < 100_000  # the write that hit the limit was partial, and was truncated away
    entries = check_stream(root, "s", ENTRIES, have, damage_ok=False)
    _resume(root, len(entries))
    record_property("count:fault cases", 1)


def test_read_only_root(tmp_path, record_property):
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        root = mnt / "wal"
        assert cli("append", "s", "-r", root, input=feed(0, 50)).returncode == 0
        before = read_until_damage(root, "s")[0]
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        result = cli("append", "s", "-r", root, "more")
        assert result.returncode == EXIT_IO
        _one_clear_line(result.stderr, b"Read-only file system")
        result = cli("append", "new", "-r", root, "more")
        assert result.returncode == EXIT_IO
        _one_clear_line(result.stderr, b"Read-only file system")
        assert cli("tail", "s", "-r", root, "-n", "3").returncode == 0  # reading still works
        assert cli("ls", "-r", root).returncode == 0
        subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
        assert read_until_damage(root, "s")[0] == before
        _resume(root, len(before))
    record_property("count:fault cases", 3)


@contextmanager
def unwritable(path: Path):
    """Deny writes to ``path``: chattr +i as root (root ignores permission bits), else chmod."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", path], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", path], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.mark.parametrize("target", ["segment", "stream dir"])
def test_permission_denied(tmp_path, record_property, target):
    root = tmp_path / "wal"
    assert cli("append", "s", "-r", root, "--max-segment-size", "4k", input=feed(0, 30)).returncode == 0
    before = read_until_damage(root, "s")[0]
    stream = root / "s"
    victim = stream / max(StreamListing.read(stream).segment_files.values()) if target == "segment" else stream
    with unwritable(victim):
        result = cli("append", "s", "-r", root, "--max-segment-size", "4k", input=feed(30, 200))
        assert result.returncode == EXIT_IO, result.stderr
        _one_clear_line(result.stderr, b"Operation not permitted" if os.geteuid() == 0 else b"Permission denied")
        entries = check_stream(root, "s", ENTRIES, len(before) + len(result.stdout.split()), damage_ok=False)
    _index_whole(stream)
    _resume(root, len(entries))
    record_property("count:fault cases", 1)


FD_SCRIPT = textwrap.dedent("""
    import sys
    from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
    from ironwal_cli.errors import IronwalError
    writers = []
    try:
        for n in range(int(sys.argv[2])):
            w = StreamWriter(sys.argv[1], f"s{n}", WriteOptions(max_segment_size=300))
            writers.append(w)  # kept open, as an application holding many streams would
            for i in range(5):
                w.append(b"%d-%d" % (n, i))
            print(n, flush=True)
    except IronwalError as err:
        print(f"ERR {err.exit_code} {err}", flush=True)
""")


def test_fewer_file_descriptors_than_streams(tmp_path, record_property):
    root = tmp_path / "wal"
    streams = 40

    def low():
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

    out = subprocess.run([sys.executable, "-c", FD_SCRIPT, root, str(streams)], capture_output=True,
                         preexec_fn=low, timeout=60).stdout.decode().splitlines()
    assert out[-1].startswith("ERR 5 ") and "Too many open files" in out[-1], out[-3:]
    written = len(out) - 1
    assert 0 < written < streams
    for n in range(written):  # every stream written before the limit is whole
        check_stream(root, f"s{n}", [b"%d-%d" % (n, i) for i in range(5)], 5, damage_ok=False)
    failed = root / f"s{written}"
    if failed.exists():  # the stream that hit the limit holds only whole frames (or none)
        check_stream(root, f"s{written}", [b"%d-%d" % (written, i) for i in range(5)], 0, damage_ok=False)
    # reading every stream needs one descriptor at a time: ls and tail work under the same limit
    for args in (["ls", "-r", root], ["tail", "s0", "-r", root]):
        result = subprocess.run([*CLI, *args], capture_output=True, preexec_fn=low)
        assert result.returncode == 0, result.stderr
    # a run with room continues every stream at the right id
    out = subprocess.run([sys.executable, "-c", FD_SCRIPT, root, str(streams)], capture_output=True,
                         timeout=60).stdout.decode().splitlines()
    assert len(out) == streams and not out[-1].startswith("ERR")
    for n in range(written):
        check_stream(root, f"s{n}", [b"%d-%d" % (n, i % 5) for i in range(10)], 10, damage_ok=False)
    record_property("count:fault cases", 3)
