"""verify on a root that is being written to: it sees a consistent tail, never a false problem."""

from __future__ import annotations

import threading
import time

from verify_support import found, verify, write_stream

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root

FAST = WriteOptions(sync="async", max_segment_size=600)  # a rotation every few batches


def verify_while(root, step, enough, seconds: float = 60.0) -> list:
    """Run ``step()`` in a loop on another thread, verifying ``root`` until ``enough(reports)``.

    ``seconds`` only bounds a run that never gets there: on a loaded machine the writer thread
    may take many times its usual ~1 s to make enough changes, and that is not a failure.
    """
    stop = threading.Event()

    def loop():
        i = 0
        while not stop.is_set():
            step(i)
            i += 1

    thread = threading.Thread(target=loop)
    thread.start()
    reports = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not (len(reports) >= 10 and enough(reports)):
            reports.append(verify_root(root, jobs=1))
    finally:
        stop.set()
        thread.join()
    assert [found(r) for r in reports] == [[]] * len(reports)
    return reports


def test_verify_while_a_writer_appends_and_rotates(root):
    write_stream(root, "live", [[b"seed"]])
    with StreamWriter(root, "live", FAST) as w:
        reports = verify_while(root, lambda i: w.append_batch([f"entry-{i}-{k}".encode() * 3 for k in range(3)]),
                               lambda reports: reports[-1].streams["live"].segments >= 10)
    assert reports[-1].streams["live"].segments >= 10  # rotations happened while verify ran
    assert verify(root).streams["live"].entries > reports[0].streams["live"].entries


def test_verify_while_checkpoints_are_taken(root):
    """Records appended and HEAD replaced under verify's feet: never a torn record or an unknown HEAD."""
    from ironwal_cli.ops.checkpoint import create_checkpoint
    from ironwal_cli.ops.sharded_append import append_keyed

    append_keyed(root, b"k", [b"seed"], shards=2, options=FAST)
    create_checkpoint(root, b"c-seed", shards=2)
    made = []

    def step(i):
        append_keyed(root, f"key-{i}".encode(), [f"value-{i}".encode()] * 3, options=FAST)
        if i % 3 == 0:
            made.append(create_checkpoint(root, f"c{i}".encode()))

    verify_while(root, step, lambda reports: len(made) >= 20)
    assert len(made) >= 20


def test_progress_reaches_the_total(root):
    write_stream(root, "a", [[b"x" * 100] * 10] * 10, max_segment_size=2000)
    write_stream(root, "b", [[b"y"]])
    calls = []
    verify_root(root, on_progress=lambda done, total: calls.append((done, total)))
    total = sum(p.stat().st_size for p in root.rglob("*.wal"))
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) > 3
