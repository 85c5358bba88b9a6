"""ironwal benchmarks: every figure next to a baseline measured in the same run, on the same data.

    python tests/benchmarks/run.py            # the full run: 1,000,000 lines and a 1 GB stream
    python tests/benchmarks/run.py --quick    # a smoke run of a few seconds on small data

Data goes into a temp dir (default under /tmp, the same disk as the repo here); it is removed at
the end unless ``--keep``. Each figure is its own child process, so its peak RSS is its own.
Not collected by pytest (pyproject's ``norecursedirs``): speed is measured here, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness  # noqa: E402
from _harness import (  # noqa: E402
    child_env,
    ironwal_cmd,
    ironwal_exists,
    iwref_cmd,
    median_wall,
    run,
    run_pipeline,
    worker,
)

ENTRY = 100  # bytes per entry (a 100-byte line + "\n" on stdin)


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: str = ""
    base_value: float | None = None
    ratio: float | None = None  # value / baseline, or baseline / value for times (higher = better)
    target: str = ""
    met: bool | None = None
    rss_mb: float | None = None

    def cells(self) -> list[str]:
        v = "n/a" if self.value != self.value else _num(self.value)
        return [self.figure, f"{v} {self.unit}", self.baseline,
                "" if self.base_value is None else f"{_num(self.base_value)} {self.unit}",
                "" if self.ratio is None else f"{self.ratio:.2f}x", self.target,
                "" if self.met is None else ("yes" if self.met else "NO"),
                "" if self.rss_mb is None else f"{self.rss_mb:.0f}"]


def _num(x: float) -> str:
    if x >= 100_000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def na_row(figure: str, why: str) -> Row:
    return Row(figure, float("nan"), "", baseline=why)


# ----- data -----------------------------------------------------------------------------------


def make_lines(path: Path, count: int) -> int:
    """``count`` lines of ENTRY random base64 bytes each (+ newline); returns the file size."""
    per = ENTRY // 4 * 3
    with open(path, "wb") as f:
        done = 0
        while done < count:
            n = min(100_000, count - done)
            text = base64.b64encode(os.urandom(per * n))
            f.write(b"\n".join(text[i:i + ENTRY] for i in range(0, len(text), ENTRY)) + b"\n")
            done += n
    return path.stat().st_size


def make_var_lines(path: Path, count: int, shortest: int = 1, longest: int = 199) -> int:
    """``count`` lines of ``shortest``..``longest`` random base64 bytes (default 1..199, mean 100):
    entries of varying length."""
    import random

    rng = random.Random(3)
    with open(path, "wb") as f:
        done = 0
        while done < count:
            n = min(100_000, count - done)
            text = base64.b64encode(os.urandom((shortest + longest) * 3 // 4 * n + longest))
            out, pos = [], 0
            for _ in range(n):
                k = rng.randint(shortest, longest)
                out.append(text[pos:pos + k])
                pos += k
            f.write(b"\n".join(out) + b"\n")
            done += n
    return path.stat().st_size


def segment_files(stream_dir: Path) -> list[str]:
    return sorted(str(p) for p in stream_dir.glob("*.wal"))


def warm(paths: list[str]) -> None:
    """Read files once so that every figure after this one sees them in the page cache."""
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.read(1 << 22):
                pass


# ----- the figures ------------------------------------------------------------------------------


CRATE = "iwref (the crate)"
NO_CRATE = "iwref absent (../shared/refcrate): no crate column"


def interleaved(sides: dict, rounds: int) -> dict[str, list]:
    """Run each side's ``fn(round)`` (returning a harness ``Run``) ``rounds`` times, taking turns and
    starting each round with another side, so a burst of someone else's load hits every side alike."""
    names = list(sides)
    out: dict[str, list] = {k: [] for k in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(sides[name](r))
    return out


def median_run(runs: list):
    """The run of median wall time (its RSS and CPU go with it)."""
    return sorted(runs, key=lambda x: x.seconds)[len(runs) // 2]


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


def bench_bulk(work: Path, root: Path, lines: Path, n: int, size: int, rounds: int) -> list[Row]:
    """Bulk append of stdin lines, ours beside the crate's ``iwref bench-append`` (the same lines,
    batches of 1000, the same sync mode, process start included), in interleaved rounds; medians.
    Each round appends into a new root on both sides. ``cat | cat > file`` is there for scale."""
    iw, crate = ironwal_cmd(), iwref_cmd()
    cat_out = work / "cat.out"
    cat = run_pipeline(["cat", str(lines)], ["sh", "-c", f"cat > {cat_out}"])
    cat_out.unlink()
    rows = []
    # (label, our sync mode, the crate's): the crate's batch mode syncs each batch, as our strict does;
    # our batch mode syncs once per group of batches that arrived together (group commit).
    for label, sync, crate_sync in (("async", "async", "async"),
                                    ("strict, --batch 1000 (each batch synced, like the crate's batch mode)",
                                     "strict", "batch"),
                                    ("batch, --batch 1000 (one fdatasync per group of batches)", "batch", "batch")):
        def ours(r: int, sync=sync):
            dest = _fresh(work / f"bulk-{sync}")
            return run_pipeline(["cat", str(lines)], [*iw, "append", "s", "-r", str(dest), "-q", "--sync", sync,
                                                      "--batch", "1000"])

        def theirs(r: int, sync=crate_sync):
            dest = _fresh(work / f"crate-bulk-{sync}")
            return run_pipeline(["cat", str(lines)], [*crate, "bench-append", str(dest), "s", "--sync", sync,
                                                      "--batch", "1000"])

        res = interleaved({"ours": ours, **({"crate": theirs} if crate else {})}, rounds)
        o = median_run(res["ours"])
        rate = n / o.seconds
        cpu = f" (CPU-bound rate {n / o.cpu_s:,.0f}/s)" if o.cpu_s else ""
        figure = f"bulk append stdin, {label}, {n:,} lines: entries/s{cpu}"
        if crate:
            c = median_run(res["crate"])
            crate_rate = n / c.seconds
            rows.append(Row(figure, rate, "/s", f"{CRATE} bench-append --sync {crate_sync}", crate_rate,
                            rate / crate_rate, ">= 1.0x crate", rate >= crate_rate, o.peak_rss_mb))
            rows.append(Row("  the crate's own peak RSS", c.peak_rss_mb or float("nan"), "MB"))
        else:
            rows.append(Row(figure, rate, "/s", NO_CRATE, rss_mb=o.peak_rss_mb))
        rows.append(Row("  the same in MB/s, beside cat | cat > file", size / o.seconds / 1e6, "MB/s",
                        "cat | cat > file", size / cat.seconds / 1e6, cat.seconds / o.seconds))
        shutil.rmtree(work / f"bulk-{sync}", ignore_errors=True)
        shutil.rmtree(work / f"crate-bulk-{crate_sync}", ignore_errors=True)
    return rows


def bench_keyed(work: Path, lines: Path, n: int, rounds: int) -> list[Row]:
    """``append -K TAB`` (routed to 8 shards, 50,000 distinct keys) of ``n // 2`` KEY<TAB>VALUE records
    beside a plain append of the same records to one stream (both async), interleaved; medians."""
    records = work / "records.txt"
    count = n // 2
    with open(lines, "rb") as src, open(records, "wb") as out:
        for i, line in zip(range(count), src, strict=False):
            out.write(b"user%05d\t" % (i * 7919 % 50_000) + line[10:])
    iw = ironwal_cmd()

    def keyed(r: int):
        dest = _fresh(work / "keyed")
        return run_pipeline(["cat", str(records)], [*iw, "append", "-r", str(dest), "--shards", "8", "-K", "\t",
                                                    "-q", "--sync", "async"])

    def plain(r: int):
        dest = _fresh(work / "plain")
        return run_pipeline(["cat", str(records)], [*iw, "append", "s", "-r", str(dest), "-q", "--sync", "async"])

    res = interleaved({"keyed": keyed, "plain": plain}, rounds)
    k, p = median_run(res["keyed"]), median_run(res["plain"])
    for d in ("keyed", "plain"):
        shutil.rmtree(work / d, ignore_errors=True)
    records.unlink()
    a, b = count / k.seconds, count / p.seconds
    return [Row(f"keyed append -K TAB, {count:,} records, 8 shards, async: records/s", a, "/s",
                "plain append of the same records", b, a / b, ">= 0.7x plain", a / b >= 0.7, k.peak_rss_mb)]


def bench_strict(work: Path, root: Path, count: int) -> list[Row]:
    rows = []
    for hold, label in (("no", "lock and tail re-check per append"), ("yes", "hold_lock writer")):
        res = worker("strict_vs_bare", root, work / "bare.dat", count, ENTRY, hold)
        j = res.json()
        a, b = j["ours_us"], j["bare_us"]
        rows += [Row(f"strict single append (library, {count}x, {label}): median latency", a, "us",
                     "os.write+fdatasync loop", b, a / b, "<= 1.1x", a / b <= 1.1, res.peak_rss_mb),
                 Row("  the same, mean latency", j["ours_mean_us"], "us", "os.write+fdatasync loop",
                     j["bare_mean_us"], j["ours_mean_us"] / j["bare_mean_us"])]
    return rows


def bench_single_vs_crate(work: Path, count: int, rounds: int, base_tree: str | None) -> list[Row]:
    """Strict single appends (library ``StreamWriter``, default writer and ``hold_lock``) beside the
    crate's ``iwref bench-single`` doing the same (one handle, ``count`` appends of 100 bytes,
    strict sync), in ``rounds`` rounds that take turns (each round in another order), so a burst
    of someone else's disk traffic lands on every side alike; each figure is the median of its
    rounds' medians. With
    ``base_tree`` (another commit's ``ironwal_cli``) the same runs on it too: before and after.
    The async rows have no fdatasync: what is left is the tool's own cost per append."""
    crate = iwref_cmd()
    if crate is None:
        return [na_row("strict single append vs the crate", "iwref absent (../shared/refcrate)")]
    trees = {"ours": None, **({"base": base_tree} if base_tree else {})}
    variants = [(t, hold, sync) for t in trees for hold in ("no", "yes") for sync in ("strict", "async")]
    medians: dict[object, list[float]] = {v: [] for v in [*variants, "crate"]}
    cpu: dict[object, list[float]] = {v: [] for v in variants}
    order = [*variants, "crate"]
    for r in range(rounds):
        k = r % len(order)  # each round starts elsewhere: no side always runs first after a commit burst
        for v in order[k:] + order[:k]:
            if v == "crate":
                j = run([*crate, "bench-single", str(work / f"crate-{r}"), "s", "--count", str(count), "--size",
                         str(ENTRY), "--sync", "strict"]).json()
                medians["crate"].append(j["median_us"])
                continue
            tree, hold, sync = v
            j = worker("single_appends", work / f"single-{tree}-{r}", count, ENTRY, hold, sync, tree=trees[tree]).json()
            medians[v].append(j["median_us"])
            cpu[v].append(j["cpu_us"])
    med = {k: statistics.median(v) for k, v in medians.items()}
    c = med["crate"]
    rows = []
    for tree, hold, sync in variants:
        label = f"{'--hold-lock' if hold == 'yes' else 'default writer'}, {sync}"
        who = "this checkout" if tree == "ours" else "base tree"
        m, u = med[(tree, hold, sync)], statistics.median(cpu[(tree, hold, sync)])
        if sync == "strict":
            rows.append(Row(f"strict single append ({who}, {label}; {count}x, {rounds} rounds): median latency, "
                            f"CPU {u:.1f} us/op", m, "us", "iwref bench-single (the crate)", c, m / c, "<= 1.05x",
                            m / c <= 1.05))
        else:
            rows.append(Row(f"  single append ({who}, {label}): the tool's own cost per op", m, "us", "", None,
                            None))
    if base_tree:
        for hold in ("no", "yes"):
            for sync in ("strict", "async"):
                a, b = med[("ours", hold, sync)], med[("base", hold, sync)]
                rows.append(Row(f"  after / before ({'hold' if hold == 'yes' else 'default'}, {sync})", a, "us",
                                "base tree", b, a / b))
    return rows


def bench_oneshot(root: Path, runs: int, full_frames: int) -> list[Row]:
    """Process wall time, median of ``runs``; the runs of all four commands take turns."""
    iw = ironwal_cmd()
    r = str(root)
    run([*iw, "append", "oneshot", "v", "-r", r])  # the stream exists; later appends measure appends only
    # A stream of strict single appends ends with a full active segment of one-entry frames.
    full = worker("fill_single", root, "full", full_frames, ENTRY).json()["frames"]
    cmds = {"pass": [sys.executable, "-c", "pass"], "typer": [sys.executable, "-c", "import typer"],
            "append": [*iw, "append", "oneshot", "v", "-r", r],
            "append-async": [*iw, "append", "oneshot", "v", "-r", r, "--sync", "async"],
            "tail": [*iw, "tail", "oneshot", "-n", "1", "-r", r],
            "append-full": [*iw, "append", "full", "v", "-r", r],
            "tail-full": [*iw, "tail", "full", "-n", "1", "-r", r]}
    samples: dict[str, list] = {k: [] for k in cmds}
    for _ in range(runs):  # interleaved, so that a busy spell hits every command alike
        for k, cmd in cmds.items():
            samples[k].append(median_wall(cmd, 1, warm=False, with_rss=False))
    wall = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    cpu = {k: statistics.median(s[1] for s in v) for k, v in samples.items()}
    rss = {k: run(cmd).peak_rss_mb for k, cmd in cmds.items()}
    ms = 1e3
    t = wall["typer"]

    def cpu_note(k: str) -> str:
        return f" (CPU {cpu[k] * ms:.0f} ms, {cpu[k] / cpu['typer']:.2f}x typer's {cpu['typer'] * ms:.0f})"

    return [
        Row("one-shot `ironwal append s v` (strict)" + cpu_note("append"), wall["append"] * ms, "ms",
            "python -c 'import typer'", t * ms, wall["append"] / t, "<= 1.3x", wall["append"] / t <= 1.3,
            rss["append"]),
        Row("  the same, --sync async (no fdatasync to wait for)" + cpu_note("append-async"),
            wall["append-async"] * ms, "ms", "python -c 'import typer'", t * ms, wall["append-async"] / t, "", None,
            rss["append-async"]),
        Row("one-shot `ironwal tail s -n 1`" + cpu_note("tail"), wall["tail"] * ms, "ms",
            "python -c 'import typer'", t * ms, wall["tail"] / t, "", None, rss["tail"]),
        Row("  (python -c pass, for scale)", wall["pass"] * ms, "ms", "python -c 'import typer'", t * ms,
            wall["pass"] / t),
        Row(f"one-shot `ironwal append s v` onto a full active segment ({full:,} one-entry frames)"
            + cpu_note("append-full"), wall["append-full"] * ms, "ms", "python -c 'import typer'", t * ms,
            wall["append-full"] / t, "<= 1.3x", wall["append-full"] / t <= 1.3, rss["append-full"]),
        Row("one-shot `ironwal tail s -n 1` of that segment" + cpu_note("tail-full"), wall["tail-full"] * ms,
            "ms", "python -c 'import typer'", t * ms, wall["tail-full"] / t, "", None, rss["tail-full"]),
    ]


def build_big(work: Path, root: Path, lines: Path, size: int, n: int, gb: float) -> list[Row]:
    """A stream of about ``gb`` GB: the lines file appended again and again (async); the crate's
    ``bench-append`` of the same lines beside it (the 10,000,000-line figure of the targets)."""
    reps = max(1, round(gb * 1e9 / size))
    r = run_pipeline(["cat", *[str(lines)] * reps],
                     [*ironwal_cmd(), "append", "big", "-r", str(root), "-q", "--sync", "async"])
    rate = reps * n / r.seconds
    figure = f"bulk append stdin, async, {reps * n:,} lines ({reps * size / 1e9:.2f} GB): entries/s"
    crate = iwref_cmd()
    if crate is None:
        return [Row(figure, rate, "/s", NO_CRATE, rss_mb=r.peak_rss_mb)]
    dest = _fresh(work / "crate-big")
    c = run_pipeline(["cat", *[str(lines)] * reps], [*crate, "bench-append", str(dest), "s", "--sync", "async"])
    shutil.rmtree(dest, ignore_errors=True)
    crate_rate = reps * n / c.seconds
    return [Row(figure, rate, "/s", f"{CRATE} bench-append --sync async", crate_rate, rate / crate_rate,
                ">= 1.0x crate", rate >= crate_rate, r.peak_rss_mb)]


def _cpu_rate(total: int, r) -> str:
    """Bytes per CPU-second of the command: its speed with a core to itself."""
    return f" (CPU-bound rate {total / r.cpu_s / 1e6:.0f} MB/s)" if r.cpu_s else ""


def bench_tail(work: Path, root: Path, rounds: int) -> list[Row]:
    """A whole-stream read into a pipe (``wc -c``): ``tail --from 0`` raw and line beside the crate's
    ``iwref bench-read`` of the same stream (its ``iter(stream, 0)``, raw bytes to stdout) and ``cat``
    of the segment files, interleaved rounds, medians. Rates are segment bytes per second."""
    segs = segment_files(root / "big")
    total = sum(os.path.getsize(p) for p in segs)
    warm(segs)
    iw, crate, r_ = ironwal_cmd(), iwref_cmd(), str(root)
    sink = ["sh", "-c", "wc -c > /dev/null"]

    def tail(fmt: str):
        return lambda r: run_pipeline([*iw, "tail", "big", "-r", r_, "--from", "0", "--format", fmt], sink,
                                      measure="producer")

    sides = {"raw": tail("raw"), "line": tail("line"), "cat": lambda r: run_pipeline(["cat", *segs], sink)}
    if crate:
        sides["crate"] = lambda r: run_pipeline([*crate, "bench-read", r_, "big"], sink, measure="producer")
    res = interleaved(sides, rounds)
    med = {k: median_run(v) for k, v in res.items()}
    mb = {k: total / v.seconds / 1e6 for k, v in med.items()}
    rows = []
    for fmt in ("raw", "line"):
        figure = f"tail --from 0 --format {fmt}, {total / 1e9:.2f} GB, pipe to wc -c{_cpu_rate(total, med[fmt])}"
        if crate:
            rows.append(Row(figure, mb[fmt], "MB/s", f"{CRATE} bench-read", mb["crate"], mb[fmt] / mb["crate"],
                            ">= 1.0x crate", mb[fmt] >= mb["crate"], med[fmt].peak_rss_mb))
        else:
            rows.append(Row(figure, mb[fmt], "MB/s", NO_CRATE, rss_mb=med[fmt].peak_rss_mb))
    if crate:
        rows.append(Row("  the crate's own peak RSS (bench-read)", med["crate"].peak_rss_mb or float("nan"), "MB"))
    rows.append(Row("  tail --format raw beside cat of the segments (for scale)", mb["raw"], "MB/s",
                    "cat of the segments", mb["cat"], mb["raw"] / mb["cat"]))
    crc = worker("crc_loop", *segs).json()
    rows.append(Row(f"  {crc['crc']} crc32 alone over the same segments (a floor for any checked read)", crc["mb_s"],
                    "MB/s", "cat of the segments", mb["cat"], crc["mb_s"] / mb["cat"]))
    alone = run([*iw, "tail", "big", "-r", r_, "--from", "0", "--format", "raw"], stdout=subprocess.DEVNULL)
    cat = run(["cat", *segs], stdout=subprocess.DEVNULL)
    a, b = total / alone.seconds / 1e6, total / cat.seconds / 1e6
    rows.append(Row(f"tail --from 0 --format raw, to /dev/null{_cpu_rate(total, alone)}", a, "MB/s",
                    "cat > /dev/null", b, a / b, rss_mb=alone.peak_rss_mb))
    return rows


def bench_tail_var(work: Path, root: Path, n: int) -> list[Row]:
    """The same figure on entries of varying length: no fixed-size shortcut, every length walked."""
    lines = work / "varlines.txt"
    make_var_lines(lines, n)
    run_pipeline(["cat", str(lines)], [*ironwal_cmd(), "append", "var", "-r", str(root), "-q", "--sync", "async"])
    lines.unlink()
    segs = segment_files(root / "var")
    total = sum(os.path.getsize(p) for p in segs)
    warm(segs)
    cat = run_pipeline(["cat", *segs], ["sh", "-c", "wc -c > /dev/null"])
    ours = run_pipeline([*ironwal_cmd(), "tail", "var", "-r", str(root), "--from", "0", "--format", "raw"],
                        ["sh", "-c", "wc -c > /dev/null"], measure="producer")
    a, b = total / ours.seconds / 1e6, total / cat.seconds / 1e6
    return [Row(f"tail --from 0 --format raw, {total / 1e6:.0f} MB of 1..199-byte entries, pipe to wc -c"
                f"{_cpu_rate(total, ours)}", a,
                "MB/s", "cat of the segments", b, a / b)]


def _verify_beside_crc(root: Path, stream: str, figure: str, rounds: int) -> Row:
    """``ironwal verify`` of one stream against the CRC loop over its files, in ``rounds`` interleaved
    rounds (each starting with the other side), medians: one run each swings by 2x under other load."""
    segs = segment_files(root / stream)
    total = sum(os.path.getsize(p) for p in segs)
    warm(segs)
    sides = {"ours": lambda r: run([*ironwal_cmd(), "verify", stream, "-r", str(root)], check=False),
             "crc": lambda r: worker("crc_loop", *segs)}
    res = interleaved(sides, rounds)
    ours = median_run(res["ours"])
    base = sorted((x.json() for x in res["crc"]), key=lambda j: j["mb_s"])[len(res["crc"]) // 2]
    a, b = total / ours.seconds / 1e6, base["mb_s"]
    note = "" if all(x.returncode == 0 for x in res["ours"]) else " (exit != 0)"
    return Row(f"{figure}, {total / 1e9:.2f} GB{note}{_cpu_rate(total, ours)}, median of {rounds}", a, "MB/s",
               f"{base['crc']} crc32 loop (fastest CRC)", b, a / b, ">= 0.7x", a / b >= 0.7, ours.peak_rss_mb)


def bench_verify(root: Path, rounds: int) -> Row:
    figure = "verify, whole stream"
    if not ironwal_exists("verify"):
        return na_row(figure, "n/a: no `ironwal verify` in this checkout")
    return _verify_beside_crc(root, "big", figure, rounds)


MIXED = (100, 1000)  # entry lengths of the mixed stream: no fixed-size shortcut, every length prefix walked


def build_mixed(work: Path, root: Path, gb: float) -> Row:
    """A stream of about ``gb`` GB of 100..1000-byte entries: 100 MB of such lines appended again and again."""
    lines = work / "mixedlines.txt"
    size = make_var_lines(lines, max(1000, round(min(gb, 0.1) * 1e9 / (sum(MIXED) / 2 + 1))), *MIXED)
    reps = max(1, round(gb * 1e9 / size))
    r = run_pipeline(["cat", *[str(lines)] * reps],
                     [*ironwal_cmd(), "append", "mixed", "-r", str(root), "-q", "--sync", "async"])
    lines.unlink()
    return Row(f"bulk append stdin, async, {reps * size / 1e9:.2f} GB of {MIXED[0]}..{MIXED[1]}-byte lines: MB/s",
               reps * size / r.seconds / 1e6, "MB/s", rss_mb=r.peak_rss_mb)


def bench_verify_mixed(root: Path, rounds: int) -> list[Row]:
    """``verify`` where entries vary in length (the harder case): the same CRC loop as its baseline."""
    figure = f"verify, whole stream of {MIXED[0]}..{MIXED[1]}-byte entries"
    if not ironwal_exists("verify"):
        return [na_row(figure, "n/a: no `ironwal verify` in this checkout")]
    return [_verify_beside_crc(root, "mixed", figure, rounds)]


def bench_recover(root: Path) -> list[Row]:
    """One torn tail at the end of the big stream, against the same tear in a one-frame stream:
    the ratio shows whether repair time grows with the untouched history before the tear (closed
    segments sealed by the writer are not re-read). Then the same tear with ``--full``, which
    reads every segment: the cost of a bit-rot repair."""
    figure = "recover, one torn tail"
    if not ironwal_exists("recover"):
        return [na_row(figure, "n/a: no `ironwal recover` in this checkout")]

    def tear_and_recover(stream: str, *extra: str):
        with open(segment_files(root / stream)[-1], "ab") as f:
            f.write(b"LAWL" + b"\x01" * 20)  # a header cut short: the torn write of a crash
        return run([*ironwal_cmd(), "recover", stream, "-r", str(root), *extra], check=False)

    run([*ironwal_cmd(), "append", "small", "a", "b", "c", "-r", str(root), "--sync", "async"])
    small = tear_and_recover("small")
    ours = tear_and_recover("big")
    full = tear_and_recover("big", "--full")
    size = sum(os.path.getsize(p) for p in segment_files(root / "big")) / 1e9
    rows = []
    labels = (f"{figure} of a {size:.2f} GB stream", "  the same with --full (reads every segment)")
    for r, label in zip((ours, full), labels, strict=True):
        note = "" if r.returncode == 0 else f" (exit {r.returncode})"
        rows.append(Row(f"{label}{note}", r.seconds * 1e3, "ms", "the same tear, 1-frame stream", small.seconds * 1e3,
                        r.seconds / small.seconds, rss_mb=r.peak_rss_mb))
    return rows


def bench_lz4(root: Path, mb: float) -> list[Row]:
    app = worker("lz4_append", root, mb)
    read = worker("lz4_read", root)
    base = worker("lz4_baseline", mb).json()
    a, r = app.json()["mb_s"], read.json()["mb_s"]
    return [
        Row(f"LZ4 append (library), {mb:g} MB log lines (ratio {base['ratio']:.1f})", a, "MB/s",
            "lz4.frame.compress", base["compress_mb_s"], a / base["compress_mb_s"], ">= 0.7x",
            a / base["compress_mb_s"] >= 0.7, app.peak_rss_mb),
        Row("LZ4 read (library), CRC checked", r, "MB/s", "lz4.frame.decompress", base["decompress_mb_s"],
            r / base["decompress_mb_s"], ">= 0.7x", r / base["decompress_mb_s"] >= 0.7, read.peak_rss_mb),
    ]


def bench_get(root: Path, lookups: int) -> list[Row]:
    res = worker("random_get", root, "big", lookups)
    j = res.json()
    return [Row(f"random get by id ({lookups}x over {j['entries']:,} entries), fresh reader "
                f"(CPU {j['cpu_ms']:.2f} ms)", j["per_op_ms"],
                "ms", target="<= 0.5 ms", met=j["per_op_ms"] <= 0.5, rss_mb=res.peak_rss_mb),
            Row("random get by id, one reader reused", j["reused_reader_ms"], "ms")]


# ----- the table --------------------------------------------------------------------------------


HEAD = ["figure", "ours", "baseline", "baseline value", "ratio", "target", "met", "peak RSS MB"]


def render(rows: list[Row], markdown: bool) -> str:
    table = [HEAD] + [r.cells() for r in rows]
    if markdown:
        out = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table[1:]]
        return "\n".join(out)
    widths = [max(len(row[i]) for row in table) for i in range(len(HEAD))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table)


def machine() -> str:
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs ({model}); "
            f"Python {platform.python_version()}; {platform.system()} {platform.release()}; "
            f"load average {os.getloadavg()[0]:.2f}")


def bench_copy(work: Path, root: Path) -> list[Row]:
    """``ironwal copy`` of the big stream into a new root against ``cp -r`` of the same stream directory."""
    figure = "copy of the big stream into a new root"
    if not ironwal_exists("copy"):
        return [na_row(figure, "n/a: no `ironwal copy` in this checkout")]
    src = root / "big"
    segs = segment_files(src)
    total = sum(os.path.getsize(p) for p in segs)
    warm(segs)
    rows = []
    cp = run(["cp", "-r", str(src), str(work / "cp-big")])
    shutil.rmtree(work / "cp-big")
    base = total / cp.seconds / 1e6
    for sync, label in (("batch", "--sync batch (default: fdatasync per ~8 MiB)"), ("async", "--sync async")):
        dst = work / f"copy-{sync}"
        ours = run([*ironwal_cmd(), "copy", str(src), str(dst), "-q", "--sync", sync])
        rate = total / ours.seconds / 1e6
        rows.append(Row(f"{figure}, {total / 1e9:.2f} GB, {label}{_cpu_rate(total, ours)}", rate, "MB/s",
                        "cp -r of the stream", base, rate / base, rss_mb=ours.peak_rss_mb))
        shutil.rmtree(dst)
    return rows


def bench_stats(root: Path) -> list[Row]:
    """``ironwal stats`` (CLI, start-up included) of the big stream against a bare header walk of its files."""
    figure = "stats of the big stream (headers only)"
    if not ironwal_exists("stats"):
        return [na_row(figure, "n/a: no `ironwal stats` in this checkout")]
    segs = segment_files(root / "big")
    warm(segs)
    wall, cpu, rss = median_wall([*ironwal_cmd(), "stats", "big", "-r", str(root), "--json"], 5)
    base = worker("header_walk", *segs).json()
    startup, _cpu, _rss = median_wall([sys.executable, "-c", "import typer"], 5, with_rss=False)
    walk = base["seconds"] + startup  # the walk, plus the start-up every CLI pays
    return [Row(f"{figure}, {base['frames']} frames (CPU {cpu * 1e3:.0f} ms)", wall * 1e3, "ms",
                "header walk + python -c 'import typer'", walk * 1e3, wall / walk, rss_mb=rss)]


def bench_backup(work: Path, root: Path, appends: int = 1000) -> list[Row]:
    """``ironwal backup`` of the root (the big stream in it) into a directory against ``cp -r`` of the
    root; then ``appends`` appended entries and an incremental run against the full one; then
    ``ironwal restore`` of the latest generation against the same ``cp -r``."""
    figure = "backup of the root into a directory"
    if not ironwal_exists("backup"):
        return [na_row(figure, "n/a: no `ironwal backup` in this checkout")]
    segs = [str(p) for p in root.rglob("*.wal")]
    total = sum(os.path.getsize(p) for p in segs)
    warm(segs)
    dest = work / "backup-dest"
    cp = run(["cp", "-r", str(root), str(work / "cp-root")])
    shutil.rmtree(work / "cp-root")
    full = run([*ironwal_cmd(), "backup", str(dest), "-r", str(root), "-q"])
    gb = f"{total / 1e9:.2f} GB"
    rows = [Row(f"{figure}, full, {gb}{_cpu_rate(total, full)}", full.seconds, "s", "cp -r of the root", cp.seconds,
                full.seconds / cp.seconds, rss_mb=full.peak_rss_mb)]
    new = work / "appends.txt"
    new.write_bytes(b"".join(b"appended entry %06d " % i + b"x" * 80 + b"\n" for i in range(appends)))
    with open(new, "rb") as f:
        run([*ironwal_cmd(), "append", "big", "-r", str(root), "-q", "--sync", "async"], stdin=f)
    inc = run([*ironwal_cmd(), "backup", str(dest), "-r", str(root), "--json"])
    import json

    sent = json.loads(inc.stdout)["sent_bytes"]
    rows.append(Row(f"{figure}, incremental after {appends} appends ({sent / 1e6:.1f} MB sent)", inc.seconds, "s",
                    "the full backup", full.seconds, inc.seconds / full.seconds, "< 5% of full",
                    inc.seconds / full.seconds < 0.05, rss_mb=inc.peak_rss_mb))
    for extra, label in (([], "checked by verify"), (["--no-check"], "--no-check")):
        out = work / "restored"
        ours = run([*ironwal_cmd(), "restore", str(dest), str(out), "-q", *extra])
        rows.append(Row(f"restore of the latest generation, {gb}, {label}{_cpu_rate(total, ours)}", ours.seconds,
                        "s", "cp -r of the root", cp.seconds, ours.seconds / cp.seconds, rss_mb=ours.peak_rss_mb))
        shutil.rmtree(out)
    shutil.rmtree(dest)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small data, few repeats: a smoke run")
    p.add_argument("--size-gb", type=float, default=None, help="size of the big stream (default 1, quick 0.05)")
    p.add_argument("--dir", default=None, help="work directory (default: a new temp dir under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds of each figure measured beside the crate (default 3, quick 1); medians")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--base-tree", default=None,
                   help="a directory holding another commit's ironwal_cli (git archive BASE ironwal_cli | tar -x "
                        "-C DIR): the single-append figures run on it too, for before/after ratios in one run")
    p.add_argument("--only", default=None,
                   help="comma-separated steps to run (e.g. tail,verify: 'tail' runs both tail steps); "
                        "the big stream is built when a step needs it")
    args = p.parse_args(argv)
    quick = args.quick
    gb = args.size_gb if args.size_gb is not None else (0.05 if quick else 1.0)
    n = 100_000 if quick else 1_000_000
    rounds = args.rounds if args.rounds is not None else (1 if quick else 3)
    work = Path(tempfile.mkdtemp(prefix="ironwal-bench-", dir=args.dir))
    root = work / "root"
    _harness.ENV = child_env(work)
    try:
        print(f"# {machine()}\n# work dir {work}; ironwal = {' '.join(ironwal_cmd())}", flush=True)
        lines = work / "lines.txt"
        size = make_lines(lines, n)
        # Fill the bytecode cache (PYTHONPYCACHEPREFIX) first: no figure should pay for compiling.
        run([*ironwal_cmd(), "append", "warm-up", "w", "-r", str(root)])
        run([*ironwal_cmd(), "tail", "warm-up", "-r", str(root)])
        run([sys.executable, "-c", "import typer, lz4.frame, ironwal_cli.engine.reader.reader"])
        rows: list[Row] = []
        steps = [
            ("bulk append", lambda: bench_bulk(work, root, lines, n, size, rounds)),
            ("keyed append", lambda: bench_keyed(work, lines, n, rounds)),
            ("strict appends", lambda: bench_strict(work, root, 200 if quick else 2000)),
            ("single vs crate", lambda: bench_single_vs_crate(work, 200 if quick else 1000, 3 if quick else 7,
                                                              args.base_tree)),
            ("one-shot", lambda: bench_oneshot(root, 5 if quick else 21, 20_000 if quick else 450_000)),
            ("big stream", lambda: build_big(work, root, lines, size, n, gb)),
            ("tail", lambda: bench_tail(work, root, rounds)),
            ("tail, varying lengths", lambda: bench_tail_var(work, root, n)),
            ("get", lambda: bench_get(root, 100 if quick else 1000)),
            ("verify", lambda: [bench_verify(root, rounds)]),
            ("verify, mixed lengths", lambda: [build_mixed(work, root, gb), *bench_verify_mixed(root, rounds)]),
            ("recover", lambda: bench_recover(root)),
            ("lz4", lambda: bench_lz4(root, 10 if quick else 100)),
            ("copy", lambda: bench_copy(work, root)),
            ("stats", lambda: bench_stats(root)),
            ("backup", lambda: bench_backup(work, root)),
        ]
        if args.only:
            wanted = set(args.only.split(","))
            if wanted & {"tail", "verify", "recover", "get", "lz4", "copy", "stats", "backup"}:
                wanted.add("big stream")
            steps = [s for s in steps if {s[0].split(",")[0], s[0].split()[0]} & wanted]
        for name, step in steps:
            t0 = time.perf_counter()
            rows += step()
            print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        print(f"# load average at the end {os.getloadavg()[0]:.2f}; ratio = ours / baseline "
              "(higher is better for rates, lower for times)")
        print(render(rows, args.markdown))
        missed = [r.figure for r in rows if r.met is False]
        if missed:
            print("\ntargets not met: " + "; ".join(missed))
        if quick:
            print("(--quick: small data, where start-up dominates; the targets are for the full run)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
