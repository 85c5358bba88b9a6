"""A segment that shrinks under a reader never kills it with SIGBUS (issue 17 item 5).

``tail -f`` memory-mapped the last segment; when another process cut it shorter (``append``
cutting a torn final frame with ftruncate, or anything else) the follower died of SIGBUS on the
next page it touched. Now the segment a follower waits on is read with pread
(``scan.pread_scan``), and ironwal itself never shrinks a segment in place
(``files.truncate_synced`` renames a copy of the prefix over it). Real processes, real signals.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import socket
import subprocess
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from wal_invariants import CLI, FUZZ_EXAMPLES, cli

from ironwal_cli.engine.frames import scan as scan_module
from ironwal_cli.engine.frames.scan import map_file, pread_scan, scan
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.spec.codec import encode_frame, encode_raw_batch

SEGMENT = "00000000000000000000.wal"


def _drain(proc: subprocess.Popen, seconds: float, fd: int | None = None) -> bytes:
    """What the child writes to stdout (or ``fd``) within ``seconds`` (never blocks longer)."""
    fd = proc.stdout.fileno() if fd is None else fd
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    out, deadline = [], time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not sel.select(left):
                break
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            out.append(chunk)
    finally:
        sel.close()
    return b"".join(out)


def _read_at_least(proc: subprocess.Popen, size: int, timeout: float = 30.0) -> bytes:
    """At least ``size`` bytes of the child's stdout, waiting up to ``timeout`` (a loaded machine)."""
    out, deadline = b"", time.monotonic() + timeout
    while len(out) < size and time.monotonic() < deadline and proc.poll() is None:
        out += _drain(proc, 0.5)
    return out


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_a_follower_survives_its_segment_being_cut_by_another_process(tmp_path):
    """The follower is in the middle of a 48 MiB segment (its output pipe full) when another
    process cuts the file to 1 MiB: with a memory map it died of SIGBUS (exit -7)."""
    root = tmp_path / "wal"
    rng = random.Random(7)
    with StreamWriter(root, "s", WriteOptions(max_segment_size=1 << 30, compress=False)) as w:
        for _ in range(48):
            w.append_batch([rng.randbytes(1 << 16) for _ in range(16)])
    seg = root / "s" / SEGMENT
    # stdout is a socket, not a pipe: the follower cannot grow it (as root it could grow a pipe to
    # hold the whole segment), so it stops with most of the segment still to read
    ours, theirs = socket.socketpair()
    follower = subprocess.Popen([*CLI, "tail", "-f", "s", "--from", "0", "-F", "raw", "-r", root],
                                stdout=theirs, stderr=subprocess.PIPE)
    theirs.close()
    try:
        ours.settimeout(30)
        first = ours.recv(1 << 16)  # it started; read no more, so it blocks on the full socket
        assert first, follower.stderr.read() if follower.poll() is not None else "no output"
        time.sleep(1.0)
        os.truncate(seg, 1 << 20)  # the other process
        rest = b""
        while chunk := _drain(follower, 2.0, ours.fileno()):  # until it has nothing more to say
            rest += chunk
        assert follower.poll() is None, (follower.returncode, follower.stderr.read())
    finally:
        code = _stop(follower)
        ours.close()
    assert code != -signal.SIGBUS and code >= 0, code
    assert len(first) + len(rest) >= 1 << 20


def test_a_follower_sees_entries_after_append_cuts_a_torn_tail(tmp_path):
    """``append`` quarantines the torn final frame the follower is waiting at and writes after it:
    the follower lives on and prints the new entry."""
    root = tmp_path / "wal"
    with StreamWriter(root, "s") as w:
        w.append_batch([b"one", b"two"])
    seg = root / "s" / SEGMENT
    with open(seg, "ab") as f:
        f.write(encode_frame(2, 1, 0, encode_raw_batch([b"x" * 5000]), 5004)[:3000])  # torn
    follower = subprocess.Popen([*CLI, "tail", "-f", "s", "-n", "10", "-r", root],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _read_at_least(follower, len(b"one\ntwo\n")) == b"one\ntwo\n"
        done = cli("append", "s", "three", "-r", root, timeout=60)
        assert done.returncode == 0 and done.stdout == b"2\n", done.stderr
        assert _read_at_least(follower, len(b"three\n")) == b"three\n"
        assert follower.poll() is None
    finally:
        code = _stop(follower)
    assert code >= 0, code


def _segment(rng: random.Random, frames: int, torn: int) -> bytes:
    out, nxt = [], 0
    for _ in range(frames):
        entries = [rng.randbytes(rng.randrange(0, 3000)) for _ in range(rng.randrange(1, 4))]
        raw = encode_raw_batch(entries)
        out.append(encode_frame(nxt, len(entries), 0, raw, len(raw)))
        nxt += len(entries)
    data = b"".join(out)
    return data + encode_frame(nxt, 1, 0, encode_raw_batch([b"t" * 900]), 904)[:torn] if torn else data


@settings(max_examples=max(FUZZ_EXAMPLES // 3, 20), deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), frames=st.integers(0, 30), torn=st.integers(0, 300),
       block=st.sampled_from([40, 100, 1000, 4096, 10_000]), start_frame=st.integers(0, 5))
def test_pread_scan_sees_what_scan_sees(tmp_path_factory, seed, frames, torn, block, start_frame):
    """Whatever the block size, the pread walk yields exactly the items of the mapped walk."""
    path = tmp_path_factory.mktemp("p") / SEGMENT
    path.write_bytes(_segment(random.Random(seed), frames, torn))
    data = map_file(path)
    starts = [0] + [i.end_offset for i in scan(data) if hasattr(i, "header") and hasattr(i, "payload")]
    start = starts[min(start_frame, len(starts) - 1)]
    saved = scan_module.PREAD_BLOCK
    scan_module.PREAD_BLOCK = block
    try:
        got = [(type(i).__name__, i.offset, getattr(i, "kind", None), bytes(i.payload) if hasattr(i, "payload")
                and i.payload is not None else None) for i, size in pread_scan(path, start)]
    finally:
        scan_module.PREAD_BLOCK = saved
    want = [(type(i).__name__, i.offset, getattr(i, "kind", None), bytes(i.payload) if hasattr(i, "payload")
             and i.payload is not None else None) for i in scan(data, start)]
    assert got == want
    assert Path(path).stat().st_size == len(data)
