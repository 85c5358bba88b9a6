"""Library-level benchmark cases, each run in its own process by ``run.py`` (so peak RSS is its own).

Usage: ``_worker.py CASE ARGS...``; prints one JSON object with the figures.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time


def strict_vs_bare(root: str, bare_path: str, count: str, size: str, hold_lock: str = "no") -> dict:
    """Strict single appends (``StreamWriter.append``: lock, tail check, write, fdatasync; with
    ``hold_lock`` only the write and fdatasync) against the floor, a bare ``os.write`` of the same
    one-entry frame + ``os.fdatasync``.

    The two take turns op by op, in ABBA order (whichever fdatasync comes first after the other's
    may pay for a journal commit), and each reports the median of its per-op times, so that a
    burst of someone else's disk traffic does not land on one side only.
    """
    from statistics import median

    from ironwal_cli import StreamWriter, WriteOptions

    n, entry = int(count), b"x" * int(size)
    frame = b"x" * (int(size) + 36)  # a one-entry frame: 32-byte header + 4-byte length + entry
    fd = os.open(bare_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    ours, bare = [], []
    clock = time.perf_counter
    options = WriteOptions(sync="strict", hold_lock=hold_lock == "yes")
    with StreamWriter(root, f"strict-{hold_lock}", options) as w:

        def one_append() -> None:
            t0 = clock()
            w.append(entry)
            ours.append(clock() - t0)

        def one_bare() -> None:
            t0 = clock()
            os.write(fd, frame)
            os.fdatasync(fd)
            bare.append(clock() - t0)

        one_append()  # the stream exists before the clock counts
        one_bare()
        ours.clear()
        bare.clear()
        for i in range(n):
            first, second = (one_append, one_bare) if i % 2 else (one_bare, one_append)
            first()
            second()
    os.close(fd)
    return {"ours_us": median(ours) * 1e6, "bare_us": median(bare) * 1e6,
            "ours_mean_us": sum(ours) / len(ours) * 1e6, "bare_mean_us": sum(bare) / len(bare) * 1e6}


def single_appends(root: str, count: str, size: str, hold_lock: str, sync: str) -> dict:
    """``count`` single appends through one ``StreamWriter`` (as ``iwref bench-single`` does with
    the crate): the median and mean per-op latency, and the CPU per op. With ``sync`` async there
    is no fdatasync, so what is left is the tool's own cost per append (lock, checks, write)."""
    from statistics import median

    from ironwal_cli import StreamWriter, WriteOptions

    n, entry = int(count), b"x" * int(size)
    times = []
    clock = time.perf_counter
    with StreamWriter(root, f"single-{hold_lock}-{sync}", WriteOptions(sync=sync, hold_lock=hold_lock == "yes")) as w:
        w.append(entry)  # the stream exists before the clock counts
        c0 = time.process_time()
        for _ in range(n):
            t0 = clock()
            w.append(entry)
            times.append(clock() - t0)
        cpu = time.process_time() - c0
    import ironwal_cli

    return {"median_us": median(times) * 1e6, "mean_us": sum(times) / n * 1e6, "cpu_us": cpu / n * 1e6,
            "package": os.path.dirname(ironwal_cli.__file__)}


def fill_single(root: str, key: str, count: str, size: str) -> dict:
    """``count`` one-entry frames (library appends, async): the active segment a stream of strict
    single appends ends up with, for the one-shot figures on a full segment."""
    from ironwal_cli import StreamWriter, WriteOptions

    entry = b"s" * int(size)
    with StreamWriter(root, key, WriteOptions(sync="async")) as w:
        for _ in range(int(count)):
            w.append(entry)
        w.sync()
    return {"frames": int(count)}


def compressible_batches(total_mb: float, batch: int = 1000) -> list[list[bytes]]:
    """Log-like 100-byte lines: a few templates with changing numbers, like real logs.

    At most 10 MB of distinct batches, repeated up to ``total_mb``: the figures' peak RSS should
    show ironwal's memory, not the size of this test data.
    """
    distinct = _distinct_batches(min(total_mb, 10.0), batch)
    per = batch * 100 / 1e6
    return [distinct[i % len(distinct)] for i in range(max(1, round(total_mb / per)))]


def _distinct_batches(total_mb: float, batch: int) -> list[list[bytes]]:
    rng = random.Random(7)
    words = [b"GET", b"POST", b"/api/v1/users", b"/api/v1/orders", b"200", b"404", b"500", b"INFO", b"WARN"]
    batches, size, i = [], 0, 0
    while size < total_mb * 1e6:
        entries = []
        for _ in range(batch):
            line = b"2026-11-25T12:%02d:%02d %s %s %s id=%d" % (
                i // 60 % 60, i % 60, rng.choice(words), rng.choice(words), rng.choice(words), i)
            entries.append(line.ljust(100, b"."))
            i += 1
        batches.append(entries)
        size += batch * 100
    return batches


def lz4_append(root: str, total_mb: str) -> dict:
    from ironwal_cli import StreamWriter, WriteOptions
    from ironwal_cli.spec.codec import raw_batch_size

    batches = compressible_batches(float(total_mb))
    raw = sum(raw_batch_size(b) for b in batches)
    with StreamWriter(root, "lz4", WriteOptions(sync="async", compress=True)) as w:
        t0 = time.perf_counter()
        for b in batches:
            w.append_batch(b)
        dt = time.perf_counter() - t0
    return {"mb_s": raw / dt / 1e6, "raw_mb": raw / 1e6}


def lz4_read(root: str) -> dict:
    from ironwal_cli import StreamReader

    t0 = time.perf_counter()
    raw = 0
    for _first, entries in StreamReader(root, "lz4").batches(0):
        raw += sum(map(len, entries)) + 4 * len(entries)
    dt = time.perf_counter() - t0
    return {"mb_s": raw / dt / 1e6}


def lz4_baseline(total_mb: str) -> dict:
    """lz4.frame alone on the same raw batches, with the crate's flags: compress, then decompress."""
    import lz4.frame as lz4f

    from ironwal_cli.engine.frames.compression import block_size_for
    from ironwal_cli.spec.codec import encode_raw_batch

    raws = [encode_raw_batch(b) for b in compressible_batches(float(total_mb))]
    total = sum(map(len, raws))
    t0 = time.perf_counter()
    packed = [lz4f.compress(r, block_size=block_size_for(len(r)), block_linked=False,
                            content_checksum=False, store_size=False) for r in raws]
    t1 = time.perf_counter()
    for p in packed:
        lz4f.decompress(p)
    t2 = time.perf_counter()
    return {"compress_mb_s": total / (t1 - t0) / 1e6, "decompress_mb_s": total / (t2 - t1) / 1e6,
            "ratio": total / sum(map(len, packed))}


def random_get(root: str, stream: str, lookups: str) -> dict:
    """``get_entry`` (a fresh reader each time, as one API call) on random ids."""
    from ironwal_cli import StreamReader, get_entry

    nxt = StreamReader(root, stream).next_id()
    rng = random.Random(11)
    ids = [rng.randrange(nxt) for _ in range(int(lookups))]
    get_entry(root, stream, ids[0])  # warm the imports
    t0, c0 = time.perf_counter(), time.process_time()
    for i in ids:
        get_entry(root, stream, i)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    reader = StreamReader(root, stream)
    t1 = time.perf_counter()
    for i in ids:
        reader.get(i)
    dt2 = time.perf_counter() - t1
    return {"per_op_ms": dt / len(ids) * 1e3, "cpu_ms": cpu / len(ids) * 1e3,
            "reused_reader_ms": dt2 / len(ids) * 1e3, "entries": nxt}


def crc_loop(*paths: str) -> dict:
    """The floor for verify: the fastest CRC-32 the process has (ISA-L's where isal imports, else
    zlib's: what spec/crc.py chose) over every byte of the files, 1 MiB at a time."""
    from ironwal_cli.spec.crc import CRC_IMPLEMENTATION, crc32

    total = 0
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            crc = 0
            while chunk := f.read(1 << 20):
                crc = crc32(chunk, crc)
                total += len(chunk)
    dt = time.perf_counter() - t0
    return {"mb_s": total / dt / 1e6, "crc": CRC_IMPLEMENTATION}


def header_walk(*paths: str) -> dict:
    """The floor for ``stats``: each frame header read (pread of 32 bytes) and its count summed, in a
    bare loop with the spec's header struct; no CRC, no payload. Counts frames and entries."""
    from ironwal_cli.spec.codec import HEADER_SIZE
    from ironwal_cli.spec.fields import picker

    unpack = picker("frame_header", "entry_count", "disk_size").unpack_from

    frames = entries = 0
    t0 = time.perf_counter()
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            size, offset = os.fstat(fd).st_size, 0
            while offset + HEADER_SIZE <= size:
                count, disk = unpack(os.pread(fd, HEADER_SIZE, offset))
                frames, entries, offset = frames + 1, entries + count, offset + HEADER_SIZE + disk
        finally:
            os.close(fd)
    return {"seconds": time.perf_counter() - t0, "frames": frames, "entries": entries}


CASES = {f.__name__: f for f in (strict_vs_bare, single_appends, fill_single, lz4_append, lz4_read, lz4_baseline,
                                  random_get, crc_loop, header_walk)}

if __name__ == "__main__":
    print(json.dumps(CASES[sys.argv[1]](*sys.argv[2:])))
