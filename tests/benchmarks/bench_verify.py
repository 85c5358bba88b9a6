"""Benchmark: ``verify`` over a ~1 GB root (warm cache) next to a bare zlib.crc32 loop over the same bytes.

Not collected by pytest. Run:  python tests/benchmarks/bench_verify.py [--size-gb 1] [--min-entry 100 --max-entry 1000]
The target is a verifier at >= 0.7x the bare CRC loop's speed. Equal --min-entry and --max-entry give
fixed-size entries; anything else, lengths drawn uniformly between them (the harder case: the batch
structure must then be walked entry by entry).
"""

from __future__ import annotations

import argparse
import mmap
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from ironwal_cli.engine.writer.writer import StreamWriter, WriteOptions
from ironwal_cli.ops.verify import verify_root

MB = 1e6


def build_root(root: Path, size: int, min_entry: int, max_entry: int, batch: int, streams: int) -> int:
    """Write ~``size`` bytes of entries with the writer (async sync: the benchmark is about reading)."""
    rng = random.Random(7)
    pool = rng.randbytes(1 << 20)
    options = WriteOptions(sync="async")
    written = 0
    per_stream = size // streams
    for s in range(streams):
        with StreamWriter(root, f"bench-{s}", options) as writer:
            done = 0
            while done < per_stream:
                lengths = [rng.randint(min_entry, max_entry) for _ in range(batch)]
                starts = [rng.randrange(len(pool) - n) for n in lengths]
                entries = [pool[a:a + n] for a, n in zip(starts, lengths, strict=True)]
                writer.append_batch(entries)
                done += sum(lengths) + 4 * batch + 32
            written += done
    return written


def segment_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.wal"))


def bare_crc(files: list[Path]) -> int:
    """The yardstick: zlib.crc32 over every byte of every segment, mmap'd as the verifier reads them."""
    total = 0
    for path in files:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            zlib.crc32(m)
            total += len(m)
    return total


def best_times(repeat: int, **fns) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of ``repeat`` runs of each function, run in turns so all see the same load.

    CPU time (this process, all its threads) is the steadier figure on a busy machine; wall time
    is what a user waits, and the only one that shows threads working side by side.
    """
    best = {name: (float("inf"), float("inf")) for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--min-entry", type=int, default=100)
    ap.add_argument("--max-entry", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000, help="entries per append_batch (one frame each)")
    ap.add_argument("--streams", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the root here and keep it")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="bench-verify-")
        root = Path(tmp) / "wal_data"
    try:
        if not root.exists():
            t = time.perf_counter()
            build_root(root, int(args.size_gb * 1e9), args.min_entry, args.max_entry, args.batch, args.streams)
            print(f"built {root} in {time.perf_counter() - t:.1f} s")
        files = segment_files(root)
        size = sum(p.stat().st_size for p in files)
        print(f"{len(files)} segments, {size / MB:.0f} MB, entries {args.min_entry}..{args.max_entry} bytes, "
              f"{args.batch} per frame")
        bare_crc(files)  # warm the page cache
        report = verify_root(root)
        assert report.ok, report.problems[:5]
        cmd = [sys.executable, "-m", "ironwal_cli", "verify", "-r", str(root), "--json"]
        empty = Path(tempfile.mkdtemp(prefix="bench-verify-empty-"))
        best = best_times(args.repeat, crc=lambda: bare_crc(files), lib=lambda: verify_root(root),
                          serial=lambda: verify_root(root, jobs=1),
                          cli=lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL),
                          startup=lambda: subprocess.run([*cmd[:4], "-r", str(empty)], check=True,
                                                         stdout=subprocess.DEVNULL))
        empty.rmdir()
        crc_s, crc_cpu = best["crc"]
        crc_rate = size / crc_s / MB
        print(f"bare zlib.crc32 loop   : {crc_rate:6.0f} MB/s wall ({crc_s:.3f} s), CPU {crc_cpu:.3f} s")
        for label, key in (("verify (library)", "lib"), ("verify (library, -j 1)", "serial")):
            secs, cpu = best[key]
            rate = size / secs / MB
            print(f"{label:23}: {rate:6.0f} MB/s wall ({secs:.3f} s) = {rate / crc_rate:.2f}x the bare CRC loop; "
                  f"CPU {cpu:.3f} s = {crc_cpu / cpu:.2f}x")
        cli_s = best["cli"][0]
        print(f"verify (CLI)           : {size / cli_s / MB:6.0f} MB/s wall ({cli_s:.3f} s) = {crc_s / cli_s:.2f}x, "
              f"of which {best['startup'][0]:.3f} s is interpreter and typer start-up")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
