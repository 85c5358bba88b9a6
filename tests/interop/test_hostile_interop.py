"""The hostile-file defences never refuse what the real crate writes, and what they leave is read
by the crate (issue 17 items 5-7): run against ../shared/refcrate/iwref.

- big LZ4 frames (decoded now a few MiB at a time, with a cap) read back byte for byte;
- many rotations: the crate's segments.idx stays inside the bound readers allow it;
- a torn tail cut by a copy renamed over the segment (no longer ftruncate) is read by the crate.
"""

from __future__ import annotations

import json
import os

from crate_oracle import dump, write
from wal_invariants import cli

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.ops.verify import verify_root

BIG = 3_000_000


def test_big_lz4_frames_the_crate_writes_read_back(tmp_path):
    root = tmp_path / "wal"
    values = [{"len": BIG, "fill": 97 + i} for i in range(4)]  # compressible: one ~12 MB LZ4 frame
    write(root, {"options": {"compression": True}, "ops": [{"op": "append_batch", "stream": "s", "values": values}]})
    report = verify_root(root)
    assert report.ok, report.problems
    assert report.streams["s"].lz4_frames >= 1
    got = [e for _, e in StreamReader(root, "s").entries()]
    assert got == [bytes([97 + i]) * BIG for i in range(4)]
    assert dump(root, stream="s").streams["s"].entries == dict(enumerate(got))


def test_many_rotations_stay_inside_the_index_bound(tmp_path):
    root = tmp_path / "wal"
    write(root, {"options": {"max_segment_size": 200},
                 "ops": [{"op": "append_many", "stream": "s", "count": 400, "fmt": "entry {i} of many"}]})
    report = verify_root(root)
    assert report.ok, report.problems[:5]
    assert not [p for p in report.problems if p.kind == "oversized_file"]
    assert len(StreamReader(root, "s").layout.segment_files) > 100


def test_the_crate_reads_a_tail_we_cut_by_a_copy(tmp_path):
    root = tmp_path / "wal"
    write(root, {"options": {}, "ops": [{"op": "append_batch", "stream": "s", "values": ["a", "b", "c"]}]})
    seg = root / "s" / "00000000000000000000.wal"
    inode = os.stat(seg).st_ino
    with open(seg, "ab") as f:
        f.write(b"LAWL" + b"\x01" * 12)  # a torn header: an unacknowledged write cut short
    done = cli("append", "-r", root, "s", "d")
    assert done.returncode == 0 and done.stdout == b"3\n", done.stderr
    assert os.stat(seg).st_ino != inode  # replaced, not cut in place
    replay = dump(root, stream="s")
    assert replay.opened and replay.streams["s"].error is None
    assert replay.streams["s"].entries == {0: b"a", 1: b"b", 2: b"c", 3: b"d"}
    assert json.loads(cli("verify", "-r", root, "--json").stdout)["ok"]
