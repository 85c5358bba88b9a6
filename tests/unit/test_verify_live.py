"""verify on a root that is being written to: it sees a consistent tail, never a false problem."""

from __future__ import annotations

import threading
import time

from verify_support import found, verify, write_stream

from ironwal_cli.engine.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root


def test_verify_while_a_writer_appends_and_rotates(root):
    write_stream(root, "live", [[b"seed"]])
    stop = threading.Event()

    def writer():
        options = WriteOptions(sync="async", max_segment_size=600)
        with StreamWriter(root, "live", options) as w:
            i = 0
            while not stop.is_set():
                w.append_batch([f"entry-{i}-{k}".encode() * 3 for k in range(3)])
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    deadline = time.monotonic() + 8
    try:
        while time.monotonic() < deadline and (len(reports) < 10 or reports[-1].streams["live"].segments < 10):
            reports.append(verify_root(root, jobs=1))
    finally:
        stop.set()
        thread.join()
    assert [found(r) for r in reports] == [[]] * len(reports)
    assert reports[-1].streams["live"].segments >= 10  # rotations happened while verify ran
    assert verify(root).streams["live"].entries > reports[0].streams["live"].entries


def test_progress_reaches_the_total(root):
    write_stream(root, "a", [[b"x" * 100] * 10] * 10, max_segment_size=2000)
    write_stream(root, "b", [[b"y"]])
    calls = []
    verify_root(root, on_progress=lambda done, total: calls.append((done, total)))
    total = sum(p.stat().st_size for p in root.rglob("*.wal"))
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) > 3


def test_verify_while_checkpoints_are_taken(root):
    """Records appended and HEAD replaced under verify's feet: never a torn record or an unknown HEAD."""
    from ironwal_cli.ops.checkpoint import create_checkpoint
    from ironwal_cli.ops.sharded_append import append_keyed

    options = WriteOptions(sync="async", max_segment_size=600)
    append_keyed(root, b"k", [b"seed"], shards=2, options=options)
    create_checkpoint(root, b"c-seed", shards=2)
    stop = threading.Event()
    made = []

    def writer():
        i = 0
        while not stop.is_set():
            append_keyed(root, f"key-{i}".encode(), [f"value-{i}".encode()] * 3, options=options)
            if i % 3 == 0:
                made.append(create_checkpoint(root, f"c{i}".encode()))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    deadline = time.monotonic() + 8
    try:
        while time.monotonic() < deadline and (len(reports) < 10 or len(made) < 20):
            reports.append(verify_root(root, jobs=1))
    finally:
        stop.set()
        thread.join()
    assert [found(r) for r in reports] == [[]] * len(reports)
    assert len(made) >= 20
