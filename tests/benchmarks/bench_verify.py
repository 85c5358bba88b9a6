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

from ironwal_cli.engine.writer import StreamWriter, WriteOptions
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


def best_times(repeat: int, **fns) -> dict[str, float]:
    """The best of ``repeat`` runs of each function, run in turns so that all see the same machine load."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
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
        crc_s, lib_s, serial_s, cli_s = best["crc"], best["lib"], best["serial"], best["cli"]
        crc_rate = size / crc_s / MB
        print(f"bare zlib.crc32 loop  : {crc_rate:8.0f} MB/s ({crc_s:.3f} s)")
        runs = (("verify (library)", lib_s), ("verify (library, -j 1)", serial_s), ("verify (CLI)", cli_s))
        for label, secs in runs:
            rate = size / secs / MB
            print(f"{label:22}: {rate:8.0f} MB/s ({secs:.3f} s)  = {rate / crc_rate:.2f}x the bare CRC loop")
        print(f"(the CLI's time includes {best['startup']:.3f} s of interpreter and typer start-up)")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
