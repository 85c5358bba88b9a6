"""``ironwal stats``: every figure checked against what was written, through the real CLI.

The figures come from frame headers; the test computes them from the entries it wrote (each
``append_values`` call is one frame) and from the files' sizes, independently of the code.
"""

from __future__ import annotations

import json
import math
import subprocess

from hypothesis import given
from hypothesis import strategies as st
from pipe_support import cli, run

from ironwal_cli.engine.writer.writer import WriteOptions
from ironwal_cli.errors import EXIT_DAMAGED, EXIT_NOT_FOUND
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.sharded_append import append_keyed
from ironwal_cli.ops.stats import _rank

BATCHES = [[b"x" * n for n in range(1, 11)], [b""], [b"yy" * 50] * 33, [b"\0\n" * 7]]


def _stats(root, *args) -> dict:
    result = run("stats", "-r", str(root), "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def nearest_rank(values: list[int], q: float) -> int:
    return sorted(values)[max(1, math.ceil(q * len(values))) - 1]


def test_stream_figures_match_what_was_written(tmp_path):
    root = tmp_path / "wal"
    for batch in BATCHES:
        append_values(root, "s", batch, WriteOptions(max_entries_per_segment=11))
    everything = [e for b in BATCHES for e in b]
    got = _stats(root, "s", "--sizes")
    assert got["sharded"] is False and got["skew"] is None
    (s,) = got["streams"]
    segment_files = sorted((root / "s").glob("*.wal"))
    assert s["segments"] == len(segment_files) == 3  # rotated after 11 entries, then after the batch of 33
    assert s["frames"] == len(BATCHES) and s["entries"] == len(everything)
    assert (s["first_id"], s["last_id"]) == (0, len(everything) - 1)
    assert s["disk_bytes"] == sum(f.stat().st_size for f in segment_files)
    assert s["raw_bytes"] == sum(4 + len(e) for e in everything)
    assert s["entry_bytes"] == sum(map(len, everything))
    assert s["ids_per_frame"] == {"min": 1, "mean": len(everything) / len(BATCHES), "max": 33}
    sizes = [len(e) for e in everything]
    assert s["entry_size"] == {"min": 0, "median": nearest_rank(sizes, 0.5), "p99": nearest_rank(sizes, 0.99),
                               "max": 100, "mean": sum(sizes) / len(sizes)}
    assert s["lz4_frames"] == 0 and s["compression_ratio"] is None and s["problems"] == 0
    per_segment = s["segment_stats"]
    assert [p["segment"] for p in per_segment] == [f.name for f in segment_files]
    assert [p["disk_bytes"] for p in per_segment] == [f.stat().st_size for f in segment_files]
    assert [(p["first_id"], p["last_id"]) for p in per_segment] == [(0, 10), (11, 43), (44, 44)]
    assert per_segment[0]["fill"] == round(segment_files[0].stat().st_size / (64 << 20), 4)
    small = _stats(root, "s", "--max-segment-size", "4k")["streams"][0]["segment_stats"][0]
    assert small["fill"] == round(segment_files[0].stat().st_size / 4096, 4)


def test_lz4_frames_and_compression_ratio(tmp_path):
    root = tmp_path / "wal"
    options = WriteOptions(compress=True, min_compress_size=64)
    append_values(root, "s", [b"abc" * 100] * 20, options)  # compresses
    append_values(root, "s", [b"z"], options)  # too small to compress
    s = _stats(root, "s")["streams"][0]
    assert s["lz4_frames"] == 1 and s["frames"] == 2
    raw = 20 * (4 + 300)
    lz4_disk = s["disk_bytes"] - 2 * 32 - (4 + 1)  # the file less two headers and the raw frame
    assert s["compression_ratio"] == round(raw / lz4_disk, 3) and s["compression_ratio"] > 5
    assert s["entry_size"] is None  # not asked for


def test_headers_only_unless_sizes_are_asked_for(tmp_path):
    """A payload byte flipped: the header walk does not see it (it never reads payloads); --sizes does."""
    root = tmp_path / "wal"
    append_values(root, "s", [b"first", b"second"])
    segment = next((root / "s").glob("*.wal"))
    data = bytearray(segment.read_bytes())
    data[data.index(b"second")] ^= 1
    segment.write_bytes(bytes(data))
    assert _stats(root, "s")["streams"][0]["problems"] == 0
    result = run("stats", "-r", str(root), "s", "--sizes")
    assert result.returncode == EXIT_DAMAGED and result.stderr.decode().startswith(f"ironwal: error: {segment}")


def test_damage_is_counted_and_the_walk_goes_on(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "s", [b"a"])
    append_values(root, "s", [b"b"])
    segment = next((root / "s").glob("*.wal"))
    with open(segment, "ab") as f:
        f.write(b"\x01" * 40)  # a torn tail: garbage after the last frame
    s = _stats(root, "s")["streams"][0]
    assert (s["frames"], s["entries"], s["problems"], s["damaged_bytes"]) == (2, 2, 1, 40)


def test_ids_lost_to_damage_are_counted_as_problems_not_entries(tmp_path):
    """After recover, a filler frame stands for lost ids: the header walk counts it as damage."""
    root = tmp_path / "wal"
    for i in range(3):
        append_values(root, "s", [b"frame-%d-a" % i, b"frame-%d-b" % i])
    segment = next((root / "s").glob("*.wal"))
    data = bytearray(segment.read_bytes())
    data[data.index(b"frame-1-a")] ^= 1
    segment.write_bytes(bytes(data))
    assert run("recover", "-r", str(root)).returncode == 0
    s = _stats(root, "s")["streams"][0]
    assert (s["entries"], s["problems"], s["first_id"], s["last_id"]) == (4, 1, 0, 5)


def test_sharded_root_has_a_row_per_shard_and_its_skew(tmp_path):
    root = tmp_path / "wal"
    for i in range(40):  # through the API: stats is under test here, not 40 process starts
        append_keyed(root, f"user{i}".encode(), [b"v"], shards=4)
    got = _stats(root)
    shards = {s["stream"]: s["entries"] for s in got["streams"]}
    assert set(shards) <= {"shard_00", "shard_01", "shard_02", "shard_03"} and sum(shards.values()) == 40
    assert got["sharded"] is True
    assert got["skew"] == round(max(shards.values()) / (40 / len(shards)), 3)
    table = run("stats", "-r", str(root)).stdout.decode().splitlines()
    assert table[0].split("\t")[-1] == "skew"
    skews = [float(line.split("\t")[-1]) for line in table[1:]]
    assert max(skews) == got["skew"]


def test_a_pipe_gets_tab_separated_rows(tmp_path):
    root = tmp_path / "wal"
    append_values(root, "a", [b"1", b"22"])
    append_values(root, "b", [b""])
    lines = subprocess.run(cli("stats", "-r", str(root)), capture_output=True, check=True).stdout.decode()
    rows = [line.split("\t") for line in lines.splitlines()]
    assert rows[0][:4] == ["stream", "segments", "frames", "entries"]
    assert [(r[0], r[3], r[4], r[5]) for r in rows[1:]] == [("a", "2", "0", "1"), ("b", "1", "0", "0")]
    segs = subprocess.run(cli("stats", "-r", str(root), "--segments", "b"), capture_output=True, check=True)
    seg_rows = [line.split("\t") for line in segs.stdout.decode().splitlines()]
    assert seg_rows[0][:2] == ["stream", "segment"] and seg_rows[1][:2] == ["b", "00000000000000000000.wal"]


def test_an_empty_stream_and_a_missing_one(tmp_path):
    root = tmp_path / "wal"
    (root / "empty").mkdir(parents=True)
    s = _stats(root, "empty", "--sizes")["streams"][0]
    assert (s["entries"], s["first_id"], s["last_id"], s["entry_size"]["median"]) == (0, None, None, None)
    result = run("stats", "-r", str(root), "nope")
    assert result.returncode == EXIT_NOT_FOUND and b"no such stream" in result.stderr


@given(st.lists(st.integers(0, 50), min_size=1, max_size=60), st.sampled_from([0.01, 0.5, 0.99, 1.0]))
def test_rank_from_counts_is_the_nearest_rank_of_the_values(values, q):
    from collections import Counter

    counts = Counter(values)
    assert _rank(counts, sorted(counts), len(values), q) == nearest_rank(values, q)
