"""Benchmark: ``recover`` (dry run, repair, undo) of a root with one damaged frame in the middle of
each ~60 MiB segment.

Not collected by pytest. Run:  python tests/benchmarks/bench_recover.py [--segments 2]
Recover reads every byte (CRC and a full decode of every frame: the damage moved each segment's
mtime, so no seal holds), copies each repaired segment
once (atomic replace) and the frames after the damage once more (the split); undo rebuilds the
files from quarantine. Times are wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ironwal_cli.engine.frames.scan import Frame, map_file, scan
from ironwal_cli.engine.store.listing import StreamListing
from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.recover import recover, undo_recover


def build(root: Path, segments: int) -> int:
    with StreamWriter(root, "s", WriteOptions(sync="async", max_segment_size=60 * 2**20)) as w:
        for _ in range(segments * 1000):
            w.append_batch([os.urandom(100) for _ in range(600)])
    total = 0
    layout = StreamListing.read(root / "s")
    for start in layout.segment_ids:
        seg = layout.segment_path(start)
        frames = [f for f in scan(map_file(seg), headers_only=True) if isinstance(f, Frame)]
        with open(seg, "r+b") as f:  # zero 10 payload bytes of the middle frame: a bad CRC
            f.seek(frames[len(frames) // 2].offset + 100)
            f.write(bytes(10))
        total += seg.stat().st_size
    return total


def timed(label: str, fn) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    print(f"{label:>8}: {time.perf_counter() - wall:6.2f} s wall, {time.process_time() - cpu:6.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "wal"
        size = build(root, args.segments)
        print(f"root: {size / 2**20:.0f} MiB in {args.segments} segment(s), one damaged frame in each")
        timed("dry run", lambda: recover(root, dry_run=True))
        report = recover(root, dry_run=True)
        assert report.repairs_needed
        result = {}
        timed("recover", lambda: result.setdefault("run", recover(root).run))
        timed("undo", lambda: undo_recover(root, result["run"]))


if __name__ == "__main__":
    main()
