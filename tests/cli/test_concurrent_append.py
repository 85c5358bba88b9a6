"""Two ``ironwal append`` processes racing into one stream, with rotations during the race.

The flock taken for each write, and the tail re-read after taking it, must give 4,000
entries with ids 0..3999, each process's printed ids naming exactly its own lines, and
every frame and index entry sound.
"""

from __future__ import annotations

import subprocess
import sys
import time
from itertools import pairwise

from proc_io import read_line_within
from wal_checks import check_stream

from ironwal_cli.engine.reader.reader import StreamReader

LINES = 2000
ROUND = 50  # lines fed to each process per round
MAX_SEGMENT = 8192


def lines_of(tag: str) -> list[bytes]:
    return [f"{tag}-{i:04d}-{'x' * (i % 17)}".encode() for i in range(LINES)]


def test_two_appenders_interleave_without_losing_or_reusing_ids(tmp_path):
    root = tmp_path / "wal"
    argv = [sys.executable, "-m", "ironwal_cli", "append", "shared", "-r", str(root), "--batch", "10",
            "--max-segment-size", str(MAX_SEGMENT), "--sync", "batch", "--linger", "5"]
    feeds = {"A": lines_of("A"), "B": lines_of("B")}
    procs = {tag: subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for tag in feeds}
    first_ids = {}
    for start in range(0, LINES, ROUND):
        for tag, proc in procs.items():
            proc.stdin.write(b"".join(line + b"\n" for line in feeds[tag][start:start + ROUND]))
            proc.stdin.flush()
        if start == 0:  # both processes are up and writing before the race goes on
            first_ids = {tag: int(read_line_within(proc, 10)) for tag, proc in procs.items()}
        time.sleep(0.005)
    printed = {}
    for tag, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, b""), tag
        printed[tag] = [first_ids[tag]] + [int(x) for x in out.split()]
        assert len(printed[tag]) == LINES
        assert printed[tag] == sorted(printed[tag])  # one process's ids rise with its input order

    assert sorted(printed["A"] + printed["B"]) == list(range(2 * LINES))

    stream = root / "shared"
    entries = [e for _, e in StreamReader(root, "shared").entries(0)]
    assert len(entries) == 2 * LINES
    for tag, ids in printed.items():
        assert [entries[i] for i in ids] == feeds[tag]  # each printed id is that process's own line

    segments = check_stream(stream, MAX_SEGMENT)  # every CRC, contiguous ids, index == files, head.state
    assert len(segments) > 5  # rotations happened during the race
    owners = [entries[h.start_id][:1] for hs in segments.values() for h in hs]
    switches = sum(a != b for a, b in pairwise(owners))
    print(f"{len(segments)} segments, {len(owners)} frames, {switches} writer switches")
    assert switches >= 2  # the two writers really interleaved
