"""Roots rebuilt by ``ironwal restore``, judged by the real crate: its ``iter``/``get`` return every
entry at its id for a plain root (also one the crate wrote itself, with LZ4 frames), and its
ShardedWal opens a sharded root restored whole and at a checkpoint, with every shard's entries
up to that checkpoint's offsets."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

from crate_oracle import dump, dump_sharded, write

from ironwal_cli.engine.writer.writer import WriteOptions
from ironwal_cli.ops.append import append_values
from ironwal_cli.ops.checkpoint import create_checkpoint
from ironwal_cli.ops.read import read_batches
from ironwal_cli.ops.sharded_append import append_keyed

VALUES = [b"", b"\0\n", b"\xff", *(b"entry %d " % i * (1 + i % 40) for i in range(300))]


def ironwal(*args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRONWAL_")}
    proc = subprocess.run([sys.executable, "-m", "ironwal_cli", *map(str, args)], capture_output=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


def ours(root, stream) -> dict[int, bytes]:
    return {first + i: e for first, batch in read_batches(root, stream, from_id=0) for i, e in enumerate(batch)}


def test_the_crate_reads_every_entry_of_a_restored_plain_root(tmp_path):
    src, dest, out = tmp_path / "src", tmp_path / "backup", tmp_path / "out"
    for start in range(0, len(VALUES), 30):
        append_values(src, "s", VALUES[start:start + 30], WriteOptions(max_segment_size=2048, compress=True,
                                                                       min_compress_size=64))
    ironwal("backup", dest, "-r", src, "--part-size", "4k")
    append_values(src, "s", [b"after the first generation"])
    ironwal("backup", dest, "-r", src, "--part-size", "4k")
    ironwal("restore", dest, out)
    replay = dump(out, stream="s").streams["s"]
    assert replay.error is None, replay.error
    assert replay.entries == {**dict(enumerate(VALUES)), len(VALUES): b"after the first generation"} == ours(out, "s")
    ironwal("restore", dest, tmp_path / "cut", "--to-id", "s=59")  # batches of 30: ids 30..59 end one
    replay = dump(tmp_path / "cut", "--get", "60", stream="s").streams["s"]
    assert replay.error is None and replay.entries == dict(enumerate(VALUES[:60]))
    assert replay.gets[60] is None  # the crate's get past the cut: none


def test_the_crate_reads_a_restored_root_it_wrote_itself(tmp_path):
    src, dest, out = tmp_path / "src", tmp_path / "backup", tmp_path / "out"
    write(src, {"options": {"compression": True, "min_compression_size": 32, "max_segment_size": 4096},
                "ops": [{"op": "append_many", "stream": "logs", "count": 500, "fmt": "log line {i} " * 3},
                        {"op": "append_batch", "stream": "logs", "values": ["", {"hex": "00ff0a"}]}]})
    before = dump(src, stream="logs").streams["logs"]
    ironwal("backup", dest, "-r", src)
    ironwal("restore", dest, out)
    after = dump(out, stream="logs").streams["logs"]
    assert after.error is None and len(after.entries) == 502
    assert after.entries == before.entries == ours(out, "logs")


def test_the_crates_sharded_wal_opens_a_root_restored_whole_and_at_a_checkpoint(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "backup"
    for i in range(24):
        append_keyed(src, b"user%d" % i, [b"value %d" % i, b""], shards=4)
        if i in (9, 17):
            create_checkpoint(src, b"snap-%d" % i, shards=4)
    ironwal("backup", dest, "-r", src)
    ironwal("restore", dest, tmp_path / "whole")
    assert dump_sharded(tmp_path / "whole", 4) == dump_sharded(src, 4)
    ironwal("restore", dest, tmp_path / "at", "--checkpoint", "snap-9")
    lines = dump_sharded(tmp_path / "at", 4)
    assert lines[0]["ok"] and lines[0]["checkpoint_count"] == 1, lines[0]
    latest = next(line for line in lines if line.get("kind") == "latest")
    assert latest["id"] == "snap-9" and sum(latest["offsets"]) == 20  # 10 appends of 2 entries before it
    for line in lines:
        if line.get("kind") == "shard":  # every entry of the shard up to the checkpoint's offset, none after
            name = f"shard_{line['shard']:02d}"
            source = ours(src, name)
            assert line["error"] is None
            assert [base64.b64decode(e) for e in line["entries"]] == [source[i] for i in range(
                latest["offsets"][line["shard"]])]
