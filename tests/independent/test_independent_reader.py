"""A root written by our tool reads back identically through a reader that shares no code with it.

The independent reader (``wal_reader.py``, from FORMAT-NOTES.md alone) is first held against
the crate's own roots, then against a sharded root made by the CLI: routed appends with
rotation, two checkpoints, a compaction and a prune.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from wal_reader import read_root

from ironwal_cli.engine.reader.reader import StreamReader
from ironwal_cli.ops.checkpoint import list_checkpoints, show_checkpoint
from ironwal_cli.ops.listing import stream_names
from ironwal_cli.sharded.checkpoints import CheckpointLog, log_path, read_head
from ironwal_cli.sharded.routing import route

CONFORMANCE = Path(__file__).resolve().parents[2] / "format" / "samples" / "conformance"
# Outside the reader on purpose: LZ4 payloads, and the crate's own damage (torn tail, overlapping ids).
NOT_RAW_OR_INTACT = {"lz4", "torn-tail", "key-collision"}
CASES = sorted(p.name for p in CONFORMANCE.iterdir() if p.name not in NOT_RAW_OR_INTACT)


@pytest.mark.parametrize("name", CASES)
def test_the_independent_reader_reads_the_crates_roots(name):
    lines = [json.loads(line) for line in (CONFORMANCE / name / "expected.jsonl").read_text().splitlines()]
    got = read_root(str(CONFORMANCE / name / "root"))
    if "checkpoints" in lines[0]:
        summary, lines = lines[0], lines[1:]
        records = {r["id"]: r for r in got["checkpoints"]}  # a later record wins
        assert sorted([k.hex(), r["timestamp"]] for k, r in records.items()) == sorted(summary["checkpoints"])
        assert [got["latest"]["id"].hex(), got["latest"]["offsets"]] == summary["latest"]
        expected = [(f"shard_{e['shard']:02d}", e["id"], e["hex"]) for e in lines]
    else:
        expected = [(e["stream"], e["id"], e["hex"]) for e in lines]
    entries = [(s, i, e.hex()) for s, es in got["streams"].items() for i, e in es]
    assert entries == expected


def ironwal(root: Path, *args: str, stdin: bytes = b"") -> str:
    p = subprocess.run([sys.executable, "-m", "ironwal_cli", *args, "-r", str(root)], input=stdin,
                       capture_output=True, check=False)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def test_a_root_written_by_our_tool(tmp_path):
    root = tmp_path / "root"
    shards = 3
    sent: dict[int, list[bytes]] = {s: [] for s in range(shards)}

    def routed(first: int, last: int) -> None:
        tails = [b"", b"\n", b"\xff", b"=\n\xff"]  # newlines, invalid UTF-8, the separator again: all kept
        records = [(f"user{i % 7}".encode(), f"value-{i:04d}".encode() + tails[i % 4]) for i in range(first, last)]
        out = ironwal(root, "append", "-K", "=", "--shards", str(shards), "--max-segment-size", "160", "-0",
                      stdin=b"".join(k + b"=" + v + b"\0" for k, v in records))
        placed = [tuple(map(int, line.split())) for line in out.splitlines()]
        for (key, value), (shard, entry_id) in zip(records, placed, strict=True):
            assert shard == route(key, shards)
            assert entry_id == len(sent[shard])
            sent[shard].append(value)

    routed(0, 60)
    ironwal(root, "checkpoint", "create", "first", "--shards", str(shards))
    routed(60, 120)
    ironwal(root, "append", "--key", "solo", "empty-next", "")  # count from the log; an empty entry
    sent[route(b"solo", shards)] += [b"empty-next", b""]
    ironwal(root, "checkpoint", "create", "c0ffee", "--hex")
    routed(120, 140)
    ironwal(root, "checkpoint", "compact", "--keep", "1")
    pruned = json.loads(ironwal(root, "prune", "--checkpoint", "c0ffee", "--hex", "--json"))
    assert pruned["segments"] > 0

    theirs = read_root(str(root))
    # Checkpoints: one record left (the compaction), HEAD naming it, offsets = entries before it.
    [record] = theirs["checkpoints"]
    assert record["id"] == bytes.fromhex("c0ffee") and theirs["head"] == record["id"]
    assert theirs["latest"] == record
    ours = list_checkpoints(root)
    assert [(c.checkpoint_id, c.timestamp_ns, list(c.offsets)) for c in ours] \
        == [(r["id"], r["timestamp"], r["offsets"]) for r in theirs["checkpoints"]]
    latest, _ = show_checkpoint(root)
    assert latest.checkpoint_id == read_head(root) == theirs["head"]
    offsets = record["offsets"]
    assert offsets == [len(sent[s]) - sum(1 for i in range(120, 140) if route(f"user{i % 7}".encode(), shards) == s)
                       for s in range(shards)]
    # Entries: every shard from its first remaining id to the end, identical in both readers.
    assert sorted(theirs["streams"]) == stream_names(root) == [f"shard_{s:02d}" for s in range(shards)]
    for s in range(shards):
        name = f"shard_{s:02d}"
        independent = theirs["streams"][name]
        mine = list(StreamReader(root, name).entries(0))
        assert independent == mine
        first = independent[0][0]
        assert 0 < first <= offsets[s]  # pruned, but nothing at or above the offset
        assert [e for _, e in independent] == sent[s][first:]
    # The archive keeps the compacted record, in the same format.
    archive = CheckpointLog.read(tmp_path / "root.quarantine" / "checkpoints-archive.log")
    assert [r.checkpoint_id for r in archive.records] == [b"first"]
    assert CheckpointLog.read(log_path(root)).damage is None
