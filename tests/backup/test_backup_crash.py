"""Backups of a root a real writer process appends to, backups killed with SIGKILL at random
moments, and ``--watch`` ended by SIGTERM: every generation listed is whole, verifies, and
restores to a root that verifies clean and holds a prefix of what the writer wrote."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from backup_support import SMALL, entries, fill

from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.backup import backup_root, list_generations, restore, verify_backup
from ironwal_cli.ops.verify import verify_root

WRITER = """
import sys, time
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
root, seconds = sys.argv[1], float(sys.argv[2])
w = StreamWriter(root, "s", WriteOptions(max_segment_size=16384, sync="async", hold_lock=True))
end, n = time.monotonic() + seconds, 0
print("ready", flush=True)
while time.monotonic() < end:
    w.append_batch([b"entry %d" % n + b"\\n" + bytes(n % 200), b""])
    n += 2
    time.sleep(0.0005)
w.close()
print(n, flush=True)
"""


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "ironwal_cli", *map(os.fspath, args)]


def restored_prefix_of(dest, tmp_path, final: dict) -> int:
    """Restore every generation; each must verify clean and hold a prefix of ``final``. The count."""
    gens = list_generations(dest)
    for gen in gens:
        out = tmp_path / f"out-{gen.generation}"
        restore(dest, out, generation=gen.generation)
        assert verify_root(out).ok
        got = entries(out)
        for name, items in got.items():
            assert items == final[name][:len(items)], name
    return len(gens)


def test_backups_during_concurrent_appends_restore_to_prefixes_that_verify(fast_tmp):
    root, dest = fast_tmp / "r", fast_tmp / "d"
    fill(root, "s", batches=5)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), "1.5"], stdout=subprocess.PIPE)
    assert writer.stdout.readline() == b"ready\n"
    results = []
    while writer.poll() is None and len(results) < 4:
        results.append(backup_root(root, dest, part_size=4096))
        time.sleep(0.2)
    assert writer.wait(timeout=30) == 0
    final = entries(root)
    assert len(results) >= 2 and len({r.streams["s"][1] for r in results}) >= 2  # the root moved between runs
    assert verify_backup(dest).ok
    assert restored_prefix_of(dest, fast_tmp, final) == len(results)


def test_a_backup_killed_at_random_moments_never_lists_a_generation_that_does_not_verify(fast_tmp, record_property):
    root, dest = fast_tmp / "r", fast_tmp / "d"
    for i in range(4):
        fill(root, f"s{i}", batches=150, size=2000, seed=i)
    rng = random.Random(16)
    mid_run = 0
    for attempt in range(6):
        append_values(root, "s0", [b"round %d" % attempt], SMALL)
        markers = set((dest / "pending").glob("*"))  # killed runs leave theirs
        proc = subprocess.Popen(cli("backup", dest, "-r", root, "--part-size", "4k", "-q"), stderr=subprocess.PIPE)
        if attempt % 2:  # any moment: in start-up, mid-upload, or after the run
            time.sleep(rng.uniform(0.05, 0.6))
        else:  # a moment of the upload, however slowly the machine starts Python
            deadline = time.monotonic() + 30
            while set((dest / "pending").glob("*")) <= markers and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        mid_run += bool(set((dest / "pending").glob("*")) - markers)
        report = verify_backup(dest) if (dest / "ironwal-backup").exists() else None
        assert report is None or report.ok, report.problems
    record_property("count:backup runs killed mid-upload", mid_run)
    assert mid_run >= 1  # at least one kill landed while objects were being sent
    listed = len(list_generations(dest)) if (dest / "ironwal-backup").exists() else 0
    done = backup_root(root, dest, keep=2, part_size=4096)
    assert verify_backup(dest).ok
    assert done.retention.kept_back == 0  # the killed runs' markers are known dead: their objects went
    assert restored_prefix_of(dest, fast_tmp, entries(root)) == min(2, listed + 1)


def test_watch_keeps_the_lag_bounded_and_sigterm_finishes_the_run(fast_tmp):
    root, dest = fast_tmp / "r", fast_tmp / "d"
    fill(root, "s", batches=5)
    proc = subprocess.Popen(cli("backup", dest, "-r", root, "--interval", "0.2", "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    first = json.loads(proc.stdout.readline())
    ids = append_values(root, "s", [b"late entry"], SMALL)
    start = time.monotonic()
    while True:  # the entry reaches the destination within an interval plus a run
        run = json.loads(proc.stdout.readline())
        if run["streams"]["s"][1] > ids[0]:
            break
    lag = time.monotonic() - start
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert lag < 10 and run["generation"] > first["generation"]
    assert verify_backup(dest).ok


def test_sigterm_during_a_run_finishes_the_upload_then_exits_cleanly(tmp_path):
    root, dest = tmp_path / "r", tmp_path / "d"
    for i in range(2):
        fill(root, f"s{i}", batches=120, size=2000, seed=i)
    proc = subprocess.Popen(cli("backup", dest, "-r", root, "--part-size", "4k", "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    while not (dest / "objects").exists():  # the upload is under way
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    generation = json.loads(out)["generation"]
    assert [g.generation for g in list_generations(dest)] == [generation]
    assert verify_backup(dest).ok
