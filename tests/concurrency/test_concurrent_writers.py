"""Several ``ironwal append`` processes on one stream and on their own streams at once, with
rotation, and a ``tail -f`` beside them that must see every entry exactly once, in order."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from wal_invariants import CLI, damage_outside_tail, read_until_damage

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.store.listing import StreamListing

WRITERS = 4
PER_WRITER = 250
SYNCS = ["strict", "batch", "async", "strict"]


def _spawn_append(root, key: str, entries: list[bytes], sync: str, batch: int) -> subprocess.Popen:
    proc = subprocess.Popen([*CLI, "append", key, "-r", os.fspath(root), "--sync", sync, "--batch", str(batch),
                             "--linger", "0", "--max-segment-size", "2k"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    threading.Thread(target=_feed, args=(proc, entries), daemon=True).start()
    return proc


def _feed(proc: subprocess.Popen, entries: list[bytes]) -> None:
    for k in range(0, len(entries), 25):  # in pieces, so the writers' batches interleave
        proc.stdin.write(b"".join(e + b"\n" for e in entries[k:k + 25]))
        proc.stdin.flush()
        time.sleep(0.002)
    proc.stdin.close()


def _all_frames_intact(stream_dir) -> int:
    layout = StreamListing.read(stream_dir)
    assert layout.index_ids == layout.segment_ids, "segments.idx does not list exactly the segment files"
    frames = 0
    for start in layout.segment_ids:
        for item in scan(map_file(layout.segment_path(start))):
            assert isinstance(item, Frame), f"{start}: {item}"
            frames += 1
    return frames


def test_writers_and_a_follower(fast_tmp, record_property):
    root = fast_tmp / "wal"
    seed = subprocess.run([*CLI, "append", "shared", "-r", root, "seed"], capture_output=True)
    assert seed.returncode == 0, seed.stderr
    tail = subprocess.Popen([*CLI, "tail", "shared", "-r", root, "-f", "--from", "0", "-F", "hex"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[bytes] = []
    reader = threading.Thread(target=lambda: seen.extend(bytes.fromhex(line.decode()) for line in tail.stdout),
                              daemon=True)
    reader.start()

    sent = {n: [f"w{n}-{i}-".encode() + b"p" * (i * 7 % 90) for i in range(PER_WRITER)] for n in range(WRITERS)}
    own = {n: [f"own{n}-{i}".encode() for i in range(PER_WRITER)] for n in range(2)}
    procs = {n: _spawn_append(root, "shared", sent[n], SYNCS[n], batch=1 + n * 7) for n in range(WRITERS)}
    own_procs = {n: _spawn_append(root, f"own{n}", own[n], "batch", batch=5) for n in range(2)}
    acked = {}
    for n, proc in {**procs, **{f"own{k}": p for k, p in own_procs.items()}}.items():
        out, err = proc.stdout.read(), proc.stderr.read()  # stdin belongs to the feeding thread
        assert proc.wait(timeout=120) == 0, err
        acked[n] = [int(x) for x in out.split()]

    total = 1 + WRITERS * PER_WRITER
    entries, damage = read_until_damage(root, "shared")  # ids contiguous from 0, or GapError
    assert damage is None and len(entries) == total
    for n in range(WRITERS):
        mine = [entries[i] for i in acked[n]]
        assert mine == sent[n], f"writer {n}: its acknowledged ids do not hold its entries, in order"
    assert sorted(i for n in range(WRITERS) for i in acked[n]) == list(range(1, total))  # no duplicate, none lost
    frames = _all_frames_intact(root / "shared")
    assert len(StreamListing.read(root / "shared").segment_ids) > 5  # rotation happened meanwhile
    for n in range(2):
        got, damage = read_until_damage(root, f"own{n}")
        assert damage is None and got == own[n] and acked[f"own{n}"] == list(range(PER_WRITER))
        assert not damage_outside_tail(root / f"own{n}")
        frames += _all_frames_intact(root / f"own{n}")

    deadline = time.monotonic() + 30
    while len(seen) < total and time.monotonic() < deadline and tail.poll() is None:
        time.sleep(0.05)
    tail.send_signal(signal.SIGINT)
    rc = tail.wait(timeout=10)
    reader.join(timeout=10)
    assert rc == 0, tail.stderr.read()
    assert seen == entries, f"tail -f saw {len(seen)} entries, the stream holds {len(entries)}"
    record_property("count:concurrent writer processes", WRITERS + 2)
    record_property("count:entries checked after concurrent appends", total + 2 * PER_WRITER + len(seen))
    record_property("count:frames checked after concurrent appends", frames)


def test_a_writer_killed_mid_frame_among_others(fast_tmp, record_property):
    """One of three writers on a stream dies with half a frame written. The others never bury it:
    they cut the torn (unacknowledged) frame and go on; every id any of them acknowledged is
    readable with its bytes."""
    root = fast_tmp / "wal"
    sent = {n: [f"k{n}-{i}-".encode() + b"q" * (i % 50) for i in range(300)] for n in range(3)}
    procs = {}
    for n in range(3):
        env = {**os.environ, "IRONWAL_TEST_CRASH_AT": "frame-half@4" if n == 0 else ""}
        proc = subprocess.Popen([*CLI, "append", "s", "-r", os.fspath(root), "--batch", "5", "--linger", "0",
                                 "--max-segment-size", "2k"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        threading.Thread(target=_feed, args=(proc, sent[n]), daemon=True).start()
        procs[n] = proc
    acked, codes = {}, {}
    for n, proc in procs.items():
        out, err = proc.stdout.read(), proc.stderr.read()
        codes[n] = proc.wait(timeout=120)
        acked[n] = [int(x) for x in out.split()]
        assert codes[n] == (-signal.SIGKILL if n == 0 else 0), err
    entries, damage = read_until_damage(root, "s")
    for n in range(3):
        assert [entries[i] for i in acked[n]] == sent[n][:len(acked[n])], f"writer {n} lost an acknowledged entry"
    if damage is not None:  # the others had finished before the kill: the next append cuts the torn frame
        assert not damage_outside_tail(root / "s")
        last = subprocess.run([*CLI, "append", "s", "-r", root, "last"], capture_output=True)
        assert last.returncode == 0 and int(last.stdout) == len(entries), last.stderr
        entries, damage = read_until_damage(root, "s")
        assert entries[-1] == b"last"
    assert damage is None
    record_property("count:kills", 1)
